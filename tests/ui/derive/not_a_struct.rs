//! Only structs with named fields are events.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub enum OrderPlaced {
    Web,
}

fn main() {}
