//! Content types, query-string leniency, health, readiness and metrics.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::backend_tests;
use crate::harness::{TestApp, TestDatabase};
use crate::subjects::order_v1;

async fn content_types_are_negotiated(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let default = app.get("/subjects").await;
    assert_eq!(
        default.headers[header::CONTENT_TYPE],
        "application/vnd.schemaregistry.v1+json"
    );
    let cases = [
        ("application/json", "application/json"),
        (
            "application/vnd.schemaregistry+json",
            "application/vnd.schemaregistry+json",
        ),
        (
            "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json",
            "application/vnd.schemaregistry.v1+json",
        ),
        ("*/*", "application/vnd.schemaregistry.v1+json"),
    ];
    for (accept, expected) in cases {
        let reply = app
            .request_with(Method::GET, "/subjects", None, &[("accept", accept)])
            .await;
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            expected,
            "Accept: {accept}"
        );
    }
    // Errors use the same negotiation and shape.
    let error = app
        .request_with(
            Method::GET,
            "/subjects/x/versions",
            None,
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(error.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(error.error_code(), 40401);

    // Every request content type is read as JSON, including none at all.
    for content_type in [
        Some("application/vnd.schemaregistry.v1+json"),
        Some("application/vnd.schemaregistry+json"),
        Some("application/json"),
        Some("application/octet-stream"),
        None,
    ] {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/subjects/ct/versions");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        let body = json!({"schema": order_v1().to_string()}).to_string();
        let reply = app.send(builder.body(Body::from(body)).unwrap()).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{content_type:?}: {}",
            reply.text
        );
    }

    let wrong_method = app.request(Method::PATCH, "/subjects", None).await;
    assert_eq!(wrong_method.error_code(), 405, "{}", wrong_method.text);
}

async fn misc_endpoints(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    assert_eq!(app.get("/").await.body, json!({}));
    assert_eq!(app.get("/contexts").await.body, json!(["."]));
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    assert_eq!(app.get("/ready").await.status, StatusCode::OK);
    assert!(app.get("/v1/metadata/version").await.body["version"].is_string());
    app.register("m", &order_v1()).await;
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.text.contains("eventschema_registry_schemas 1"),
        "{}",
        metrics.text
    );
    assert!(
        metrics.text.contains("eventschema_registry_subjects 1"),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains("eventschema_registry_http_requests_total"),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains("eventschema_registry_http_request_duration_seconds")
    );
}

async fn pagination_and_prefixes(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    for subject in ["a-1", "a-2", "b-1"] {
        app.register(subject, &order_v1()).await;
    }
    assert_eq!(
        app.get("/subjects?subjectPrefix=a-").await.body,
        json!(["a-1", "a-2"])
    );
    assert_eq!(
        app.get("/subjects?offset=1&limit=1").await.body,
        json!(["a-2"])
    );
    assert_eq!(
        app.get("/subjects?limit=-1")
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

backend_tests!(
    content_types_are_negotiated,
    misc_endpoints,
    pagination_and_prefixes
);
