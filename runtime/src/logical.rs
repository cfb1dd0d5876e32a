//! Avro logical types as well-known Rust types, with adapters that keep the Avro wire
//! representation exact: a `timestamp-millis` field is a `chrono::DateTime<Utc>` in Rust and
//! a `long` on the wire, a `decimal` is a `bigdecimal::BigDecimal` written as the
//! two's-complement bytes of its unscaled value at the schema's scale, and so on.
//!
//! Each [`Adapter`] (a marker type per logical type) converts between the Rust value and its
//! Avro primitive. Generated code calls them from its Avro codec (at any depth). Hand-written
//! `#[derive(Event)]` structs, whose Avro payloads go through apache-avro's serde bridge,
//! name an adapter in `#[serde(serialize_with, deserialize_with)]` through one of the four
//! shapes a field can have: [`field`], [`option`], [`vec`] and [`map`]; those serialize
//! through the underlying Avro primitive, which is what the schema-aware serializer expects.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use bigdecimal::num_bigint::BigInt;
use bigdecimal::{BigDecimal, Zero};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use serde::de::{DeserializeOwned, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Converts one Rust type to and from the Avro value it travels as.
pub trait Adapter {
    /// The Rust type in generated structs.
    type Value;
    /// The Avro primitive on the wire (`i32`, `i64`, `String` or [`Bytes`]).
    type Wire: Serialize + DeserializeOwned;
    /// `Err` carries why the value does not fit the schema (out of range, too precise).
    fn to_wire(value: &Self::Value) -> Result<Self::Wire, String>;
    fn from_wire(wire: Self::Wire) -> Result<Self::Value, String>;
}

/// A byte string that serializes with `serialize_bytes` (Avro `bytes` and `fixed`), and
/// reads from bytes or from a sequence of numbers (how JSON carries it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(byte) = seq.next_element::<u8>()? {
                    out.push(byte);
                }
                Ok(Bytes(out))
            }
        }
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

/// Avro's `duration`: a `fixed` of 12 bytes, three little-endian unsigned 32-bit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Duration {
    pub months: u32,
    pub days: u32,
    pub millis: u32,
}

impl Duration {
    pub fn to_bytes(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..4].copy_from_slice(&self.months.to_le_bytes());
        out[4..8].copy_from_slice(&self.days.to_le_bytes());
        out[8..].copy_from_slice(&self.millis.to_le_bytes());
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let word = |at: usize| -> Option<u32> {
            let chunk: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
            Some(u32::from_le_bytes(chunk))
        };
        (bytes.len() == 12).then_some(())?;
        Some(Duration {
            months: word(0)?,
            days: word(4)?,
            millis: word(8)?,
        })
    }
}

macro_rules! marker {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
    };
}

marker!(
    /// `bytes` and `fixed` as `Vec<u8>`.
    RawBytes
);
marker!(
    /// `uuid` on `string`: the 36-character text.
    UuidString
);
marker!(
    /// `uuid` on `fixed(16)`: the 16 bytes.
    UuidFixed
);
marker!(
    /// `date`: days since 1970-01-01 as an `int`.
    Date
);
marker!(
    /// `time-millis`: milliseconds after midnight as an `int`.
    TimeMillis
);
marker!(
    /// `time-micros`: microseconds after midnight as a `long`.
    TimeMicros
);
marker!(
    /// `timestamp-millis`: milliseconds since the Unix epoch (UTC) as a `long`.
    TimestampMillis
);
marker!(
    /// `timestamp-micros`: microseconds since the Unix epoch (UTC) as a `long`.
    TimestampMicros
);
marker!(
    /// `timestamp-nanos`: nanoseconds since the Unix epoch (UTC) as a `long`.
    TimestampNanos
);
marker!(
    /// `local-timestamp-millis`: a wall-clock time as milliseconds, no zone.
    LocalTimestampMillis
);
marker!(
    /// `local-timestamp-micros`: a wall-clock time as microseconds, no zone.
    LocalTimestampMicros
);
marker!(
    /// `local-timestamp-nanos`: a wall-clock time as nanoseconds, no zone.
    LocalTimestampNanos
);
marker!(
    /// `duration` on `fixed(12)`.
    DurationFixed
);
marker!(
    /// JSON Schema `format: time` (`HH:MM:SS[.frac](Z|±hh:mm)`), normalised to UTC.
    Rfc3339Time
);

