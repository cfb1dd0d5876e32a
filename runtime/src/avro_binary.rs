//! Avro binary encoding for generated code: the primitives of the specification's "Binary
//! Encoding" section (zig-zag varints, little-endian floats, length-prefixed bytes and
//! strings, blocked arrays and maps, union branch indexes) that the code generator's
//! per-type `write_avro`/`read_avro` functions are made of.
//!
//! Why not apache-avro's serde bridge: it cannot express several shapes a schema can (a
//! nullable union with more than one other branch, logical types nested in collections),
//! and it goes through a dynamic `Value` on every decode. Generated code knows the schema at
//! every position, so it writes and reads the bytes directly, as prost does for protobuf.
//! Each type reads exactly the bytes of its own schema; reading another version goes
//! through that version's type and the upcasters.
//!
//! Decoding never panics and never allocates more than the input can hold: lengths and
//! block counts are checked against the bytes that remain before anything is reserved.

use std::collections::BTreeMap;

use crate::error::CodecError;
use crate::logical::{Adapter, Bytes};

/// The bytes of a datum still to be read.
pub type Input<'a, 'b> = &'a mut &'b [u8];

fn truncated(what: &str) -> CodecError {
    CodecError(format!("truncated Avro datum: {what} runs past the end"))
}

/// A `long` (and `int`): zig-zag, then a little-endian base-128 varint.
pub fn write_long(out: &mut Vec<u8>, value: i64) {
    // Zig-zag as the specification defines it: the sign moves to the lowest bit.
    #[allow(clippy::cast_sign_loss)]
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub fn write_int(out: &mut Vec<u8>, value: i32) {
    write_long(out, i64::from(value));
}

pub fn write_boolean(out: &mut Vec<u8>, value: bool) {
    out.push(u8::from(value));
}

pub fn write_float(out: &mut Vec<u8>, value: f32) {
    out.extend_from_slice(&value.to_le_bytes());
}

pub fn write_double(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// A length (of bytes, a string or a block) as a `long`.
fn write_len(out: &mut Vec<u8>, len: usize) {
    // A Vec's length fits in i64 on every platform Rust supports (isize::MAX bytes).
    write_long(out, i64::try_from(len).unwrap_or(i64::MAX));
}

pub fn write_bytes(out: &mut Vec<u8>, value: &[u8]) {
    write_len(out, value.len());
    out.extend_from_slice(value);
}

pub fn write_string(out: &mut Vec<u8>, value: &str) {
    write_bytes(out, value.as_bytes());
}

/// A `fixed` of `size` bytes: written as is; another length is an error, not a datum
/// that readers would misread.
pub fn write_fixed(out: &mut Vec<u8>, value: &[u8], size: usize) -> Result<(), CodecError> {
    if value.len() != size {
        return Err(CodecError(format!(
            "a fixed of {size} bytes cannot hold {} bytes",
            value.len()
        )));
    }
    out.extend_from_slice(value);
    Ok(())
}

/// The index of the union branch a value takes.
pub fn write_branch(out: &mut Vec<u8>, index: usize) {
    write_len(out, index);
}

/// An array as one block (count, items) and the end marker.
pub fn write_array<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut write_item: impl FnMut(&mut Vec<u8>, &T) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    if !items.is_empty() {
        write_len(out, items.len());
        for item in items {
            write_item(out, item)?;
        }
    }
    out.push(0);
    Ok(())
}

/// A map as one block of (key, value) pairs in key order and the end marker.
pub fn write_map<V>(
    out: &mut Vec<u8>,
    map: &BTreeMap<String, V>,
    mut write_value: impl FnMut(&mut Vec<u8>, &V) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    if !map.is_empty() {
        write_len(out, map.len());
        for (key, value) in map {
            write_string(out, key);
            write_value(out, value)?;
        }
    }
    out.push(0);
    Ok(())
}

pub fn read_long(input: Input<'_, '_>) -> Result<i64, CodecError> {
    let mut n: u64 = 0;
    for (at, &byte) in input.iter().enumerate() {
        if at == 9 && byte > 1 {
            return Err(CodecError("an Avro long is longer than 64 bits".to_owned()));
        }
        n |= u64::from(byte & 0x7f) << (7 * at);
        if byte & 0x80 == 0 {
            *input = &input[at + 1..];
            #[allow(clippy::cast_possible_wrap)]
            return Ok(((n >> 1) as i64) ^ -((n & 1) as i64));
        }
    }
    Err(truncated("a long"))
}

pub fn read_int(input: Input<'_, '_>) -> Result<i32, CodecError> {
    let n = read_long(input)?;
    i32::try_from(n).map_err(|_| CodecError(format!("{n} is out of range for an Avro int")))
}

pub fn read_boolean(input: Input<'_, '_>) -> Result<bool, CodecError> {
    match take(input, 1, "a boolean")? {
        [0] => Ok(false),
        [1] => Ok(true),
        [other] => Err(CodecError(format!(
            "{other} is not an Avro boolean (0 or 1)"
        ))),
        _ => Err(truncated("a boolean")),
    }
}

pub fn read_float(input: Input<'_, '_>) -> Result<f32, CodecError> {
    let bytes = take(input, 4, "a float")?;
    let mut array = [0; 4];
    array.copy_from_slice(bytes);
    Ok(f32::from_le_bytes(array))
}

pub fn read_double(input: Input<'_, '_>) -> Result<f64, CodecError> {
    let bytes = take(input, 8, "a double")?;
    let mut array = [0; 8];
    array.copy_from_slice(bytes);
    Ok(f64::from_le_bytes(array))
}

/// `len` bytes from the input, or an error when fewer remain.
fn take<'b>(input: Input<'_, 'b>, len: usize, what: &str) -> Result<&'b [u8], CodecError> {
    if input.len() < len {
        return Err(truncated(what));
    }
    let (head, rest) = input.split_at(len);
    *input = rest;
    Ok(head)
}

/// A length prefix that fits in what remains (each counted thing takes at least
/// `min_bytes` bytes), so that no reservation exceeds the input.
fn read_len(input: Input<'_, '_>, min_bytes: usize, what: &str) -> Result<usize, CodecError> {
    let n = read_long(input)?;
    let len =
        usize::try_from(n).map_err(|_| CodecError(format!("negative length {n} of {what}")))?;
    if len.saturating_mul(min_bytes) > input.len() {
        return Err(truncated(what));
    }
    Ok(len)
}

pub fn read_bytes(input: Input<'_, '_>) -> Result<Vec<u8>, CodecError> {
    let len = read_len(input, 1, "bytes")?;
    Ok(take(input, len, "bytes")?.to_vec())
}

pub fn read_string(input: Input<'_, '_>) -> Result<String, CodecError> {
    let len = read_len(input, 1, "a string")?;
    let bytes = take(input, len, "a string")?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| CodecError(format!("an Avro string is not UTF-8: {e}")))
}

