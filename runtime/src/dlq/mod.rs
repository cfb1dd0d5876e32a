//! The dead-letter queue: what a dead letter records (original bytes and attributes, error
//! class and chain, attempts, first and last failure, group), the store trait behind
//! `eventschema dlq` (list, inspect, replay, purge), the in-memory store, the SQL store
//! (SQLite and PostgreSQL, features `sqlite` / `postgres`) and the [`ReplayWorker`] that
//! carries out replays requested from another process.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::BoxFuture;
use crate::envelope::Envelope;
use crate::error::{ErrorClass, StoreError};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
mod worker;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::SqlDlq;
pub use worker::{ReplayReport, ReplayWorker, ReplayWorkerConfig};

/// Error details are truncated to this many bytes in all.
pub const MAX_ERROR_BYTES: usize = 8 * 1024;

/// One dead-lettered event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// This record's id (not the event's).
    pub id: String,
    /// The consumer group that gave up, `None` when the event was refused at ingress
    /// before any group could be chosen (e.g. undecodable bytes).
    pub group: Option<String>,
    /// The subscription pattern of the handler, if one was chosen.
    pub handler: Option<String>,
    /// Machine-readable reason (`schema-mismatch`, `retries-exhausted`, ...).
    pub reason: String,
    pub error_class: ErrorClass,
    /// Outermost error first; truncated at [`MAX_ERROR_BYTES`] in all.
    pub error_chain: Vec<String>,
    /// Handler attempts made (0 when it never reached a handler).
    pub attempts: u32,
    /// Stores keep failure times to the millisecond.
    pub first_failure: DateTime<Utc>,
    pub last_failure: DateTime<Utc>,
    /// The event as received: structured-mode JSON, or the raw bytes if undecodable.
    pub original: Vec<u8>,
    /// The event's attributes when it could be decoded (empty otherwise).
    pub attributes: BTreeMap<String, String>,
}

impl DeadLetter {
    pub(crate) fn truncate_chain(chain: Vec<String>) -> Vec<String> {
        let mut left = MAX_ERROR_BYTES;
        let mut out = Vec::new();
        for mut message in chain {
            if left == 0 {
                out.push("[truncated]".to_owned());
                break;
            }
            if message.len() > left {
                let mut cut = left;
                while !message.is_char_boundary(cut) {
                    cut -= 1;
                }
                message.truncate(cut);
                message.push_str(" [truncated]");
                left = 0;
            } else {
                left -= message.len();
            }
            out.push(message);
        }
        out
    }

    /// The original event with the `dlq*` extension attributes, for transports that carry
    /// dead letters as CloudEvents. `None` when the original was not a CloudEvent.
    pub fn to_envelope(&self) -> Option<Envelope> {
        let mut envelope = Envelope::from_structured(&self.original, usize::MAX).ok()?;
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut set = |name: &str, value: String| {
            let clean: String = value.chars().filter(|c| !c.is_control()).collect();
            envelope.set_extension(name, clean).is_ok()
        };
        set("dlqreason", self.reason.clone());
        set("dlqerrortype", self.error_class.as_str().to_owned());
        set("dlqerror", self.error_chain.join(": "));
        set("dlqattempts", self.attempts.to_string());
        if let Some(group) = &self.group {
            set("dlqgroup", group.clone());
        }
        if let Some(handler) = &self.handler {
            set("dlqhandler", handler.clone());
        }
        set("dlqfirstfail", time(&self.first_failure));
        set("dlqlastfail", time(&self.last_failure));
        Some(envelope)
    }
}

/// Which dead letters an operation applies to. Every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DlqFilter {
    pub group: Option<String>,
    pub reason: Option<String>,
    /// The CloudEvents `type` of the original event.
    pub event_type: Option<String>,
    /// Last failure at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Last failure strictly before this instant (`purge --older-than`).
    pub before: Option<DateTime<Utc>>,
}

impl DlqFilter {
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        self.group
            .as_ref()
            .is_none_or(|g| letter.group.as_deref() == Some(g.as_str()))
            && self.reason.as_ref().is_none_or(|r| &letter.reason == r)
            && self
                .event_type
                .as_ref()
                .is_none_or(|t| letter.attributes.get("type") == Some(t))
            && self.since.is_none_or(|t| letter.last_failure >= t)
            && self.before.is_none_or(|t| letter.last_failure < t)
    }
}

