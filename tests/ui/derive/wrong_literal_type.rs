//! Attribute values of the wrong literal type.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = "2")]
pub struct OrderPlaced {
    pub order_id: String,
}

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = orders, version = 2)]
pub struct OrderCancelled {
    pub order_id: String,
}

fn main() {}
