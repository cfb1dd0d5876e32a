//! The schema file sits in a schemas folder whose eventschema.toml gives it references: the
//! derive refuses it by name (its codec needs a self-contained schema).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Address { pub street: String, pub city: String }

#[derive(Serialize, Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", schema = "tests/fixtures/shared-references/orders.order-placed/1.avsc")]
pub struct OrderPlaced {
    pub order_id: String,
    pub ship_to: Address,
}

fn main() {}
