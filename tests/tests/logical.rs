//! Logical types (`fixtures/logical-types`): the generated types use uuid, chrono,
//! bigdecimal and `eventschema::logical::Duration`, and their Avro bytes are exactly what
//! apache-avro writes for the same values (both directions); older versions upcast with
//! logical defaults; JSON Schema formats read and write their text forms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod generated {
    //! The code generated from `fixtures/logical-types` by `build.rs`.
    include!(concat!(env!("OUT_DIR"), "/logical_types_generated.rs"));
}

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use apache_avro::types::Value;
use apache_avro::{Days, Decimal, Duration as AvroDuration, Millis, Months};
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use eventschema::Event;
use eventschema::logical::Duration;
use generated::{types_formats, types_logical};
use proptest::prelude::*;
use uuid::Uuid;

fn ts(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap()
}

fn sample(ts_millis: i64, cents: i64, days: i32) -> types_logical::v1::Logical {
    types_logical::v1::Logical {
        id: Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
        fixed_id: Uuid::from_u128(42),
        day: NaiveDate::from_epoch_days(days).unwrap(),
        at_millis: NaiveTime::from_hms_milli_opt(13, 14, 15, 16).unwrap(),
        at_micros: NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
        ts_millis: ts(ts_millis),
        ts_micros: DateTime::from_timestamp_micros(ts_millis * 1000 + 7).unwrap(),
        local_millis: ts(ts_millis).naive_utc(),
        local_micros: NaiveDateTime::from_str("2024-02-29T12:34:56.123456").unwrap(),
        price: BigDecimal::new(cents.into(), 2),
        fixed_price: BigDecimal::from_str("-1234.5").unwrap(),
        wait: Duration {
            months: 1,
            days: 2,
            millis: 3,
        },
        raw: vec![0, 1, 255],
        digest: (0u8..16).collect(),
        shipped: Some(ts(ts_millis + 1)),
        history: vec![DateTime::from_timestamp_micros(5).unwrap()],
        by_region: BTreeMap::from([("eu".to_owned(), NaiveDate::from_epoch_days(1).unwrap())]),
        either: types_logical::v1::LogicalEither::Long(ts(-1)),
    }
}

/// The same value as apache-avro's generic `Value`, built from the wire representations.
fn avro_value(event: &types_logical::v1::Logical) -> Value {
    let unscaled = |d: &BigDecimal, scale: i64| d.with_scale(scale).into_bigint_and_exponent().0;
    let fixed_price = {
        let minimal = unscaled(&event.fixed_price, 4).to_signed_bytes_be();
        let mut bytes = vec![0xff; 8 - minimal.len()];
        bytes.extend(minimal);
        bytes
    };
    let date_days = |d: &NaiveDate| d.to_epoch_days();
    let time_millis = |t: &NaiveTime| {
        (t.signed_duration_since(NaiveTime::MIN).num_milliseconds())
            .try_into()
            .unwrap()
    };
    let either = match &event.either {
        types_logical::v1::LogicalEither::String(s) => Value::Union(0, Box::new(s.clone().into())),
        types_logical::v1::LogicalEither::Long(t) => {
            Value::Union(1, Box::new(Value::TimestampMillis(t.timestamp_millis())))
        }
    };
    Value::Record(vec![
        ("id".into(), Value::Uuid(event.id)),
        ("fixed_id".into(), Value::Uuid(event.fixed_id)),
        ("day".into(), Value::Date(date_days(&event.day))),
        (
            "at_millis".into(),
            Value::TimeMillis(time_millis(&event.at_millis)),
        ),
        (
            "at_micros".into(),
            Value::TimeMicros(
                event
                    .at_micros
                    .signed_duration_since(NaiveTime::MIN)
                    .num_microseconds()
                    .unwrap(),
            ),
        ),
        (
            "ts_millis".into(),
            Value::TimestampMillis(event.ts_millis.timestamp_millis()),
        ),
        (
            "ts_micros".into(),
            Value::TimestampMicros(event.ts_micros.timestamp_micros()),
        ),
        (
            "local_millis".into(),
            Value::LocalTimestampMillis(event.local_millis.and_utc().timestamp_millis()),
        ),
        (
            "local_micros".into(),
            Value::LocalTimestampMicros(event.local_micros.and_utc().timestamp_micros()),
        ),
        (
            "price".into(),
            Value::Decimal(Decimal::from(
                unscaled(&event.price, 2).to_signed_bytes_be(),
            )),
        ),
        (
            "fixed_price".into(),
            Value::Decimal(Decimal::from(fixed_price)),
        ),
        (
            "wait".into(),
            Value::Duration(AvroDuration::new(
                Months::new(event.wait.months),
                Days::new(event.wait.days),
                Millis::new(event.wait.millis),
            )),
        ),
        ("raw".into(), Value::Bytes(event.raw.clone())),
        ("digest".into(), Value::Fixed(16, event.digest.clone())),
        (
            "shipped".into(),
            match event.shipped {
                Some(t) => Value::Union(1, Box::new(Value::TimestampMillis(t.timestamp_millis()))),
                None => Value::Union(0, Box::new(Value::Null)),
            },
        ),
        (
            "history".into(),
            Value::Array(
                event
                    .history
                    .iter()
                    .map(|t| Value::TimestampMicros(t.timestamp_micros()))
                    .collect(),
            ),
        ),
        (
            "by_region".into(),
            Value::Map(
                event
                    .by_region
                    .iter()
                    .map(|(k, d)| (k.clone(), Value::Date(date_days(d))))
                    .collect::<HashMap<_, _>>(),
            ),
        ),
        ("either".into(), either),
    ])
}

