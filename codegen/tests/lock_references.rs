//! Registry input with schema references, on the lock's folder form (no registry needed):
//! the lock records each version's references, and the cache read back as a schemas folder
//! resolves them, so a referrer reuses the referenced subject's generated type.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use eventschema_codegen::generate_with_ids;
use eventschema_codegen::lock::{Fetched, Lock};
use eventschema_core::Reference;

const ADDRESS: &str = r#"{"type":"record","name":"Address","namespace":"shop","fields":[{"name":"street","type":"string"}]}"#;
const PLACED: &str = r#"{"type":"record","name":"Placed","namespace":"orders","fields":[{"name":"to","type":"shop.Address"}]}"#;

fn fetched(subject: &str, id: u64, text: &str, references: Vec<Reference>) -> Fetched {
    Fetched {
        subject: subject.to_owned(),
        version: 1,
        id,
        schema_type: "AVRO".to_owned(),
        text: text.to_owned(),
        references,
    }
}

#[test]
fn references_survive_the_lock_and_its_cache_folder() {
    let dir = tempfile::tempdir().unwrap();
    let lock_path = dir.path().join("eventschema.lock");
    let reference = Reference {
        name: "shop.Address".to_owned(),
        subject: "shop.address-value".to_owned(),
        version: 1,
    };
    Lock::write(
        &lock_path,
        "http://registry.invalid",
        &[
            fetched("orders-value", 12, PLACED, vec![reference.clone()]),
            fetched("shop.address-value", 11, ADDRESS, Vec::new()),
        ],
    )
    .unwrap();

    let lock = Lock::read(&lock_path).unwrap().unwrap();
    assert_eq!(
        lock.entry("orders-value", 1).unwrap().references,
        [reference]
    );
    assert!(
        lock.entry("shop.address-value", 1)
            .unwrap()
            .references
            .is_empty()
    );

    let (folder, ids) = lock.load(&lock_path).unwrap();
    let placed = folder.file("orders-value", 1).unwrap();
    assert_eq!(placed.references.len(), 1);
    folder
        .parse(placed, &eventschema_core::Limits::DEFAULT)
        .unwrap();

    let code = generate_with_ids(&folder, &ids).unwrap().into_string();
    assert_eq!(code.matches("pub struct Address {").count(), 1, "{code}");
    assert!(
        code.contains("pub use super::super::shop_address_value::v1::Address;"),
        "{code}"
    );
    assert!(
        code.contains("Some(11)") && code.contains("Some(12)"),
        "{code}"
    );
}

#[test]
fn a_lock_without_references_writes_no_reference_keys() {
    let dir = tempfile::tempdir().unwrap();
    let lock_path = dir.path().join("eventschema.lock");
    Lock::write(
        &lock_path,
        "http://registry.invalid",
        &[fetched("shop.address-value", 11, ADDRESS, Vec::new())],
    )
    .unwrap();
    let text = std::fs::read_to_string(&lock_path).unwrap();
    assert!(!text.contains("references"), "{text}");
    let (folder, _) = Lock::read(&lock_path)
        .unwrap()
        .unwrap()
        .load(&lock_path)
        .unwrap();
    assert_eq!(folder.subject_names().count(), 1);
}
