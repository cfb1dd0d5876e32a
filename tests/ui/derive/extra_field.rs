//! A field the schema does not have (`discount_cents`): the error points at it.

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
    pub notes: Option<String>,
    pub channel: Channel,
    pub lines: Vec<OrderLine>,
    pub attributes: std::collections::BTreeMap<String, String>,
    pub discount_cents: i64,
}

fn main() {}
