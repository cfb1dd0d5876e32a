//! Shared test fixtures: event types, bus configurations and service URLs.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::time::Duration;

use eventschema::{BusConfig, CodecError, Event, RetryPolicy, SchemaType};
use serde::{Deserialize, Serialize};

pub const ORDER_SCHEMA_V2: &str = r#"{"type":"object","properties":{"order_id":{"type":"string"},"seq":{"type":"integer","minimum":0}},"required":["order_id","seq"]}"#;
pub const ORDER_SCHEMA_V1: &str =
    r#"{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}"#;

/// Version 2 (the newest) of `orders.created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCreated {
    pub order_id: String,
    pub seq: u64,
}

impl Event for OrderCreated {
    const TYPE: &'static str = "orders.created";
    const SUBJECT: &'static str = "orders.created-value";
    const VERSION: u32 = 2;
    const SCHEMA_TYPE: SchemaType = SchemaType::Json;
    const SCHEMA: &'static str = ORDER_SCHEMA_V2;
    fn partition_key(&self) -> Option<String> {
        Some(self.order_id.clone())
    }
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        eventschema::json_encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        eventschema::json_decode(bytes)
    }
}

/// Version 1 of `orders.created`, as an old producer still writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCreatedV1 {
    pub id: String,
}

impl Event for OrderCreatedV1 {
    const TYPE: &'static str = "orders.created";
    const SUBJECT: &'static str = "orders.created-value";
    const VERSION: u32 = 1;
    const SCHEMA_TYPE: SchemaType = SchemaType::Json;
    const SCHEMA: &'static str = ORDER_SCHEMA_V1;
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        eventschema::json_encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        eventschema::json_decode(bytes)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderShipped {
    pub order_id: String,
}

impl Event for OrderShipped {
    const TYPE: &'static str = "orders.shipped";
    const SUBJECT: &'static str = "orders.shipped-value";
    const VERSION: u32 = 1;
    const SCHEMA_TYPE: SchemaType = SchemaType::Json;
    const SCHEMA: &'static str = r#"{"type":"object","required":["order_id"]}"#;
    fn encode(&self) -> Result<Vec<u8>, CodecError> {
        eventschema::json_encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        eventschema::json_decode(bytes)
    }
}

pub fn order(id: &str, seq: u64) -> OrderCreated {
    OrderCreated {
        order_id: id.to_owned(),
        seq,
    }
}

/// Quick retries, no breaker.
pub fn config() -> BusConfig {
    BusConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            factor: 2.0,
            jitter: true,
        },
        breaker: None,
        ..BusConfig::default()
    }
}

fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("EVENTSCHEMA_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "EVENTSCHEMA_REQUIRE_SERVICES=1 but {var} is not set"
            );
            eprintln!("{var} not set: skipping this variant");
            None
        }
    }
}

pub fn postgres_url() -> Option<String> {
    service_url("DATABASE_URL")
}

pub fn redis_url() -> Option<String> {
    service_url("REDIS_URL")
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

pub fn nats_url() -> Option<String> {
    service_url("NATS_URL")
}

pub fn amqp_url() -> Option<String> {
    service_url("AMQP_URL")
}

/// A TCP proxy in front of a broker, so a test can cut the client's connection and restore
/// it without touching the shared server.
pub struct CutProxy {
    pub addr: std::net::SocketAddr,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl CutProxy {
    pub async fn start(upstream: String) -> CutProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (o, c) = (open.clone(), conns.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: refused while cut
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().unwrap().push(task);
            }
        });
        CutProxy {
            addr,
            open,
            conns,
            accept,
        }
    }

    /// Closes every proxied connection and refuses new ones until [`CutProxy::restore`].
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for task in self.conns.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

/// `host:port` of a `scheme://[user:pass@]host:port[/path]` URL.
pub fn host_port(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let rest = rest.rsplit('@').next().unwrap_or(rest);
    rest.split('/').next().unwrap_or(rest).to_owned()
}
