//! Idempotent handling: before a handler runs, the runtime claims (group, key) in a store
//! with a lease; a completed key is acknowledged without running the handler again; a claim
//! whose worker died expires after its lease and can be taken over.
//!
//! The in-memory and Redis stores are best effort (not atomic with the handler's own
//! effects). SQLite and PostgreSQL are one store, `sql::SqlStore`, generic over the sqlx
//! driver; PostgreSQL also offers the inbox (`PgStore::run_in_transaction`), where key and
//! handler writes commit together.

use std::time::Duration;

use crate::BoxFuture;
use crate::envelope::{Envelope, ext};
use crate::error::StoreError;
use crate::fnv::Fnv;

pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use memory::MemoryStore;

/// Default retention of completed keys: the deduplication window.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// What is being deduplicated: a key within a consumer group, and a fingerprint of the
/// content so that a reused key with other content is caught.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupKey {
    pub group: String,
    /// `idempotencykey` if set, else `source` + `id`.
    pub key: String,
    /// Hex FNV-1a 64 of type, dataschema and data.
    pub fingerprint: String,
}

impl DedupKey {
    pub fn for_event(group: &str, envelope: &Envelope) -> Self {
        // Built by hand rather than with `format!`: this runs for every delivery.
        let key = match envelope.extension(ext::IDEMPOTENCY_KEY) {
            Some(key) => concat(&["k:", key]),
            None => concat(&["e:", envelope.source(), "\u{1f}", envelope.id()]),
        };
        let mut hash = Fnv::default();
        hash.write(envelope.ty().as_bytes());
        hash.write(&[0]);
        hash.write(envelope.dataschema().unwrap_or_default().as_bytes());
        hash.write(&[0]);
        hash.write(envelope.data().unwrap_or_default());
        DedupKey {
            group: group.to_owned(),
            key,
            fingerprint: hex16(hash.finish()),
        }
    }
}

fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// The 32 lower-case hex digits of `value` (what `format!("{value:032x}")` writes),
/// without the formatting machinery, which costs more than the rest of a key or token.
fn hex32(value: u128) -> [u8; 32] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (pair, byte) in out.chunks_exact_mut(2).zip(value.to_be_bytes()) {
        pair.copy_from_slice(&[
            DIGITS[usize::from(byte >> 4)],
            DIGITS[usize::from(byte & 0xf)],
        ]);
    }
    out
}

/// ASCII hex digits as a `String` (they are always valid UTF-8).
fn hex_string(digits: &[u8]) -> String {
    std::str::from_utf8(digits)
        .map(str::to_owned)
        .unwrap_or_default()
}

fn hex16(n: u64) -> String {
    hex_string(hex32(u128::from(n)).get(16..).unwrap_or_default())
}

/// Proof of a claim: only its owner may complete or release it, so a worker whose lease
/// expired (and was taken over) cannot complete someone else's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(pub String);

impl ClaimToken {
    pub fn new() -> Self {
        Self::from_bits(uuid::Uuid::new_v4().as_u128())
    }

    /// The token for 128 random bits: 32 lower-case hex digits.
    pub(crate) fn from_bits(bits: u128) -> Self {
        ClaimToken(hex_string(&hex32(bits)))
    }

    /// Whether this is the token [`ClaimToken::from_bits`] writes for `bits`.
    pub(crate) fn is(&self, bits: u128) -> bool {
        self.0.as_bytes() == hex32(bits)
    }
}

impl Default for ClaimToken {
    fn default() -> Self {
        Self::new()
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours: run the handler, then complete or release.
    Acquired(ClaimToken),
    /// Already handled: acknowledge without running the handler.
    Completed,
    /// Another worker holds a live lease; try again after (at most) this long.
    InProgress(Duration),
    /// The key was used for different content: a producer bug, dead-lettered.
    KeyReuse,
}

/// A store of idempotency keys. Implementations must make `claim` atomic (a unique insert
/// or `SET NX`, never select-then-insert).
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims the key for `lease`, taking over an expired claim with the same fingerprint.
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;

    /// Records the key as handled; kept for `retention`. `false` if the claim was lost.
    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Extends a live claim to `lease` from now, while its handler still runs (the bus calls
    /// this every `lease / 3`). `false` if the claim is lost: its lease ran out, or another
    /// worker took it over, or it was completed or released. Never revives a lost claim.
    fn extend<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Gives up a claim (the handler failed) so that the event can be handled again.
    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Deletes completed keys past their retention and stale claims; returns how many.
    fn purge_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
}

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn check_table_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 60
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Config(format!("bad table name `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn keys_and_fingerprints() {
        let mut a = Envelope::new("1", "/s", "t").unwrap();
        a.set_data(b"x".to_vec());
        let k = DedupKey::for_event("g", &a);
        assert_eq!(k.key, "e:/s\u{1f}1");
        let mut b = a.clone();
        b.set_data(b"y".to_vec());
        assert_ne!(DedupKey::for_event("g", &b).fingerprint, k.fingerprint);
        b.set_extension(ext::IDEMPOTENCY_KEY, "order-1").unwrap();
        assert_eq!(DedupKey::for_event("g", &b).key, "k:order-1");
    }

    proptest::proptest! {
        #[test]
        fn hex_matches_format(n: u64, m: u128) {
            proptest::prop_assert_eq!(hex16(n), format!("{n:016x}"));
            proptest::prop_assert_eq!(ClaimToken::from_bits(m).0, format!("{m:032x}"));
            proptest::prop_assert!(ClaimToken::from_bits(m).is(m));
        }
    }

    #[test]
    fn claim_tokens_are_uuid_hex() {
        let token = ClaimToken::new();
        assert_eq!(token.0.len(), 32);
        let uuid = uuid::Uuid::try_parse(&token.0).unwrap();
        assert_eq!(uuid.get_version_num(), 4, "{token:?}");
        assert!(token.is(uuid.as_u128()));
        assert!(!token.is(uuid.as_u128() ^ 1));
        assert_ne!(token, ClaimToken::new());
        assert!(!ClaimToken("not ours".into()).is(0));
        assert_eq!(ClaimToken::from_bits(0xab).0, format!("{:032x}", 0xab));
    }
}
