//! Soft and permanent deletes, the `deleted=true` views, and version numbering after them.

use axum::http::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::harness::{TestApp, TestDatabase};
use crate::subjects::{order_v1, order_v2};

async fn soft_delete_hides_but_keeps(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let id1 = app.register("s", &order_v1()).await.body["id"]
        .as_i64()
        .unwrap();
    app.register("s", &order_v2()).await;

    assert_eq!(app.delete("/subjects/s/versions/1").await.body, json!(1));
    assert_eq!(app.get("/subjects/s/versions").await.body, json!([2]));
    assert_eq!(
        app.get("/subjects/s/versions?deleted=true").await.body,
        json!([1, 2])
    );
    assert_eq!(
        app.get("/subjects/s/versions?deletedOnly=true").await.body,
        json!([1])
    );
    assert_eq!(
        app.get("/subjects/s/versions?deletedAsNegative=true")
            .await
            .body,
        json!([-1, 2])
    );
    assert_eq!(app.get("/subjects/s/versions/1").await.error_code(), 40402);
    let with_deleted = app.get("/subjects/s/versions/1?deleted=true").await;
    assert_eq!(with_deleted.body["deleted"], true, "{}", with_deleted.text);
    // Old messages stay decodable: the id still resolves.
    assert_eq!(
        app.get(&format!("/schemas/ids/{id1}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/schemas/ids/{id1}/versions")).await.body,
        json!([])
    );
    assert_eq!(
        app.delete("/subjects/s/versions/1").await.error_code(),
        40406
    );

    assert_eq!(app.delete("/subjects/s").await.body, json!([2]));
    assert_eq!(app.get("/subjects").await.body, json!([]));
    assert_eq!(app.get("/subjects?deleted=true").await.body, json!(["s"]));
    assert_eq!(app.get("/subjects/s/versions").await.error_code(), 40401);
    assert_eq!(app.delete("/subjects/s").await.error_code(), 40404);
    assert_eq!(
        app.get("/subjects/s/versions/latest").await.error_code(),
        40401
    );

    // Registering again revives the subject; numbers continue after the deleted ones.
    let revived = app.register("s", &order_v1()).await;
    assert_eq!(revived.body["version"], 3, "{}", revived.text);
    assert_eq!(revived.body["id"].as_i64(), Some(id1));
}

async fn permanent_delete_needs_soft_delete_first(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let id1 = app.register("s", &order_v1()).await.body["id"]
        .as_i64()
        .unwrap();
    let id2 = app.register("s", &order_v2()).await.body["id"]
        .as_i64()
        .unwrap();

    assert_eq!(
        app.delete("/subjects/s?permanent=true").await.error_code(),
        40405
    );
    assert_eq!(
        app.delete("/subjects/s/versions/2?permanent=true")
            .await
            .error_code(),
        40407
    );

    app.delete("/subjects/s/versions/2").await;
    assert_eq!(
        app.delete("/subjects/s/versions/2?permanent=true")
            .await
            .body,
        json!(2)
    );
    assert_eq!(
        app.get(&format!("/schemas/ids/{id2}")).await.error_code(),
        40403
    );
    // The highest version number was freed by the hard delete.
    let again = app.register("s", &order_v2()).await;
    assert_eq!(again.body["version"], 2, "{}", again.text);
    assert_ne!(again.body["id"].as_i64(), Some(id2), "ids are never reused");

    app.put("/config/s", &json!({"compatibility": "NONE"}))
        .await;
    app.delete("/subjects/s").await;
    assert_eq!(
        app.delete("/subjects/s?permanent=true").await.body,
        json!([1, 2])
    );
    assert_eq!(app.get("/subjects?deleted=true").await.body, json!([]));
    assert_eq!(
        app.get(&format!("/schemas/ids/{id1}")).await.error_code(),
        40403
    );
    // Permanently deleting a subject also deletes its config.
    assert_eq!(app.get("/config/s").await.error_code(), 40408);
    assert_eq!(app.delete("/subjects/s").await.error_code(), 40401);
}

async fn a_schema_shared_by_subjects_survives_one_hard_delete(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let id = app.register("a", &order_v1()).await.body["id"]
        .as_i64()
        .unwrap();
    app.register("b", &order_v1()).await;
    app.delete("/subjects/a").await;
    app.delete("/subjects/a?permanent=true").await;
    assert_eq!(
        app.get(&format!("/schemas/ids/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/schemas/ids/{id}/subjects")).await.body,
        json!(["b"])
    );
}

backend_tests!(
    soft_delete_hides_but_keeps,
    permanent_delete_needs_soft_delete_first,
    a_schema_shared_by_subjects_survives_one_hard_delete,
);
