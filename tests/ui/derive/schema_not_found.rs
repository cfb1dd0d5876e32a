//! A schema path that does not exist (relative to the crate root).

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", schema = "schemas/orders.order-placed/9.avsc")]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
