//! Runtime metrics through the `metrics` facade, labelled by event type and group. Handles
//! are registered once per (type, group) and cached, so the hot path does not allocate;
//! install the recorder before the first event flows.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use hashbrown::{Equivalent, HashMap};
use metrics::{Counter, Gauge, Histogram};

/// Metric names (OpenTelemetry messaging conventions where they exist).
pub mod names {
    pub const PUBLISHED: &str = "messaging.client.sent.messages";
    pub const HANDLED: &str = "messaging.client.consumed.messages";
    pub const DURATION: &str = "messaging.process.duration";
    pub const FAILED: &str = "eventschema.handler.failures";
    pub const RETRIED: &str = "eventschema.retries";
    pub const DEDUPLICATED: &str = "eventschema.dedup.hits";
    pub const DEAD_LETTERED: &str = "eventschema.dead_lettered";
    pub const INFLIGHT: &str = "eventschema.inflight";
    pub const QUEUE_DEPTH: &str = "eventschema.queue.depth";
    /// A handler outlived its idempotency claim (lease ran out or another worker took it).
    pub const CLAIMS_LOST: &str = "eventschema.claims.lost";
}

/// The handles of one (type, group); the bus looks them up once per delivery.
pub(crate) struct Handles {
    published: Counter,
    handled: Counter,
    failed: Counter,
    retried: Counter,
    deduplicated: Counter,
    dead_lettered: Counter,
    claims_lost: Counter,
    duration: Histogram,
}

impl Handles {
    fn new(ty: &str, group: &str) -> Self {
        let labels = [("event_type", ty.to_owned()), ("group", group.to_owned())];
        Handles {
            published: metrics::counter!(names::PUBLISHED, "event_type" => ty.to_owned()),
            handled: metrics::counter!(names::HANDLED, &labels),
            failed: metrics::counter!(names::FAILED, &labels),
            retried: metrics::counter!(names::RETRIED, &labels),
            deduplicated: metrics::counter!(names::DEDUPLICATED, &labels),
            dead_lettered: metrics::counter!(names::DEAD_LETTERED, &labels),
            claims_lost: metrics::counter!(names::CLAIMS_LOST, &labels),
            duration: metrics::histogram!(names::DURATION, &labels),
        }
    }
}

impl Handles {
    pub(crate) fn handled(&self) {
        self.handled.increment(1);
    }
    pub(crate) fn handled_in(&self, elapsed: Duration) {
        self.duration.record(elapsed.as_secs_f64());
    }
    pub(crate) fn failed(&self) {
        self.failed.increment(1);
    }
    pub(crate) fn retried(&self) {
        self.retried.increment(1);
    }
    pub(crate) fn deduplicated(&self) {
        self.deduplicated.increment(1);
    }
    pub(crate) fn claim_lost(&self) {
        self.claims_lost.increment(1);
    }
}

/// Looks up a `(type, group)` entry without building an owned key. It hashes exactly as
/// `(String, String)` does (two `str` hashes in order), which `Equivalent` lookups require.
#[derive(Hash)]
struct Labels<'a>(&'a str, &'a str);

impl Equivalent<(String, String)> for Labels<'_> {
    fn equivalent(&self, key: &(String, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

#[derive(Default)]
pub(crate) struct Metrics {
    /// foldhash, not SipHash: looked up on every publish and delivery, and the keys are
    /// event types the schema catalog knows and this process's group names, so nothing
    /// from the wire can flood it.
    handles: RwLock<HashMap<(String, String), Arc<Handles>>>,
    gauges: RwLock<HashMap<String, Gauge>>,
    /// Registered on first use, like the others, so a recorder installed after the bus
    /// was built still sees it.
    inflight: std::sync::OnceLock<Gauge>,
}

impl Metrics {
    pub(crate) fn handles(&self, ty: &str, group: &str) -> Arc<Handles> {
        let labels = Labels(ty, group);
        if let Ok(map) = self.handles.read()
            && let Some(h) = map.get(&labels)
        {
            return h.clone();
        }
        let handles = Arc::new(Handles::new(ty, group));
        if let Ok(mut map) = self.handles.write() {
            map.entry((ty.to_owned(), group.to_owned()))
                .or_insert_with(|| handles.clone());
        }
        handles
    }

    pub(crate) fn published(&self, ty: &str) {
        self.handles(ty, "").published.increment(1);
    }
    pub(crate) fn dead_lettered(&self, ty: &str, group: &str) {
        self.handles(ty, group).dead_lettered.increment(1);
    }
    pub(crate) fn inflight(&self, delta: f64) {
        self.inflight
            .get_or_init(|| metrics::gauge!(names::INFLIGHT))
            .increment(delta);
    }
    pub(crate) fn queue_depth(&self, group: &str, depth: usize) {
        if let Ok(map) = self.gauges.read()
            && let Some(g) = map.get(group)
        {
            g.set(depth as f64);
            return;
        }
        let gauge = metrics::gauge!(names::QUEUE_DEPTH, "group" => group.to_owned());
        gauge.set(depth as f64);
        if let Ok(mut map) = self.gauges.write() {
            map.insert(group.to_owned(), gauge);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn borrowed_labels_find_owned_keys() {
        let map: HashMap<(String, String), u8> = HashMap::default();
        let owned = ("orders.placed".to_owned(), "billing".to_owned());
        let hasher = map.hasher();
        assert_eq!(
            hasher.hash_one(&owned),
            hasher.hash_one(Labels("orders.placed", "billing"))
        );
        let metrics = Metrics::default();
        let first = metrics.handles("orders.placed", "billing");
        assert!(Arc::ptr_eq(
            &first,
            &metrics.handles("orders.placed", "billing")
        ));
        assert!(!Arc::ptr_eq(
            &first,
            &metrics.handles("orders.placed", "shipping")
        ));
        assert!(!Arc::ptr_eq(
            &first,
            &metrics.handles("orders.placedb", "illing")
        ));
        assert_eq!(metrics.handles.read().unwrap().len(), 3);
    }
}
