//! Wrong types (`String` for a long, a map of `i64` for a map of string): errors at the types.

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
    pub total_cents: String,
    pub currency: String,
    pub notes: Option<String>,
    pub channel: Channel,
    pub lines: Vec<OrderLine>,
    pub attributes: std::collections::BTreeMap<String, i64>,
}

fn main() {}
