//! Registering, ids, versions, reads by id and by subject, lookup.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::{TestApp, TestDatabase};

pub fn order_v1() -> Value {
    json!({"type": "record", "name": "Order", "namespace": "shop",
           "fields": [{"name": "id", "type": "string"}]})
}

pub fn order_v2() -> Value {
    json!({"type": "record", "name": "Order", "namespace": "shop",
           "fields": [{"name": "id", "type": "string"},
                      {"name": "qty", "type": "int", "default": 1}]})
}

async fn register_assigns_ids_and_versions(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let first = app.register("orders-value", &order_v1()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let id1 = first.body["id"].as_i64().unwrap();
    assert_eq!(first.body["version"], 1);

    // Same schema again: same id and version, no new version.
    let again = app.register("orders-value", &order_v1()).await;
    assert_eq!(again.body["id"].as_i64(), Some(id1));
    assert_eq!(again.body["version"], 1);

    // Whitespace does not make a new schema: the stored form is canonical.
    let spaced = app
        .post(
            "/subjects/orders-value/versions",
            &json!({"schema": serde_json::to_string_pretty(&order_v1()).unwrap()}),
        )
        .await;
    assert_eq!(spaced.body["id"].as_i64(), Some(id1), "{}", spaced.text);

    // Same schema under another subject shares the id, with that subject's own version 1.
    let other = app.register("other-value", &order_v1()).await;
    assert_eq!(other.body["id"].as_i64(), Some(id1));
    assert_eq!(other.body["version"], 1);

    let second = app.register("orders-value", &order_v2()).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let id2 = second.body["id"].as_i64().unwrap();
    assert_ne!(id1, id2);
    assert_eq!(second.body["version"], 2);

    assert_eq!(
        app.get("/subjects/orders-value/versions").await.body,
        json!([1, 2])
    );
    assert_eq!(
        app.get("/subjects").await.body,
        json!(["orders-value", "other-value"])
    );
    let subjects_of_id = app.get(&format!("/schemas/ids/{id1}/subjects")).await;
    assert_eq!(subjects_of_id.body, json!(["orders-value", "other-value"]));
    let versions_of_id = app.get(&format!("/schemas/ids/{id1}/versions")).await;
    assert_eq!(
        versions_of_id.body,
        json!([{"subject": "orders-value", "version": 1}, {"subject": "other-value", "version": 1}])
    );
}

async fn reads_by_id_and_version(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let id = app.register("s", &order_v1()).await.body["id"]
        .as_i64()
        .unwrap();
    app.register("s", &order_v2()).await;

    let by_id = app.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(by_id.status, StatusCode::OK);
    let stored: Value = serde_json::from_str(by_id.body["schema"].as_str().unwrap()).unwrap();
    assert_eq!(stored, order_v1());
    // Confluent 7.x shape: no schemaType for AVRO, no empty references.
    assert!(by_id.body.get("schemaType").is_none(), "{}", by_id.text);
    assert!(by_id.body.get("references").is_none(), "{}", by_id.text);

    // A subject the id does not belong to is only a lookup context: still found.
    let with_subject = app
        .get(&format!("/schemas/ids/{id}?subject=unrelated-value"))
        .await;
    assert_eq!(with_subject.status, StatusCode::OK);

    let raw = app.get(&format!("/schemas/ids/{id}/schema")).await;
    assert_eq!(raw.body, order_v1());

    let latest = app.get("/subjects/s/versions/latest").await;
    assert_eq!(latest.body["version"], 2);
    assert_eq!(latest.body["subject"], "s");
    let minus_one = app.get("/subjects/s/versions/-1").await;
    assert_eq!(minus_one.body["version"], 2);
    let v1 = app.get("/subjects/s/versions/1").await;
    assert_eq!(v1.body["id"].as_i64(), Some(id));
    let v1_raw = app.get("/subjects/s/versions/1/schema").await;
    assert_eq!(v1_raw.body, order_v1());

    let all = app.get("/schemas").await;
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    let latest_only = app.get("/schemas?latestOnly=true").await;
    assert_eq!(latest_only.body.as_array().unwrap().len(), 1);
    assert_eq!(latest_only.body[0]["version"], 2);

    let types = app.get("/schemas/types").await;
    assert_eq!(types.body, json!(["AVRO", "JSON"]));
}

async fn unknown_things_are_404s(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    app.register("s", &order_v1()).await;
    let cases = [
        ("/schemas/ids/999", 40403),
        ("/schemas/ids/999/schema", 40403),
        ("/schemas/ids/999/subjects", 40403),
        ("/schemas/ids/abc", 40403),
        ("/subjects/nope/versions", 40401),
        ("/subjects/nope/versions/1", 40401),
        ("/subjects/s/versions/7", 40402),
        ("/subjects/s/versions/0", 42202),
        ("/subjects/s/versions/-2", 42202),
        ("/subjects/s/versions/banana", 42202),
        ("/subjects/s/versions/2147483648", 42202),
        ("/no/such/route", 404),
    ];
    for (path, code) in cases {
        let reply = app.get(path).await;
        assert_eq!(reply.error_code(), code, "{path}: {}", reply.text);
        assert_eq!(
            u64::from(reply.status.as_u16()),
            format!("{code}")[..3].parse::<u64>().unwrap(),
            "{path}"
        );
        assert!(
            reply.body["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

async fn lookup_finds_the_version(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let id = app.register("s", &order_v1()).await.body["id"]
        .as_i64()
        .unwrap();
    app.register("s", &order_v2()).await;

    let found = app
        .post("/subjects/s", &json!({"schema": order_v1().to_string()}))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.body["version"], 1);
    assert_eq!(found.body["id"].as_i64(), Some(id));
    assert_eq!(found.body["subject"], "s");

    // Python clients send capitalised booleans.
    let found = app
        .post(
            "/subjects/s?normalize=False&deleted=False",
            &json!({"schema": order_v1().to_string(), "schemaType": "AVRO", "references": []}),
        )
        .await;
    assert_eq!(found.body["version"], 1, "{}", found.text);

    let missing = app
        .post(
            "/subjects/s",
            &json!({"schema": json!({"type": "record", "name": "X", "fields": []}).to_string()}),
        )
        .await;
    assert_eq!(missing.error_code(), 40403, "{}", missing.text);

    let unknown_subject = app
        .post("/subjects/nope", &json!({"schema": order_v1().to_string()}))
        .await;
    assert_eq!(unknown_subject.error_code(), 40401);
}

async fn json_schemas_register_and_read_back(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let schema =
        json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]});
    let reply = app
        .post(
            "/subjects/json-value/versions",
            &json!({"schema": schema.to_string(), "schemaType": "JSON"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let id = reply.body["id"].as_i64().unwrap();
    let by_id = app.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(by_id.body["schemaType"], "JSON");
    let stored: Value = serde_json::from_str(by_id.body["schema"].as_str().unwrap()).unwrap();
    assert_eq!(stored, schema);

    // The same text as AVRO is another schema (and not a valid Avro one at that).
    let as_avro = app
        .post(
            "/subjects/json-value/versions",
            &json!({"schema": schema.to_string()}),
        )
        .await;
    assert_eq!(as_avro.error_code(), 42201, "{}", as_avro.text);
}

async fn subjects_with_slashes_and_colons(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let reply = app.register("team%2Forders:v1", &order_v1()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(app.get("/subjects").await.body, json!(["team/orders:v1"]));
    let latest = app.get("/subjects/team%2Forders:v1/versions/latest").await;
    assert_eq!(latest.body["subject"], "team/orders:v1");
}

backend_tests!(
    register_assigns_ids_and_versions,
    reads_by_id_and_version,
    unknown_things_are_404s,
    lookup_finds_the_version,
    json_schemas_register_and_read_back,
    subjects_with_slashes_and_colons,
);
