//! A consumer with no handler methods.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    pub order_id: String,
}

pub struct Billing;

#[eventschema::consumer(group = "billing")]
impl Billing {
    fn helper(&self) {}
}

fn main() {}
