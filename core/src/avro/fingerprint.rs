//! Fingerprints of a schema's Parsing Canonical Form: CRC-64-AVRO (the spec's Rabin
//! fingerprint), SHA-256 and MD5.

use md5::Md5;
use sha2::{Digest, Sha256};

/// The spec's `EMPTY` value, also the CRC-64-AVRO polynomial.
const EMPTY: u64 = 0xc15d_213a_a4d7_a795;

const fn table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut fp = i as u64;
        let mut j = 0;
        while j < 8 {
            fp = (fp >> 1) ^ (EMPTY & 0u64.wrapping_sub(fp & 1));
            j += 1;
        }
        table[i] = fp;
        i += 1;
    }
    table
}

static TABLE: [u64; 256] = table();

/// CRC-64-AVRO as in the spec's "Schema Fingerprints" section.
pub(crate) fn rabin(data: &[u8]) -> u64 {
    data.iter().fold(EMPTY, |fp, &byte| {
        (fp >> 8) ^ TABLE[((fp ^ u64::from(byte)) & 0xff) as usize]
    })
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}
