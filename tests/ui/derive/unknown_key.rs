//! An unknown `event` attribute (a typo).

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", verison = 2)]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
