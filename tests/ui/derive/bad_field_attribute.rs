//! An unknown field attribute, and two partition keys.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    #[event(partition)]
    pub order_id: String,
}

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-cancelled")]
pub struct OrderCancelled {
    #[event(key)]
    pub order_id: String,
    #[event(key)]
    pub customer_id: String,
}

fn main() {}