/// `decimal` on `bytes` with the schema's precision and scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecimalBytes<const PRECISION: u32, const SCALE: u32>;

/// `decimal` on a `fixed` of `SIZE` bytes with the schema's precision and scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecimalFixed<const SIZE: usize, const PRECISION: u32, const SCALE: u32>;

impl Adapter for RawBytes {
    type Value = Vec<u8>;
    type Wire = Bytes;
    fn to_wire(value: &Vec<u8>) -> Result<Bytes, String> {
        Ok(Bytes(value.clone()))
    }
    fn from_wire(wire: Bytes) -> Result<Vec<u8>, String> {
        Ok(wire.0)
    }
}

impl Adapter for UuidString {
    type Value = uuid::Uuid;
    type Wire = String;
    fn to_wire(value: &uuid::Uuid) -> Result<String, String> {
        Ok(value.hyphenated().to_string())
    }
    fn from_wire(wire: String) -> Result<uuid::Uuid, String> {
        uuid::Uuid::parse_str(&wire).map_err(|e| format!("invalid uuid '{wire}': {e}"))
    }
}

impl Adapter for UuidFixed {
    type Value = uuid::Uuid;
    type Wire = Bytes;
    fn to_wire(value: &uuid::Uuid) -> Result<Bytes, String> {
        Ok(Bytes(value.as_bytes().to_vec()))
    }
    fn from_wire(wire: Bytes) -> Result<uuid::Uuid, String> {
        uuid::Uuid::from_slice(&wire.0).map_err(|e| format!("invalid uuid bytes: {e}"))
    }
}

impl Adapter for Date {
    type Value = NaiveDate;
    type Wire = i32;
    fn to_wire(value: &NaiveDate) -> Result<i32, String> {
        Ok(value.to_epoch_days())
    }
    fn from_wire(wire: i32) -> Result<NaiveDate, String> {
        NaiveDate::from_epoch_days(wire).ok_or_else(|| format!("date {wire} is out of range"))
    }
}

/// Nanoseconds after midnight, leap seconds folded into the last second.
fn nanos_of_day(time: &NaiveTime) -> i64 {
    i64::from(time.num_seconds_from_midnight()) * 1_000_000_000
        + i64::from(time.nanosecond().min(999_999_999))
}

fn time_from_nanos(nanos: i64) -> Option<NaiveTime> {
    let secs = u32::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    let frac = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
    NaiveTime::from_num_seconds_from_midnight_opt(secs, frac)
}

impl Adapter for TimeMillis {
    type Value = NaiveTime;
    type Wire = i32;
    fn to_wire(value: &NaiveTime) -> Result<i32, String> {
        i32::try_from(nanos_of_day(value) / 1_000_000).map_err(|e| e.to_string())
    }
    fn from_wire(wire: i32) -> Result<NaiveTime, String> {
        time_from_nanos(i64::from(wire) * 1_000_000)
            .ok_or_else(|| format!("time-millis {wire} is not within a day"))
    }
}

impl Adapter for TimeMicros {
    type Value = NaiveTime;
    type Wire = i64;
    fn to_wire(value: &NaiveTime) -> Result<i64, String> {
        Ok(nanos_of_day(value) / 1_000)
    }
    fn from_wire(wire: i64) -> Result<NaiveTime, String> {
        wire.checked_mul(1_000)
            .and_then(time_from_nanos)
            .ok_or_else(|| format!("time-micros {wire} is not within a day"))
    }
}

impl Adapter for TimestampMillis {
    type Value = DateTime<Utc>;
    type Wire = i64;
    fn to_wire(value: &DateTime<Utc>) -> Result<i64, String> {
        Ok(value.timestamp_millis())
    }
    fn from_wire(wire: i64) -> Result<DateTime<Utc>, String> {
        DateTime::from_timestamp_millis(wire)
            .ok_or_else(|| format!("timestamp-millis {wire} is out of range"))
    }
}

impl Adapter for TimestampMicros {
    type Value = DateTime<Utc>;
    type Wire = i64;
    fn to_wire(value: &DateTime<Utc>) -> Result<i64, String> {
        Ok(value.timestamp_micros())
    }
    fn from_wire(wire: i64) -> Result<DateTime<Utc>, String> {
        DateTime::from_timestamp_micros(wire)
            .ok_or_else(|| format!("timestamp-micros {wire} is out of range"))
    }
}

