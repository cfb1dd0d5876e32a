//! The whole tool chain with the real binaries: `eventschema serve` on an ephemeral port
//! (SQLite in a temporary folder), `push` of the repository's `schemas/`, `check` against
//! the registry with a compatible (exit 0) and an incompatible (exit 1) new version,
//! `generate --registry` with a lock file (the same Rust as codegen makes from the local
//! folder, ids and fingerprints pinned), and the example's saga (`orders-example
//! --registry`) validated through the registry. Slow on a cold target: the first test
//! builds the binaries with `cargo build` (see `eventschema_tests::binary`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use eventschema_codegen::folder::SchemaFolder;
use eventschema_codegen::lock::{Lock, fingerprint};
use eventschema_tests::{RegistryProcess, binary, copy_dir, eventschema, http_get, run};
use serde_json::Value;

const ORDER_PLACED_V3: &str = "orders.order-placed/3.avsc";

/// Version 3 of `orders.order-placed` with one more field: `extra` as written.
fn order_placed_v4(extra: &str) -> String {
    let v3 = std::fs::read_to_string(
        eventschema_tests::workspace_root()
            .join("schemas")
            .join(ORDER_PLACED_V3),
    )
    .unwrap();
    let mut schema: Value = serde_json::from_str(&v3).unwrap();
    let field: Value = serde_json::from_str(extra).unwrap();
    schema["fields"].as_array_mut().unwrap().push(field);
    serde_json::to_string_pretty(&schema).unwrap()
}

