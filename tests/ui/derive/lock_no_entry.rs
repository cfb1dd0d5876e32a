//! The lock has the subject, but not at this version: the error lists the locked versions.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 4, lock = "tests/fixtures/lock/eventschema.lock")]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
