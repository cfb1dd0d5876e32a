//! A serde rename that misses the schema's name: the error points at the rename and suggests the right one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum Channel { WEB, STORE, MOBILE }

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderLine { pub sku: String, pub quantity: i32 }

#[derive(Serialize, Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 3, schema = "schemas/orders.order-placed/3.avsc")]
pub struct OrderPlaced {
    pub order_id: String,
    #[serde(rename = "buyerId")]
    pub buyer: String,
    pub total_cents: i64,
    pub currency: String,
    pub notes: Option<String>,
    pub channel: Channel,
    pub lines: Vec<OrderLine>,
    pub attributes: std::collections::BTreeMap<String, String>,
}

fn main() {}
