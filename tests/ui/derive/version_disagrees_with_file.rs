//! `version` other than the schema file's (`<subject>/<version>.avsc`).

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "orders.order-placed", version = 2, schema = "schemas/orders.order-placed/1.avsc")]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
