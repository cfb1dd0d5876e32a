//! Registry input against a real registry started in-process (SQLite in memory): the first
//! build fetches every version into `eventschema.lock` and `.eventschema/`, with
//! `Event::SCHEMA_ID` from the registry's ids; later builds are offline and byte-identical;
//! `update_lock` refreshes; a tampered cache and an unlocked subject are errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;

use eventschema_codegen::lock::{Lock, LockError, fingerprint};
use eventschema_codegen::{BuildError, Builder};
use eventschema_core::Limits;
use eventschema_registry::api::SchemaRequest;
use eventschema_registry::{Client, ServerConfig};

/// A registry on its own runtime and thread, stopped on drop.
struct Registry {
    url: String,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Registry {
    fn start() -> Registry {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (bound, address) = std::sync::mpsc::channel::<SocketAddr>();
        runtime.spawn(async move {
            let config = ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                database_url: "sqlite::memory:".to_owned(),
                limits: Limits::DEFAULT,
            };
            eventschema_registry::serve(
                config,
                move |addr| bound.send(addr).unwrap(),
                async move {
                    let _ = stopped.await;
                },
            )
            .await
            .unwrap();
        });
        let addr = address.recv().unwrap();
        Registry {
            url: format!("http://{addr}"),
            runtime,
            stop: Some(stop),
        }
    }

    fn register(&self, subject: &str, schema: &str) -> i64 {
        let client = Client::new(&self.url).unwrap();
        let request = SchemaRequest {
            schema: Some(serde_json::Value::String(schema.to_owned())),
            ..SchemaRequest::default()
        };
        self.runtime
            .block_on(client.register(subject, &request))
            .unwrap()
            .id
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

const V1: &str =
    r#"{"type":"record","name":"OrderPlaced","fields":[{"name":"id","type":"string"}]}"#;
const V2: &str = r#"{"type":"record","name":"OrderPlaced","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int","default":1}]}"#;
const PAID: &str = r#"{"type":"record","name":"Paid","fields":[{"name":"id","type":"string"}]}"#;

fn builder(url: &str, dir: &Path) -> Builder {
    Builder::new()
        .registry(url)
        .subjects(["orders-value", "payments-value"])
        .lock_file(dir.join("eventschema.lock"))
        .out_dir(dir.join("out"))
        .emit_rerun_if_changed(false)
}

fn build(builder: &Builder) -> Result<String, BuildError> {
    let path = builder.generate()?;
    Ok(std::fs::read_to_string(path).unwrap())
}

#[test]
fn locks_then_builds_offline_and_updates_on_request() {
    let registry = Registry::start();
    let paid = registry.register("payments-value", PAID);
    let v1 = registry.register("orders-value", V1);
    let dir = tempfile::tempdir().unwrap();

    let first = build(&builder(&registry.url, dir.path())).unwrap();
    assert!(first.contains(&format!("const SCHEMA_ID: Option<u64> = Some({v1});")));
    assert!(first.contains(&format!("const SCHEMA_ID: Option<u64> = Some({paid});")));
    let lock = Lock::read(&dir.path().join("eventschema.lock"))
        .unwrap()
        .unwrap();
    let entries: Vec<(&str, i32, u64)> = lock
        .schemas
        .iter()
        .map(|s| (s.subject.as_str(), s.version, s.id))
        .collect();
    assert_eq!(
        entries,
        vec![
            ("orders-value", 1, u64::try_from(v1).unwrap()),
            ("payments-value", 1, u64::try_from(paid).unwrap()),
        ]
    );
    let cached = std::fs::read(dir.path().join(".eventschema/orders-value/1.avsc")).unwrap();
    assert_eq!(lock.schemas[0].fingerprint, fingerprint(&cached));

    // A new version in the registry does not change a locked build, even offline.
    registry.register("orders-value", V2);
    let url = registry.url.clone();
    drop(registry);
    let offline = build(&builder("http://127.0.0.1:9", dir.path())).unwrap();
    assert_eq!(offline, first);

    // Updating needs the registry: it is down, so the update fails and the lock stays.
    let err = build(&builder(&url, dir.path()).update_lock(true)).unwrap_err();
    assert!(
        matches!(err, BuildError::Lock(LockError::Registry { .. })),
        "{err}"
    );
    assert_eq!(build(&builder(&url, dir.path())).unwrap(), first);
}

#[test]
fn update_lock_fetches_new_versions() {
    let registry = Registry::start();
    registry.register("payments-value", PAID);
    registry.register("orders-value", V1);
    let dir = tempfile::tempdir().unwrap();
    build(&builder(&registry.url, dir.path())).unwrap();
    let v2 = registry.register("orders-value", V2);
    let updated = build(&builder(&registry.url, dir.path()).update_lock(true)).unwrap();
    assert!(updated.contains("pub mod v2"));
    assert!(updated.contains(&format!("const SCHEMA_ID: Option<u64> = Some({v2});")));
    let lock = Lock::read(&dir.path().join("eventschema.lock"))
        .unwrap()
        .unwrap();
    assert_eq!(lock.schemas.len(), 3);
}

#[test]
fn tampered_cache_and_unlocked_subjects_are_errors() {
    let registry = Registry::start();
    registry.register("payments-value", PAID);
    registry.register("orders-value", V1);
    let dir = tempfile::tempdir().unwrap();
    build(&builder(&registry.url, dir.path())).unwrap();

    let unlocked = builder(&registry.url, dir.path()).subjects(["orders-value", "refunds-value"]);
    let err = build(&unlocked).unwrap_err();
    assert!(
        matches!(&err, BuildError::Lock(LockError::NotLocked { subject, .. }) if subject == "refunds-value"),
        "{err}"
    );

    let cached = dir.path().join(".eventschema/orders-value/1.avsc");
    std::fs::write(&cached, V2).unwrap();
    let err = build(&builder(&registry.url, dir.path())).unwrap_err();
    assert!(
        matches!(&err, BuildError::Lock(LockError::Fingerprint { .. })),
        "{err}"
    );
    assert!(
        err.to_string().contains("1.avsc: fingerprint mismatch"),
        "{err}"
    );
}