fn apache_bytes(event: &types_logical::v1::Logical) -> Vec<u8> {
    let schema = apache_avro::Schema::parse_str(types_logical::v1::Logical::SCHEMA).unwrap();
    apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
        .build()
        .unwrap()
        .write_value_to_vec(avro_value(event))
        .unwrap()
}

#[test]
fn avro_bytes_match_apache_avro_both_ways() {
    let event = sample(1_700_000_000_123, 12_345, 19_700);
    let ours = event.encode().unwrap();
    assert_eq!(
        ours,
        apache_bytes(&event),
        "our encoding differs from apache-avro's"
    );
    let back = types_logical::v1::Logical::decode(&ours).unwrap();
    assert_eq!(back, event);
}

#[test]
fn timestamp_millis_is_a_long_on_the_wire() {
    let event = sample(1, 0, 0);
    let bytes = event.encode().unwrap();
    let schema = apache_avro::Schema::parse_str(types_logical::v1::Logical::SCHEMA).unwrap();
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(&schema)
        .build()
        .unwrap();
    let Value::Record(fields) = reader.read_value(&mut &bytes[..]).unwrap() else {
        panic!("not a record");
    };
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(field("ts_millis"), Value::TimestampMillis(1));
    assert_eq!(field("day"), Value::Date(0));
    assert_eq!(
        field("price"),
        Value::Decimal(Decimal::from(Vec::<u8>::new()))
    );
}

#[test]
fn decimals_that_do_not_fit_the_schema_are_codec_errors() {
    let mut event = sample(0, 1, 0);
    event.price = BigDecimal::from_str("0.001").unwrap(); // scale 2 cannot hold it
    assert!(event.encode().is_err());
    event.price = BigDecimal::from_str("123456789.00").unwrap(); // precision 10 < 11 digits
    assert!(event.encode().is_err());
}

#[test]
fn older_versions_upcast_with_logical_defaults() {
    let event = sample(5, 250, 3);
    let newest = types_logical::decode_any(1, &event.encode().unwrap()).unwrap();
    assert_eq!(newest.ts_millis, event.ts_millis);
    assert_eq!(newest.price, event.price);
    assert_eq!(newest.expires, NaiveDate::from_epoch_days(19_000).unwrap());
    assert_eq!(newest.fee, BigDecimal::from_str("2.56").unwrap()); // bytes [1, 0] = 256
    assert_eq!(newest.ref_id, Uuid::from_u128(1));
}

#[test]
fn json_schema_formats_use_chrono_and_uuid() {
    let text = r#"{"id":"67e55044-10b1-426f-9247-bb680e5fe0c8","day":"2024-02-29",
        "at":"2024-02-29T10:00:00+02:00","opened":"10:00:00+02:00","closed":null,
        "other":"a@b.c"}"#;
    let event = types_formats::Formats::decode(text.as_bytes()).unwrap();
    assert_eq!(
        event.id,
        Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap()
    );
    assert_eq!(event.day, NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
    assert_eq!(event.at, ts(1_709_193_600_000));
    assert_eq!(event.opened, NaiveTime::from_hms_opt(8, 0, 0).unwrap());
    assert_eq!(event.closed, None);
    let again = types_formats::Formats::decode(&event.encode().unwrap()).unwrap();
    assert_eq!(again, event);
    let json: serde_json::Value = serde_json::from_slice(&event.encode().unwrap()).unwrap();
    assert_eq!(json["opened"], "08:00:00Z");
    assert_eq!(json["day"], "2024-02-29");
}

proptest! {
    #[test]
    fn any_value_encodes_like_apache_avro(
        ts_millis in -8_000_000_000_000i64..8_000_000_000_000,
        cents in -9_999_999_999i64..9_999_999_999,
        days in -700_000i32..700_000,
    ) {
        let event = sample(ts_millis, cents, days);
        let ours = event.encode().unwrap();
        prop_assert_eq!(&ours, &apache_bytes(&event));
        prop_assert_eq!(types_logical::v1::Logical::decode(&ours).unwrap(), event);
    }
}
