//! `lock`: the struct is checked against a locked registry schema (its cached text, verified
//! against the lock's fingerprint) and takes the registry's id from the lock. A bare `lock`
//! is `eventschema.lock` at the crate root.
use std::collections::HashMap;

use eventschema::{Event, SchemaType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Channel { WEB, STORE, MOBILE }

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine { pub sku: String, pub quantity: i32 }

#[derive(Debug, PartialEq, Serialize, Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 3, lock)]
pub struct OrderPlaced {
    #[event(key)]
    pub order_id: String,
    pub buyer_id: String,
    pub total_cents: i64,
    pub currency: String,
    pub notes: Option<String>,
    pub channel: Channel,
    pub lines: Vec<OrderLine>,
    pub attributes: HashMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason { Declined, Expired }

#[derive(Serialize, Deserialize, eventschema::Event)]
#[serde(rename_all = "camelCase")]
#[event(subject = "payments.payment-failed", version = 2, lock = "tests/fixtures/lock/eventschema.lock")]
pub struct PaymentFailed {
    pub payment_id: String,
    pub order_id: String,
    pub reason: Reason,
    pub attempt: Option<u32>,
    pub retryable: Option<bool>,
}

fn main() {
    assert_eq!(OrderPlaced::SCHEMA_ID, Some(103));
    assert_eq!(OrderPlaced::VERSION, 3);
    assert_eq!(OrderPlaced::SCHEMA_TYPE, SchemaType::Avro);
    assert!(OrderPlaced::SCHEMA.contains("\"name\": \"OrderPlaced\""));
    assert_eq!(PaymentFailed::SCHEMA_ID, Some(105));
    assert_eq!(PaymentFailed::SCHEMA_TYPE, SchemaType::Json);
    let order = OrderPlaced {
        order_id: "o-1".into(),
        buyer_id: "b-1".into(),
        total_cents: 1250,
        currency: "EUR".into(),
        notes: None,
        channel: Channel::WEB,
        lines: vec![OrderLine { sku: "s-1".into(), quantity: 2 }],
        attributes: HashMap::new(),
    };
    let bytes = order.encode().unwrap();
    assert_eq!(OrderPlaced::decode(&bytes).unwrap(), order);
}
