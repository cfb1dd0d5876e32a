//! A locked schema gets the same field check as a schema file: errors at the fields, naming
//! the cached file.

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub enum Channel { WEB, STORE, MOBILE }

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OrderLine { pub sku: String, pub quantity: i32 }

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 3, lock = "tests/fixtures/lock/eventschema.lock")]
pub struct OrderPlaced {
    pub order_id: String,
    pub buyer_id: String,
    pub total_cents: String,
    pub currency: String,
    pub notes: Option<String>,
    pub channel: Channel,
    pub lines: Vec<OrderLine>,
}

fn main() {}
