//! No `subject`.

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(version = 2)]
pub struct OrderPlaced {
    pub order_id: String,
}

fn main() {}