fn get_json(url: &str) -> Value {
    let (status, body) = http_get(url).unwrap();
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn registry_check_generate_and_the_saga_with_the_real_binaries() {
    let scratch = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", scratch.path().join("registry.db").display());
    let registry = RegistryProcess::start(&database);
    let url = registry.url.clone();

    // push: every subject of the repository's folder, versions in order.
    let schemas = scratch.path().join("schemas");
    copy_dir(
        &eventschema_tests::workspace_root().join("schemas"),
        &schemas,
    );
    let push = run(eventschema()
        .args(["push", "--schemas"])
        .arg(&schemas)
        .arg(&url));
    assert_eq!(push.code, 0, "{push:?}");
    let folder = SchemaFolder::read_dir(&schemas).unwrap();
    let subjects: Vec<String> = folder.subject_names().map(str::to_owned).collect();
    assert_eq!(
        get_json(&format!("{url}/subjects")),
        serde_json::json!(subjects)
    );
    for subject in &subjects {
        let local: Vec<i32> = folder
            .versions(subject)
            .unwrap()
            .iter()
            .map(|file| file.version)
            .collect();
        assert_eq!(
            get_json(&format!("{url}/subjects/{subject}/versions")),
            serde_json::json!(local),
            "{subject}"
        );
    }

    // check: a new optional field with a default is compatible at BACKWARD_TRANSITIVE ...
    let v4 = schemas.join("orders.order-placed/4.avsc");
    std::fs::write(
        &v4,
        order_placed_v4(r#"{"name": "gift_wrap", "type": "boolean", "default": false}"#),
    )
    .unwrap();
    let check = |dir: &Path| {
        run(eventschema()
            .args(["check", "--schemas"])
            .arg(dir)
            .args(["--against", &url]))
    };
    let compatible = check(&schemas);
    assert_eq!(compatible.code, 0, "{compatible:?}");
    // ... a required one is not, and says why.
    std::fs::write(
        &v4,
        order_placed_v4(r#"{"name": "gift_wrap", "type": "boolean"}"#),
    )
    .unwrap();
    let incompatible = check(&schemas);
    assert_eq!(incompatible.code, 1, "{incompatible:?}");
    let report = format!("{}{}", incompatible.stdout, incompatible.stderr);
    for expected in [
        "orders.order-placed v4 vs v3 (BACKWARD_TRANSITIVE",
        "READER_FIELD_MISSING_DEFAULT_VALUE",
        "gift_wrap",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    std::fs::remove_file(&v4).unwrap();
    // Nothing was registered by the checks.
    assert_eq!(
        get_json(&format!("{url}/subjects/orders.order-placed/versions")),
        serde_json::json!([1, 2, 3])
    );

    // generate from the registry with a lock file.
    let picked = ["orders.order-placed", "payments.payment-failed"];
    let out = scratch.path().join("generated");
    let lock_path = scratch.path().join("eventschema.lock");
    let mut generate = eventschema();
    generate.args(["generate", "--registry", &url]);
    for subject in picked {
        generate.args(["--subject", subject]);
    }
    generate
        .arg("--lock")
        .arg(&lock_path)
        .arg("--out")
        .arg(&out);
    let generated = run(&mut generate);
    assert_eq!(generated.code, 0, "{generated:?}");
    let from_registry = std::fs::read_to_string(out.join("eventschema_generated.rs")).unwrap();
    assert!(
        from_registry.contains("SCHEMA_ID"),
        "no ids in the generated code"
    );

    let local_folder = SchemaFolder::from_files(
        folder
            .files()
            .filter(|file| picked.contains(&file.subject.as_str()))
            .map(|file| (file.path.clone(), file.text.clone().into_bytes())),
    )
    .unwrap();
    let from_folder = eventschema_codegen::generate(&local_folder).unwrap();
    assert_eq!(
        without_schema_ids(&from_registry),
        without_schema_ids(from_folder.as_str()),
        "the registry's code differs from the folder's beyond SCHEMA_ID"
    );

    let lock = Lock::read(&lock_path).unwrap().expect("a lock file");
    let locked: Vec<(&str, i32)> = lock
        .schemas
        .iter()
        .map(|s| (s.subject.as_str(), s.version))
        .collect();
    assert_eq!(
        locked,
        [
            ("orders.order-placed", 1),
            ("orders.order-placed", 2),
            ("orders.order-placed", 3),
            ("payments.payment-failed", 1),
            ("payments.payment-failed", 2),
        ]
    );
    let cache = eventschema_codegen::lock::cache_dir(&lock_path);
    for entry in &lock.schemas {
        let held = get_json(&format!(
            "{url}/subjects/{}/versions/{}",
            entry.subject, entry.version
        ));
        assert_eq!(held["id"], entry.id, "{entry:?}");
        let cached = std::fs::read(cache.join(entry.cache_path())).unwrap();
        assert_eq!(entry.fingerprint, fingerprint(&cached), "{entry:?}");
        assert!(
            from_registry.contains(&format!("Some({})", entry.id)),
            "id {} of {entry:?} not in the generated code",
            entry.id
        );
    }

    // The example's saga, schemas registered in and validated through this registry.
    let saga = run(std::process::Command::new(binary("orders-example")).args(["--registry", &url]));
    assert_eq!(saga.code, 0, "{saga:?}");
    let lines: Vec<&str> = saga.stdout.lines().collect();
    let status_of = |prefix: &str| {
        lines
            .iter()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line for {prefix} in:\n{}", saga.stdout))
            .split_once(": ")
            .unwrap()
            .1
            .to_owned()
    };
    assert_eq!(status_of("A-1-"), "shipped (your order has shipped)");
    assert_eq!(
        status_of("B-2-"),
        "cancelled (your order was cancelled: your payment was declined)"
    );
    assert_eq!(status_of("C-3-"), "shipped (your order has shipped)");
    assert!(
        saga.stdout.contains("stock of `book` left: 5"),
        "{}",
        saga.stdout
    );
    assert!(saga.stdout.contains("dead letters: 0"), "{}", saga.stdout);
    // The example found the pushed versions instead of adding its own.
    assert_eq!(
        get_json(&format!("{url}/subjects/orders.order-placed/versions")),
        serde_json::json!([1, 2, 3])
    );
}

/// The generated code without its `SCHEMA_ID` items (present only with a registry).
fn without_schema_ids(code: &str) -> String {
    code.lines()
        .filter(|line| !line.contains("SCHEMA_ID"))
        .collect::<Vec<_>>()
        .join("\n")
}
