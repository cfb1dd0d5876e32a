//! Compile-time behaviour of `#[derive(eventschema::Event)]` and `#[eventschema::consumer]`:
//! every kind of mismatch against a schema file, every malformed attribute and every wrong
//! handler signature fails with the message in `ui/{derive,consumer}/*.stderr`, pointing at
//! the offending tokens; the `pass.rs` cases compile and run.
//!
//! Schema paths in the cases are relative to the crate being compiled, which for trybuild is
//! its generated project: the repository's `schemas/` folder, the lock fixtures of
//! `fixtures/lock*` and `fixtures/shared-references` are copied there first. The
//! expected output is pinned to the toolchain in use; regenerate with `TRYBUILD=overwrite`
//! after a toolchain upgrade and review the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn derive_and_consumer_ui() {
    let project = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("tests/trybuild/eventschema-tests");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&root.join("../schemas"), &project.join("schemas"));
    // `lock` cases and the references case: the fixtures at the paths they have in this
    // repository, and the good lock also at the crate root, where a bare `lock` looks.
    for fixture in ["lock", "lock-stale", "shared-references"] {
        let from = root.join("fixtures").join(fixture);
        copy_dir(&from, &project.join("tests/fixtures").join(fixture));
    }
    copy_dir(&root.join("fixtures/lock"), &project);
    let cases = trybuild::TestCases::new();
    cases.pass("ui/derive/pass.rs");
    cases.pass("ui/derive/pass_lock.rs");
    cases.pass("ui/consumer/pass.rs");
    cases.compile_fail("ui/derive/[!p]*.rs");
    cases.compile_fail("ui/derive/previous_*.rs");
    cases.compile_fail("ui/consumer/[!p]*.rs");
}
