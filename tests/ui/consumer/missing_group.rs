//! A consumer without a group.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    pub order_id: String,
}

pub struct Billing;

#[eventschema::consumer]
impl Billing {
    async fn on_placed(&self, _event: OrderPlaced) {}
}

fn main() {}
