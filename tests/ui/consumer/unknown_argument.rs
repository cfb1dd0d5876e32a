//! An unknown `consumer` argument.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    pub order_id: String,
}

pub struct Billing;

#[eventschema::consumer(group = "billing", retries = 3)]
impl Billing {
    async fn on_placed(&self, _event: OrderPlaced) {}
}

fn main() {}