impl Adapter for TimestampNanos {
    type Value = DateTime<Utc>;
    type Wire = i64;
    fn to_wire(value: &DateTime<Utc>) -> Result<i64, String> {
        value
            .timestamp_nanos_opt()
            .ok_or_else(|| format!("{value} does not fit timestamp-nanos"))
    }
    fn from_wire(wire: i64) -> Result<DateTime<Utc>, String> {
        Ok(DateTime::from_timestamp_nanos(wire))
    }
}

impl Adapter for LocalTimestampMillis {
    type Value = NaiveDateTime;
    type Wire = i64;
    fn to_wire(value: &NaiveDateTime) -> Result<i64, String> {
        TimestampMillis::to_wire(&value.and_utc())
    }
    fn from_wire(wire: i64) -> Result<NaiveDateTime, String> {
        TimestampMillis::from_wire(wire).map(|t| t.naive_utc())
    }
}

impl Adapter for LocalTimestampMicros {
    type Value = NaiveDateTime;
    type Wire = i64;
    fn to_wire(value: &NaiveDateTime) -> Result<i64, String> {
        TimestampMicros::to_wire(&value.and_utc())
    }
    fn from_wire(wire: i64) -> Result<NaiveDateTime, String> {
        TimestampMicros::from_wire(wire).map(|t| t.naive_utc())
    }
}

impl Adapter for LocalTimestampNanos {
    type Value = NaiveDateTime;
    type Wire = i64;
    fn to_wire(value: &NaiveDateTime) -> Result<i64, String> {
        TimestampNanos::to_wire(&value.and_utc())
    }
    fn from_wire(wire: i64) -> Result<NaiveDateTime, String> {
        TimestampNanos::from_wire(wire).map(|t| t.naive_utc())
    }
}

impl Adapter for DurationFixed {
    type Value = Duration;
    type Wire = Bytes;
    fn to_wire(value: &Duration) -> Result<Bytes, String> {
        Ok(Bytes(value.to_bytes().to_vec()))
    }
    fn from_wire(wire: Bytes) -> Result<Duration, String> {
        Duration::from_bytes(&wire.0)
            .ok_or_else(|| format!("a duration is 12 bytes, not {}", wire.0.len()))
    }
}

impl Adapter for Rfc3339Time {
    type Value = NaiveTime;
    type Wire = String;
    fn to_wire(value: &NaiveTime) -> Result<String, String> {
        Ok(format!("{}Z", value.format("%H:%M:%S%.f")))
    }
    fn from_wire(wire: String) -> Result<NaiveTime, String> {
        // A full-time is a partial time and an offset; an offset-free time is read as UTC.
        let text = wire.trim();
        let (time, offset_secs) = match text.find(['Z', 'z', '+', '-']) {
            Some(at) => {
                let (time, zone) = text.split_at(at);
                let offset = chrono::FixedOffset::east_opt(0)
                    .filter(|_| zone.eq_ignore_ascii_case("z"))
                    .or_else(|| {
                        let sign = if zone.starts_with('-') { -1 } else { 1 };
                        let (h, m) = zone.get(1..)?.split_once(':')?;
                        let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
                        chrono::FixedOffset::east_opt(sign * secs)
                    })
                    .ok_or_else(|| format!("invalid time offset in '{wire}'"))?;
                (time, offset.local_minus_utc())
            }
            None => (text, 0),
        };
        let local = NaiveTime::parse_from_str(time, "%H:%M:%S%.f")
            .map_err(|e| format!("invalid time '{wire}': {e}"))?;
        Ok(local - chrono::TimeDelta::seconds(i64::from(offset_secs)))
    }
}

/// The unscaled integer of `value` at `scale`, refusing digits the scale cannot hold and
/// more digits than `precision`.
fn unscaled(value: &BigDecimal, precision: u32, scale: u32) -> Result<BigInt, String> {
    let scale_i64 = i64::from(scale);
    let rescaled = value.with_scale(scale_i64);
    if &rescaled != value {
        return Err(format!("{value} has more than {scale} fraction digits"));
    }
    let digits = rescaled.digits();
    if digits > u64::from(precision) && !rescaled.is_zero() {
        return Err(format!("{value} has more than {precision} digits"));
    }
    Ok(rescaled.into_bigint_and_exponent().0)
}

