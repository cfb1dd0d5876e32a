//! The benchmark event shared by the load generators: one JSON Schema event with a pattern
//! and bounds, so validation does real work, keyed by order for per-key ordering.

use eventschema::{CodecError, Event, SchemaType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_id: String,
    pub seq: u64,
    pub amount_cents: u64,
    pub currency: String,
}

impl Event for OrderPlaced {
    const TYPE: &'static str = "bench.order.placed";
    const SUBJECT: &'static str = "bench.order.placed-value";
    const VERSION: u32 = 1;
    const SCHEMA_TYPE: SchemaType = SchemaType::Json;
    const SCHEMA: &'static str = r#"{"type":"object","properties":{"order_id":{"type":"string","minLength":1},"seq":{"type":"integer","minimum":0},"amount_cents":{"type":"integer","minimum":0},"currency":{"type":"string","pattern":"^[A-Z]{3}$"}},"required":["order_id","seq","amount_cents","currency"],"additionalProperties":false}"#;
    fn partition_key(&self) -> Option<String> {
        Some(self.order_id.clone())
    }
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        eventschema::json_encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        eventschema::json_decode(bytes)
    }
    // What generated and derived JSON events do: validation reads this value.
    fn to_json_value(&self) -> Option<Result<serde_json::Value, CodecError>> {
        eventschema::json_value(self)
    }
}
