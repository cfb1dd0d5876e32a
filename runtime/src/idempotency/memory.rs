//! The in-memory idempotency store (the default): sharded maps, leases on the tokio clock.
//! Best effort: not atomic with a handler's external effects, and lost on restart.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{Claim, ClaimToken, DedupKey, IdempotencyStore};
use crate::BoxFuture;
use crate::error::StoreError;

#[derive(Debug)]
enum State {
    Claimed { token: ClaimToken, until: Instant },
    Done { until: Instant },
}

#[derive(Debug)]
struct Record {
    fingerprint: String,
    state: State,
}

type Map = HashMap<(String, String), Record>;
type Shard = Mutex<Map>;

/// An in-memory store of idempotency keys.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Vec<Shard>,
    hasher: RandomState,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore {
            shards: (0..32).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, key: &DedupKey) -> Result<std::sync::MutexGuard<'_, Map>, StoreError> {
        let mut h = self.hasher.build_hasher();
        key.group.hash(&mut h);
        key.key.hash(&mut h);
        let index = usize::try_from(h.finish() % self.shards.len() as u64).unwrap_or(0);
        self.shards
            .get(index)
            .ok_or_else(|| StoreError::Corrupt("shard index".into()))?
            .lock()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))
    }

    fn claim_now(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        let now = Instant::now();
        let mut map = self.shard(key)?;
        let id = (key.group.clone(), key.key.clone());
        if let Some(record) = map.get_mut(&id) {
            let expired = match &record.state {
                State::Done { until } => *until <= now,
                State::Claimed { until, .. } => *until <= now,
            };
            if !expired {
                if record.fingerprint != key.fingerprint {
                    return Ok(Claim::KeyReuse);
                }
                return Ok(match &record.state {
                    State::Done { .. } => Claim::Completed,
                    State::Claimed { until, .. } => Claim::InProgress(*until - now),
                });
            }
        }
        let token = ClaimToken::new();
        map.insert(
            id,
            Record {
                fingerprint: key.fingerprint.clone(),
                state: State::Claimed {
                    token: token.clone(),
                    until: now + lease,
                },
            },
        );
        Ok(Claim::Acquired(token))
    }

    fn complete_now(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        retention: Duration,
    ) -> Result<bool, StoreError> {
        let mut map = self.shard(key)?;
        let id = (key.group.clone(), key.key.clone());
        match map.get_mut(&id) {
            Some(record) if matches!(&record.state, State::Claimed { token: t, .. } if t == token) =>
            {
                record.state = State::Done {
                    until: Instant::now() + retention,
                };
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn release_now(&self, key: &DedupKey, token: &ClaimToken) -> Result<(), StoreError> {
        let mut map = self.shard(key)?;
        let id = (key.group.clone(), key.key.clone());
        if map
            .get(&id)
            .is_some_and(|r| matches!(&r.state, State::Claimed { token: t, .. } if t == token))
        {
            map.remove(&id);
        }
        Ok(())
    }

    fn purge_now(&self) -> Result<u64, StoreError> {
        let now = Instant::now();
        let mut removed = 0u64;
        for shard in &self.shards {
            let mut map = shard
                .lock()
                .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))?;
            let before = map.len();
            map.retain(|_, r| match r.state {
                State::Done { until } | State::Claimed { until, .. } => until > now,
            });
            removed += (before - map.len()) as u64;
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
