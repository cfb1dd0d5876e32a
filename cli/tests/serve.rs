//! The `eventschema serve` process: durability across a clean restart and across `kill -9`
//! in the middle of a write load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::Server;
use serde_json::{Value, json};

fn schema(n: usize) -> Value {
    json!({"schema": json!({"type": "record", "name": format!("E{n}"), "fields": [{"name": "n", "type": "long"}]}).to_string()})
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/registry.db", dir.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let client = reqwest::Client::new();

    let server = Server::start(&url);
    let put = client
        .put(format!("{}/config/s", server.base))
        .json(&json!({"compatibility": "NONE"}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let mut ids = Vec::new();
    for n in 0..5 {
        let reply: Value = client
            .post(format!("{}/subjects/s/versions", server.base))
            .json(&schema(n))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(reply["id"].as_i64().unwrap());
    }
    server.terminate();

    let server = Server::start(&url);
    let versions: Value = client
        .get(format!("{}/subjects/s/versions", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(versions, json!([1, 2, 3, 4, 5]));
    for (n, id) in ids.iter().enumerate() {
        let by_id: Value = client
            .get(format!("{}/schemas/ids/{id}", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(by_id["schema"].as_str().unwrap().contains(&format!("E{n}")));
    }
    let config: Value = client
        .get(format!("{}/config/s", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config, json!({"compatibilityLevel": "NONE"}));
    server.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    let server = Server::start(&url);
    client
        .put(format!("{}/config", server.base))
        .json(&json!({"compatibility": "NONE"}))
        .send()
        .await
        .unwrap();
    // Four writers register distinct schemas until the process dies under them.
    let mut writers = Vec::new();
    for writer in 0..4 {
        let client = client.clone();
        let base = server.base.clone();
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0..10_000 {
                let sent = client
                    .post(format!("{base}/subjects/load/versions"))
                    .json(&schema(writer * 100_000 + n))
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                let Ok(reply) = response.json::<Value>().await else {
                    break;
                };
                acknowledged.push((
                    reply["version"].as_i64().unwrap(),
                    reply["id"].as_i64().unwrap(),
                ));
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill_hard();
    let mut acknowledged = BTreeMap::new();
    for writer in writers {
        for (version, id) in writer.await.unwrap() {
            assert!(
                acknowledged.insert(version, id).is_none(),
                "version {version} given twice"
            );
        }
    }
    assert!(
        acknowledged.len() > 10,
        "the load should have written something before the kill"
    );

    let server = Server::start(&url);
    let versions: Vec<i64> = client
        .get(format!("{}/subjects/load/versions", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // No gap, no half write: versions are exactly 1..=n, and n covers every acknowledgement.
    let expected: Vec<i64> = (1..=i64::try_from(versions.len()).unwrap()).collect();
    assert_eq!(versions, expected);
    for (version, id) in &acknowledged {
        let stored: Value = client
            .get(format!("{}/subjects/load/versions/{version}", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            stored["id"].as_i64(),
            Some(*id),
            "acknowledged version {version} lost"
        );
    }
    // The database still takes writes.
    let next: Value = client
        .post(format!("{}/subjects/load/versions", server.base))
        .json(&schema(999_999))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        next["version"].as_i64(),
        Some(i64::try_from(versions.len()).unwrap() + 1)
    );
    server.terminate();
}
