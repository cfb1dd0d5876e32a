//! A handler whose event type does not implement `Event`.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    pub order_id: String,
}

pub struct Billing;

#[eventschema::consumer(group = "billing")]
impl Billing {
    async fn on_placed(&self, _event: String) {}
}

fn main() {}
