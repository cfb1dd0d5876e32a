//! The in-process bus end to end: groups, wildcards, ordering, back pressure, validation
//! and dead letters, retries and backoff, the circuit breaker, replay and shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use eventschema::envelope::ext;
use eventschema::{
    Binding, BreakerConfig, Bus, BusConfig, DlqFilter, Envelope, ErrorClass, HandlerError,
    PublishError, PublishOutcome, RetryPolicy, WhenFull,
};
use tokio::time::Instant;

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

#[tokio::test]
async fn every_group_gets_every_event_and_instances_compete() {
    let bus = Bus::new(config());
    let (a1, a2, b) = (counter(), counter(), counter());
    for c in [a1.clone(), a2.clone()] {
        bus.subscribe("a")
            .on(move |_: OrderCreated, _| {
                let c = c.clone();
                async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .unwrap()
            .start()
            .unwrap();
    }
    let bc = b.clone();
    bus.subscribe("b")
        .on(move |_: OrderCreated, _| {
            let c = bc.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    for i in 0..200 {
        let outcome = bus.publish(&order(&format!("o{i}"), 0)).await.unwrap();
        assert_eq!(outcome, PublishOutcome::Enqueued(2));
    }
    bus.flush().await;
    assert_eq!(a1.load(Ordering::SeqCst) + a2.load(Ordering::SeqCst), 200);
    assert_eq!(b.load(Ordering::SeqCst), 200);
    // A second instance must subscribe alike.
    let err = bus
        .subscribe("a")
        .on_pattern("orders.>", |_, _| async { Ok(()) })
        .unwrap()
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("subscribe alike"));
    bus.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn subject_wildcards() {
    let bus = Bus::new(BusConfig {
        validate: false,
        ..config()
    });
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    for (group, pattern) in [
        ("one", "orders.*"),
        ("rest", "orders.>"),
        ("exact", "orders.created"),
    ] {
        let seen = seen.clone();
        bus.subscribe(group)
            .on_pattern(pattern, move |e, ctx| {
                let seen = seen.clone();
                async move {
                    seen.lock()
                        .unwrap()
                        .push((ctx.group().to_owned(), e.ty().to_owned()));
                    Ok(())
                }
            })
            .unwrap()
            .start()
            .unwrap();
    }
    for ty in ["orders.created", "orders.created.eu", "payments.done"] {
        bus.publish_envelope(Envelope::new(format!("id-{ty}"), "/t", ty).unwrap())
            .await
            .unwrap();
    }
    bus.flush().await;
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    let expected: Vec<(String, String)> = [
        ("exact", "orders.created"),
        ("one", "orders.created"),
        ("rest", "orders.created"),
        ("rest", "orders.created.eu"),
    ]
    .iter()
    .map(|(g, t)| (g.to_string(), t.to_string()))
    .collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn causation_and_correlation_propagate_to_published_events() {
    let bus = Bus::new(config());
    bus.subscribe("shipping")
        .on(|o: OrderCreated, ctx| async move {
            ctx.publish(&OrderShipped {
                order_id: o.order_id,
            })
            .await
            .map_err(HandlerError::transient)?;
            Ok(())
        })
        .unwrap()
        .start()
        .unwrap();
    let shipped: Arc<Mutex<Vec<Envelope>>> = Arc::default();
    let s = shipped.clone();
    bus.subscribe("audit")
        .on(move |_: OrderShipped, ctx| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(ctx.envelope().clone());
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    let mut root = bus.envelope_for(&order("o1", 1), None).unwrap();
    root.set_extension(ext::CORRELATION_ID, "flow-7").unwrap();
    let root_id = root.id().to_owned();
    bus.publish_envelope(root).await.unwrap();
    bus.flush().await;
    bus.flush().await;
    let shipped = shipped.lock().unwrap();
    assert_eq!(shipped.len(), 1);
    assert_eq!(
        shipped[0].extension(ext::CAUSATION_ID),
        Some(root_id.as_str())
    );
    assert_eq!(shipped[0].extension(ext::CORRELATION_ID), Some("flow-7"));
    assert_eq!(
        shipped[0].dataschema(),
        Some("eventschema:subjects/orders.shipped-value/versions/1")
    );
}

/// Envelopes take the constant attributes of their own Rust type (two versions of one
/// event type differ) and the source of their own bus.
#[tokio::test]
async fn envelopes_take_the_constants_of_their_type_and_bus() {
    let a = Bus::new(BusConfig {
        source: "/a".into(),
        ..config()
    });
    let b = Bus::new(BusConfig {
        source: "/b".into(),
        ..config()
    });
    for _ in 0..2 {
        let v2 = a.envelope_for(&order("o1", 1), None).unwrap();
        let v1 = a
            .envelope_for(&OrderCreatedV1 { id: "o1".into() }, None)
            .unwrap();
        let other = b.envelope_for(&order("o2", 2), None).unwrap();
        assert_eq!(
            (v2.source(), v2.ty(), v2.extension(ext::SCHEMA_VERSION)),
            ("/a", "orders.created", Some("2"))
        );
        assert_eq!(
            v2.dataschema(),
            Some("eventschema:subjects/orders.created-value/versions/2")
        );
        assert_eq!(v2.extension(ext::PARTITION_KEY), Some("o1"));
        assert_eq!(v2.extension(ext::CORRELATION_ID), Some(v2.id()));
        assert_eq!(
            (v1.source(), v1.ty(), v1.extension(ext::SCHEMA_VERSION)),
            ("/a", "orders.created", Some("1"))
        );
        assert_eq!(
            v1.dataschema(),
            Some("eventschema:subjects/orders.created-value/versions/1")
        );
        assert_eq!(v1.extension(ext::PARTITION_KEY), None);
        assert_eq!(other.source(), "/b");
        assert_ne!(v2.id(), other.id());
    }
}

/// A bus configured with an invalid `source` is built, but refuses every typed event.
#[tokio::test]
async fn an_invalid_source_fails_typed_publishes() {
    let bus = Bus::new(BusConfig {
        source: "not a uri".into(),
        ..config()
    });
    for _ in 0..2 {
        let error = bus.publish(&order("o1", 1)).await.unwrap_err();
        assert!(matches!(error, PublishError::Envelope(_)), "{error:?}");
        assert!(error.to_string().contains("source"), "{error}");
    }
}

#[tokio::test]
async fn handlers_of_the_newest_version_receive_upcast_older_events() {
    let bus = Bus::new(config());
    bus.catalog().register_event::<OrderCreatedV1>().unwrap();
    bus.register_upcaster("orders.created", |from, mut value| {
        if from == 1 {
            let id = value["id"].take();
            return Ok(serde_json::json!({ "order_id": id, "seq": 0 }));
        }
        Err(format!("no path from v{from}"))
    });
    let got: Arc<Mutex<Vec<OrderCreated>>> = Arc::default();
    let g = got.clone();
    bus.subscribe("g")
        .on(move |o: OrderCreated, _| {
            let g = g.clone();
            async move {
                g.lock().unwrap().push(o);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    bus.publish(&OrderCreatedV1 { id: "old".into() })
        .await
        .unwrap();
    bus.publish(&order("new", 3)).await.unwrap();
    bus.flush().await;
    let mut got = got.lock().unwrap().clone();
    got.sort_by(|a, b| a.order_id.cmp(&b.order_id));
    assert_eq!(got, vec![order("new", 3), order("old", 0)]);
}

#[tokio::test]
async fn fail_fast_when_a_queue_is_full() {
    let bus = Bus::new(BusConfig {
        queue_capacity: 1,
        concurrency: 1,
        when_full: WhenFull::FailFast,
        ..config()
    });
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let started = Arc::new(tokio::sync::Notify::new());
    let (g, s) = (gate.clone(), started.clone());
    bus.subscribe("slow")
        .on(move |_: OrderCreated, _| {
            let (g, s) = (g.clone(), s.clone());
            async move {
                s.notify_one();
                g.acquire().await.unwrap().forget();
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    bus.publish(&order("a", 0)).await.unwrap();
    started.notified().await; // the worker holds the first event
    bus.publish(&order("b", 0)).await.unwrap(); // fills the queue
    let err = bus.publish(&order("c", 0)).await.unwrap_err();
    assert!(
        matches!(err, PublishError::QueueFull(ref g) if g == "slow"),
        "{err}"
    );
    gate.add_permits(10);
    bus.flush().await;
}

#[tokio::test]
async fn invalid_envelopes_of_every_kind_are_dead_lettered_with_a_reason() {
    let bus = Bus::new(BusConfig {
        max_event_bytes: 4096,
        ..config()
    });
    let handled = counter();
    let h = handled.clone();
    bus.subscribe("g")
        .on(move |_: OrderCreated, _| {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    let good = bus.envelope_for(&order("o", 1), None).unwrap();
    let good_json: serde_json::Value =
        serde_json::from_slice(&good.to_structured().unwrap()).unwrap();
    let variant = |f: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
        let mut v = good_json.as_object().unwrap().clone();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"\x00\xffnot json at all".to_vec(), "malformed-envelope"),
        (
            variant(&|m| {
                m.remove("id");
            }),
            "missing-attribute",
        ),
        (
            variant(&|m| {
                m.remove("source");
            }),
            "missing-attribute",
        ),
        (
            variant(&|m| {
                m.insert("specversion".into(), "0.3".into());
            }),
            "unsupported-specversion",
        ),
        (
            variant(&|m| {
                m.insert("type".into(), "orders.unknown".into());
            }),
            "unknown-type",
        ),
        (
            variant(&|m| {
                m.insert("schemaversion".into(), "9".into());
            }),
            "unknown-schema-version",
        ),
        (
            variant(&|m| {
                m.remove("schemaversion");
            }),
            "missing-attribute",
        ),
        (
            variant(&|m| {
                m.insert("data".into(), serde_json::json!({"order_id": 5}));
            }),
            "schema-mismatch",
        ),
        (
            variant(&|m| {
                m.insert("time".into(), "not a time".into());
            }),
            "malformed-envelope",
        ),
        (
            variant(&|m| {
                m.insert("Bad_Name".into(), "x".into());
            }),
            "malformed-envelope",
        ),
        (vec![b' '; 5000], "oversized"),
    ];
    for (bytes, reason) in &cases {
        let outcome = bus.ingest_structured(bytes).await.unwrap();
        match outcome {
            PublishOutcome::DeadLettered(invalid) => {
                assert_eq!(invalid.reason.as_str(), *reason, "{}", invalid.detail)
            }
            other => panic!("{reason}: {other:?}"),
        }
    }
    // Binary mode: missing specversion header, and oversized data through publish.
    let (mut headers, body) = good.to_binary(Binding::Nats);
    headers.retain(|(k, _)| k != "ce-specversion");
    let outcome = bus
        .ingest_binary(Binding::Nats, &headers, &body)
        .await
        .unwrap();
    assert!(
        matches!(outcome, PublishOutcome::DeadLettered(ref i) if i.reason.as_str() == "missing-attribute")
    );
    let mut big = good.clone();
    big.set_data(serde_json::to_vec(&order(&"x".repeat(5000), 1)).unwrap());
    let outcome = bus.publish_envelope(big).await.unwrap();
    assert!(
        matches!(outcome, PublishOutcome::DeadLettered(ref i) if i.reason.as_str() == "oversized")
    );

    bus.flush().await;
    assert_eq!(
        handled.load(Ordering::SeqCst),
        0,
        "no invalid event reached a handler"
    );
    let letters = bus
        .dead_letters()
        .list(&DlqFilter::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), cases.len() + 2);
    for letter in &letters {
        assert_eq!(letter.error_class, ErrorClass::Invalid);
        assert_eq!(letter.attempts, 0);
        assert!(!letter.original.is_empty());
        assert!(!letter.error_chain.is_empty());
    }
    // The garbage bytes are kept as received.
    assert_eq!(letters[0].original, cases[0].0);
    assert_eq!(letters[0].group, None);
    // Decodable but invalid events name the group that would have handled them.
    let mismatch = letters
        .iter()
        .find(|l| l.reason == "schema-mismatch")
        .unwrap();
    assert_eq!(mismatch.group.as_deref(), Some("g"));
    assert_eq!(mismatch.attributes.get("type").unwrap(), "orders.created");
}

#[tokio::test]
async fn poison_events_reach_the_dlq_after_the_attempts_and_replay_works() {
    let bus = Bus::new(config());
    let healthy = Arc::new(AtomicBool::new(false));
    let calls = counter();
    let effects = counter();
    let (h, c, e) = (healthy.clone(), calls.clone(), effects.clone());
    bus.subscribe("billing")
        .on(move |o: OrderCreated, ctx| {
            let (h, c, e) = (h.clone(), c.clone(), e.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                if o.order_id == "refused" {
                    return Err(HandlerError::msg(ErrorClass::Permanent, "order refused"));
                }
                if !h.load(Ordering::SeqCst) {
                    let io = std::io::Error::other("connection reset");
                    return Err(HandlerError::transient(Wrapped(ctx.attempt(), io)));
                }
                e.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    let poison = bus.envelope_for(&order("o1", 1), None).unwrap();
    let poison_id = poison.id().to_owned();
    bus.publish_envelope(poison).await.unwrap();
    bus.publish(&order("refused", 1)).await.unwrap();
    bus.flush().await;
    assert_eq!(calls.load(Ordering::SeqCst), 3 + 1);
    let letters = bus
        .dead_letters()
        .list(&DlqFilter::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), 2);
    let retried = letters
        .iter()
        .find(|l| l.reason == "retries-exhausted")
        .unwrap();
    assert_eq!(retried.attempts, 3);
    assert_eq!(retried.group.as_deref(), Some("billing"));
    assert_eq!(retried.handler.as_deref(), Some("orders.created"));
    assert_eq!(retried.error_class, ErrorClass::Transient);
    assert_eq!(
        retried.error_chain,
        vec!["attempt 3 failed".to_owned(), "connection reset".to_owned()]
    );
    assert!(retried.first_failure <= retried.last_failure);
    let original = Envelope::from_structured(&retried.original, usize::MAX).unwrap();
    assert_eq!(original.id(), poison_id);
    assert_eq!(retried.attributes.get("id"), Some(&poison_id));
    let as_event = retried.to_envelope().unwrap();
    assert_eq!(as_event.extension("dlqreason"), Some("retries-exhausted"));
    assert_eq!(as_event.extension("dlqattempts"), Some("3"));
    assert_eq!(as_event.extension("dlqgroup"), Some("billing"));
    let refused = letters
        .iter()
        .find(|l| l.reason == "handler-permanent")
        .unwrap();
    assert_eq!(refused.attempts, 1);

    // Replay after the fix: handled once, same id, removed from the DLQ.
    healthy.store(true, Ordering::SeqCst);
    let outcome = bus.replay(&retried.id).await.unwrap();
    assert_eq!(outcome, PublishOutcome::Enqueued(1));
    bus.flush().await;
    assert_eq!(effects.load(Ordering::SeqCst), 1);
    assert!(bus.dead_letters().get(&retried.id).await.unwrap().is_none());
    // Replaying the same event again is deduplicated (same id, same key).
    bus.publish_envelope(original).await.unwrap();
    bus.flush().await;
    assert_eq!(effects.load(Ordering::SeqCst), 1);
    // Purge.
    let purged = bus
        .dead_letters()
        .purge(&DlqFilter {
            group: Some("billing".into()),
            ..DlqFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(purged, 1);
}

#[derive(Debug)]
struct Wrapped(u32, std::io::Error);
impl std::fmt::Display for Wrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "attempt {} failed", self.0)
    }
}
impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.1)
    }
}

async fn attempt_times(policy: RetryPolicy) -> Vec<Duration> {
    let bus = Bus::new(BusConfig {
        retry: policy,
        ..config()
    });
    let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let t = times.clone();
    bus.subscribe("g")
        .on(move |_: OrderCreated, _| {
            let t = t.clone();
            async move {
                t.lock().unwrap().push(Instant::now());
                Err(HandlerError::msg(ErrorClass::Transient, "down"))
            }
        })
        .unwrap()
        .start()
        .unwrap();
    bus.publish(&order("o", 1)).await.unwrap();
    bus.flush().await;
    let times = times.lock().unwrap();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn backoff_delays_follow_the_curve_within_jitter_bounds() {
    let policy = RetryPolicy {
        max_attempts: 7,
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        factor: 2.0,
        jitter: false,
    };
    let exact = attempt_times(policy.clone()).await;
    assert_eq!(exact.len(), 6);
    let tick = Duration::from_millis(1); // the timer's resolution
    for (n, gap) in exact.iter().enumerate() {
        let ceiling = policy.ceiling(u32::try_from(n).unwrap());
        assert!(
            *gap >= ceiling && *gap <= ceiling + tick,
            "retry {n}: {gap:?} vs {ceiling:?}"
        );
    }
    assert_eq!(policy.ceiling(5), Duration::from_secs(2)); // capped
    // Full jitter: every delay within [0, ceiling]; over many runs they spread out.
    let jittered = RetryPolicy {
        jitter: true,
        ..policy.clone()
    };
    let mut below_half = 0;
    let mut total = 0;
    for _ in 0..20 {
        for (n, gap) in attempt_times(jittered.clone()).await.iter().enumerate() {
            let ceiling = policy.ceiling(u32::try_from(n).unwrap());
            assert!(*gap <= ceiling + tick, "retry {n}: {gap:?} > {ceiling:?}");
            total += 1;
            if *gap < ceiling / 2 {
                below_half += 1;
            }
        }
    }
    assert_eq!(total, 120);
    assert!(
        (20..=100).contains(&below_half),
        "not uniform: {below_half}/120"
    );
}

#[tokio::test(start_paused = true)]
async fn the_circuit_breaker_pauses_the_group_and_probes() {
    let bus = Bus::new(BusConfig {
        concurrency: 1,
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
        breaker: Some(BreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_secs(10),
        }),
        ..config()
    });
    let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let t = times.clone();
    bus.subscribe("g")
        .on(move |o: OrderCreated, _| {
            let t = t.clone();
            async move {
                t.lock().unwrap().push(Instant::now());
                if o.seq < 3 {
                    Err(HandlerError::msg(ErrorClass::Transient, "down"))
                } else {
                    Ok(())
                }
            }
        })
        .unwrap()
        .start()
        .unwrap();
    for seq in 0..5 {
        bus.publish(&order("same-key", seq)).await.unwrap();
    }
    bus.flush().await;
    let times = times.lock().unwrap();
    assert_eq!(times.len(), 5);
    assert!(times[2] - times[0] < Duration::from_secs(1));
    assert!(
        times[3] - times[2] >= Duration::from_secs(10),
        "paused while open"
    );
    assert!(
        times[4] - times[3] < Duration::from_secs(1),
        "closed after a good probe"
    );
}

#[tokio::test]
async fn graceful_shutdown_drains_the_queues() {
    let bus = Bus::new(config());
    let done = counter();
    let d = done.clone();
    bus.subscribe("g")
        .on(move |_: OrderCreated, _| {
            let d = d.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                d.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    for i in 0..100 {
        bus.publish(&order(&format!("k{}", i % 7), i))
            .await
            .unwrap();
    }
    bus.shutdown(Duration::from_secs(10)).await;
    assert_eq!(done.load(Ordering::SeqCst), 100);
    assert!(matches!(
        bus.publish(&order("late", 0)).await,
        Err(PublishError::Closed)
    ));
}

#[tokio::test]
async fn the_same_event_delivered_1000_times_concurrently_runs_once() {
    let bus = Bus::new(config());
    let effects = counter();
    let e = effects.clone();
    for _ in 0..2 {
        let e = e.clone();
        bus.subscribe("g")
            .on(move |_: OrderCreated, _| {
                let e = e.clone();
                async move {
                    e.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .unwrap()
            .start()
            .unwrap();
    }
    let envelope = bus.envelope_for(&order("dup", 1), None).unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (bus, envelope) = (bus.clone(), envelope.clone());
            tokio::spawn(async move { bus.publish_envelope(envelope).await.unwrap() })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    bus.flush().await;
    assert_eq!(effects.load(Ordering::SeqCst), 1);
}

mod ordering {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn order_per_key_holds_under_random_failures(
            events in proptest::collection::vec((0u8..4, any::<bool>()), 1..60)
        ) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            let per_key = rt.block_on(run(events.clone()));
            for (key, seqs) in per_key {
                let mut sorted = seqs.clone();
                sorted.sort_unstable();
                prop_assert_eq!(&seqs, &sorted, "key {}", key);
                let expected = events.iter().filter(|(k, _)| format!("k{k}") == key).count();
                prop_assert_eq!(seqs.len(), expected);
            }
        }
    }

    async fn run(events: Vec<(u8, bool)>) -> std::collections::BTreeMap<String, Vec<u64>> {
        let bus = Bus::new(BusConfig {
            concurrency: 3,
            retry: RetryPolicy {
                max_attempts: 3,
                initial_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
                factor: 2.0,
                jitter: true,
            },
            ..config()
        });
        let fail_first: Arc<Mutex<std::collections::HashSet<u64>>> = Arc::new(Mutex::new(
            events
                .iter()
                .enumerate()
                .filter(|(_, (_, fail))| *fail)
                .map(|(i, _)| i as u64)
                .collect(),
        ));
        let log: Arc<Mutex<std::collections::BTreeMap<String, Vec<u64>>>> = Arc::default();
        let (f, l) = (fail_first.clone(), log.clone());
        bus.subscribe("g")
            .on(move |o: OrderCreated, _| {
                let (f, l) = (f.clone(), l.clone());
                async move {
                    // Yield so that other keys interleave.
                    tokio::time::sleep(Duration::from_millis(u64::from(o.seq as u32 % 3))).await;
                    if f.lock().unwrap().remove(&o.seq) {
                        return Err(HandlerError::msg(ErrorClass::Transient, "flaky"));
                    }
                    l.lock().unwrap().entry(o.order_id).or_default().push(o.seq);
                    Ok(())
                }
            })
            .unwrap()
            .start()
            .unwrap();
        for (seq, (key, _)) in events.iter().enumerate() {
            bus.publish(&order(&format!("k{key}"), seq as u64))
                .await
                .unwrap();
        }
        bus.flush().await;
        bus.shutdown(Duration::from_secs(1)).await;
        log.lock().unwrap().clone()
    }
}

mod lease {
    //! Handlers that outlive their lease: the bus extends the claim and keeps the delivery.
    use super::*;
    use eventschema::transport::{Acker, Delivery, JoinSpec, Lane, Outgoing};
    use eventschema::{
        BoxFuture, Claim, ClaimToken, DedupKey, IdempotencyStore, InProcess, MemoryDlq,
        MemoryStore, SchemaCatalog, StoreError, SubscribeError, Transport,
    };

    /// The in-process transport, counting the bus's `keep_alive` calls on its deliveries.
    struct CountingKeepAlive {
        inner: InProcess,
        beats: Arc<AtomicUsize>,
    }

    struct CountingLane {
        lane: Box<dyn Lane>,
        beats: Arc<AtomicUsize>,
    }

    struct CountingAcker {
        inner: Box<dyn Acker>,
        beats: Arc<AtomicUsize>,
    }

    impl Transport for CountingKeepAlive {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn publish<'a>(
            &'a self,
            message: Outgoing<'a>,
        ) -> BoxFuture<'a, Result<usize, PublishError>> {
            self.inner.publish(message)
        }
        fn groups_for(&self, ty: &str) -> Vec<String> {
            self.inner.groups_for(ty)
        }
        fn join<'a>(
            &'a self,
            spec: JoinSpec<'a>,
        ) -> BoxFuture<'a, Result<Vec<Box<dyn Lane>>, SubscribeError>> {
            Box::pin(async move {
                let lanes = self.inner.join(spec).await?;
                Ok(lanes
                    .into_iter()
                    .map(|lane| {
                        Box::new(CountingLane {
                            lane,
                            beats: self.beats.clone(),
                        }) as Box<dyn Lane>
                    })
                    .collect())
            })
        }
        fn flush(&self) -> BoxFuture<'_, ()> {
            self.inner.flush()
        }
        fn close(&self) -> BoxFuture<'_, ()> {
            self.inner.close()
        }
    }

    impl Lane for CountingLane {
        fn next(&mut self) -> BoxFuture<'_, Option<Delivery>> {
            Box::pin(async move {
                let mut delivery = self.lane.next().await?;
                delivery.acker = Box::new(CountingAcker {
                    inner: delivery.acker,
                    beats: self.beats.clone(),
                });
                Some(delivery)
            })
        }
    }

    impl Acker for CountingAcker {
        fn ack(self: Box<Self>) -> BoxFuture<'static, ()> {
            self.inner.ack()
        }
        fn retry_later(self: Box<Self>, delay: Duration) -> BoxFuture<'static, ()> {
            self.inner.retry_later(delay)
        }
        fn keep_alive(&mut self) -> BoxFuture<'_, ()> {
            self.beats.fetch_add(1, Ordering::SeqCst);
            self.inner.keep_alive()
        }
    }

    /// A memory store that loses every claim when asked to extend it, and counts
    /// completions and releases.
    #[derive(Default)]
    struct LosesClaims {
        inner: MemoryStore,
        settled: AtomicUsize,
    }

    impl IdempotencyStore for LosesClaims {
        fn claim<'a>(
            &'a self,
            key: &'a DedupKey,
            lease: Duration,
        ) -> BoxFuture<'a, Result<Claim, StoreError>> {
            self.inner.claim(key, lease)
        }
        fn complete<'a>(
            &'a self,
            key: &'a DedupKey,
            token: &'a ClaimToken,
            retention: Duration,
        ) -> BoxFuture<'a, Result<bool, StoreError>> {
            self.settled.fetch_add(1, Ordering::SeqCst);
            self.inner.complete(key, token, retention)
        }
        fn extend<'a>(
            &'a self,
            _: &'a DedupKey,
            _: &'a ClaimToken,
            _: Duration,
        ) -> BoxFuture<'a, Result<bool, StoreError>> {
            Box::pin(std::future::ready(Ok(false)))
        }
        fn release<'a>(
            &'a self,
            key: &'a DedupKey,
            token: &'a ClaimToken,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            self.settled.fetch_add(1, Ordering::SeqCst);
            self.inner.release(key, token)
        }
        fn purge_expired(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
            self.inner.purge_expired()
        }
    }

    const LEASE: Duration = Duration::from_millis(300);

    /// Subscribes a handler that counts its runs and takes three leases.
    fn slow_instance(bus: &Bus, store: Arc<dyn IdempotencyStore>, runs: Arc<AtomicUsize>) {
        bus.subscribe("g")
            .idempotency(store)
            .on(move |_: OrderCreated, _| {
                let runs = runs.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(3 * LEASE).await;
                    Ok(())
                }
            })
            .unwrap()
            .start()
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_handler_longer_than_its_lease_is_not_run_twice() {
        let cfg = BusConfig {
            lease: LEASE,
            ..config()
        };
        let store: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
        let (runs, beats) = (counter(), counter());
        let first = Bus::with_transport(
            cfg.clone(),
            Arc::new(SchemaCatalog::new()),
            Arc::new(MemoryDlq::new()),
            store.clone(),
            Arc::new(CountingKeepAlive {
                inner: InProcess::new(),
                beats: beats.clone(),
            }),
        );
        // A second instance of the group (another process sharing the store) gets the
        // same event again, as a broker's redelivery would.
        let second = Bus::new(cfg);
        slow_instance(&first, store.clone(), runs.clone());
        slow_instance(&second, store, runs.clone());
        let envelope = first.envelope_for(&order("long", 1), None).unwrap();
        first.publish_envelope(envelope.clone()).await.unwrap();
        tokio::time::sleep(LEASE / 10).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        second.publish_envelope(envelope).await.unwrap();
        let began = Instant::now();
        first.flush().await;
        second.flush().await;
        assert!(
            began.elapsed() >= 2 * LEASE,
            "the second waited for the first"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1, "handled once");
        let beats = beats.load(Ordering::SeqCst);
        assert!(
            (7..=9).contains(&beats),
            "keep_alive every lease/3 over 3 leases: {beats}"
        );
        first.shutdown(Duration::from_secs(1)).await;
        second.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_quick_handler_never_beats() {
        let beats = counter();
        let bus = Bus::with_transport(
            BusConfig {
                lease: LEASE,
                ..config()
            },
            Arc::new(SchemaCatalog::new()),
            Arc::new(MemoryDlq::new()),
            Arc::new(MemoryStore::new()),
            Arc::new(CountingKeepAlive {
                inner: InProcess::new(),
                beats: beats.clone(),
            }),
        );
        let runs = counter();
        let r = runs.clone();
        bus.subscribe("g")
            .on(move |_: OrderCreated, _| {
                r.fetch_add(1, Ordering::SeqCst);
                std::future::ready(Ok(()))
            })
            .unwrap()
            .start()
            .unwrap();
        for seq in 0..50 {
            bus.publish(&order("quick", seq)).await.unwrap();
        }
        bus.flush().await;
        tokio::time::sleep(10 * LEASE).await;
        assert_eq!(runs.load(Ordering::SeqCst), 50);
        assert_eq!(beats.load(Ordering::SeqCst), 0);
        bus.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_lost_mid_handler_is_neither_completed_nor_released() {
        let store = Arc::new(LosesClaims::default());
        let bus = Bus::new(BusConfig {
            lease: LEASE,
            ..config()
        });
        let runs = counter();
        slow_instance(&bus, store.clone(), runs.clone());
        bus.publish(&order("lost", 1)).await.unwrap();
        bus.flush().await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            store.settled.load(Ordering::SeqCst),
            0,
            "someone else may own the key now"
        );
        bus.shutdown(Duration::from_secs(1)).await;
    }
}