pub fn read_fixed(input: Input<'_, '_>, size: usize) -> Result<Vec<u8>, CodecError> {
    Ok(take(input, size, "a fixed")?.to_vec())
}

/// `n` as an index below `count`, or an error naming what it indexes.
fn index_below(n: i64, count: usize, what: &str) -> Result<usize, CodecError> {
    usize::try_from(n)
        .ok()
        .filter(|index| *index < count)
        .ok_or_else(|| CodecError(format!("{what} {n} is out of range (there are {count})")))
}

/// The branch index of a union of `branches` branches.
pub fn read_branch(input: Input<'_, '_>, branches: usize) -> Result<usize, CodecError> {
    index_below(read_long(input)?, branches, "union branch")
}

/// An enum's symbol index, checked against the number of symbols.
pub fn read_enum(input: Input<'_, '_>, symbols: usize) -> Result<usize, CodecError> {
    index_below(i64::from(read_int(input)?), symbols, "enum symbol")
}

/// The item count of the next block; a negative count is followed by the block's size in
/// bytes (which readers that do not skip ignore). Zero ends the array or map.
fn read_block(input: Input<'_, '_>, what: &str) -> Result<usize, CodecError> {
    let count = read_long(input)?;
    let count = if count < 0 {
        read_long(input)?;
        count.checked_neg().ok_or_else(|| truncated(what))?
    } else {
        count
    };
    let count = usize::try_from(count).map_err(|_| truncated(what))?;
    // Every item takes at least one byte except those of zero-byte types (null, empty
    // records, fixed of 0), so this bound only rejects counts no input could hold.
    if count > input.len().saturating_mul(8).saturating_add(1 << 20) {
        return Err(truncated(what));
    }
    Ok(count)
}

