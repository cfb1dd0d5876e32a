//! The `eventschema` command: runs the registry (`serve`), checks a schemas folder against a
//! git revision or a registry (`check`), registers it (`push`) and explains the difference
//! between two versions (`diff`), generates typed events (`generate`) and operates a
//! service's dead letters (`dlq`). Thin: it parses arguments and calls the libraries.

mod check;
mod diff;
mod dlq;
mod git;
mod push;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{ArgGroup, Parser, Subcommand, ValueEnum};
use eventschema_core::Limits;
use eventschema_registry::{Client, ServerConfig};

use crate::check::{Against, Folder};
use crate::report::Style;

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
    /// Check new and changed schema files for compatibility, before anything is registered.
    ///
    /// A file is new or changed when its content differs from the git revision (or is absent
    /// there), or when the registry does not hold that version yet. Each one is checked
    /// against the versions before it at the subject's level (eventschema.toml, else the
    /// registry's configuration, else BACKWARD). Exit codes: 0 compatible, 1 incompatible,
    /// 2 usage, I/O or malformed files.
    #[command(after_help = "Examples:
  eventschema check --against-git origin/main
  eventschema check --schemas schemas --against http://registry:8081 --format github
  eventschema check --against-git HEAD~1 --format junit > eventschema.xml")]
    Check(CheckArgs),
    /// Register the folder's new versions in order (idempotent: re-running changes nothing).
    ///
    /// Runs the same check as `check --against` first and registers nothing when a version
    /// is incompatible or a file is malformed. Also sets a subject's compatibility level when
    /// eventschema.toml names one that differs from the registry's. Exit codes as `check`.
    #[command(after_help = "Examples:
  eventschema push http://registry:8081
  eventschema push --schemas schemas --dry-run http://registry:8081")]
    Push(PushArgs),
    /// Show the structural difference between two versions of a subject and what consumers
    /// must do about it.
    #[command(after_help = "Examples:
  eventschema diff orders.order-placed 1 2
  eventschema diff orders.order-placed 1 2 --registry http://registry:8081 --format json")]
    Diff(DiffArgs),
    /// Generate typed Rust events (one type per schema version) from a schemas folder into a
    /// folder of your choice; `build.rs` users call `eventschema_codegen::Builder` instead.
    #[command(after_help = "Examples:
  eventschema generate --out src/generated
  eventschema generate --schemas contracts --out src/generated --file-name events.rs
  eventschema generate --registry http://registry:8081 --subject orders-value --out src/generated")]
    Generate(GenerateArgs),
    /// Operate a service's dead letters (SQLite or PostgreSQL): list, show, replay, purge.
    ///
    /// Replays are recorded in the store and carried out by the service's replay worker
    /// (eventschema::ReplayWorker), keeping each event's id and idempotency key. Exit codes:
    /// 0 done, 1 nothing matched (unknown id, empty selection, failed or unfinished replay),
    /// 2 usage or I/O errors. See docs/dlq.md.
    #[command(after_help = "Examples:
  export EVENTSCHEMA_DLQ_DATABASE_URL=postgres://ops@db/orders
  eventschema dlq list --group billing --since 24h
  eventschema dlq show 0193f1c2-7a4e-7d51-9c1e-2b8f3a5d6e70
  eventschema dlq replay --all --reason retries-exhausted --wait 1m
  eventschema dlq purge --all --older-than 30d --yes")]
    Dlq(dlq::DlqArgs),
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// The schemas folder (docs/schemas-folder.md).
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// Where to write the generated file (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// The generated file's name.
    #[arg(long, default_value = "eventschema_generated.rs")]
    file_name: String,
    /// Generate from this registry instead of a folder, pinned by the lock file.
    #[arg(long, requires = "subject")]
    registry: Option<String>,
    /// A registry subject to generate (repeat for several).
    #[arg(long)]
    subject: Vec<String>,
    /// The lock file (its cache `.eventschema/` sits next to it).
    #[arg(long, default_value = "eventschema.lock")]
    lock: PathBuf,
    /// Fetch again and rewrite the lock file.
    #[arg(long)]
    update: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CheckFormat {
    /// Readable lines, coloured on a terminal (NO_COLOR turns colour off).
    Human,
    /// A stable JSON document (see docs/ci.md).
    Json,
    /// GitHub Actions workflow annotations on the schema files.
    Github,
    /// JUnit XML: one testcase per checked file.
    Junit,
}

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("baseline").required(true).args(["against", "against_git"])))]
struct CheckArgs {
    /// The schemas folder (<subject>/<version>.avsc|.json, see docs/schemas-folder.md).
    #[arg(long, value_name = "DIR", default_value = "schemas")]
    schemas: PathBuf,
    /// Compare with this registry's versions.
    #[arg(long, value_name = "REGISTRY_URL")]
    against: Option<String>,
    /// Compare with the same folder at this git revision (no registry needed).
    #[arg(long, value_name = "REF")]
    against_git: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: CheckFormat,
}

