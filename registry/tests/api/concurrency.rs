//! Concurrent registrations: one id per schema, versions without gaps or duplicates, also
//! with two registry instances sharing one database.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::{Backend, TestApp, TestDatabase};

fn numbered_schema(n: usize) -> Value {
    json!({"type": "record", "name": format!("Event{n}"), "fields": [{"name": "n", "type": "int"}]})
}

async fn same_schema_32_times_gives_one_id_and_version(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let schema = numbered_schema(0);
    let replies = futures::future::join_all((0..32).map(|_| app.register("s", &schema))).await;
    let ids: BTreeSet<i64> = replies
        .iter()
        .map(|r| r.body["id"].as_i64().unwrap())
        .collect();
    let versions: BTreeSet<i64> = replies
        .iter()
        .map(|r| r.body["version"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{replies:?}");
    assert_eq!(versions, BTreeSet::from([1]));
    assert_eq!(app.get("/subjects/s/versions").await.body, json!([1]));
}

async fn assert_versions_one_to_n(app: &TestApp, subject: &str, n: i64) {
    let listed = app.get(&format!("/subjects/{subject}/versions")).await.body;
    let expected: Vec<i64> = (1..=n).collect();
    assert_eq!(listed, json!(expected));
}

async fn different_schemas_32_at_once_get_versions_1_to_32(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    app.set_level("s", "NONE").await;
    let replies = futures::future::join_all((0..32).map(|n| {
        let app = &app;
        async move { app.register("s", &numbered_schema(n)).await }
    }))
    .await;
    let mut versions: Vec<i64> = replies
        .iter()
        .map(|r| {
            r.body["version"]
                .as_i64()
                .unwrap_or_else(|| panic!("{}", r.text))
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=32).collect::<Vec<_>>());
    let ids: BTreeSet<i64> = replies
        .iter()
        .map(|r| r.body["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 32);
    assert_versions_one_to_n(&app, "s", 32).await;
}

async fn two_instances_on_one_database(db: &TestDatabase) {
    let first = TestApp::start(db).await;
    let second = TestApp::start(db).await;
    first.set_level("s", "NONE").await;
    let replies = futures::future::join_all((0..32).map(|n| {
        let app = if n % 2 == 0 { &first } else { &second };
        async move { app.register("s", &numbered_schema(n)).await }
    }))
    .await;
    let mut versions: Vec<i64> = replies
        .iter()
        .map(|r| {
            r.body["version"]
                .as_i64()
                .unwrap_or_else(|| panic!("{}", r.text))
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=32).collect::<Vec<_>>());

    // The same schema through both instances at once: one id, one version.
    let same = numbered_schema(99);
    let replies = futures::future::join_all((0..32).map(|n| {
        let app = if n % 2 == 0 { &first } else { &second };
        app.register("t", &same)
    }))
    .await;
    let pairs: BTreeSet<(i64, i64)> = replies
        .iter()
        .map(|r| {
            (
                r.body["id"].as_i64().unwrap(),
                r.body["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_versions_one_to_n(&second, "s", 32).await;
    assert_versions_one_to_n(&first, "t", 1).await;
}

backend_tests!(
    same_schema_32_times_gives_one_id_and_version,
    different_schemas_32_at_once_get_versions_1_to_32,
    two_instances_on_one_database,
);

#[test]
fn backends_are_distinct() {
    assert_ne!(Backend::Sqlite, Backend::Postgres);
}