pub fn read_array<T>(
    input: Input<'_, '_>,
    mut read_item: impl FnMut(Input<'_, '_>) -> Result<T, CodecError>,
) -> Result<Vec<T>, CodecError> {
    let mut items = Vec::new();
    loop {
        let count = read_block(input, "an array")?;
        if count == 0 {
            return Ok(items);
        }
        items.reserve(count.min(input.len()));
        for _ in 0..count {
            items.push(read_item(input)?);
        }
    }
}

/// Reads a map; a key that repeats is an error (a map cannot hold both values, and keeping
/// one would silently drop the other).
pub fn read_map<V>(
    input: Input<'_, '_>,
    mut read_value: impl FnMut(Input<'_, '_>) -> Result<V, CodecError>,
) -> Result<BTreeMap<String, V>, CodecError> {
    let mut map = BTreeMap::new();
    loop {
        let count = read_block(input, "a map")?;
        if count == 0 {
            return Ok(map);
        }
        for _ in 0..count {
            let key = read_string(input)?;
            let value = read_value(input)?;
            if map.contains_key(&key) {
                return Err(CodecError(format!("map key `{key}` appears twice")));
            }
            map.insert(key, value);
        }
    }
}

/// The Avro primitives a logical type's adapter converts to and from.
pub trait WireValue: Sized {
    fn write(&self, out: &mut Vec<u8>);
    fn read(input: Input<'_, '_>) -> Result<Self, CodecError>;
}

impl WireValue for i32 {
    fn write(&self, out: &mut Vec<u8>) {
        write_int(out, *self);
    }
    fn read(input: Input<'_, '_>) -> Result<Self, CodecError> {
        read_int(input)
    }
}

impl WireValue for i64 {
    fn write(&self, out: &mut Vec<u8>) {
        write_long(out, *self);
    }
    fn read(input: Input<'_, '_>) -> Result<Self, CodecError> {
        read_long(input)
    }
}

impl WireValue for String {
    fn write(&self, out: &mut Vec<u8>) {
        write_string(out, self);
    }
    fn read(input: Input<'_, '_>) -> Result<Self, CodecError> {
        read_string(input)
    }
}

impl WireValue for Bytes {
    fn write(&self, out: &mut Vec<u8>) {
        write_bytes(out, &self.0);
    }
    fn read(input: Input<'_, '_>) -> Result<Self, CodecError> {
        read_bytes(input).map(Bytes)
    }
}

/// A logical type (on `int`, `long`, `string` or `bytes`) through its adapter.
pub fn write_adapted<A: Adapter>(out: &mut Vec<u8>, value: &A::Value) -> Result<(), CodecError>
where
    A::Wire: WireValue,
{
    A::to_wire(value).map_err(CodecError)?.write(out);
    Ok(())
}

pub fn read_adapted<A: Adapter>(input: Input<'_, '_>) -> Result<A::Value, CodecError>
where
    A::Wire: WireValue,
{
    A::from_wire(A::Wire::read(input)?).map_err(CodecError)
}

/// A logical type on a `fixed` of `size` bytes through its adapter.
pub fn write_adapted_fixed<A: Adapter<Wire = Bytes>>(
    out: &mut Vec<u8>,
    value: &A::Value,
    size: usize,
) -> Result<(), CodecError> {
    write_fixed(out, &A::to_wire(value).map_err(CodecError)?.0, size)
}

pub fn read_adapted_fixed<A: Adapter<Wire = Bytes>>(
    input: Input<'_, '_>,
    size: usize,
) -> Result<A::Value, CodecError> {
    A::from_wire(Bytes(read_fixed(input, size)?)).map_err(CodecError)
}

