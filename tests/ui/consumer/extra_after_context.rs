//! A handler with something other than the inbox transaction after the `Context`.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    pub order_id: String,
}

pub struct Billing;

#[eventschema::consumer(group = "billing")]
impl Billing {
    async fn on_placed(&self, _event: OrderPlaced, _ctx: eventschema::Context, _extra: u8) {}
}

fn main() {}
