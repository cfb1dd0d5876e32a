//! `eventschema dlq` end to end: a real bus (this test process, standing in for a service)
//! dead-letters events into a SQLite file; the CLI, a separate process, lists, shows,
//! replays (carried out by the service's `ReplayWorker`) and purges them. The same flow
//! runs against PostgreSQL when `DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use eventschema::dlq::{ReplayWorkerConfig, SqlDlq};
use eventschema::{
    Bus, BusConfig, DeadLetterStore, DlqFilter, Envelope, ErrorClass, HandlerError, MemoryStore,
    ReplayWorker, SchemaCatalog,
};
use serde_json::Value;

const TABLE: &str = "svc_dlq";

/// A service: a bus whose `billing` group fails every `orders.*` event until healthy.
struct Service {
    bus: Bus,
    healthy: Arc<AtomicBool>,
    effects: Arc<AtomicUsize>,
    url: String,
    table: String,
    store: SqlDlq,
}

impl Service {
    async fn start(url: &str, table: &str) -> Service {
        let store = SqlDlq::connect(url, table).await.unwrap();
        let config = BusConfig {
            validate: false,
            breaker: None,
            ..BusConfig::default()
        };
        let bus = Bus::with_parts(
            config,
            Arc::new(SchemaCatalog::new()),
            Arc::new(store.clone()),
            Arc::new(MemoryStore::new()),
        );
        let healthy = Arc::new(AtomicBool::new(false));
        let effects = Arc::new(AtomicUsize::new(0));
        let (h, e) = (healthy.clone(), effects.clone());
        bus.subscribe("billing")
            .on_pattern("orders.*", move |_, _| {
                let (h, e) = (h.clone(), e.clone());
                async move {
                    if !h.load(Ordering::SeqCst) {
                        return Err(HandlerError::msg(ErrorClass::Permanent, "card declined"));
                    }
                    e.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .unwrap()
            .start()
            .unwrap();
        Service {
            bus,
            healthy,
            effects,
            url: url.to_owned(),
            table: table.to_owned(),
            store,
        }
    }

    /// Three dead letters, in this order: `orders.created` and `orders.shipped` refused by
    /// the handler, and bytes that are not a CloudEvent.
    async fn populate(&self) -> Vec<String> {
        for (id, ty, order) in [
            ("evt-1", "orders.created", "o-1"),
            ("evt-2", "orders.shipped", "o-2"),
        ] {
            let mut envelope = Envelope::new(id, "/shop", ty).unwrap();
            envelope.set_datacontenttype("application/json").unwrap();
            envelope.set_data(format!(r#"{{"order_id":"{order}","total":12.5}}"#));
            self.bus.publish_envelope(envelope).await.unwrap();
            self.bus.flush().await;
        }
        self.bus
            .ingest_structured(&[0xff, 0x00, b'{', 0xfe])
            .await
            .unwrap();
        let letters = self.store.list(&DlqFilter::default()).await.unwrap();
        assert_eq!(letters.len(), 3);
        letters.into_iter().map(|l| l.id).collect()
    }

    /// Runs `eventschema dlq ARGS` against this service's store (off the async runtime, so
    /// the bus keeps working meanwhile).
    async fn dlq(&self, args: &[&str]) -> Run {
        let mut command = common::bin();
        command
            .env_remove("EVENTSCHEMA_DLQ_DATABASE_URL")
            .args(["dlq", "--database-url", &self.url, "--table", &self.table])
            .args(args);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "{self:#?}");
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap()
    }
}

/// Replaces the values that change from run to run (letter ids, times, cursors).
fn redact(value: &mut Value, ids: &[String]) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let volatile = matches!(
                    key.as_str(),
                    "first_failure" | "last_failure" | "requested_at" | "updated_at"
                );
                if volatile && item.is_string() {
                    *item = Value::String("[time]".into());
                } else {
                    redact(item, ids);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact(i, ids)),
        Value::String(text) => {
            if let Some(n) = ids.iter().position(|id| id == text) {
                *text = format!("[letter {}]", n + 1);
            }
        }
        _ => {}
    }
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/service.db?mode=rwc", dir.path().display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_show_a_real_bus_run() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&sqlite_url(&dir), TABLE).await;
    let ids = service.populate().await;

    let list = service.dlq(&["list"]).await.expect(0);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert!(lines[0].starts_with("ID "), "{}", list.stdout);
    assert!(lines[0].contains("REASON"));
    assert_eq!(lines.len(), 4, "{}", list.stdout);
    assert!(lines[1].starts_with(&ids[0]) && lines[1].contains("orders.created"));
    assert!(lines[1].contains("handler-permanent") && lines[1].contains("billing"));
    assert!(lines[3].starts_with(&ids[2]) && lines[3].contains("malformed-envelope"));

    let mut json = service
        .dlq(&["list", "--format", "json"])
        .await
        .expect(0)
        .json();
    redact(&mut json, &ids);
    insta::assert_json_snapshot!("dlq_list_json", json);

    // Filters.
    let only = |run: Run| run.json()["dead_letters"].as_array().unwrap().len();
    let billing_created = service
        .dlq(&[
            "list",
            "--group",
            "billing",
            "--type",
            "orders.created",
            "--format",
            "json",
        ])
        .await
        .expect(0);
    assert_eq!(only(billing_created), 1);
    let recent = service
        .dlq(&["list", "--since", "1h", "--format", "json"])
        .await;
    assert_eq!(only(recent.expect(0)), 3);
    let future = service
        .dlq(&["list", "--since", "2099-01-01T00:00:00Z"])
        .await;
    assert_eq!(future.expect(0).stdout, "no dead letters match\n");
    let reason = service
        .dlq(&["list", "--reason", "malformed-envelope", "--format", "json"])
        .await;
    assert_eq!(only(reason.expect(0)), 1);

    // Paging.
    let first = service.dlq(&["list", "--limit", "2"]).await.expect(0);
    let cursor = format!("--after {}", ids[1]);
    assert!(first.stdout.contains(&cursor), "{}", first.stdout);
    let next = service
        .dlq(&["list", "--after", &ids[1], "--format", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(next["dead_letters"][0]["id"], ids[2].as_str());
    assert_eq!(next["next"], Value::Null);

    // Show: attributes, error chain, payload.
    let show = service.dlq(&["show", &ids[0]]).await.expect(0);
    for expected in [
        "reason        handler-permanent",
        "group         billing",
        "  type: orders.created",
        "  id: evt-1",
        "  0: card declined",
        "payload: data, 31 bytes, json, application/json",
        "  \"order_id\": \"o-1\",",
    ] {
        assert!(
            show.stdout.contains(expected),
            "{expected}\n{}",
            show.stdout
        );
    }
    let mut json = service
        .dlq(&["show", &ids[0], "--format", "json"])
        .await
        .expect(0)
        .json();
    redact(&mut json, &ids);
    insta::assert_json_snapshot!("dlq_show_json", json);

    let raw = service
        .dlq(&["show", &ids[2], "--binary", "hex"])
        .await
        .expect(0);
    assert!(
        raw.stdout
            .contains("original bytes (not a CloudEvent), 4 bytes, hex")
    );
    assert!(raw.stdout.contains("\nff007bfe\n"), "{}", raw.stdout);
    let raw = service
        .dlq(&["show", &ids[2], "--format", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(raw["dead_letter"]["payload"]["encoding"], "base64");
    assert_eq!(raw["dead_letter"]["payload"]["data"], "/wB7/g==");
    assert_eq!(raw["dead_letter"]["group"], Value::Null);

    let missing = service.dlq(&["show", "no-such-id"]).await.expect(1);
    assert!(missing.stderr.contains("no dead letter no-such-id"));
    service.bus.shutdown(Duration::from_secs(5)).await;
}

/// Request replays from the CLI; the service's worker replays them once the handler is fixed.
async fn replay_flow(service: &Service) {
    let ids = service.populate().await;
    service.healthy.store(true, Ordering::SeqCst);
    let worker = ReplayWorker::spawn_with(
        service.bus.clone(),
        ReplayWorkerConfig {
            interval: Duration::from_millis(20),
            filter: DlqFilter {
                group: Some("billing".into()),
                ..DlqFilter::default()
            },
            ..ReplayWorkerConfig::default()
        },
    );
    let replayed = service
        .dlq(&["replay", &ids[0], "--wait", "20s"])
        .await
        .expect(0);
    assert_eq!(replayed.stdout, format!("{}  replayed\n", ids[0]));
    service.bus.flush().await;
    assert_eq!(service.effects.load(Ordering::SeqCst), 1);
    let gone = service.dlq(&["show", &ids[0]]).await.expect(1);
    assert!(gone.stderr.contains("(replayed at "), "{}", gone.stderr);

    // Bulk, without waiting: recorded, then carried out by the worker.
    let recorded = service
        .dlq(&["replay", "--all", "--type", "orders.shipped"])
        .await
        .expect(0);
    assert!(recorded.stdout.contains("1 replay request(s) recorded"));
    tokio::time::timeout(Duration::from_secs(20), async {
        while service.store.get(&ids[1]).await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the worker replays the bulk request");
    let shown = service
        .dlq(&["show", &ids[1], "--format", "json"])
        .await
        .expect(1)
        .json();
    assert_eq!(shown["dead_letter"], Value::Null);
    assert_eq!(shown["replay"]["status"], "replayed");
    service.bus.flush().await;
    assert_eq!(service.effects.load(Ordering::SeqCst), 2);

    // Not a CloudEvent and no group: the worker filters it out, so the wait runs out.
    let stuck = service
        .dlq(&["replay", &ids[2], "--wait", "300ms"])
        .await
        .expect(1);
    assert!(stuck.stdout.contains("requested"), "{}", stuck.stdout);
    let unknown = service.dlq(&["replay", "no-such-id"]).await.expect(1);
    assert!(unknown.stderr.contains("no dead letter no-such-id"));
    let nothing = service
        .dlq(&["replay", "--all", "--group", "nobody"])
        .await
        .expect(1);
    assert_eq!(nothing.stdout, "no dead letters match\n");
    worker.stop().await;
    service.bus.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_is_carried_out_by_the_services_worker() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&sqlite_url(&dir), TABLE).await;
    replay_flow(&service).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_by_id_filter_and_age() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&sqlite_url(&dir), TABLE).await;
    let ids = service.populate().await;

    let refused = service.dlq(&["purge", "--all"]).await.expect(2);
    assert!(
        refused
            .stderr
            .contains("refusing to delete 3 dead letter(s) without --yes"),
        "{}",
        refused.stderr
    );
    let one = service.dlq(&["purge", &ids[0]]).await.expect(0);
    assert_eq!(one.stdout, "purged 1 dead letter(s)\n");
    service.dlq(&["purge", &ids[0]]).await.expect(1);
    let young = service
        .dlq(&["purge", "--all", "--older-than", "1h", "--yes"])
        .await
        .expect(1);
    assert_eq!(young.stdout, "purged 0 dead letter(s)\n");
    let billing = service
        .dlq(&[
            "purge", "--all", "--group", "billing", "--yes", "--format", "json",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(billing["purged"], 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    service
        .dlq(&["purge", "--all", "--older-than", "10ms", "--yes"])
        .await
        .expect(0);
    assert!(
        service
            .store
            .list(&DlqFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    service.bus.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn usage_and_io_errors_exit_2() {
    let run = |args: &[&str]| {
        let output = common::bin()
            .env_remove("EVENTSCHEMA_DLQ_DATABASE_URL")
            .arg("dlq")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (code, stderr) = run(&["list"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--database-url"), "{stderr}");
    let (code, stderr) = run(&["list", "--database-url", "/no/such/file.db"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("no SQLite database at /no/such/file.db"),
        "{stderr}"
    );
    let (code, _) = run(&["purge", "--database-url", "/x.db"]);
    assert_eq!(code, Some(2), "purge needs ids or --all");
    let (code, _) = run(&["replay", "id", "--all", "--database-url", "/x.db"]);
    assert_eq!(code, Some(2), "ids and --all conflict");
    let (code, stderr) = run(&["list", "--database-url", "mysql://h/db"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unsupported"), "{stderr}");
    let (code, stderr) = run(&[
        "list",
        "--since",
        "yesterday-ish",
        "--database-url",
        "/x.db",
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("RFC 3339"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_end_to_end() {
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var("EVENTSCHEMA_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "EVENTSCHEMA_REQUIRE_SERVICES=1 but DATABASE_URL is not set"
            );
            eprintln!("DATABASE_URL not set: skipping");
            return;
        }
    };
    let table = format!("es_cli_dlq_{}", std::process::id());
    let service = Service::start(&url, &table).await;
    replay_flow(&service).await;
    let listed = service
        .dlq(&["list", "--format", "json"])
        .await
        .expect(0)
        .json();
    assert_eq!(listed["dead_letters"].as_array().unwrap().len(), 1);
    service.dlq(&["purge", "--all", "--yes"]).await.expect(0);
    service.store.drop_tables().await.unwrap();
}