/// Implemented by generated named types (records, enums, union enums).
pub trait AvroDatum: Sized {
    fn write_avro(&self, out: &mut Vec<u8>) -> Result<(), CodecError>;
    fn read_avro(input: Input<'_, '_>) -> Result<Self, CodecError>;
}

/// A whole payload: the datum and nothing after it.
pub fn encode<T: AvroDatum>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    value.write_avro(&mut out)?;
    Ok(out)
}

/// Reads a whole payload; trailing bytes are an error, as in validation.
pub fn decode<T: AvroDatum>(bytes: &[u8]) -> Result<T, CodecError> {
    let mut input = bytes;
    let value = T::read_avro(&mut input)?;
    if !input.is_empty() {
        return Err(CodecError(format!(
            "{} trailing bytes after the Avro datum",
            input.len()
        )));
    }
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn longs_match_the_specification_examples() {
        // The specification's zig-zag table: 0 -> 00, -1 -> 01, 1 -> 02, -2 -> 03, 2 -> 04,
        // -64 -> 7f, 64 -> 80 01.
        for (value, bytes) in [
            (0_i64, &[0x00][..]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-2, &[0x03]),
            (2, &[0x04]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
        ] {
            let mut out = Vec::new();
            write_long(&mut out, value);
            assert_eq!(out, bytes, "{value}");
            assert_eq!(read_long(&mut &out[..]).unwrap(), value);
        }
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(read_long(&mut &[0x80_u8; 10][..]).is_err());
        assert!(read_long(&mut &[0x80_u8][..]).is_err());
        assert!(read_int(&mut &[0xfe, 0xff, 0xff, 0xff, 0x1f][..]).is_err());
        assert!(read_boolean(&mut &[2_u8][..]).is_err());
        // A length far past the input reserves nothing.
        let mut huge = Vec::new();
        write_long(&mut huge, i64::MAX);
        assert!(read_bytes(&mut &huge[..]).is_err());
        assert!(read_array(&mut &huge[..], read_long).is_err());
        assert!(read_string(&mut &[0x02, 0xff][..]).is_err());
        assert!(read_branch(&mut &[0x04][..], 2).is_err());
        assert!(read_enum(&mut &[0x01][..], 3).is_err());
    }

    #[test]
    fn negative_block_counts_carry_a_size() {
        // -2 items, then the block's byte size, then the items and the end marker.
        let bytes = [0x03, 0x04, 0x02, 0x04, 0x00];
        assert_eq!(read_array(&mut &bytes[..], read_long).unwrap(), vec![1, 2]);
    }

    #[test]
    fn repeated_map_keys_are_refused() {
        let mut bytes = vec![];
        write_long(&mut bytes, 2);
        for _ in 0..2 {
            write_string(&mut bytes, "k");
            write_long(&mut bytes, 1);
        }
        bytes.push(0);
        let error = read_map(&mut &bytes[..], read_long).unwrap_err();
        assert!(error.0.contains("`k` appears twice"), "{error}");
    }

    proptest! {
        #[test]
        fn longs_round_trip(value in any::<i64>()) {
            let mut out = Vec::new();
            write_long(&mut out, value);
            let mut input = &out[..];
            prop_assert_eq!(read_long(&mut input).unwrap(), value);
            prop_assert!(input.is_empty());
        }

        #[test]
        fn arrays_and_maps_round_trip(
            items in proptest::collection::vec(any::<i32>(), 0..20),
            map in proptest::collection::btree_map(".{0,8}", any::<f64>(), 0..10),
        ) {
            let mut out = Vec::new();
            write_array(&mut out, &items, |out, v| { write_int(out, *v); Ok(()) }).unwrap();
            write_map(&mut out, &map, |out, v| { write_double(out, *v); Ok(()) }).unwrap();
            let mut input = &out[..];
            prop_assert_eq!(read_array(&mut input, read_int).unwrap(), items);
            let back = read_map(&mut input, read_double).unwrap();
            prop_assert_eq!(back.len(), map.len());
            for (key, value) in &map {
                prop_assert_eq!(back[key].to_bits(), value.to_bits());
            }
            prop_assert!(input.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut input = &bytes[..];
            let _ = read_map(&mut input, |input| read_array(input, read_string));
        }
    }
}
