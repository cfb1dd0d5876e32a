//! JSON Schema: required vs `Option`, an enum read as a non-string, a wrong type.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, eventschema::Event)]
#[serde(rename_all = "camelCase")]
#[event(subject = "payments.payment-failed", version = 2, schema = "schemas/payments.payment-failed/2.json")]
pub struct PaymentFailed {
    pub payment_id: String,
    pub order_id: Option<String>,
    pub reason: String,
    pub attempt: i64,
    pub retryable: Option<String>,
}

fn main() {}
