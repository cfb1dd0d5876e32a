//! Starting and stopping the service: configuration, binding, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use eventschema_core::Limits;

use crate::http;
use crate::service::Registry;
use crate::store::{Store, StoreError};

/// Where the registry listens and what it stores into.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// `sqlite://PATH`, `sqlite::memory:` or `postgres://...`.
    pub database_url: String,
    pub limits: Limits,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the store and builds the registry with its router.
pub async fn build(config: &ServerConfig) -> Result<(Arc<Registry>, axum::Router), StoreError> {
    let store = Store::connect(&config.database_url).await?;
    let registry = Arc::new(Registry::new(store, config.limits));
    let router = http::router(registry.clone());
    Ok((registry, router))
}

/// Runs the registry until `shutdown` completes, then drains requests and closes the
/// database. `on_listening` receives the bound address (useful with port 0).
pub async fn serve(
    config: ServerConfig,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (registry, router) = build(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %redact(&config.database_url), "registry listening");
    on_listening(addr);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    registry.store().close().await;
    Ok(())
}

/// Hides a password in a database URL before it is logged.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..scheme_end], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
