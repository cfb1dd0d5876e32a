//! A handler taking `&mut self`.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    pub order_id: String,
}

pub struct Billing;

#[eventschema::consumer(group = "billing")]
impl Billing {
    async fn on_placed(&mut self, _event: OrderPlaced) {}
}

fn main() {}
