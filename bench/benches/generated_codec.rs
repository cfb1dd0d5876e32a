//! Encode, decode and upcast throughput of a generated type (`orders.order-placed`, the
//! example domain's richest subject) against hand-written serde structs encoded with
//! apache-avro directly, and against apache-avro's dynamic `Value` path (a `Value` written,
//! bytes read into a `Value`), in the same run. Numbers go to bench/RESULTS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)]

include!(concat!(env!("OUT_DIR"), "/eventschema_generated.rs"));

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::LazyLock;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eventschema::Event;
use orders_order_placed::{v1, v3};
use serde::{Deserialize, Serialize};

/// What a developer would write by hand for version 3 and version 1.
mod hand {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Channel {
        #[serde(rename = "WEB")]
        Web,
        #[serde(rename = "STORE")]
        Store,
        #[serde(rename = "MOBILE")]
        Mobile,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct OrderLine {
        pub sku: String,
        pub quantity: i32,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct OrderPlaced {
        pub order_id: String,
        pub buyer_id: String,
        pub total_cents: i64,
        pub currency: String,
        pub notes: Option<String>,
        pub channel: Channel,
        pub lines: Vec<OrderLine>,
        pub attributes: BTreeMap<String, String>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename = "OrderPlaced")]
    pub struct OrderPlacedV1 {
        pub order_id: String,
        pub customer_id: String,
        pub total_cents: i32,
        pub channel: Channel,
        pub lines: Vec<OrderLine>,
    }

    impl From<OrderPlacedV1> for OrderPlaced {
        fn from(v1: OrderPlacedV1) -> Self {
            OrderPlaced {
                order_id: v1.order_id,
                buyer_id: v1.customer_id,
                total_cents: i64::from(v1.total_cents),
                currency: "EUR".to_owned(),
                notes: None,
                channel: v1.channel,
                lines: v1.lines,
                attributes: BTreeMap::new(),
            }
        }
    }

    pub static V3: LazyLock<apache_avro::Schema> =
        LazyLock::new(|| apache_avro::Schema::parse_str(v3::OrderPlaced::SCHEMA).unwrap());
    pub static V1: LazyLock<apache_avro::Schema> =
        LazyLock::new(|| apache_avro::Schema::parse_str(v1::OrderPlaced::SCHEMA).unwrap());

    pub fn encode<T: Serialize>(schema: &apache_avro::Schema, value: &T) -> Vec<u8> {
        apache_avro::writer::datum::GenericDatumWriter::builder(schema)
            .build()
            .unwrap()
            .write_ser_to_vec(value)
            .unwrap()
    }

    pub fn decode<T: serde::de::DeserializeOwned>(schema: &apache_avro::Schema, bytes: &[u8]) -> T {
        apache_avro::reader::datum::GenericDatumReader::builder(schema)
            .build()
            .unwrap()
            .read_deser(&mut &bytes[..])
            .unwrap()
    }
}

fn lines(n: usize) -> Vec<(String, i32)> {
    (0..n)
        .map(|i| (format!("SKU-{i:05}"), i32::try_from(i).unwrap() + 1))
        .collect()
}

fn generated_v3() -> v3::OrderPlaced {
    v3::OrderPlaced {
        order_id: "ord-0001".into(),
        buyer_id: "cust-42".into(),
        total_cents: 123_456,
        currency: "EUR".into(),
        notes: Some("leave at the door".into()),
        channel: v3::Channel::Mobile,
        lines: lines(5)
            .into_iter()
            .map(|(sku, quantity)| v3::OrderLine { sku, quantity })
            .collect(),
        attributes: BTreeMap::from([("campaign".into(), "spring".into())]),
    }
}

fn hand_v3() -> hand::OrderPlaced {
    hand::OrderPlaced {
        order_id: "ord-0001".into(),
        buyer_id: "cust-42".into(),
        total_cents: 123_456,
        currency: "EUR".into(),
        notes: Some("leave at the door".into()),
        channel: hand::Channel::Mobile,
        lines: lines(5)
            .into_iter()
            .map(|(sku, quantity)| hand::OrderLine { sku, quantity })
            .collect(),
        attributes: BTreeMap::from([("campaign".into(), "spring".into())]),
    }
}

fn generated_v1() -> v1::OrderPlaced {
    v1::OrderPlaced {
        order_id: "ord-0001".into(),
        customer_id: "cust-42".into(),
        total_cents: 123_456,
        channel: v1::Channel::Store,
        lines: lines(5)
            .into_iter()
            .map(|(sku, quantity)| v1::OrderLine { sku, quantity })
            .collect(),
    }
}

fn codec(c: &mut Criterion) {
    let generated = generated_v3();
    let handwritten = hand_v3();
    let bytes = generated.encode().unwrap();
    assert_eq!(
        bytes,
        hand::encode(&hand::V3, &handwritten),
        "same wire bytes"
    );
    let v1_bytes = generated_v1().encode().unwrap();
    assert_eq!(
        orders_order_placed::decode_any(1, &v1_bytes)
            .unwrap()
            .total_cents,
        hand::OrderPlaced::from(hand::decode::<hand::OrderPlacedV1>(&hand::V1, &v1_bytes))
            .total_cents
    );

    let value_writer = apache_avro::writer::datum::GenericDatumWriter::builder(&hand::V3)
        .build()
        .unwrap();
    let value_reader = apache_avro::reader::datum::GenericDatumReader::builder(&hand::V3)
        .build()
        .unwrap();
    let value = value_reader.read_value(&mut &bytes[..]).unwrap();
    let mut rewritten = Vec::new();
    value_writer
        .write_value_ref(&mut rewritten, &value)
        .unwrap();
    assert_eq!(rewritten, bytes, "the Value path writes the same datum");

    let mut group = c.benchmark_group("order_placed");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode/generated", |b| {
        b.iter(|| black_box(&generated).encode().unwrap())
    });
    group.bench_function("encode/hand-written", |b| {
        b.iter(|| hand::encode(&hand::V3, black_box(&handwritten)))
    });
    group.bench_function("encode/apache-avro-value", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(64);
            value_writer
                .write_value_ref(&mut out, black_box(&value))
                .unwrap();
            out
        })
    });
    group.bench_function("decode/generated", |b| {
        b.iter(|| v3::OrderPlaced::decode(black_box(&bytes)).unwrap())
    });
    group.bench_function("decode/hand-written", |b| {
        b.iter(|| hand::decode::<hand::OrderPlaced>(&hand::V3, black_box(&bytes)))
    });
    group.bench_function("decode/apache-avro-value", |b| {
        b.iter(|| value_reader.read_value(&mut black_box(&bytes[..])).unwrap())
    });
    group.bench_function("upcast-v1/generated", |b| {
        b.iter(|| orders_order_placed::decode_any(1, black_box(&v1_bytes)).unwrap())
    });
    group.bench_function("upcast-v1/hand-written", |b| {
        b.iter(|| {
            hand::OrderPlaced::from(hand::decode::<hand::OrderPlacedV1>(
                &hand::V1,
                black_box(&v1_bytes),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
