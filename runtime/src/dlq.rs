//! The dead-letter queue: what a dead letter records (original bytes and attributes, error
//! class and chain, attempts, first and last failure, group), the store trait behind
//! `eventschema dlq` (list, inspect, replay, purge) and the in-memory store.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::BoxFuture;
use crate::envelope::Envelope;
use crate::error::{ErrorClass, StoreError};

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

/// Which dead letters an operation applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DlqFilter {
    pub group: Option<String>,
    pub reason: Option<String>,
    pub event_type: Option<String>,
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
    }
}

/// Where dead letters are kept.
pub trait DeadLetterStore: Send + Sync + 'static {
    fn put(&self, letter: DeadLetter) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Oldest first.
    fn list<'a>(
        &'a self,
        filter: &'a DlqFilter,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>, StoreError>>;
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>>;
    /// Removes one (after a successful replay).
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>>;
    /// Removes every match; returns how many.
    fn purge<'a>(&'a self, filter: &'a DlqFilter) -> BoxFuture<'a, Result<u64, StoreError>>;
}

/// Dead letters in memory, in arrival order.
#[derive(Debug, Default)]
pub struct MemoryDlq {
    letters: Mutex<Vec<DeadLetter>>,
}

impl MemoryDlq {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<DeadLetter>) -> T) -> Result<T, StoreError> {
        let mut letters = self
            .letters
            .lock()
            .map_err(|_| StoreError::Corrupt("dead-letter lock poisoned".into()))?;
        Ok(f(&mut letters))
    }
}

impl DeadLetterStore for MemoryDlq {
    fn put(&self, letter: DeadLetter) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(std::future::ready(self.with(|l| l.push(letter))))
    }

    fn list<'a>(
        &'a self,
        filter: &'a DlqFilter,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>, StoreError>> {
        let result = self.with(|l| l.iter().filter(|d| filter.matches(d)).cloned().collect());
        Box::pin(std::future::ready(result))
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>> {
        let result = self.with(|l| l.iter().find(|d| d.id == id).cloned());
        Box::pin(std::future::ready(result))
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<DeadLetter>, StoreError>> {
        let result = self.with(|l| {
            let index = l.iter().position(|d| d.id == id)?;
            Some(l.remove(index))
        });
        Box::pin(std::future::ready(result))
    }

    fn purge<'a>(&'a self, filter: &'a DlqFilter) -> BoxFuture<'a, Result<u64, StoreError>> {
        let result = self.with(|l| {
            let before = l.len();
            l.retain(|d| !filter.matches(d));
            (before - l.len()) as u64
        });
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