/// A JSON event that hands the bus its value (as generated and derived events do); its
/// schema bounds `cents`, which the Rust type cannot express.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Priced {
    cents: i64,
}

impl eventschema::Event for Priced {
    const TYPE: &'static str = "prices.set";
    const SUBJECT: &'static str = "prices.set-value";
    const VERSION: u32 = 1;
    const SCHEMA_TYPE: eventschema::SchemaType = eventschema::SchemaType::Json;
    const SCHEMA: &'static str = r#"{"type":"object","properties":{"cents":{"type":"integer","minimum":0}},"required":["cents"],"additionalProperties":false}"#;
    fn encode(&self) -> Result<Vec<u8>, eventschema::CodecError> {
        eventschema::json_encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, eventschema::CodecError> {
        eventschema::json_decode(bytes)
    }
    fn to_json_value(&self) -> Option<Result<serde_json::Value, eventschema::CodecError>> {
        // Negative prices pretend, in the value only, to be free: the bus must send what it
        // validated, not what `encode` would have written.
        if self.cents < 0 && self.cents > -100 {
            return Some(Ok(serde_json::json!({ "cents": 0 })));
        }
        eventschema::json_value(self)
    }
}

#[tokio::test]
async fn typed_json_events_are_validated_from_their_value_and_sent_as_validated() {
    let bus = Bus::new(config());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    bus.subscribe("prices")
        .on_pattern("prices.set", move |envelope: Arc<Envelope>, _| {
            s.lock().unwrap().push(envelope.data().unwrap().to_vec());
            async { Ok(()) }
        })
        .unwrap()
        .start()
        .unwrap();
    bus.catalog().register_event::<Priced>().unwrap();

    let outcome = bus.publish(&Priced { cents: 250 }).await.unwrap();
    assert_eq!(outcome, PublishOutcome::Enqueued(1));
    // Invalid by the schema (minimum 0): refused before any handler, with the reason.
    let outcome = bus.publish(&Priced { cents: -500 }).await.unwrap();
    assert!(
        matches!(&outcome, PublishOutcome::DeadLettered(i) if i.reason.as_str() == "schema-mismatch"),
        "{outcome:?}"
    );
    // The value (valid) differs from `encode` (invalid): what was validated is what is sent.
    let outcome = bus.publish(&Priced { cents: -5 }).await.unwrap();
    assert_eq!(outcome, PublishOutcome::Enqueued(1));
    bus.flush().await;
    // No partition key: the two events may run on different lanes, in any order.
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        vec![br#"{"cents":0}"#.to_vec(), br#"{"cents":250}"#.to_vec()]
    );
    let letters = bus
        .dead_letters()
        .list(&DlqFilter::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    let original = Envelope::from_structured(&letters[0].original, usize::MAX).unwrap();
    assert_eq!(original.data().unwrap(), br#"{"cents":-500}"#);

    // Without validation the value is not asked for: `encode` writes the data.
    let unchecked = Bus::new(BusConfig {
        validate: false,
        ..config()
    });
    let data = Arc::new(Mutex::new(Vec::new()));
    let d = data.clone();
    unchecked
        .subscribe("prices")
        .on_pattern("prices.set", move |envelope: Arc<Envelope>, _| {
            d.lock().unwrap().push(envelope.data().unwrap().to_vec());
            async { Ok(()) }
        })
        .unwrap()
        .start()
        .unwrap();
    unchecked.publish(&Priced { cents: -5 }).await.unwrap();
    unchecked.flush().await;
    assert_eq!(*data.lock().unwrap(), vec![br#"{"cents":-5}"#.to_vec()]);
}
