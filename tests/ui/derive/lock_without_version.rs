//! `lock` picks an entry by subject and version, so the version must be written out.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", lock = "tests/fixtures/lock/eventschema.lock")]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
