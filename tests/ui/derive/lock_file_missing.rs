//! A lock path that does not exist (relative to the crate root).

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 3, lock = "tests/fixtures/no-such/eventschema.lock")]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
