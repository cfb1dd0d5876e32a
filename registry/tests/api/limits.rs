//! Bad input gets a clear error, never a panic or a 500.

use axum::body::Body;
use axum::http::{Method, Request};
use eventschema_core::Limits;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::harness::{TestApp, TestDatabase};
use crate::subjects::order_v1;

async fn malformed_bodies_and_schemas(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let not_json = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/subjects/s/versions")
                .header("content-type", "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.error_code(), 400, "{}", not_json.text);

    let cases: Vec<(Value, u32, &str)> = vec![
        (json!({}), 42201, "schema"),
        (json!({"schema": ""}), 42201, "mpty"),
        (
            json!({"schema": "{\"type\": \"record\", \"name\": \"X\""}),
            42201,
            "line 1",
        ),
        (
            json!({"schema": "{\"type\": \"nonsense\"}"}),
            42201,
            "nonsense",
        ),
        (
            json!({"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"}),
            42201,
            "PROTOBUF",
        ),
        (json!({"schema": "{}", "schemaType": "XML"}), 42201, "XML"),
    ];
    for (body, code, needle) in cases {
        let reply = app.post("/subjects/s/versions", &body).await;
        assert_eq!(
            reply.error_code(),
            i64::from(code),
            "{body}: {}",
            reply.text
        );
        let message = reply.body["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{body}: '{message}' should mention '{needle}'"
        );
    }

    // Control characters make an invalid subject.
    let bad_subject = app.register("bad%0Asubject", &order_v1()).await;
    assert_eq!(bad_subject.error_code(), 42208, "{}", bad_subject.text);

    // Unknown fields in the body are ignored, as Confluent clients send metadata/ruleSet.
    let extra = app
        .post(
            "/subjects/s/versions",
            &json!({"schema": order_v1().to_string(), "schemaType": "AVRO", "references": [],
                    "metadata": {"properties": {"owner": "team"}}, "ruleSet": null, "whatever": 1}),
        )
        .await;
    assert_eq!(extra.body["version"], 1, "{}", extra.text);
}

async fn size_and_depth_limits(db: &TestDatabase) {
    let limits = Limits {
        max_schema_bytes: 4096,
        max_depth: 20,
        ..Limits::DEFAULT
    };
    let app = TestApp::start_with_limits(db, limits).await;
    let fields: Vec<Value> = (0..200)
        .map(|i| json!({"name": format!("field_{i}"), "type": "string"}))
        .collect();
    let big = json!({"type": "record", "name": "Big", "fields": fields});
    let reply = app.register("s", &big).await;
    assert_eq!(reply.error_code(), 42209, "{}", reply.text);

    let mut deep = json!("string");
    for _ in 0..30 {
        deep = json!({"type": "array", "items": deep});
    }
    let reply = app.register("s", &deep).await;
    assert_eq!(reply.error_code(), 42201, "{}", reply.text);
    assert!(reply.text.contains("deeper"), "{}", reply.text);

    // Far past serde_json's own recursion limit: still a clean 42201.
    let very_deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let reply = app
        .post("/subjects/s/versions", &json!({"schema": very_deep}))
        .await;
    assert_eq!(reply.error_code(), 42201, "{}", reply.text);
}

backend_tests!(malformed_bodies_and_schemas, size_and_depth_limits);
