//! The Confluent wire format that Kafka serializers put around a payload: magic byte `0`,
//! the registry's schema id as a 4-byte big-endian integer, then the payload (Avro datum
//! bytes or JSON). Lets a service read records written by Confluent's serializers and write
//! records they can read.

use crate::error::CodecError;
use crate::event::Event;

/// The first byte of every framed record.
pub const MAGIC_BYTE: u8 = 0;
/// Magic byte plus schema id.
pub const HEADER_LEN: usize = 5;

/// A framed record that cannot be read, or a value that cannot be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("a Confluent-framed record is at least {HEADER_LEN} bytes, got {0}")]
    TooShort(usize),
    #[error("wrong magic byte {0:#04x} (expected 0x00)")]
    WrongMagic(u8),
    #[error("schema id {0} does not fit the 4-byte id of the wire format")]
    IdOutOfRange(u64),
    #[error("`{0}` has no registry schema id (generate it from a registry or a lock file)")]
    NoSchemaId(&'static str),
    #[error("record has schema id {found}, expected {expected}")]
    UnexpectedId { expected: u32, found: u32 },
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// `payload` framed with `schema_id`.
pub fn frame(schema_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The schema id and the payload of a framed record.
pub fn decode_confluent(bytes: &[u8]) -> Result<(u32, &[u8]), WireError> {
    let Some((header, payload)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(WireError::TooShort(bytes.len()));
    };
    let [magic, id @ ..] = *header;
    if magic != MAGIC_BYTE {
        return Err(WireError::WrongMagic(magic));
    }
    Ok((u32::from_be_bytes(id), payload))
}

/// `event` encoded with [`Event::encode`] and framed with `schema_id`.
pub fn encode_confluent<E: Event>(event: &E, schema_id: u32) -> Result<Vec<u8>, WireError> {
    Ok(frame(schema_id, &event.encode()?))
}

/// For types that know their registry id ([`Event::SCHEMA_ID`], set by the code generator
/// from a registry lock): frame with it, and check it when reading.
pub trait ConfluentExt: Event {
    /// Encodes and frames with [`Event::SCHEMA_ID`].
    fn to_confluent(&self) -> Result<Vec<u8>, WireError> {
        encode_confluent(self, own_id::<Self>()?)
    }

    /// Reads a record framed with [`Event::SCHEMA_ID`]; another id is an error (use
    /// [`decode_confluent`] and a lookup by id to read other versions).
    fn from_confluent(bytes: &[u8]) -> Result<Self, WireError> {
        let expected = own_id::<Self>()?;
        let (found, payload) = decode_confluent(bytes)?;
        if found != expected {
            return Err(WireError::UnexpectedId { expected, found });
        }
        Ok(Self::decode(payload)?)
    }
}

impl<E: Event> ConfluentExt for E {}

fn own_id<E: Event>() -> Result<u32, WireError> {
    let id = E::SCHEMA_ID.ok_or(WireError::NoSchemaId(E::SUBJECT))?;
    u32::try_from(id).map_err(|_| WireError::IdOutOfRange(id))
}
