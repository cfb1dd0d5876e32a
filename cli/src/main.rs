//! The `eventschema` command: runs the registry (`serve`) and, as the other commands land,
//! checks, pushes, diffs and generates. Thin: it parses arguments and calls the libraries.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use eventschema_core::Limits;
use eventschema_registry::ServerConfig;

#[derive(Debug, Parser)]
#[command(
    name = "eventschema",
    version,
    about = "A code-generating schema registry for event-driven Rust systems"
)]
struct Cli {
    /// Log output format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "EVENTSCHEMA_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the schema registry (Confluent-compatible REST API).
    ///
    /// Examples:
    ///   eventschema serve
    ///   eventschema serve --listen 0.0.0.0:8081 --database-url postgres://user@db/registry
    ///   EVENTSCHEMA_DATABASE_URL=sqlite::memory: eventschema serve
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "EVENTSCHEMA_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Database: sqlite://PATH, sqlite::memory: or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "EVENTSCHEMA_DATABASE_URL",
        default_value = "sqlite://data/registry.db"
    )]
    database_url: String,
    /// Largest accepted schema, in bytes.
    #[arg(long, env = "EVENTSCHEMA_MAX_SCHEMA_BYTES", default_value_t = Limits::DEFAULT.max_schema_bytes)]
    max_schema_bytes: usize,
    /// Deepest accepted nesting of a schema document.
    #[arg(long, env = "EVENTSCHEMA_MAX_DEPTH", default_value_t = Limits::DEFAULT.max_depth)]
    max_depth: usize,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves on Ctrl-C or SIGTERM, so that the server drains and closes the database.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = ServerConfig {
        listen: args.listen,
        database_url: args.database_url,
        limits: Limits {
            max_schema_bytes: args.max_schema_bytes,
            max_depth: args.max_depth,
            ..Limits::DEFAULT
        },
    };
    eventschema_registry::serve(
        config.clone(),
        |addr| println!("eventschema registry listening on http://{addr}"),
        shutdown_signal(),
    )
    .await
    .with_context(|| {
        format!(
            "the registry failed (database {})",
            eventschema_registry::redact(&config.database_url)
        )
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Serve(args) => serve(args).await,
    }
}
