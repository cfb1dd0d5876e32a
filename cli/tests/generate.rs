//! `eventschema generate`: the example `schemas/` folder becomes one deterministic Rust file;
//! a malformed schema file exits 2 naming the file and position; `--registry` pins a
//! registry's subjects in a lock file and then generates offline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

fn generate(schemas: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eventschema"))
        .args(["generate", "--schemas"])
        .arg(schemas)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run eventschema generate")
}

#[test]
fn generates_the_example_domain_deterministically() {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let out = tempfile::tempdir().unwrap();
    let first = generate(&schemas, out.path());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let file = out.path().join("eventschema_generated.rs");
    let code = std::fs::read_to_string(&file).unwrap();
    assert!(code.starts_with("// @generated"), "{}", &code[..80]);
    for module in [
        "pub mod orders_order_placed",
        "pub mod payments_payment_failed",
    ] {
        assert!(code.contains(module), "missing {module}");
    }
    let again = generate(&schemas, out.path());
    assert!(again.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), code);
}

#[test]
fn a_malformed_schema_exits_2_naming_file_and_position() {
    let schemas = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(schemas.path().join("orders.broken")).unwrap();
    std::fs::write(schemas.path().join("orders.broken/1.avsc"), "{\"type\":\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = generate(schemas.path(), out.path());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("orders.broken/1.avsc:2:"), "{stderr}");
    assert!(!out.path().join("eventschema_generated.rs").exists());
}

#[test]
fn registry_subjects_are_locked_then_generated_offline() {
    let server = common::Server::in_memory();
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let push = common::bin()
        .args(["push", "--schemas"])
        .arg(&schemas)
        .arg(&server.base)
        .output()
        .unwrap();
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("eventschema.lock");
    let run = |registry: &str, extra: &[&str]| {
        common::bin()
            .args([
                "generate",
                "--registry",
                registry,
                "--subject",
                "orders.order-placed",
            ])
            .arg("--lock")
            .arg(&lock)
            .arg("--out")
            .arg(dir.path().join("out"))
            .args(extra)
            .output()
            .unwrap()
    };
    let first = run(&server.base, &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains("subject = \"orders.order-placed\"\nversion = 3\nid = "),
        "{text}"
    );
    let code = std::fs::read_to_string(dir.path().join("out/eventschema_generated.rs")).unwrap();
    assert!(code.contains("const SCHEMA_ID: Option<u64> = Some("));
    server.terminate();
    let offline = run("http://127.0.0.1:9", &[]);
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let update = run("http://127.0.0.1:9", &["--update"]);
    assert_eq!(update.status.code(), Some(2));
}
