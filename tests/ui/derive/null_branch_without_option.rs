//! A nullable union read into a plain `String`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum Channel { WEB, STORE, MOBILE }

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderLine { pub sku: String, pub quantity: i32 }

#[derive(Serialize, Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 3, schema = "schemas/orders.order-placed/3.avsc")]
pub struct OrderPlaced {
    pub order_id: String,
    pub buyer_id: String,
    pub total_cents: i64,
    pub currency: String,
    pub notes: String,
    pub channel: Channel,
    pub lines: Vec<OrderLine>,
    pub attributes: std::collections::BTreeMap<String, String>,
}

fn main() {}
