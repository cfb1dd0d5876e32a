//! The Confluent wire format: framing round-trips for any id and payload, short input and
//! a wrong magic byte are typed errors, and `ConfluentExt` frames with `Event::SCHEMA_ID`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema::wire::{ConfluentExt, WireError, decode_confluent, encode_confluent, frame};
use eventschema::{CodecError, Event, SchemaType};
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Ping {
    n: u32,
}

impl Event for Ping {
    const TYPE: &'static str = "ping";
    const SUBJECT: &'static str = "ping-value";
    const VERSION: u32 = 1;
    const SCHEMA_TYPE: SchemaType = SchemaType::Json;
    const SCHEMA: &'static str = r#"{"type":"object"}"#;
    const SCHEMA_ID: Option<u64> = Some(0x0102_0304);
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        eventschema::json_encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        eventschema::json_decode(bytes)
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct NoId;

impl Event for NoId {
    const TYPE: &'static str = "no-id";
    const SUBJECT: &'static str = "no-id-value";
    const VERSION: u32 = 1;
    const SCHEMA_TYPE: SchemaType = SchemaType::Json;
    const SCHEMA: &'static str = "{}";
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        eventschema::json_encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        eventschema::json_decode(bytes)
    }
}

#[test]
fn header_is_magic_then_big_endian_id() {
    let bytes = encode_confluent(&Ping { n: 7 }, 0x0102_0304).unwrap();
    assert_eq!(&bytes[..5], &[0, 1, 2, 3, 4]);
    assert_eq!(&bytes[5..], br#"{"n":7}"#);
    assert_eq!(Ping { n: 7 }.to_confluent().unwrap(), bytes);
    assert_eq!(Ping::from_confluent(&bytes).unwrap(), Ping { n: 7 });
}

#[test]
fn short_input_and_wrong_magic_are_errors() {
    for len in 0..5 {
        assert_eq!(
            decode_confluent(&[0; 4][..len.min(4)]),
            Err(WireError::TooShort(len.min(4)))
        );
    }
    assert_eq!(
        decode_confluent(&[1, 0, 0, 0, 1]),
        Err(WireError::WrongMagic(1))
    );
    assert_eq!(decode_confluent(&[0, 0, 0, 0, 9]), Ok((9, &[][..])));
}

#[test]
fn ids_are_checked_and_required() {
    let other = frame(5, br#"{"n":1}"#);
    assert_eq!(
        Ping::from_confluent(&other),
        Err(WireError::UnexpectedId {
            expected: 0x0102_0304,
            found: 5
        })
    );
    assert_eq!(
        NoId.to_confluent(),
        Err(WireError::NoSchemaId("no-id-value"))
    );
    assert!(matches!(
        Ping::from_confluent(&frame(0x0102_0304, b"not json")),
        Err(WireError::Codec(_))
    ));
}

proptest! {
    #[test]
    fn framing_round_trips(id in any::<u32>(), payload in proptest::collection::vec(any::<u8>(), 0..256)) {
        let framed = frame(id, &payload);
        prop_assert_eq!(framed.len(), payload.len() + 5);
        prop_assert_eq!(decode_confluent(&framed), Ok((id, &payload[..])));
    }

    #[test]
    fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
        match decode_confluent(&bytes) {
            Ok((id, payload)) => prop_assert_eq!(frame(id, payload), bytes),
            Err(WireError::TooShort(n)) => prop_assert!(n < 5 && n == bytes.len()),
            Err(WireError::WrongMagic(m)) => prop_assert_eq!(Some(&m), bytes.first()),
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }
}
