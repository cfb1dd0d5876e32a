//! The cached text was edited after locking: its SHA-256 is not the lock's fingerprint.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 3, lock = "tests/fixtures/lock-stale/eventschema.lock")]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