/// One page of a listing: dead letters are ordered by id, which is arrival order for the
/// time-ordered (UUIDv7) ids the bus gives them, so `after` is a stable cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlqPage {
    /// Only ids greater than this one (the last id of the previous page).
    pub after: Option<String>,
    pub limit: usize,
}

impl DlqPage {
    /// Everything, in one page.
    pub fn all() -> Self {
        DlqPage {
            after: None,
            limit: usize::MAX,
        }
    }

    pub fn first(limit: usize) -> Self {
        DlqPage { after: None, limit }
    }
}

/// Where a replay request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayStatus {
    /// Recorded (e.g. by `eventschema dlq replay`), waiting for a [`ReplayWorker`].
    Requested,
    /// Taken by a worker whose lease has not run out.
    InProgress,
    /// Re-published; the dead letter is gone from the queue.
    Replayed,
    /// The worker could not replay it; [`ReplayRequest::error`] says why.
    Failed,
}

impl ReplayStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayStatus::Requested => "requested",
            ReplayStatus::InProgress => "in-progress",
            ReplayStatus::Replayed => "replayed",
            ReplayStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "requested" => ReplayStatus::Requested,
            "in-progress" => ReplayStatus::InProgress,
            "replayed" => ReplayStatus::Replayed,
            "failed" => ReplayStatus::Failed,
            _ => return None,
        })
    }

    /// A request in this state may be recorded again.
    fn is_finished(self) -> bool {
        matches!(self, ReplayStatus::Replayed | ReplayStatus::Failed)
    }
}

impl std::fmt::Display for ReplayStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to replay one dead letter, kept after the replay as its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRequest {
    pub letter_id: String,
    pub status: ReplayStatus,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many times a worker took it (more than 1 after a worker died mid-replay).
    pub attempts: u32,
    /// Why the last replay failed.
    pub error: Option<String>,
}

/// Where dead letters are kept, and the replay requests that operators record against them.
pub trait DeadLetterStore: Send + Sync + 'static {
    fn put(&self, letter: DeadLetter) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Matching dead letters in id (arrival) order, one page at a time.
    fn list_page<'a>(
        &'a self,
        filter: &'a DlqFilter,
        page: &'a DlqPage,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>, StoreError>>;
    /// Every match, oldest first.
    fn list<'a>(
        &'a self,
        filter: &'a DlqFilter,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>, StoreError>> {
        Box::pin(async move { self.list_page(filter, &DlqPage::all()).await })
    }
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>>;
    /// Removes one (after a successful replay, or purged by id).
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>>;
    /// Removes every match (use [`DlqFilter::before`] for "older than"); returns how many.
    fn purge<'a>(&'a self, filter: &'a DlqFilter) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// Records that `id` should be replayed. `None` when there is no such dead letter. A
    /// request already waiting or in progress is returned as is; a finished one starts over.
    fn request_replay<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ReplayRequest>, StoreError>>;
    /// Takes up to `limit` waiting requests (and those whose worker's `lease` ran out) whose
    /// dead letter matches `filter`, marking them in progress. Competing workers never take
    /// the same request while its lease runs.
    fn claim_replays<'a>(
        &'a self,
        filter: &'a DlqFilter,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<ReplayRequest>, StoreError>>;
    /// Marks a request replayed (`Ok`) or failed with the reason; `false` if there is none.
    fn finish_replay<'a>(
        &'a self,
        id: &'a str,
        outcome: Result<(), String>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// The replay request recorded for `id`, if any.
    fn replay_status<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ReplayRequest>, StoreError>>;
}

/// Milliseconds since the epoch, the precision stores keep.
pub(crate) fn to_millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

fn truncate_millis(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(to_millis(time)).unwrap_or(time)
}

fn lease_millis(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)
}

#[derive(Debug, Default)]
struct MemoryState {
    letters: BTreeMap<String, DeadLetter>,
    replays: BTreeMap<String, (ReplayRequest, DateTime<Utc>)>,
}

/// Dead letters in memory, in id order.
#[derive(Debug, Default)]
pub struct MemoryDlq {
    state: Mutex<MemoryState>,
}

impl MemoryDlq {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut MemoryState) -> T) -> Result<T, StoreError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| StoreError::Corrupt("dead-letter lock poisoned".into()))?;
        Ok(f(&mut state))
    }
}

