//! Code-first schemas cover primitives and containers; other types need a schema file.

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Address {
    pub city: String,
}

#[derive(serde::Serialize, serde::Deserialize, eventschema::Event)]
#[event(subject = "shipping.parcel-sent")]
pub struct ParcelSent {
    pub to: Address,
    pub count: u64,
}

fn main() {}