impl<const PRECISION: u32, const SCALE: u32> Adapter for DecimalBytes<PRECISION, SCALE> {
    type Value = BigDecimal;
    type Wire = Bytes;
    fn to_wire(value: &BigDecimal) -> Result<Bytes, String> {
        Ok(Bytes(
            unscaled(value, PRECISION, SCALE)?.to_signed_bytes_be(),
        ))
    }
    fn from_wire(wire: Bytes) -> Result<BigDecimal, String> {
        Ok(BigDecimal::new(
            BigInt::from_signed_bytes_be(&wire.0),
            i64::from(SCALE),
        ))
    }
}

impl<const SIZE: usize, const PRECISION: u32, const SCALE: u32> Adapter
    for DecimalFixed<SIZE, PRECISION, SCALE>
{
    type Value = BigDecimal;
    type Wire = Bytes;
    fn to_wire(value: &BigDecimal) -> Result<Bytes, String> {
        let unscaled = unscaled(value, PRECISION, SCALE)?;
        let minimal = unscaled.to_signed_bytes_be();
        if minimal.len() > SIZE {
            return Err(format!("{value} does not fit in {SIZE} bytes"));
        }
        // Sign-extend to the fixed size, as Java's DecimalConversion does.
        let fill = if unscaled.sign() == bigdecimal::num_bigint::Sign::Minus {
            0xff
        } else {
            0
        };
        let mut out = vec![fill; SIZE - minimal.len()];
        out.extend_from_slice(&minimal);
        Ok(Bytes(out))
    }
    fn from_wire(wire: Bytes) -> Result<BigDecimal, String> {
        DecimalBytes::<PRECISION, SCALE>::from_wire(wire)
    }
}

/// The value of an adapter's wire default, for generated `#[serde(default)]` functions.
/// Defaults were checked against the schema's type when it was registered; a value that
/// still does not convert falls back to the type's zero rather than panicking.
pub fn default_value<A: Adapter>(wire: A::Wire) -> A::Value
where
    A::Value: Default,
{
    A::from_wire(wire).unwrap_or_default()
}

/// Serializes a value through its adapter (the building block of the shapes below).
struct Ser<'a, A: Adapter>(&'a A::Value);

impl<A: Adapter> Serialize for Ser<'_, A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        A::to_wire(self.0)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

/// Deserializes a value through its adapter.
struct De<A: Adapter>(A::Value, PhantomData<A>);

impl<'de, A: Adapter> Deserialize<'de> for De<A> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = A::Wire::deserialize(deserializer)?;
        A::from_wire(wire)
            .map(|value| De(value, PhantomData))
            .map_err(D::Error::custom)
    }
}

/// A field holding the value itself.
pub mod field {
    use super::*;

    pub fn serialize<A: Adapter, S: Serializer>(
        value: &A::Value,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        Ser::<A>(value).serialize(serializer)
    }

    pub fn deserialize<'de, A: Adapter, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<A::Value, D::Error> {
        De::<A>::deserialize(deserializer).map(|v| v.0)
    }
}

/// A nullable field (`["null", T]`).
pub mod option {
    use super::*;

    pub fn serialize<A: Adapter, S: Serializer>(
        value: &Option<A::Value>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.as_ref().map(Ser::<A>).serialize(serializer)
    }

    pub fn deserialize<'de, A: Adapter, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<A::Value>, D::Error> {
        Option::<De<A>>::deserialize(deserializer).map(|v| v.map(|v| v.0))
    }
}

/// An array field.
pub mod vec {
    use super::*;

    pub fn serialize<A: Adapter, S: Serializer>(
        value: &[A::Value],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(value.iter().map(Ser::<A>))
    }

    pub fn deserialize<'de, A: Adapter, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<A::Value>, D::Error> {
        Vec::<De<A>>::deserialize(deserializer).map(|v| v.into_iter().map(|v| v.0).collect())
    }
}

/// A map field.
pub mod map {
    use super::*;

    pub fn serialize<A: Adapter, S: Serializer>(
        value: &BTreeMap<String, A::Value>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(value.iter().map(|(k, v)| (k, Ser::<A>(v))))
    }

    pub fn deserialize<'de, A: Adapter, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, A::Value>, D::Error> {
        BTreeMap::<String, De<A>>::deserialize(deserializer)
            .map(|m| m.into_iter().map(|(k, v)| (k, v.0)).collect())
    }
}
