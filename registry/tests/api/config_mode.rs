//! Config (compatibility level) and mode, global and per subject.

use axum::http::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::harness::{TestApp, TestDatabase};
use crate::subjects::{order_v1, order_v2};

async fn config_get_put_delete(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    assert_eq!(
        app.get("/config").await.body,
        json!({"compatibilityLevel": "BACKWARD"})
    );

    // No subject-level config: 40408 (kafkajs relies on this 404), unless defaultToGlobal.
    let own = app.get("/config/s").await;
    assert_eq!(own.status, StatusCode::NOT_FOUND);
    assert_eq!(own.error_code(), 40408);
    let defaulted = app.get("/config/s?defaultToGlobal=true").await;
    assert_eq!(defaulted.body, json!({"compatibilityLevel": "BACKWARD"}));

    // PUT takes and echoes `compatibility`; GET answers `compatibilityLevel`.
    let put = app
        .put("/config/s", &json!({"compatibility": "full_transitive"}))
        .await;
    assert_eq!(put.body, json!({"compatibility": "FULL_TRANSITIVE"}));
    assert_eq!(
        app.get("/config/s").await.body,
        json!({"compatibilityLevel": "FULL_TRANSITIVE"})
    );

    let invalid = app
        .put("/config/s", &json!({"compatibility": "SIDEWAYS"}))
        .await;
    assert_eq!(invalid.error_code(), 42203, "{}", invalid.text);
    let missing = app.put("/config", &json!({})).await;
    assert_eq!(missing.error_code(), 42203, "{}", missing.text);

    let deleted = app.delete("/config/s").await;
    assert_eq!(
        deleted.body,
        json!({"compatibilityLevel": "FULL_TRANSITIVE"})
    );
    assert_eq!(app.get("/config/s").await.error_code(), 40408);
    assert_eq!(app.delete("/config/s").await.error_code(), 40401);

    app.put("/config", &json!({"compatibility": "NONE"})).await;
    assert_eq!(
        app.get("/config").await.body,
        json!({"compatibilityLevel": "NONE"})
    );
    let reset = app.delete("/config").await;
    assert_eq!(reset.body, json!({"compatibilityLevel": "NONE"}));
    assert_eq!(
        app.get("/config").await.body,
        json!({"compatibilityLevel": "BACKWARD"})
    );

    let bad_subject = app
        .put("/config/%01bad", &json!({"compatibility": "NONE"}))
        .await;
    assert_eq!(bad_subject.error_code(), 42208, "{}", bad_subject.text);
}

async fn read_only_mode_refuses_writes(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    assert_eq!(app.get("/mode").await.body, json!({"mode": "READWRITE"}));
    assert_eq!(app.get("/mode/s").await.error_code(), 40409);
    app.register("s", &order_v1()).await;

    let put = app.put("/mode/s", &json!({"mode": "READONLY"})).await;
    assert_eq!(put.body, json!({"mode": "READONLY"}));
    assert_eq!(app.get("/mode/s").await.body, json!({"mode": "READONLY"}));
    let refused = app.register("s", &order_v2()).await;
    assert_eq!(refused.error_code(), 42205, "{}", refused.text);
    assert_eq!(app.delete("/subjects/s").await.error_code(), 42205);
    // Reads still work; other subjects are unaffected.
    assert_eq!(app.get("/subjects/s/versions").await.body, json!([1]));
    assert_eq!(app.register("t", &order_v1()).await.status, StatusCode::OK);

    assert_eq!(
        app.delete("/mode/s").await.body,
        json!({"mode": "READONLY"})
    );
    assert_eq!(app.register("s", &order_v2()).await.status, StatusCode::OK);

    // A global READONLY applies to every subject without a mode of its own.
    app.put("/mode", &json!({"mode": "READONLY"})).await;
    assert_eq!(app.register("u", &order_v1()).await.error_code(), 42205);
    app.put("/mode", &json!({"mode": "READWRITE"})).await;

    let invalid = app.put("/mode", &json!({"mode": "SOMETIMES"})).await;
    assert_eq!(invalid.error_code(), 42204);
}

async fn import_mode_keeps_given_ids(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    app.register("existing", &order_v1()).await;
    // Existing schemas: IMPORT needs force.
    let refused = app.put("/mode", &json!({"mode": "IMPORT"})).await;
    assert_eq!(refused.error_code(), 42205, "{}", refused.text);
    let forced = app
        .put("/mode/imported?force=true", &json!({"mode": "IMPORT"}))
        .await;
    assert_eq!(forced.status, StatusCode::OK, "{}", forced.text);

    let imported = app
        .post(
            "/subjects/imported/versions",
            &json!({"schema": order_v2().to_string(), "id": 100, "version": 7}),
        )
        .await;
    assert_eq!(imported.body["id"], 100, "{}", imported.text);
    assert_eq!(imported.body["version"], 7);
    assert_eq!(app.get("/schemas/ids/100").await.status, StatusCode::OK);
    assert_eq!(
        app.get("/subjects/imported/versions").await.body,
        json!([7])
    );

    // An id already bound to other content is refused.
    let clash = app
        .post(
            "/subjects/imported/versions",
            &json!({"schema": json!({"type": "record", "name": "Other", "fields": []}).to_string(), "id": 100}),
        )
        .await;
    assert_eq!(clash.error_code(), 42207, "{}", clash.text);

    // New ids continue after the imported one: never reused.
    app.delete("/mode/imported").await;
    let fresh = app
        .register(
            "fresh",
            &json!({"type": "record", "name": "Fresh", "fields": []}),
        )
        .await;
    assert!(fresh.body["id"].as_i64().unwrap() > 100, "{}", fresh.text);

    // Outside IMPORT mode an explicit id is refused.
    let not_import = app
        .post(
            "/subjects/fresh/versions",
            &json!({"schema": json!({"type": "record", "name": "Fresh2", "fields": []}).to_string(), "id": 555}),
        )
        .await;
    assert_eq!(not_import.error_code(), 42205, "{}", not_import.text);
}

backend_tests!(
    config_get_put_delete,
    read_only_mode_refuses_writes,
    import_mode_keeps_given_ids,
);
