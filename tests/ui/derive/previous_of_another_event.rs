//! `previous` naming another event type: a compile-time assertion fails.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, eventschema::Event)]
#[event(subject = "orders.order-cancelled", version = 1)]
pub struct OrderCancelled {
    pub order_id: String,
}

#[derive(Serialize, Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 2, previous = OrderCancelled)]
pub struct OrderPlaced {
    pub order_id: String,
}

impl From<OrderCancelled> for OrderPlaced {
    fn from(old: OrderCancelled) -> Self {
        OrderPlaced { order_id: old.order_id }
    }
}

fn main() {}
