//! Everything `#[derive(Event)]` accepts: schema files (Avro and JSON Schema) with serde
//! renames, skipped fields, keys, ids and previous versions, and code-first schemas.
use std::collections::HashMap;

use eventschema::{Event, SchemaType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum Channel { WEB, STORE, MOBILE }

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderLine { pub sku: String, pub quantity: i32 }

#[derive(Serialize, Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 3, schema = "schemas/orders.order-placed/3.avsc", id = 42, type = "shop.orders.placed")]
pub struct OrderPlaced {
    #[event(key)]
    pub order_id: String,
    #[serde(rename = "buyer_id", alias = "customer_id")]
    pub buyer: std::string::String,
    pub total_cents: i64,
    pub currency: String,
    #[event(idempotency_key)]
    pub notes: Option<String>,
    pub channel: Channel,
    pub lines: Vec<OrderLine>,
    pub attributes: HashMap<String, String>,
    #[serde(skip)]
    pub local_only: u8,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason { Declined, Expired }

#[derive(Serialize, Deserialize, eventschema::Event)]
#[serde(rename_all = "camelCase")]
#[event(subject = "payments.payment-failed", version = 2, schema = "schemas/payments.payment-failed/2.json")]
pub struct PaymentFailed {
    pub payment_id: String,
    pub order_id: String,
    pub reason: Reason,
    pub attempt: Option<u32>,
    pub retryable: Option<bool>,
}

#[derive(Serialize, Deserialize, eventschema::Event)]
#[event(subject = "shipping.parcel-sent", format = "json")]
pub struct ParcelSent {
    pub parcel_id: String,
    pub grams: Option<u64>,
    pub labels: HashMap<String, f64>,
}

fn main() {
    assert_eq!(OrderPlaced::TYPE, "shop.orders.placed");
    assert_eq!(OrderPlaced::SCHEMA_ID, Some(42));
    assert_eq!(OrderPlaced::CONTENT_TYPE, "application/avro");
    assert_eq!(PaymentFailed::SCHEMA_TYPE, SchemaType::Json);
    assert_eq!(ParcelSent::VERSION, 1);
    assert!(ParcelSent::SCHEMA.contains("\"required\":[\"parcel_id\",\"labels\"]"));
}
