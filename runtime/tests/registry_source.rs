//! The registry-backed schema source (feature `registry`) against a real registry served
//! in-process: a producer that only knows the schema id is validated (and upcast) by a
//! consumer whose catalog is empty at start; an unknown id is dead-lettered with its
//! reason; a registry that is down makes the publish fail without a dead letter, and the
//! same publish goes through once the registry is back.
#![cfg(feature = "registry")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use eventschema::envelope::ext;
use eventschema::registry::RegistrySource;
use eventschema::{
    Bus, CodecError, DlqFilter, Envelope, Event, InvalidReason, MemoryDlq, MemoryStore,
    PublishError, PublishOutcome, SchemaCatalog, SchemaType,
};
use eventschema_core::Limits;
use eventschema_registry::ServerConfig;
use serde::{Deserialize, Serialize};

const V1: &str = r#"{"type":"object","properties":{"sku":{"type":"string"}},"required":["sku"]}"#;
const V2: &str = r#"{"type":"object","properties":{"sku":{"type":"string"},"units":{"type":"integer"}},"required":["sku","units"]}"#;

/// Version 2 of `stock.counted`, the consumer's type; reads version 1 with `units: 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StockCounted {
    sku: String,
    units: i64,
}

#[derive(Deserialize)]
struct StockCountedV1 {
    sku: String,
}

impl Event for StockCounted {
    const TYPE: &'static str = "stock.counted";
    const SUBJECT: &'static str = "stock.counted-value";
    const VERSION: u32 = 2;
    const SCHEMA_TYPE: SchemaType = SchemaType::Json;
    const SCHEMA: &'static str = V2;
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        eventschema::json_encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        eventschema::json_decode(bytes)
    }
    fn decode_version(version: u32, bytes: &[u8]) -> Result<Self, CodecError> {
        match version {
            1 => {
                let old: StockCountedV1 = eventschema::json_decode(bytes)?;
                Ok(StockCounted {
                    sku: old.sku,
                    units: 1,
                })
            }
            _ => Self::decode(bytes),
        }
    }
}

