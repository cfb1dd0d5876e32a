//! A consumer with handlers with and without context, a constructor and a skipped helper.

use eventschema::{Context, HandlerError};

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    pub order_id: String,
}

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-cancelled")]
pub struct OrderCancelled {
    pub order_id: String,
}

pub struct Billing;

#[eventschema::consumer(group = "billing")]
impl Billing {
    pub fn new() -> Self {
        Billing
    }

    async fn on_placed(&self, _event: OrderPlaced, _ctx: Context) -> Result<(), HandlerError> {
        Ok(())
    }

    async fn on_cancelled(&self, _event: OrderCancelled) {}

    #[handler(skip)]
    async fn helper(&self, _n: u32) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bus = eventschema::Bus::new(eventschema::BusConfig::default());
    bus.register(Billing::new()).unwrap();
    assert_eq!(<Billing as eventschema::Consumer>::GROUP, "billing");
}
