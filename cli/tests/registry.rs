//! `check --against REGISTRY_URL`, `push` and `diff --registry` against a running
//! `eventschema serve`: new versions are found by lookup, push is idempotent and refuses
//! incompatible or rewritten versions, and nothing is registered when it refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Repo, Server};
use serde_json::Value;

const V1: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}"#;
const V2: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int","default":1}]}"#;
const V3_BREAKING: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"qty","type":"int","default":1},{"name":"at","type":"long"}]}"#;

fn json(run: &common::Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|err| panic!("{err}: {run:?}"))
}

#[test]
fn push_is_idempotent_and_check_finds_only_new_versions() {
    let server = Server::in_memory();
    let url = server.base.as_str();
    let repo = Repo::new();
    repo.write("orders/1.avsc", V1);
    repo.write(
        "people/1.json",
        r#"{"type":"object","properties":{"a":{"type":"string"}}}"#,
    );

    let run = repo.run(&["check", "--against", url]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("ok: schemas/orders/1.avsc: orders v1 nothing to compare with (BACKWARD)"),
        "{}",
        run.stdout
    );

    let run = repo.run(&["push", "--dry-run", url]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("would register orders v1 (schemas/orders/1.avsc)"),
        "{}",
        run.stdout
    );
    // A dry run registers nothing.
    assert_eq!(
        json(&repo.run(&["check", "--against", url, "--format", "json"]))["files"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let run = repo.run(&["push", url]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("registered orders v1 (id "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("registered people v1 (id "),
        "{}",
        run.stdout
    );

    let again = repo.run(&["push", url]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again
            .stdout
            .contains("nothing to register, all 2 versions are already in the registry"),
        "{}",
        again.stdout
    );

    let run = repo.run(&["check", "--against", url]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("no new or changed schema files"),
        "{}",
        run.stdout
    );

    repo.write("orders/2.avsc", V2);
    let run = repo.run(&["check", "--against", url, "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = json(&run);
    assert_eq!(report["files"][0]["path"], "schemas/orders/2.avsc");
    assert_eq!(report["files"][0]["compared_with"], serde_json::json!([1]));
    assert_eq!(report["files"][0]["level_source"], "registry");
    let run = repo.run(&["push", url]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("registered orders v2"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 registered, 2 already in the registry"),
        "{}",
        run.stdout
    );
}

#[test]
fn push_refuses_incompatible_versions_and_registers_nothing() {
    let server = Server::in_memory();
    let url = server.base.as_str();
    let repo = Repo::new();
    repo.write("orders/1.avsc", V1);
    assert_eq!(repo.run(&["push", url]).code, 0);

    // v2 is fine, v3 breaks BACKWARD: neither may be registered.
    repo.write("orders/2.avsc", V2);
    repo.write("orders/3.avsc", V3_BREAKING);
    let check = repo.run(&["check", "--against", url]);
    assert_eq!(check.code, 1, "{check:?}");
    let expected = "incompatible: schemas/orders/3.avsc: orders v3 vs v2 (BACKWARD, backward check): READER_FIELD_MISSING_DEFAULT_VALUE at /fields/2:";
    assert!(
        check.stdout.lines().any(|l| l.starts_with(expected)),
        "{}",
        check.stdout
    );

    let push = repo.run(&["push", url]);
    assert_eq!(push.code, 1, "{push:?}");
    assert!(
        push.stdout.lines().any(|l| l.starts_with(expected)),
        "{}",
        push.stdout
    );
    assert!(
        push.stdout.contains("push refused: nothing was registered"),
        "{}",
        push.stdout
    );
    let report = json(&repo.run(&["check", "--against", url, "--format", "json"]));
    let versions: Vec<i64> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [2, 3], "v2 and v3 are still new");

    // FORWARD in eventschema.toml: v3 (a new field without default) is fine, and push
    // sets the subject's level on the registry so its own check agrees.
    repo.write(
        "eventschema.toml",
        "[subjects.orders]\ncompatibility = \"FORWARD\"\n",
    );
    let push = repo.run(&["push", url]);
    assert_eq!(push.code, 0, "{push:?}");
    assert!(
        push.stdout
            .contains("set the compatibility of orders to FORWARD (was BACKWARD)"),
        "{}",
        push.stdout
    );
    assert!(
        push.stdout.contains("registered orders v3"),
        "{}",
        push.stdout
    );
    let again = repo.run(&["push", url]);
    assert!(
        again.stdout.contains("nothing to register"),
        "{}",
        again.stdout
    );
    assert!(
        !again.stdout.contains("set the compatibility"),
        "{}",
        again.stdout
    );
}

#[test]
fn a_rewritten_registered_version_is_reported() {
    let server = Server::in_memory();
    let url = server.base.as_str();
    let repo = Repo::new();
    repo.write("orders/1.avsc", V1);
    assert_eq!(repo.run(&["push", url]).code, 0);
    repo.write("orders/1.avsc", V2);
    let run = repo.run(&["check", "--against", url]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(
            "HISTORY_REWRITTEN: the registry's version 1 of 'orders' has different content"
        ),
        "{}",
        run.stdout
    );
    let push = repo.run(&["push", url]);
    assert_eq!(push.code, 1, "{push:?}");

    // Cosmetic differences are the same schema.
    repo.write("orders/1.avsc", &format!("\n{V1}\n"));
    assert_eq!(repo.run(&["check", "--against", url]).code, 0);
}

#[test]
fn malformed_file_against_a_registry_exits_2() {
    let server = Server::in_memory();
    let repo = Repo::new();
    repo.write("orders/1.avsc", "{\"type\":\"record\",\n\"name\":}");
    let run = repo.run(&["check", "--against", &server.base]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout
            .contains("error: schemas/orders/1.avsc:2:8: invalid JSON"),
        "{}",
        run.stdout
    );
    let push = repo.run(&["push", &server.base]);
    assert_eq!(push.code, 2, "{push:?}");
}

#[test]
fn an_unreachable_registry_exits_2() {
    let repo = Repo::new();
    repo.write("orders/1.avsc", V1);
    // Port 9 (discard) on loopback: nothing listens there in the test environment.
    let run = repo.run(&["check", "--against", "http://127.0.0.1:9"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("cannot reach the registry"),
        "{}",
        run.stderr
    );
}

#[test]
fn diff_reads_files_or_the_registry() {
    let server = Server::in_memory();
    let url = server.base.as_str();
    let repo = Repo::new();
    repo.write("orders/1.avsc", V1);
    repo.write("orders/2.avsc", V2);
    repo.write("orders/3.avsc", V3_BREAKING);

    let run = repo.run(&["diff", "orders", "2", "3"]);
    assert_eq!(run.code, 0, "{run:?}");
    let expected = "orders: version 2 -> version 3 (AVRO)

  FIELD_ADDED Order.at
    field added: long, without a default
    consumers: Consumers on the new version cannot read old events: give the field a default, or upgrade only once no old event remains.

backward (v3 reads v2 events): no
    READER_FIELD_MISSING_DEFAULT_VALUE at /fields/2: The field 'at' at path '/fields/2' in the reader schema has no default value and is missing in the writer schema
forward (v2 reads v3 events): yes
rollout: forward compatible only: upgrade the producers first; consumers move once no event of the old version remains to be read
";
    assert_eq!(run.stdout, expected);

    repo.write("eventschema.toml", "[defaults]\ncompatibility = \"NONE\"\n");
    assert_eq!(repo.run(&["push", url]).code, 0);
    let run = repo.run(&[
        "diff",
        "orders",
        "1",
        "2",
        "--registry",
        url,
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let diff = json(&run);
    assert_eq!(diff["changes"][0]["kind"], "FIELD_ADDED");
    assert_eq!(diff["changes"][0]["location"], "Order.qty");
    assert_eq!(diff["backward_compatible"], true);
    assert_eq!(diff["forward_compatible"], true);

    let run = repo.run(&["diff", "orders", "1", "9"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("has no version 9 of 'orders'"),
        "{}",
        run.stderr
    );
    repo.write("orders/2.avsc", "[");
    let run = repo.run(&["diff", "orders", "1", "2"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("schemas/orders/2.avsc:1:1: invalid JSON"),
        "{}",
        run.stderr
    );
}