impl DeadLetterStore for MemoryDlq {
    fn put(&self, mut letter: DeadLetter) -> BoxFuture<'_, Result<(), StoreError>> {
        // Same precision as the SQL stores, so code behaves alike over both.
        letter.first_failure = truncate_millis(letter.first_failure);
        letter.last_failure = truncate_millis(letter.last_failure);
        let result = self.with(move |s| {
            s.letters.entry(letter.id.clone()).or_insert(letter);
        });
        Box::pin(std::future::ready(result))
    }

    fn list_page<'a>(
        &'a self,
        filter: &'a DlqFilter,
        page: &'a DlqPage,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>, StoreError>> {
        let result = self.with(|s| {
            s.letters
                .values()
                .filter(|d| page.after.as_ref().is_none_or(|after| d.id > *after))
                .filter(|d| filter.matches(d))
                .take(page.limit)
                .cloned()
                .collect()
        });
        Box::pin(std::future::ready(result))
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>> {
        let result = self.with(|s| s.letters.get(id).cloned());
        Box::pin(std::future::ready(result))
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>> {
        let result = self.with(|s| s.letters.remove(id));
        Box::pin(std::future::ready(result))
    }

    fn purge<'a>(&'a self, filter: &'a DlqFilter) -> BoxFuture<'a, Result<u64, StoreError>> {
        let result = self.with(|s| {
            let before = s.letters.len();
            s.letters.retain(|_, d| !filter.matches(d));
            (before - s.letters.len()) as u64
        });
        Box::pin(std::future::ready(result))
    }

    fn request_replay<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ReplayRequest>, StoreError>> {
        let result = self.with(|s| {
            if !s.letters.contains_key(id) {
                return None;
            }
            let now = truncate_millis(Utc::now());
            let fresh = ReplayRequest {
                letter_id: id.to_owned(),
                status: ReplayStatus::Requested,
                requested_at: now,
                updated_at: now,
                attempts: 0,
                error: None,
            };
            let entry = s
                .replays
                .entry(id.to_owned())
                .or_insert_with(|| (fresh.clone(), now));
            if entry.0.status.is_finished() {
                *entry = (fresh, now);
            }
            Some(entry.0.clone())
        });
        Box::pin(std::future::ready(result))
    }

    fn claim_replays<'a>(
        &'a self,
        filter: &'a DlqFilter,
        limit: usize,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Vec<ReplayRequest>, StoreError>> {
        let result = self.with(|s| {
            let now = truncate_millis(Utc::now());
            let until =
                DateTime::from_timestamp_millis(to_millis(now).saturating_add(lease_millis(lease)))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
            let mut waiting: Vec<&mut (ReplayRequest, DateTime<Utc>)> = s
                .replays
                .values_mut()
                .filter(|(r, lease_until)| match r.status {
                    ReplayStatus::Requested => true,
                    ReplayStatus::InProgress => *lease_until <= now,
                    _ => false,
                })
                .filter(|(r, _)| {
                    s.letters
                        .get(&r.letter_id)
                        .is_some_and(|d| filter.matches(d))
                })
                .collect();
            waiting.sort_by(|a, b| {
                (a.0.requested_at, &a.0.letter_id).cmp(&(b.0.requested_at, &b.0.letter_id))
            });
            waiting
                .into_iter()
                .take(limit)
                .map(|(request, lease_until)| {
                    request.status = ReplayStatus::InProgress;
                    request.attempts = request.attempts.saturating_add(1);
                    request.updated_at = now;
                    *lease_until = until;
                    request.clone()
                })
                .collect()
        });
        Box::pin(std::future::ready(result))
    }

    fn finish_replay<'a>(
        &'a self,
        id: &'a str,
        outcome: Result<(), String>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let result = self.with(|s| {
            let Some((request, _)) = s.replays.get_mut(id) else {
                return false;
            };
            request.updated_at = truncate_millis(Utc::now());
            match outcome {
                Ok(()) => {
                    request.status = ReplayStatus::Replayed;
                    request.error = None;
                }
                Err(error) => {
                    request.status = ReplayStatus::Failed;
                    request.error = Some(error);
                }
            }
            true
        });
        Box::pin(std::future::ready(result))
    }

    fn replay_status<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ReplayRequest>, StoreError>> {
        let result = self.with(|s| s.replays.get(id).map(|(r, _)| r.clone()));
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn chains_are_truncated_at_8k() {
        let chain = DeadLetter::truncate_chain(vec!["é".repeat(5000), "tail".into()]);
        let total: usize = chain.iter().map(String::len).sum();
        assert!(total <= MAX_ERROR_BYTES + 40);
        assert!(chain[0].ends_with("[truncated]"));
    }
}
