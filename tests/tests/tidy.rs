//! Workspace invariants as tests: the dependency rules of ARCHITECTURE.md and a `//!`
//! header on every Rust file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `cargo metadata --no-deps`: what the manifests declare.
fn metadata() -> Value {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Package name -> its normal (non-dev, non-build) dependency declarations.
fn declarations() -> BTreeMap<String, Vec<Value>> {
    metadata()["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let deps = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dep| dep["kind"].is_null())
                .cloned()
                .collect();
            (package["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

/// Package name -> names of its normal (non-dev, non-build) dependencies.
fn dependencies() -> BTreeMap<String, Vec<String>> {
    declarations()
        .into_iter()
        .map(|(package, deps)| {
            let names = deps
                .iter()
                .map(|dep| dep["name"].as_str().unwrap().to_owned())
                .collect();
            (package, names)
        })
        .collect()
}

fn assert_no_dependency(deps: &BTreeMap<String, Vec<String>>, package: &str, forbidden: &[&str]) {
    let own = deps
        .get(package)
        .unwrap_or_else(|| panic!("no package {package}"));
    for name in forbidden {
        assert!(
            !own.iter().any(|dep| dep == name),
            "{package} must not depend on {name} (see ARCHITECTURE.md)"
        );
    }
}

const WORKSPACE_CRATES: [&str; 6] = [
    "eventschema-core",
    "eventschema-registry",
    "eventschema-codegen",
    "eventschema-macros",
    "eventschema",
    "eventschema-cli",
];
const IO_CRATES: [&str; 6] = ["tokio", "axum", "sqlx", "reqwest", "hyper", "tower"];

#[test]
fn core_is_pure_and_depends_on_no_workspace_crate() {
    let deps = dependencies();
    assert_no_dependency(&deps, "eventschema-core", &WORKSPACE_CRATES);
    assert_no_dependency(&deps, "eventschema-core", &IO_CRATES);
}

#[test]
fn macros_depend_on_core_and_codegen_only() {
    let deps = dependencies();
    let mut forbidden: Vec<&str> = WORKSPACE_CRATES
        .iter()
        .copied()
        .filter(|name| *name != "eventschema-core" && *name != "eventschema-codegen")
        .collect();
    forbidden.extend(IO_CRATES);
    assert_no_dependency(&deps, "eventschema-macros", &forbidden);
}

#[test]
fn registry_and_runtime_do_not_reach_into_each_other() {
    let deps = dependencies();
    assert_no_dependency(
        &deps,
        "eventschema-registry",
        &[
            "eventschema",
            "eventschema-codegen",
            "eventschema-macros",
            "eventschema-cli",
        ],
    );
    assert_no_dependency(&deps, "eventschema", &["eventschema-cli", "axum"]);
    runtime_uses_only_the_registry_client(&declarations());
    assert_no_dependency(
        &deps,
        "eventschema-codegen",
        &["axum", "sqlx", "eventschema-cli"],
    );
}

/// The runtime may reach the registry only through its typed client (feature `registry`,
/// for writer schemas by id): optional, without default features (the server), and with
/// exactly the `client` feature.
fn runtime_uses_only_the_registry_client(declarations: &BTreeMap<String, Vec<Value>>) {
    let registry: Vec<&Value> = declarations["eventschema"]
        .iter()
        .filter(|dep| dep["name"] == "eventschema-registry")
        .collect();
    for dep in &registry {
        assert_eq!(
            dep["optional"], true,
            "the registry client must stay optional"
        );
        assert_eq!(
            dep["uses_default_features"], false,
            "the registry's default features include its server"
        );
        let features: Vec<&str> = dep["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert_eq!(
            features,
            ["client"],
            "the runtime may use the registry's client, never its server"
        );
    }
}

#[test]
fn the_registry_client_rule_refuses_the_server() {
    let declare = |features: Value, default: bool| {
        let dep = serde_json::json!({
            "name": "eventschema-registry", "kind": null, "optional": true,
            "uses_default_features": default, "features": features,
        });
        BTreeMap::from([("eventschema".to_owned(), vec![dep])])
    };
    runtime_uses_only_the_registry_client(&declare(serde_json::json!(["client"]), false));
    for (features, default) in [
        (serde_json::json!(["client", "server"]), false),
        (serde_json::json!(["server"]), false),
        (serde_json::json!(["client"]), true),
    ] {
        let declared = declare(features.clone(), default);
        let refused = std::panic::catch_unwind(|| runtime_uses_only_the_registry_client(&declared));
        assert!(
            refused.is_err(),
            "{features} (default features: {default}) passed"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | ".git" | "fuzz" | "node_modules")
                && !name.starts_with('.')
            {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    let root = workspace_root();
    let mut files = Vec::new();
    for folder in [
        "core", "registry", "codegen", "macros", "runtime", "cli", "tests", "bench",
    ] {
        let dir = root.join(folder);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
    }
    assert!(files.len() > 10, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let first = text
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or("");
            !first.starts_with("//!")
        })
        .map(|path| path.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! header: {missing:#?}"
    );
}
