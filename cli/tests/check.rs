//! `eventschema check --against-git`: a temporary repository with two commits; exit codes,
//! the report line of each kind of incompatible change, malformed files, levels from
//! `eventschema.toml`, and snapshots of the JSON, GitHub and JUnit outputs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Repo;

const ORDER_V1: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
  {"name":"id","type":"string"},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}}
]}"#;

const PERSON_V1: &str =
    r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}}}"#;

/// A repository whose first commit holds version 1 of `shop.orders` (Avro) and
/// `people` (JSON Schema).
fn baseline() -> Repo {
    let repo = Repo::new();
    repo.write("shop.orders/1.avsc", ORDER_V1);
    repo.write("people/1.json", PERSON_V1);
    repo.commit("version 1");
    repo
}

fn order(fields: &str, symbols: &str) -> String {
    format!(
        r#"{{"type":"record","name":"Order","namespace":"shop","fields":[
  {fields},
  {{"name":"status","type":{{"type":"enum","name":"Status","symbols":[{symbols}]}}}}
]}}"#
    )
}

#[test]
fn compatible_changes_exit_0() {
    let repo = baseline();
    repo.write(
        "shop.orders/2.avsc",
        &order(
            r#"{"name":"id","type":"string"},{"name":"qty","type":"int","default":1}"#,
            r#""NEW","PAID","SHIPPED""#,
        ),
    );
    repo.write(
        "people/2.json",
        r#"{"type":"object","description":"a person","properties":{"name":{"type":"string"},"age":{"type":"integer"}}}"#,
    );
    repo.commit("version 2");
    let run = repo.run(&["check", "--against-git", "HEAD~1"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("ok: schemas/shop.orders/2.avsc: shop.orders v2 vs v1 (BACKWARD)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("ok: schemas/people/2.json: people v2 vs v1 (BACKWARD)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("2 files checked, 0 incompatible"),
        "{}",
        run.stdout
    );

    // Against the commit that holds the change, nothing is new.
    let run = repo.run(&["check", "--against-git", "HEAD"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("no new or changed schema files"),
        "{}",
        run.stdout
    );
}

/// Each kind of incompatible change: (subject file, new text, eventschema.toml, expected line).
#[test]
fn each_kind_of_incompatible_change_exits_1_with_its_report_line() {
    let cases: [(&str, String, Option<&str>, &str); 6] = [
        (
            "shop.orders/2.avsc",
            order(r#"{"name":"id","type":"string"},{"name":"qty","type":"int"}"#, r#""NEW","PAID""#),
            None,
            "incompatible: schemas/shop.orders/2.avsc: shop.orders v2 vs v1 (BACKWARD, backward check): READER_FIELD_MISSING_DEFAULT_VALUE at /fields/1: The field 'qty' at path '/fields/1' in the reader schema has no default value and is missing in the writer schema",
        ),
        (
            "shop.orders/2.avsc",
            order(r#"{"name":"id","type":"long"}"#, r#""NEW","PAID""#),
            None,
            "incompatible: schemas/shop.orders/2.avsc: shop.orders v2 vs v1 (BACKWARD, backward check): TYPE_MISMATCH at /fields/0/type: The type at path '/fields/0/type' in the reader schema (long) cannot read the writer's type (string)",
        ),
        (
            "shop.orders/2.avsc",
            order(r#"{"name":"id","type":"string"}"#, r#""NEW""#),
            None,
            "incompatible: schemas/shop.orders/2.avsc: shop.orders v2 vs v1 (BACKWARD, backward check): MISSING_ENUM_SYMBOLS at /fields/1/type/symbols: The reader enum 'shop.Status' at path '/fields/1/type/symbols' is missing the writer's symbols [PAID] and has no default symbol",
        ),
        (
            "shop.orders/2.avsc",
            r#"{"type":"record","name":"Order","namespace":"shop","fields":[
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}}]}"#
                .to_owned(),
            Some("[subjects.\"shop.orders\"]\ncompatibility = \"FORWARD\"\n"),
            "incompatible: schemas/shop.orders/2.avsc: shop.orders v2 vs v1 (FORWARD, forward check): READER_FIELD_MISSING_DEFAULT_VALUE at /fields/0: The field 'id' at path '/fields/0' in the reader schema has no default value and is missing in the writer schema",
        ),
        (
            "people/2.json",
            r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["age"]}"#.to_owned(),
            None,
            "incompatible: schemas/people/2.json: people v2 vs v1 (BACKWARD, backward check): REQUIRED_ATTRIBUTE_ADDED at #/required/age:",
        ),
        (
            "people/2.json",
            r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"string"}}}"#.to_owned(),
            None,
            "incompatible: schemas/people/2.json: people v2 vs v1 (BACKWARD, backward check): TYPE_CHANGED at #/properties/age:",
        ),
    ];
    for (file, text, config, expected) in cases {
        let repo = baseline();
        repo.write(file, &text);
        if let Some(config) = config {
            repo.write("eventschema.toml", config);
        }
        repo.commit("version 2");
        let run = repo.run(&["check", "--against-git", "HEAD~1"]);
        assert_eq!(run.code, 1, "{file}: {run:?}");
        assert!(
            run.stdout.lines().any(|line| line.starts_with(expected)),
            "expected a line starting with\n{expected}\ngot\n{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("1 file checked, 1 incompatible"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn uncommitted_changes_are_checked_against_head() {
    let repo = baseline();
    repo.write(
        "shop.orders/2.avsc",
        &order(r#"{"name":"id","type":"long"}"#, r#""NEW","PAID""#),
    );
    let run = repo.run(&["check", "--against-git", "HEAD"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("TYPE_MISMATCH"), "{}", run.stdout);
}

#[test]
fn malformed_files_exit_2_naming_file_and_position() {
    let repo = baseline();
    repo.write(
        "shop.orders/2.avsc",
        "{\"type\": \"record\",\n  \"name\": \"Order\" \"fields\": []}",
    );
    repo.write(
        "people/2.json",
        r#"{"type":"object","properties":{"age":{"type":"integer","minimum":"zero"}}}"#,
    );
    repo.commit("broken");
    let run = repo.run(&["check", "--against-git", "HEAD~1"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout
            .contains("error: schemas/shop.orders/2.avsc:2:19: invalid JSON: expected `,` or `}`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("error: schemas/people/2.json: "),
        "{}",
        run.stdout
    );
    let github = repo.run(&["check", "--against-git", "HEAD~1", "--format", "github"]);
    assert_eq!(github.code, 2);
    assert!(
        github.stdout.contains(
            "::error file=schemas/shop.orders/2.avsc,line=2,col=19,title=INVALID_SCHEMA::invalid JSON"
        ),
        "{}",
        github.stdout
    );
}

#[test]
fn folder_layout_errors_exit_2() {
    let repo = baseline();
    repo.write("shop.orders/3.avsc", ORDER_V1);
    repo.write(
        "eventschema.toml",
        "[defaults]\ncompatibility = \"SIDEWAYS\"\n",
    );
    let run = repo.run(&["check", "--against-git", "HEAD"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.contains(
            "error: schemas/eventschema.toml: [defaults]: invalid compatibility level 'SIDEWAYS'"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("error: schemas/shop.orders/3.avsc: versions of 'shop.orders' must be numbered 1, 2, 3, ... without gaps: version 2 is missing"), "{}", run.stdout);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let repo = baseline();
    let run = repo.run(&["check"]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = repo.run(&["check", "--against-git", "no-such-ref"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("unknown git revision 'no-such-ref'"),
        "{}",
        run.stderr
    );
    let run = repo.run(&["check", "--schemas", "nowhere", "--against-git", "HEAD"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.contains("nowhere: no such directory"),
        "{}",
        run.stdout
    );
}

#[test]
fn transitive_levels_from_eventschema_toml_compare_every_earlier_version() {
    let repo = baseline();
    // v2 drops `id`; v3 brings it back as an int with a default: fine against v2, but v1
    // wrote `id` as a string, which only a transitive level looks at.
    repo.write(
        "shop.orders/2.avsc",
        &order(
            r#"{"name":"qty","type":"int","default":0}"#,
            r#""NEW","PAID""#,
        ),
    );
    repo.commit("v2");
    repo.write(
        "shop.orders/3.avsc",
        &order(
            r#"{"name":"qty","type":"int","default":0},{"name":"id","type":"int","default":0}"#,
            r#""NEW","PAID""#,
        ),
    );
    let run = repo.run(&["check", "--against-git", "HEAD"]);
    assert_eq!(run.code, 0, "{run:?}");

    repo.write(
        "eventschema.toml",
        "[defaults]\ncompatibility = \"BACKWARD_TRANSITIVE\"\n",
    );
    let run = repo.run(&["check", "--against-git", "HEAD", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let file = &report["files"][0];
    assert_eq!(file["compared_with"], serde_json::json!([2, 1]));
    assert_eq!(file["level"], "BACKWARD_TRANSITIVE");
    assert_eq!(file["level_source"], "eventschema.toml");
    assert_eq!(file["findings"][0]["kind"], "TYPE_MISMATCH");
    assert_eq!(file["findings"][0]["against_version"], 1);
}

#[test]
fn a_version_edited_in_place_is_compared_with_its_old_content() {
    let repo = baseline();
    repo.write(
        "shop.orders/1.avsc",
        &order(r#"{"name":"id","type":"int"}"#, r#""NEW","PAID""#),
    );
    let run = repo.run(&["check", "--against-git", "HEAD"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("shop.orders v1 vs v1 (BACKWARD, backward check): TYPE_MISMATCH"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("note: version 1 was edited in place"),
        "{}",
        run.stdout
    );
}

/// One change of each outcome, for the snapshots of the machine-readable formats.
fn mixed_change() -> Repo {
    let repo = baseline();
    repo.write(
        "shop.orders/2.avsc",
        &order(
            r#"{"name":"id","type":"long"},{"name":"qty","type":"int"}"#,
            r#""NEW""#,
        ),
    );
    repo.write(
        "people/2.json",
        r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"]}"#,
    );
    repo.write(
        "things/1.avsc",
        r#"{"type":"fixed","name":"Thing","size":16}"#,
    );
    repo.commit("version 2");
    repo
}

#[test]
fn json_output_snapshot() {
    let repo = mixed_change();
    let run = repo.run(&["check", "--against-git", "HEAD~1", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn github_output_snapshot() {
    let repo = mixed_change();
    let run = repo.run(&["check", "--against-git", "HEAD~1", "--format", "github"]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn junit_output_snapshot() {
    let repo = mixed_change();
    let run = repo.run(&["check", "--against-git", "HEAD~1", "--format", "junit"]);
    assert_eq!(run.code, 1, "{run:?}");
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn schemas_folder_outside_the_repository_root_works() {
    let repo = Repo::new();
    std::fs::create_dir_all(repo.path().join("service/events/s")).unwrap();
    std::fs::write(repo.path().join("service/events/s/1.avsc"), ORDER_V1).unwrap();
    repo.commit("one");
    std::fs::write(
        repo.path().join("service/events/s/2.avsc"),
        order(r#"{"name":"id","type":"string"}"#, r#""NEW""#),
    )
    .unwrap();
    let run = repo.run(&[
        "check",
        "--schemas",
        "./service/events/",
        "--against-git",
        "HEAD",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("incompatible: service/events/s/2.avsc: s v2 vs v1"),
        "{}",
        run.stdout
    );
}

#[test]
fn every_command_has_help_with_examples() {
    for command in ["serve", "check", "push", "diff"] {
        let output = common::bin().args([command, "--help"]).output().unwrap();
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("Examples:"), "{command} --help:\n{text}");
    }
}
