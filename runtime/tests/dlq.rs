//! Dead-letter stores: one suite (put, get, list with filters and paging, purge, replay
//! requests with leases) run against memory, SQLite (a temporary file) and PostgreSQL
//! (`DATABASE_URL`, own table, dropped afterwards); and the replay worker end to end: a
//! handler that fails dead-letters the event, a replay is requested through another
//! connection (as `eventschema dlq replay` does), and the worker replays it once fixed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use eventschema::dlq::ReplayWorkerConfig;
use eventschema::{
    DeadLetter, DeadLetterStore, DlqFilter, DlqPage, ErrorClass, MemoryDlq, ReplayStatus,
    ReplayWorker,
};

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

fn letter(id: &str, group: Option<&str>, ty: &str, last_ms: i64) -> DeadLetter {
    let attributes: BTreeMap<String, String> = [("id", id), ("type", ty), ("source", "/test")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    DeadLetter {
        id: id.to_owned(),
        group: group.map(str::to_owned),
        handler: group.map(|_| ty.to_owned()),
        reason: if group.is_some() {
            "retries-exhausted".to_owned()
        } else {
            "malformed-envelope".to_owned()
        },
        error_class: if group.is_some() {
            ErrorClass::Transient
        } else {
            ErrorClass::Invalid
        },
        error_chain: vec!["attempt 3 failed".to_owned(), "connection reset".to_owned()],
        attempts: 3,
        first_failure: at(last_ms - 1500),
        last_failure: at(last_ms),
        // Not UTF-8 on purpose: the original bytes must come back unchanged.
        original: vec![0xff, 0x00, b'{', 0xfe],
        attributes,
    }
}

async fn store_suite(store: Arc<dyn DeadLetterStore>) {
    let a = letter("0001", Some("billing"), "orders.created", 1_000_000);
    let b = letter("0002", Some("shipping"), "orders.created", 2_000_000);
    let c = letter("0003", None, "orders.shipped", 3_000_000);
    for l in [&c, &a, &b] {
        store.put(l.clone()).await.unwrap();
    }
    // A second put of the same id changes nothing.
    let mut changed = a.clone();
    changed.reason = "other".to_owned();
    store.put(changed).await.unwrap();

    assert_eq!(store.get("0001").await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.get("nope").await.unwrap(), None);
    let all = store.list(&DlqFilter::default()).await.unwrap();
    assert_eq!(all, vec![a.clone(), b.clone(), c.clone()]);

    let ids = |letters: Vec<DeadLetter>| letters.into_iter().map(|l| l.id).collect::<Vec<_>>();
    let filter = |f: DlqFilter| {
        let store = store.clone();
        async move { ids(store.list(&f).await.unwrap()) }
    };
    assert_eq!(
        filter(DlqFilter {
            group: Some("billing".into()),
            ..DlqFilter::default()
        })
        .await,
        ["0001"]
    );
    assert_eq!(
        filter(DlqFilter {
            event_type: Some("orders.created".into()),
            ..DlqFilter::default()
        })
        .await,
        ["0001", "0002"]
    );
    assert_eq!(
        filter(DlqFilter {
            reason: Some("malformed-envelope".into()),
            ..DlqFilter::default()
        })
        .await,
        ["0003"]
    );
    assert_eq!(
        filter(DlqFilter {
            since: Some(at(2_000_000)),
            ..DlqFilter::default()
        })
        .await,
        ["0002", "0003"]
    );
    assert_eq!(
        filter(DlqFilter {
            before: Some(at(2_000_000)),
            ..DlqFilter::default()
        })
        .await,
        ["0001"]
    );

    // Paging by cursor.
    let first = store
        .list_page(&DlqFilter::default(), &DlqPage::first(2))
        .await
        .unwrap();
    assert_eq!(ids(first), ["0001", "0002"]);
    let rest = DlqPage {
        after: Some("0002".into()),
        limit: 2,
    };
    let second = store.list_page(&DlqFilter::default(), &rest).await.unwrap();
    assert_eq!(ids(second), ["0003"]);

    // Replay requests.
    assert_eq!(store.request_replay("nope").await.unwrap(), None);
    assert_eq!(store.replay_status("0001").await.unwrap(), None);
    let requested = store.request_replay("0001").await.unwrap().unwrap();
    assert_eq!(requested.status, ReplayStatus::Requested);
    assert_eq!(requested.attempts, 0);
    let again = store.request_replay("0001").await.unwrap().unwrap();
    assert_eq!(again, requested, "a waiting request is left alone");
    store.request_replay("0002").await.unwrap().unwrap();

    let lease = Duration::from_secs(60);
    let shipping = DlqFilter {
        group: Some("shipping".into()),
        ..DlqFilter::default()
    };
    let taken = store.claim_replays(&shipping, 10, lease).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].letter_id, "0002");
    assert_eq!(taken[0].status, ReplayStatus::InProgress);
    assert_eq!(taken[0].attempts, 1);
    // Leased: nobody else takes it.
    assert!(
        store
            .claim_replays(&shipping, 10, lease)
            .await
            .unwrap()
            .is_empty()
    );
    let billing = store
        .claim_replays(&DlqFilter::default(), 10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(billing.len(), 1);
    assert_eq!(billing[0].letter_id, "0001");
    // A zero lease has run out at once: a dead worker's request is taken again.
    let retaken = store
        .claim_replays(&DlqFilter::default(), 10, lease)
        .await
        .unwrap();
    assert_eq!(retaken.len(), 1);
    assert_eq!(retaken[0].letter_id, "0001");
    assert_eq!(retaken[0].attempts, 2);

    assert!(store.finish_replay("0002", Ok(())).await.unwrap());
    assert!(
        store
            .finish_replay("0001", Err("no group".into()))
            .await
            .unwrap()
    );
    assert!(!store.finish_replay("nope", Ok(())).await.unwrap());
    let done = store.replay_status("0002").await.unwrap().unwrap();
    assert_eq!(done.status, ReplayStatus::Replayed);
    let failed = store.replay_status("0001").await.unwrap().unwrap();
    assert_eq!(failed.status, ReplayStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("no group"));
    // A finished request can be made again.
    let fresh = store.request_replay("0001").await.unwrap().unwrap();
    assert_eq!(fresh.status, ReplayStatus::Requested);
    assert_eq!(fresh.error, None);

    // Competing workers never take the same request.
    let many: Vec<String> = (0..20).map(|n| format!("1{n:03}")).collect();
    for id in &many {
        store
            .put(letter(id, Some("race"), "orders.created", 4_000_000))
            .await
            .unwrap();
        store.request_replay(id).await.unwrap().unwrap();
    }
    let race = DlqFilter {
        group: Some("race".into()),
        ..DlqFilter::default()
    };
    let claims: Vec<_> = (0..4)
        .map(|_| {
            let (store, race) = (store.clone(), race.clone());
            tokio::spawn(async move { store.claim_replays(&race, 20, lease).await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for claim in claims {
        taken.extend(claim.await.unwrap().into_iter().map(|r| r.letter_id));
    }
    taken.sort();
    assert_eq!(taken, many, "each request taken exactly once");
    assert_eq!(store.purge(&race).await.unwrap(), 20);

    // Removal and purges.
    assert_eq!(store.remove("0002").await.unwrap(), Some(b));
    assert_eq!(store.remove("0002").await.unwrap(), None);
    let older = DlqFilter {
        before: Some(at(2_000_000)),
        ..DlqFilter::default()
    };
    assert_eq!(store.purge(&older).await.unwrap(), 1);
    assert_eq!(store.purge(&DlqFilter::default()).await.unwrap(), 1);
    assert!(store.list(&DlqFilter::default()).await.unwrap().is_empty());
}

#[tokio::test]
async fn memory_dlq_suite() {
    store_suite(Arc::new(MemoryDlq::new())).await;
}

#[tokio::test]
async fn memory_dlq_keeps_millisecond_times() {
    let store = MemoryDlq::new();
    let mut l = letter("x", Some("g"), "t", 5);
    l.last_failure = at(5) + chrono::Duration::microseconds(700);
    store.put(l).await.unwrap();
    assert_eq!(store.get("x").await.unwrap().unwrap().last_failure, at(5));
}

/// Any page size walks the same letters as one listing, and a listing is exactly the
/// letters the filter matches, in id order.
async fn paging_law(
    store: &dyn DeadLetterStore,
    letters: &[DeadLetter],
    filter: &DlqFilter,
    page_size: usize,
) {
    store.purge(&DlqFilter::default()).await.unwrap();
    for l in letters {
        store.put(l.clone()).await.unwrap();
    }
    let mut expected: Vec<&DeadLetter> = letters.iter().filter(|l| filter.matches(l)).collect();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    expected.dedup_by(|a, b| a.id == b.id);
    let listed = store.list(filter).await.unwrap();
    assert_eq!(listed.iter().collect::<Vec<_>>(), expected);
    let mut walked = Vec::new();
    let mut page = DlqPage::first(page_size);
    loop {
        let batch = store.list_page(filter, &page).await.unwrap();
        assert!(batch.len() <= page_size);
        let Some(last) = batch.last() else { break };
        page.after = Some(last.id.clone());
        walked.extend(batch);
    }
    assert_eq!(walked, listed);
}

fn arbitrary_letters() -> impl proptest::strategy::Strategy<Value = Vec<DeadLetter>> {
    use proptest::prelude::*;
    let one = (
        0u32..40,
        proptest::option::of(prop_oneof!["a", "b"]),
        prop_oneof!["orders.created", "orders.shipped"],
        0i64..10_000,
    )
        .prop_map(|(id, group, ty, last)| {
            letter(&format!("{id:04}"), group.as_deref(), &ty, last + 2_000)
        });
    proptest::collection::vec(one, 0..25).prop_map(|mut letters| {
        // The first put of an id wins; keep only that one so `expected` is unambiguous.
        let mut seen = std::collections::BTreeSet::new();
        letters.retain(|l| seen.insert(l.id.clone()));
        letters
    })
}

fn arbitrary_filter() -> impl proptest::strategy::Strategy<Value = DlqFilter> {
    use proptest::prelude::*;
    (
        proptest::option::of(prop_oneof!["a", "b"]),
        proptest::option::of(prop_oneof!["orders.created", "orders.shipped"]),
        proptest::option::of(0i64..12_000),
        proptest::option::of(0i64..12_000),
    )
        .prop_map(|(group, event_type, since, before)| DlqFilter {
            group,
            event_type,
            since: since.map(at),
            before: before.map(at),
            ..DlqFilter::default()
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn memory_paging_law(
        letters in arbitrary_letters(),
        filter in arbitrary_filter(),
        page_size in 1usize..8,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(paging_law(&MemoryDlq::new(), &letters, &filter, page_size));
    }
}

/// A bus whose `billing` handler fails permanently until `healthy` is set, over `dlq`.
fn failing_bus(
    dlq: Arc<dyn DeadLetterStore>,
) -> (eventschema::Bus, Arc<AtomicBool>, Arc<AtomicUsize>) {
    let bus = eventschema::Bus::with_parts(
        config(),
        Arc::new(eventschema::SchemaCatalog::new()),
        dlq,
        Arc::new(eventschema::MemoryStore::new()),
    );
    let healthy = Arc::new(AtomicBool::new(false));
    let effects = Arc::new(AtomicUsize::new(0));
    let (h, e) = (healthy.clone(), effects.clone());
    bus.subscribe("billing")
        .on(move |_: OrderCreated, _| {
            let (h, e) = (h.clone(), e.clone());
            async move {
                if !h.load(Ordering::SeqCst) {
                    return Err(eventschema::HandlerError::msg(
                        ErrorClass::Permanent,
                        "card declined",
                    ));
                }
                e.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    (bus, healthy, effects)
}

/// `operator` is another handle on the same store (another process, for the SQL stores).
async fn replay_worker_end_to_end(
    dlq: Arc<dyn DeadLetterStore>,
    operator: Arc<dyn DeadLetterStore>,
) {
    let (bus, healthy, effects) = failing_bus(dlq);
    let mut event = order("o-42", 1);
    event.seq = 7;
    let envelope = bus.envelope_for(&event, None).unwrap();
    bus.publish_envelope(envelope.clone()).await.unwrap();
    bus.flush().await;
    assert_eq!(effects.load(Ordering::SeqCst), 0);
    let letters = operator.list(&DlqFilter::default()).await.unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.reason, "handler-permanent");
    assert_eq!(letter.group.as_deref(), Some("billing"));
    assert_eq!(letter.error_chain, ["card declined"]);
    assert_eq!(letter.attempts, 1);

    // The operator asks for a replay; the service's worker carries it out once fixed.
    healthy.store(true, Ordering::SeqCst);
    let request = operator.request_replay(&letter.id).await.unwrap().unwrap();
    assert_eq!(request.status, ReplayStatus::Requested);
    let worker = ReplayWorker::spawn_with(
        bus.clone(),
        ReplayWorkerConfig {
            interval: Duration::from_millis(10),
            filter: DlqFilter {
                group: Some("billing".into()),
                ..DlqFilter::default()
            },
            ..ReplayWorkerConfig::default()
        },
    );
    let status = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let status = operator.replay_status(&letter.id).await.unwrap().unwrap();
            if status.status == ReplayStatus::Replayed {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the worker replays the request");
    worker.stop().await;
    assert_eq!(status.attempts, 1);
    assert_eq!(status.error, None);
    bus.flush().await;
    assert_eq!(effects.load(Ordering::SeqCst), 1);
    assert!(operator.get(&letter.id).await.unwrap().is_none());

    // The replay kept the event's id and idempotency key: a re-send is a duplicate.
    bus.publish_envelope(envelope).await.unwrap();
    bus.flush().await;
    assert_eq!(effects.load(Ordering::SeqCst), 1);
    bus.shutdown(Duration::from_secs(5)).await;
}

/// A worker whose bus has no group for the letter records why and keeps the letter.
async fn replay_without_the_group_fails_and_keeps_the_letter(dlq: Arc<dyn DeadLetterStore>) {
    let (bus, _, _) = failing_bus(dlq.clone());
    let orphan = {
        let mut l = letter(&unique("orphan-"), Some("gone"), "orders.created", 1_000);
        let envelope = bus.envelope_for(&order("o-9", 1), None).unwrap();
        l.original = envelope.to_structured().unwrap();
        l
    };
    dlq.put(orphan.clone()).await.unwrap();
    dlq.request_replay(&orphan.id).await.unwrap().unwrap();
    let report = ReplayWorker::run_once(&bus, &ReplayWorkerConfig::default())
        .await
        .unwrap();
    assert!(report.replayed.is_empty());
    assert_eq!(report.failed.len(), 1);
    let status = dlq.replay_status(&orphan.id).await.unwrap().unwrap();
    assert_eq!(status.status, ReplayStatus::Failed);
    assert!(status.error.unwrap().contains("no consumer group"));
    assert!(dlq.get(&orphan.id).await.unwrap().is_some());
    bus.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_replay_worker() {
    let dlq: Arc<dyn DeadLetterStore> = Arc::new(MemoryDlq::new());
    replay_worker_end_to_end(dlq.clone(), dlq).await;
    replay_without_the_group_fails_and_keeps_the_letter(Arc::new(MemoryDlq::new())).await;
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use eventschema::dlq::SqlDlq;

    fn url(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}/dlq.db?mode=rwc", dir.path().display())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_dlq_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlDlq::connect(&url(&dir), "dead_letters").await.unwrap();
        store_suite(Arc::new(store)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_replay_worker() {
        let dir = tempfile::tempdir().unwrap();
        let service = SqlDlq::connect(&url(&dir), "dlq").await.unwrap();
        let operator = SqlDlq::connect(&url(&dir), "dlq").await.unwrap();
        replay_worker_end_to_end(Arc::new(service.clone()), Arc::new(operator)).await;
        replay_without_the_group_fails_and_keeps_the_letter(Arc::new(service)).await;
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
        #[test]
        fn sqlite_paging_law(
            letters in arbitrary_letters(),
            filter in arbitrary_filter(),
            page_size in 1usize..8,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let store = SqlDlq::connect(&url(&dir), "law").await.unwrap();
                paging_law(&store, &letters, &filter, page_size).await;
            });
        }
    }

    #[tokio::test]
    async fn bad_table_names_and_urls_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = SqlDlq::connect(&url(&dir), "dlq; DROP TABLE x")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("bad table name"), "{error}");
        let error = SqlDlq::connect("mysql://localhost/x", "dlq")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("unsupported"), "{error}");
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use eventschema::dlq::SqlDlq;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_dlq_suite_and_replay_worker() {
        let Some(url) = postgres_url() else { return };
        let table = unique("es_dlq_");
        let store = SqlDlq::connect(&url, &table).await.unwrap();
        let operator = SqlDlq::connect(&url, &table).await.unwrap();
        store_suite(Arc::new(store.clone())).await;
        replay_worker_end_to_end(Arc::new(store.clone()), Arc::new(operator)).await;
        replay_without_the_group_fails_and_keeps_the_letter(Arc::new(store.clone())).await;
        store.drop_tables().await.unwrap();
    }
}
