//! A schema file whose format cannot be told from its name.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", schema = "schemas/README.md")]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
