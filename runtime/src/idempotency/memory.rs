//! The in-memory idempotency store (the default): sharded hash tables, leases on the tokio
//! clock. Best effort: not atomic with a handler's external effects, and lost on restart.
//!
//! Records are found by (group, key) hash without building an owned key, and a record keeps
//! one allocation (group and key in one string); the fingerprint and the claim token are
//! kept as numbers. A claim allocates only that string and the token it hands out.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hashbrown::HashTable;
use tokio::time::Instant;

use super::{Claim, ClaimToken, DedupKey, IdempotencyStore};
use crate::BoxFuture;
use crate::error::StoreError;

#[derive(Debug)]
enum State {
    Claimed { token: u128, until: Instant },
    Done { until: Instant },
}

impl State {
    fn until(&self) -> Instant {
        match self {
            State::Claimed { until, .. } | State::Done { until } => *until,
        }
    }
}

#[derive(Debug)]
struct Record {
    /// The (group, key) hash, kept so that growing the table does not hash every key again.
    hash: u64,
    /// The group, then the key, with no separator (`group_len` splits them), so that no
    /// choice of names can make two (group, key) pairs look alike.
    group_and_key: Box<str>,
    group_len: usize,
    /// The store's hash of the fingerprint: a reused key with other content is told apart
    /// unless two fingerprints collide in 64 bits.
    fingerprint: u64,
    state: State,
}

impl Record {
    fn is(&self, group: &str, key: &str) -> bool {
        self.group_and_key.len() == self.group_len + key.len()
            && self.group_and_key.get(..self.group_len) == Some(group)
            && self.group_and_key.get(self.group_len..) == Some(key)
    }
}

type Table = HashTable<Record>;

/// An in-memory store of idempotency keys.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Vec<Mutex<Table>>,
    /// SipHash for placing records: keys come from producers, so buckets must not be
    /// predictable.
    hasher: RandomState,
    /// foldhash for fingerprints, which are only compared, never used to place anything.
    fingerprints: hashbrown::DefaultHashBuilder,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

/// A locked shard and the hash of the key looked up in it.
struct Slot<'a> {
    table: MutexGuard<'a, Table>,
    hash: u64,
}

