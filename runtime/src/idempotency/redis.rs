//! The Redis idempotency store: `SET NX PX` claims whose lease is the key's TTL, completion
//! and release guarded by the claim's owner (Lua). Best effort: not atomic with a
//! handler's external effects.

use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::{Claim, ClaimToken, DedupKey, IdempotencyStore, millis};
use crate::BoxFuture;
use crate::error::StoreError;

const CLAIM: &str = r"
local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
if ok then return 'A' end
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'A'
end
return tostring(redis.call('PTTL', KEYS[1])) .. '#' .. v
";

const COMPLETE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
";

// The claim's value carries its token, so only the owner extends; an expired key is gone.
const EXTEND: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
";

/// Idempotency keys in Redis under a key prefix.
#[derive(Clone)]
pub struct RedisStore {
    conn: MultiplexedConnection,
    prefix: String,
    claim: redis::Script,
    complete: redis::Script,
    extend: redis::Script,
    release: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url`; keys are `{prefix}{group}\x1f{key}`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)?;
        let conn = client.get_multiplexed_async_connection().await?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_owned(),
            claim: redis::Script::new(CLAIM),
            complete: redis::Script::new(COMPLETE),
            extend: redis::Script::new(EXTEND),
            release: redis::Script::new(RELEASE),
        })
    }

    fn redis_key(&self, key: &DedupKey) -> String {
        format!("{}{}\u{1f}{}", self.prefix, key.group, key.key)
    }

    fn claim_value(key: &DedupKey, token: &ClaimToken) -> String {
        format!("c|{}|{}", key.fingerprint, token.0)
    }
}

impl IdempotencyStore for RedisStore {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async move {
            let token = ClaimToken::new();
            let mut conn = self.conn.clone();
            let answer: String = self
                .claim
                .key(self.redis_key(key))
                .arg(Self::claim_value(key, &token))
                .arg(millis(lease).max(1))
                .invoke_async(&mut conn)
                .await?;
            if answer == "A" {
                return Ok(Claim::Acquired(token));
            }
            let (pttl, value) = answer
                .split_once('#')
                .ok_or_else(|| StoreError::Corrupt(answer.clone()))?;
            let mut parts = value.splitn(3, '|');
            let (state, fingerprint) = (parts.next(), parts.next());
            if fingerprint != Some(key.fingerprint.as_str()) {
                return Ok(Claim::KeyReuse);
            }
            Ok(match state {
                Some("d") => Claim::Completed,
                Some("c") => {
                    let left = pttl.parse::<i64>().unwrap_or(0).max(0);
                    Claim::InProgress(Duration::from_millis(left.unsigned_abs()))
                }
                _ => return Err(StoreError::Corrupt(value.to_owned())),
            })
        })
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
        retention: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let done: i64 = self
                .complete
                .key(self.redis_key(key))
                .arg(Self::claim_value(key, token))
                .arg(format!("d|{}", key.fingerprint))
                .arg(millis(retention).max(1))
                .invoke_async(&mut conn)
                .await?;
            Ok(done == 1)
        })
    }

    fn extend<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let extended: i64 = self
                .extend
                .key(self.redis_key(key))
                .arg(Self::claim_value(key, token))
                .arg(millis(lease).max(1))
                .invoke_async(&mut conn)
                .await?;
            Ok(extended == 1)
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: &'a ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let _: i64 = self
                .release
                .key(self.redis_key(key))
                .arg(Self::claim_value(key, token))
                .invoke_async(&mut conn)
                .await?;
            Ok(())
        })
    }

    /// Redis expires keys by TTL itself: nothing to purge.
    fn purge_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(std::future::ready(Ok(0)))
    }
}
