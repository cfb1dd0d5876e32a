//! Schema references: registering with them, reading them back, refusing deletes of
//! referenced versions.

use axum::http::StatusCode;
use serde_json::json;

use crate::backend_tests;
use crate::harness::{TestApp, TestDatabase};

async fn avro_references(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let address = json!({"type": "record", "name": "Address", "namespace": "shop",
                         "fields": [{"name": "street", "type": "string"}]});
    let address_id = app.register("address", &address).await.body["id"]
        .as_i64()
        .unwrap();
    let customer = json!({"type": "record", "name": "Customer", "namespace": "shop",
                          "fields": [{"name": "address", "type": "shop.Address"}]});
    let references = json!([{"name": "shop.Address", "subject": "address", "version": 1}]);
    let reply = app
        .post(
            "/subjects/customer/versions",
            &json!({"schema": customer.to_string(), "references": references}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let id = reply.body["id"].as_i64().unwrap();
    assert_ne!(id, address_id);

    let by_id = app.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(by_id.body["references"], references);
    let version = app.get("/subjects/customer/versions/1").await;
    assert_eq!(version.body["references"], references);
    assert_eq!(
        app.get("/subjects/address/versions/1/referencedby")
            .await
            .body,
        json!([id])
    );

    // A referenced version cannot be deleted.
    let refused = app.delete("/subjects/address/versions/1").await;
    assert_eq!(refused.error_code(), 42206, "{}", refused.text);
    assert_eq!(app.delete("/subjects/address").await.error_code(), 42206);

    // Without the reference the type name is unknown.
    let unresolved = app
        .post(
            "/subjects/customer2/versions",
            &json!({"schema": customer.to_string()}),
        )
        .await;
    assert_eq!(unresolved.error_code(), 42201, "{}", unresolved.text);
    let dangling = app
        .post(
            "/subjects/customer2/versions",
            &json!({"schema": customer.to_string(),
                    "references": [{"name": "shop.Address", "subject": "address", "version": 9}]}),
        )
        .await;
    assert_eq!(dangling.error_code(), 42201, "{}", dangling.text);

    // Once the referrer is gone, the referenced version can go too.
    app.delete("/subjects/customer").await;
    assert_eq!(app.delete("/subjects/address").await.status, StatusCode::OK);
}

async fn json_references(db: &TestDatabase) {
    let app = TestApp::start(db).await;
    let address = json!({"type": "object", "properties": {"street": {"type": "string"}}});
    let reply = app
        .post(
            "/subjects/address-json/versions",
            &json!({"schema": address.to_string(), "schemaType": "JSON"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let customer = json!({"type": "object", "properties": {"address": {"$ref": "address.json"}}});
    let reply = app
        .post(
            "/subjects/customer-json/versions",
            &json!({"schema": customer.to_string(), "schemaType": "JSON",
                    "references": [{"name": "address.json", "subject": "address-json", "version": 1}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

backend_tests!(avro_references, json_references);
