//! Compatibility on register and through the test endpoints, at the configured level.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::{TestApp, TestDatabase};
use crate::subjects::{order_v1, order_v2};

/// Adds a field without a default: not BACKWARD compatible, but FORWARD compatible.
fn order_with_required_sku() -> Value {
    json!({"type": "record", "name": "Order", "namespace": "shop",
           "fields": [{"name": "id", "type": "string"}, {"name": "sku", "type": "string"}]})
}

fn body(schema: &Value) -> Value {
    json!({"schema": schema.to_string()})
}

async fn incompatible_registration_is_refused_with_409(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    app.register("s", &order_v1()).await;
    let refused = app.register("s", &order_with_required_sku()).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(refused.error_code(), 409);
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
        "{message}"
    );
    assert!(message.contains("sku"), "{message}");
    // Nothing was stored.
    assert_eq!(app.get("/subjects/s/versions").await.body, json!([1]));

    // `force=true` skips the check.
    let forced = app
        .post(
            "/subjects/s/versions?force=true",
            &body(&order_with_required_sku()),
        )
        .await;
    assert_eq!(forced.status, StatusCode::OK, "{}", forced.text);
}

async fn changing_the_level_changes_the_answer(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    app.register("s", &order_v1()).await;
    let path = "/compatibility/subjects/s/versions/latest";
    let candidate = body(&order_with_required_sku());

    assert_eq!(
        app.post(path, &candidate).await.body,
        json!({"is_compatible": false})
    );
    app.set_level("s", "FORWARD").await;
    assert_eq!(
        app.post(path, &candidate).await.body,
        json!({"is_compatible": true})
    );
    app.set_level("s", "full").await;
    assert_eq!(
        app.post(path, &candidate).await.body,
        json!({"is_compatible": false})
    );
    app.set_level("s", "NONE").await;
    assert_eq!(
        app.post(path, &candidate).await.body,
        json!({"is_compatible": true})
    );
    let registered = app.register("s", &order_with_required_sku()).await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.text);

    // The global level applies where a subject has none of its own.
    let put = app
        .put("/config", &json!({"compatibility": "FORWARD"}))
        .await;
    assert_eq!(put.body, json!({"compatibility": "FORWARD"}));
    app.register("g", &order_v1()).await;
    let forward_ok = app
        .post("/compatibility/subjects/g/versions/latest", &candidate)
        .await;
    assert_eq!(forward_ok.body, json!({"is_compatible": true}));
}

async fn verbose_answers_explain(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    app.register("s", &order_v1()).await;
    let reply = app
        .post(
            "/compatibility/subjects/s/versions/latest?verbose=true",
            &body(&order_with_required_sku()),
        )
        .await;
    assert_eq!(reply.body["is_compatible"], false, "{}", reply.text);
    let messages = reply.body["messages"].as_array().unwrap();
    assert!(messages.len() >= 2, "{}", reply.text);
    assert!(
        messages[0]
            .as_str()
            .unwrap()
            .contains("READER_FIELD_MISSING_DEFAULT_VALUE")
    );
    assert!(
        messages
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .contains("BACKWARD")
    );

    let compatible = app
        .post(
            "/compatibility/subjects/s/versions/latest?verbose=true",
            &body(&order_v2()),
        )
        .await;
    assert_eq!(
        compatible.body,
        json!({"is_compatible": true, "messages": []})
    );

    // Not verbose: no messages key at all; Python sends `verbose=False`.
    let quiet = app
        .post(
            "/compatibility/subjects/s/versions/latest?normalize=False&verbose=False",
            &body(&order_with_required_sku()),
        )
        .await;
    assert_eq!(quiet.body, json!({"is_compatible": false}));

    // An unparsable candidate is a 42201, or an explained `false` with verbose.
    let broken = json!({"schema": "{\"type\": \"record\"}"});
    let plain = app
        .post("/compatibility/subjects/s/versions/latest", &broken)
        .await;
    assert_eq!(plain.error_code(), 42201, "{}", plain.text);
    let explained = app
        .post(
            "/compatibility/subjects/s/versions/latest?verbose=true",
            &broken,
        )
        .await;
    assert_eq!(explained.body["is_compatible"], false, "{}", explained.text);
    assert_eq!(explained.body["messages"].as_array().map(Vec::len), Some(1));
}

async fn compatibility_endpoints_choose_the_history(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    app.set_level("s", "NONE").await;
    let v1 = order_v1();
    let v2 = json!({"type": "record", "name": "Order", "namespace": "shop",
                    "fields": [{"name": "id", "type": "string"}, {"name": "sku", "type": "string"}]});
    app.register("s", &v1).await;
    app.register("s", &v2).await;
    app.set_level("s", "BACKWARD_TRANSITIVE").await;
    // Candidate reads v2 (sku present) but not v1 (no sku, no default).
    let candidate = body(&v2);
    let all = app
        .post("/compatibility/subjects/s/versions", &candidate)
        .await;
    assert_eq!(all.body, json!({"is_compatible": false}), "{}", all.text);
    // A named version is the whole history, even at a transitive level.
    let only_v2 = app
        .post("/compatibility/subjects/s/versions/2", &candidate)
        .await;
    assert_eq!(only_v2.body, json!({"is_compatible": true}));
    let only_v1 = app
        .post("/compatibility/subjects/s/versions/1", &candidate)
        .await;
    assert_eq!(only_v1.body, json!({"is_compatible": false}));

    let missing_version = app
        .post("/compatibility/subjects/s/versions/9", &candidate)
        .await;
    assert_eq!(missing_version.error_code(), 40402);
    let unknown_subject_latest = app
        .post("/compatibility/subjects/nobody/versions/latest", &candidate)
        .await;
    assert_eq!(unknown_subject_latest.body, json!({"is_compatible": true}));
    let unknown_subject_number = app
        .post("/compatibility/subjects/nobody/versions/1", &candidate)
        .await;
    assert_eq!(unknown_subject_number.error_code(), 40402);
}

async fn json_schema_compatibility_is_enforced(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let closed = json!({"type": "object", "properties": {"a": {"type": "string"}},
                        "additionalProperties": false});
    let with_required = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                               "required": ["b"], "additionalProperties": false});
    let first = app
        .post(
            "/subjects/j/versions",
            &json!({"schema": closed.to_string(), "schemaType": "JSON"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let refused = app
        .post(
            "/subjects/j/versions",
            &json!({"schema": with_required.to_string(), "schemaType": "JSON"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);

    // A schema of another type is never compatible.
    let avro = app.register("j", &order_v1()).await;
    assert_eq!(avro.status, StatusCode::CONFLICT, "{}", avro.text);
}

backend_tests!(
    incompatible_registration_is_refused_with_409,
    changing_the_level_changes_the_answer,
    verbose_answers_explain,
    compatibility_endpoints_choose_the_history,
    json_schema_compatibility_is_enforced,
);
