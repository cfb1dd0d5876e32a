//! A handler returning something other than `()` or `Result<(), HandlerError>`.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed")]
pub struct OrderPlaced {
    pub order_id: String,
}

pub struct Billing;

#[eventschema::consumer(group = "billing")]
impl Billing {
    async fn on_placed(&self, _event: OrderPlaced) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
