//! The lock lists version 2, but its cached text is not in `.eventschema/`.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 2, lock = "tests/fixtures/lock-stale/eventschema.lock")]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