#[derive(Debug, clap::Args)]
struct PushArgs {
    /// The schemas folder.
    #[arg(long, value_name = "DIR", default_value = "schemas")]
    schemas: PathBuf,
    /// Show what would be registered without changing the registry.
    #[arg(long)]
    dry_run: bool,
    /// The registry to register into.
    #[arg(value_name = "REGISTRY_URL", env = "EVENTSCHEMA_REGISTRY_URL")]
    registry: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DiffFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
struct DiffArgs {
    /// The subject (the folder name under the schemas folder).
    subject: String,
    /// The older version.
    #[arg(value_parser = clap::value_parser!(i32).range(1..))]
    v1: i32,
    /// The newer version.
    #[arg(value_parser = clap::value_parser!(i32).range(1..))]
    v2: i32,
    /// Read the versions from this schemas folder (the default).
    #[arg(long, value_name = "DIR", default_value = "schemas")]
    schemas: PathBuf,
    /// Read the versions from this registry instead of the folder.
    #[arg(long, value_name = "REGISTRY_URL")]
    registry: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: DiffFormat,
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

/// `serve` logs at info to stdout; the other commands keep stdout for their report, so
/// their logs go to stderr and only from warn up.
fn init_logging(format: LogFormat, serve: bool) {
    let default = if serve { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    if !serve {
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        match format {
            LogFormat::Text => builder.init(),
            LogFormat::Json => builder.json().init(),
        }
        return;
    }
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

async fn check(args: CheckArgs) -> anyhow::Result<u8> {
    let limits = Limits::DEFAULT;
    let view = Folder::new(&args.schemas);
    let against = match (args.against, args.against_git) {
        (_, Some(rev)) => Against::Git(rev),
        (Some(url), None) => Against::Registry(url),
        (None, None) => anyhow::bail!("--against or --against-git is required"),
    };
    let outcome = match &against {
        Against::Git(rev) => check::against_git(&view, rev, &limits)?,
        Against::Registry(url) => {
            let client = Client::new(url)?;
            check::against_registry(&view, &client, &limits, |_| {}).await?
        }
    };
    let report = &outcome.report;
    let text = match args.format {
        CheckFormat::Human => report::human(report, Style::detect()),
        CheckFormat::Json => report::json(report),
        CheckFormat::Github => report::github(report),
        CheckFormat::Junit => report::junit(report),
    };
    print!("{text}");
    Ok(report.exit_code())
}

/// Writes the generated code; unchanged output leaves the file untouched.
fn generate(args: &GenerateArgs) -> anyhow::Result<u8> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut builder = eventschema_codegen::Builder::new()
        .schemas_dir(&args.schemas)
        .out_dir(&args.out)
        .file_name(&args.file_name)
        .emit_rerun_if_changed(false);
    if let Some(url) = &args.registry {
        builder = builder
            .registry(url)
            .subjects(args.subject.iter().cloned())
            .lock_file(&args.lock)
            .update_lock(args.update);
    }
    let written = builder.generate();
    match written {
        Ok(path) => {
            println!("generated {}", path.display());
            Ok(0)
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(2)
        }
    }
}

async fn run(command: Command) -> anyhow::Result<u8> {
    let limits = Limits::DEFAULT;
    match command {
        Command::Serve(args) => serve(args).await.map(|()| 0),
        Command::Check(args) => check(args).await,
        Command::Push(args) => {
            let client = Client::new(&args.registry)?;
            push::push(
                &Folder::new(&args.schemas),
                &client,
                args.dry_run,
                &limits,
                Style::detect(),
            )
            .await
        }
        Command::Generate(args) => generate(&args),
        Command::Dlq(args) => dlq::run(args).await,
        Command::Diff(args) => {
            let source = match &args.registry {
                Some(url) => diff::Source::Registry(Client::new(url)?),
                None => diff::Source::Files(Folder::new(&args.schemas)),
            };
            diff::run(
                &source,
                &args.subject,
                args.v1,
                args.v2,
                matches!(args.format, DiffFormat::Json),
                &limits,
                Style::detect(),
            )
            .await
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let serve = matches!(cli.command, Command::Serve(_));
    init_logging(cli.log_format, serve);
    match run(cli.command).await {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            // The registry failing at runtime keeps the exit code it always had; the other
            // commands use 2 for usage and I/O errors, 1 being "incompatible".
            ExitCode::from(if serve { 1 } else { 2 })
        }
    }
}