/// A registry on a file database, served on this runtime until `stop`.
struct Registry {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Registry {
    async fn start(listen: SocketAddr, database: &std::path::Path) -> Registry {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound, address) = tokio::sync::oneshot::channel::<SocketAddr>();
        let config = ServerConfig {
            listen,
            database_url: format!("sqlite://{}?mode=rwc", database.display()),
            limits: Limits::DEFAULT,
        };
        let bound = Mutex::new(Some(bound));
        let task = tokio::spawn(async move {
            eventschema_registry::serve(
                config,
                move |addr| {
                    if let Some(bound) = bound.lock().unwrap().take() {
                        let _ = bound.send(addr);
                    }
                },
                async move {
                    let _ = stopped.await;
                },
            )
            .await
            .unwrap();
        });
        let addr = address.await.unwrap();
        Registry { addr, stop, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

async fn register(url: &str, schema: &str) -> u64 {
    let client = eventschema_registry::Client::new(url).unwrap();
    // Version 2 makes `units` required: not the point here, so no compatibility rules.
    client
        .set_subject_compatibility("stock.counted-value", "NONE")
        .await
        .unwrap();
    let request = eventschema_registry::api::SchemaRequest {
        schema: Some(serde_json::Value::String(schema.to_owned())),
        schema_type: Some("JSON".to_owned()),
        ..Default::default()
    };
    let id = client
        .register("stock.counted-value", &request)
        .await
        .unwrap()
        .id;
    u64::try_from(id).unwrap()
}

/// The envelope of a producer that knows the schema id and nothing else (no version).
fn by_id(id: u64, data: &str) -> Envelope {
    let mut envelope = Envelope::new(
        uuid::Uuid::now_v7().to_string(),
        "/producer",
        "stock.counted",
    )
    .unwrap();
    envelope.set_datacontenttype("application/json").unwrap();
    envelope
        .set_extension(ext::SCHEMA_ID, id.to_string())
        .unwrap();
    envelope.set_data(data.as_bytes().to_vec());
    envelope
}

/// A consumer bus over the registry at `url` whose handler records what it receives.
fn consumer(url: &str) -> (Bus, Arc<Mutex<Vec<StockCounted>>>) {
    let catalog = RegistrySource::new(url).unwrap().catalog();
    let bus = Bus::with_parts(
        common::config(),
        Arc::new(catalog),
        Arc::new(MemoryDlq::new()),
        Arc::new(MemoryStore::new()),
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    bus.subscribe("counting")
        .on::<StockCounted, _, _>(move |event, _ctx| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(event);
                Ok(())
            }
        })
        .unwrap()
        .start()
        .unwrap();
    (bus, seen)
}

async fn letters(bus: &Bus) -> Vec<eventschema::DeadLetter> {
    bus.dead_letters()
        .list(&DlqFilter::default())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_knowing_only_the_id_is_validated_through_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start("127.0.0.1:0".parse().unwrap(), &dir.path().join("r.db")).await;
    let v1 = register(&registry.url(), V1).await;
    let v2 = register(&registry.url(), V2).await;
    assert_ne!(v1, v2);
    let (bus, seen) = consumer(&registry.url());
    assert!(!bus.catalog().knows_type("other.type"));

    let outcome = bus
        .publish_envelope(by_id(v1, r#"{"sku":"a"}"#))
        .await
        .unwrap();
    assert!(
        matches!(outcome, PublishOutcome::Enqueued(1)),
        "{outcome:?}"
    );
    let outcome = bus
        .publish_envelope(by_id(v2, r#"{"sku":"b","units":5}"#))
        .await
        .unwrap();
    assert!(
        matches!(outcome, PublishOutcome::Enqueued(1)),
        "{outcome:?}"
    );
    bus.flush().await;
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            // written as version 1 (the registry says so), upcast for the handler
            StockCounted {
                sku: "a".into(),
                units: 1
            },
            StockCounted {
                sku: "b".into(),
                units: 5
            },
        ]
    );

    // The fetched schema validates: version 1's `sku` must be a string.
    let outcome = bus
        .publish_envelope(by_id(v1, r#"{"sku":7}"#))
        .await
        .unwrap();
    let PublishOutcome::DeadLettered(invalid) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(invalid.reason, InvalidReason::SchemaMismatch);

    // A schemaversion that contradicts the id is refused.
    let mut lying = by_id(v1, r#"{"sku":"c"}"#);
    lying.set_extension(ext::SCHEMA_VERSION, "2").unwrap();
    let outcome = bus.publish_envelope(lying).await.unwrap();
    assert!(
        matches!(&outcome, PublishOutcome::DeadLettered(i) if i.reason == InvalidReason::UnknownSchemaVersion),
        "{outcome:?}"
    );

    // Cached: with the registry gone, known ids still validate.
    registry.stop().await;
    let outcome = bus
        .publish_envelope(by_id(v1, r#"{"sku":"d"}"#))
        .await
        .unwrap();
    assert!(
        matches!(outcome, PublishOutcome::Enqueued(1)),
        "{outcome:?}"
    );
    bus.flush().await;
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert_eq!(letters(&bus).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_id_is_dead_lettered_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start("127.0.0.1:0".parse().unwrap(), &dir.path().join("r.db")).await;
    let known = register(&registry.url(), V1).await;
    let (bus, seen) = consumer(&registry.url());
    let unknown = known + 1000;
    let outcome = bus
        .publish_envelope(by_id(unknown, r#"{"sku":"a"}"#))
        .await
        .unwrap();
    let PublishOutcome::DeadLettered(invalid) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(invalid.reason, InvalidReason::UnknownSchemaVersion);
    let letters = letters(&bus).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].reason, "unknown-schema-version");
    assert!(
        letters[0].error_chain[0].contains(&format!("unknown schema id {unknown}")),
        "{:?}",
        letters[0].error_chain
    );
    bus.flush().await;
    assert!(seen.lock().unwrap().is_empty());
    registry.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_is_down_is_not_a_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("r.db");
    let registry = Registry::start("127.0.0.1:0".parse().unwrap(), &database).await;
    let addr = registry.addr;
    let id = register(&registry.url(), V1).await;
    registry.stop().await;

    let (bus, seen) = consumer(&format!("http://{addr}"));
    let error = bus
        .publish_envelope(by_id(id, r#"{"sku":"a"}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PublishError::SchemaUnavailable(m) if m.contains(&format!("schema id {id}"))),
        "{error:?}"
    );
    assert!(letters(&bus).await.is_empty());

    // Back on the same address and database: the same event now goes through.
    let registry = Registry::start(addr, &database).await;
    let outcome = bus
        .publish_envelope(by_id(id, r#"{"sku":"a"}"#))
        .await
        .unwrap();
    assert!(
        matches!(outcome, PublishOutcome::Enqueued(1)),
        "{outcome:?}"
    );
    bus.flush().await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(letters(&bus).await.is_empty());
    registry.stop().await;
}

#[tokio::test]
async fn register_event_gives_the_id_consumers_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start("127.0.0.1:0".parse().unwrap(), &dir.path().join("r.db")).await;
    let source = RegistrySource::new(&registry.url()).unwrap();
    let (id, version) = source.register_event::<StockCounted>().await.unwrap();
    assert_eq!(version, 1, "the first version the registry holds");
    // Registering again finds the same version.
    assert_eq!(
        source.register_event::<StockCounted>().await.unwrap(),
        (id, 1)
    );
    let catalog = SchemaCatalog::with_source(Arc::new(source));
    let entry = catalog
        .validate(&by_id(id, r#"{"sku":"a","units":2}"#))
        .await
        .unwrap();
    assert_eq!(entry.registered.subject, "stock.counted-value");
    assert_eq!(entry.registered.event_type, "stock.counted");
    assert_eq!(entry.registered.version, 1);
    assert_eq!(entry.id, Some(id));
    registry.stop().await;
}