impl Slot<'_> {
    fn find(&mut self, key: &DedupKey) -> Option<&mut Record> {
        self.table
            .find_mut(self.hash, |r| r.is(&key.group, &key.key))
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore {
            shards: (0..32).map(|_| Mutex::new(HashTable::new())).collect(),
            hasher: RandomState::new(),
            fingerprints: hashbrown::DefaultHashBuilder::default(),
        }
    }

    fn hash(&self, group: &str, key: &str) -> u64 {
        self.hasher.hash_one((group, key))
    }

    fn slot(&self, key: &DedupKey) -> Result<Slot<'_>, StoreError> {
        let hash = self.hash(&key.group, &key.key);
        let index = usize::try_from(hash % self.shards.len() as u64).unwrap_or(0);
        let table = self
            .shards
            .get(index)
            .ok_or_else(|| StoreError::Corrupt("shard index".into()))?
            .lock()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))?;
        Ok(Slot { table, hash })
    }

    fn claim_now(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        let now = Instant::now();
        let fingerprint = self.fingerprints.hash_one(&key.fingerprint);
        let mut slot = self.slot(key)?;
        let fresh = || {
            let bits = uuid::Uuid::new_v4().as_u128();
            let state = State::Claimed {
                token: bits,
                until: now + lease,
            };
            (ClaimToken::from_bits(bits), state)
        };
        match slot.find(key) {
            Some(record) if record.state.until() > now => {
                if record.fingerprint != fingerprint {
                    return Ok(Claim::KeyReuse);
                }
                Ok(match &record.state {
                    State::Done { .. } => Claim::Completed,
                    State::Claimed { until, .. } => Claim::InProgress(*until - now),
                })
            }
            // Expired: taken over, whatever it held.
            Some(record) => {
                let (token, state) = fresh();
                record.fingerprint = fingerprint;
                record.state = state;
                Ok(Claim::Acquired(token))
            }
            None => {
                let (token, state) = fresh();
                let mut group_and_key = String::with_capacity(key.group.len() + key.key.len());
                group_and_key.push_str(&key.group);
                group_and_key.push_str(&key.key);
                let record = Record {
                    hash: slot.hash,
                    group_and_key: group_and_key.into_boxed_str(),
                    group_len: key.group.len(),
                    fingerprint,
                    state,
                };
                slot.table.insert_unique(slot.hash, record, |r| r.hash);
                Ok(Claim::Acquired(token))
            }
        }
    }

    /// The record if `token` holds its claim (live or not, as `live` says).
    fn with_claim<T>(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        live: bool,
        f: impl FnOnce(&mut Record) -> T,
    ) -> Result<Option<T>, StoreError> {
        let now = Instant::now();
        let mut slot = self.slot(key)?;
        Ok(slot.find(key).and_then(|record| match &record.state {
            State::Claimed { token: t, until } if token.is(*t) && (!live || *until > now) => {
                Some(f(record))
            }
            _ => None,
        }))
    }

    fn complete_now(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        let done = self.with_claim(key, token, false, |record| {
            record.state = State::Done {
                until: Instant::now() + retention,
            };
        })?;
        Ok(done.is_some())
    }

    fn extend_now(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let extended = self.with_claim(key, token, true, |record| {
            if let State::Claimed { until, .. } = &mut record.state {
                *until = Instant::now() + lease;
            }
        })?;
        Ok(extended.is_some())
    }

    fn release_now(&self, key: &DedupKey, token: &ClaimToken) -> Result<(), StoreError> {
        let mut slot = self.slot(key)?;
        let hash = slot.hash;
        if let Ok(entry) = slot.table.find_entry(hash, |r| {
            r.is(&key.group, &key.key)
                && matches!(&r.state, State::Claimed { token: t, .. } if token.is(*t))
        }) {
            entry.remove();
        }
        Ok(())
    }

    fn purge_now(&self) -> Result<u64, StoreError> {
        let now = Instant::now();
        let mut removed = 0u64;
        for shard in &self.shards {
            let mut table = shard
                .lock()
                .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))?;
            let before = table.len();
            table.retain(|r| r.state.until() > now);
            removed += (before - table.len()) as u64;
        }
        Ok(removed)
    }
}

impl IdempotencyStore for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        let result = self.claim_now(key, lease);
        Box::pin(std::future::ready(result))
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let result = self.complete_now(key, token, retention);
        Box::pin(std::future::ready(result))
    }

    fn extend<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let result = self.extend_now(key, token, lease);
        Box::pin(std::future::ready(result))
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let result = self.release_now(key, token);
        Box::pin(std::future::ready(result))
    }

    fn purge_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        let result = self.purge_now();
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn key(group: &str, key: &str, fingerprint: &str) -> DedupKey {
        DedupKey {
            group: group.to_owned(),
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
        }
    }

    #[tokio::test]
    async fn groups_and_keys_never_run_together() {
        let store = MemoryStore::new();
        let lease = Duration::from_secs(30);
        let a = key("ab", "c", "f");
        let b = key("a", "bc", "f");
        let Claim::Acquired(token) = store.claim(&a, lease).await.unwrap() else {
            panic!("first claim")
        };
        assert!(matches!(
            store.claim(&b, lease).await.unwrap(),
            Claim::Acquired(_)
        ));
        assert!(store.complete(&a, &token, lease).await.unwrap());
        assert_eq!(store.claim(&a, lease).await.unwrap(), Claim::Completed);
        assert!(matches!(
            store.claim(&b, lease).await.unwrap(),
            Claim::InProgress(_)
        ));
        // Same key, other content.
        assert_eq!(
            store.claim(&key("ab", "c", "g"), lease).await.unwrap(),
            Claim::KeyReuse
        );
        // Tokens that this store did not hand out hold nothing.
        let forged = ClaimToken("x".repeat(32));
        assert!(!store.complete(&b, &forged, lease).await.unwrap());
        assert!(!store.extend(&b, &forged, lease).await.unwrap());
    }
}
