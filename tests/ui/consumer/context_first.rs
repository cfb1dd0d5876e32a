//! A handler taking the `Context` before the event.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    pub order_id: String,
}

pub struct Billing;

#[eventschema::consumer(group = "billing")]
impl Billing {
    async fn on_placed(&self, _ctx: eventschema::Context, _event: OrderPlaced) {}
}

fn main() {}
