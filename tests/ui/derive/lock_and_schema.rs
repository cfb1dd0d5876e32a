//! `schema` and `lock` are two sources for one schema: only one may be given.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 3, schema = "schemas/orders.order-placed/3.avsc", lock)]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
