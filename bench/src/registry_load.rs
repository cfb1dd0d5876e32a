//! Registry load benchmark: throughput and p50/p99 latency of reads by id, latest-version
//! reads and registrations against the release `eventschema serve` on loopback, with a bare
//! axum endpoint returning a fixed body measured in the same run as the ceiling.
//!
//! Run: `cargo build --release -p eventschema-cli -p eventschema-bench &&
//! target/release/registry-load [--database-url postgres://...]`

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// Database for the registry under test.
    #[arg(long, default_value = "sqlite")]
    database_url: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per scenario (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Run only the bare fixed-body server (used internally as the ceiling's process).
    #[arg(long, hide = true)]
    bare_server: bool,
}

/// A server process, killed on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a process that prints its URL (`http://...`) on its first stdout line.
fn spawn_server(mut command: Command) -> anyhow::Result<(Process, String)> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start server")?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .with_context(|| format!("no URL in banner '{line}'"))?
        .to_owned();
    Ok((Process(child), url))
}

async fn bare_server() -> anyhow::Result<()> {
    let body = r#"{"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}"}"#;
    let app = axum::Router::new().route("/fixed", axum::routing::get(move || async move { body }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("bare listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[derive(Debug)]
struct Outcome {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Outcome {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us[index] as f64 / 1000.0
    }
}

/// Drives `concurrency` loops of `make_request` for the warm-up plus `seconds`.
async fn drive<F, Fut>(concurrency: usize, seconds: u64, make_request: F) -> Outcome
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make_request = Arc::new(make_request);
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let make_request = make_request.clone();
        let measuring = measuring.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let (mut latencies, mut errors, mut n) = (Vec::new(), 0usize, 0usize);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let ok = make_request(worker, n).await;
                n += 1;
                if measuring.load(Ordering::Relaxed) {
                    latencies.push(started.elapsed().as_micros() as u64);
                    if !ok {
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut outcome = Outcome {
        requests: 0,
        errors: 0,
        elapsed,
        latencies_us: Vec::new(),
    };
    for worker in workers {
        if let Ok((latencies, errors)) = worker.await {
            outcome.requests += latencies.len();
            outcome.errors += errors;
            outcome.latencies_us.extend(latencies);
        }
    }
    outcome.latencies_us.sort_unstable();
    outcome
}

fn report(name: &str, outcome: &Outcome, ceiling: Option<f64>) {
    let ratio = ceiling
        .map(|c| format!("{:.0}%", 100.0 * outcome.per_second() / c))
        .unwrap_or_else(|| "-".into());
    println!(
        "| {name} | {:.0} | {:.2} | {:.2} | {} | {ratio} |",
        outcome.per_second(),
        outcome.percentile_ms(0.50),
        outcome.percentile_ms(0.99),
        outcome.errors,
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.bare_server {
        return bare_server().await;
    }
    let own = std::env::current_exe()?;
    let bin_dir = own.parent().context("exe folder")?;
    let registry_bin = bin_dir.join("eventschema");
    if !registry_bin.exists() {
        bail!(
            "{} not found: cargo build --release -p eventschema-cli",
            registry_bin.display()
        );
    }
    let data = std::env::temp_dir().join(format!("eventschema-bench-{}", std::process::id()));
    let database_url = if args.database_url == "sqlite" {
        format!("sqlite://{}/registry.db", data.display())
    } else {
        args.database_url.clone()
    };

    let mut bare = Command::new(&own);
    bare.arg("--bare-server");
    let (_bare, bare_url) = spawn_server(bare)?;
    let mut registry = Command::new(&registry_bin);
    registry
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
        ])
        .env("RUST_LOG", "warn");
    let (_registry, url) = spawn_server(registry)?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let subject = format!("bench-{}", std::process::id());
    client
        .put(format!("{url}/config/{subject}"))
        .json(&json!({"compatibility": "NONE"}))
        .send()
        .await?
        .error_for_status()?;
    let schema =
        json!({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]});
    let registered: serde_json::Value = client
        .post(format!("{url}/subjects/{subject}/versions"))
        .json(&json!({"schema": schema.to_string()}))
        .send()
        .await?
        .json()
        .await?;
    let id = registered["id"].as_i64().context("no id")?;

    println!(
        "registry-load: database {}, {} connections, {} s per scenario",
        args.database_url, args.concurrency, args.seconds
    );
    println!();
    println!("| scenario | req/s | p50 ms | p99 ms | errors | vs bare |");
    println!("| --- | --- | --- | --- | --- | --- |");

    let get = |client: reqwest::Client, target: String| {
        move |_worker: usize, _n: usize| {
            let client = client.clone();
            let target = target.clone();
            async move {
                match client.get(&target).send().await {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                }
            }
        }
    };
    let ceiling = drive(
        args.concurrency,
        args.seconds,
        get(client.clone(), format!("{bare_url}/fixed")),
    )
    .await;
    report("bare axum, fixed body (ceiling)", &ceiling, None);
    let by_id = drive(
        args.concurrency,
        args.seconds,
        get(client.clone(), format!("{url}/schemas/ids/{id}")),
    )
    .await;
    report("GET /schemas/ids/{id}", &by_id, Some(ceiling.per_second()));
    let latest = drive(
        args.concurrency,
        args.seconds,
        get(
            client.clone(),
            format!("{url}/subjects/{subject}/versions/latest"),
        ),
    )
    .await;
    report(
        "GET /subjects/{s}/versions/latest",
        &latest,
        Some(ceiling.per_second()),
    );

    let register_client = client.clone();
    let register_url = format!("{url}/subjects/{subject}/versions");
    let register = drive(args.concurrency, args.seconds, move |worker, n| {
        let client = register_client.clone();
        let target = register_url.clone();
        async move {
            let schema = json!({"type": "record", "name": format!("E{worker}_{n}"),
                                "fields": [{"name": "id", "type": "string"}]});
            match client
                .post(&target)
                .json(&json!({"schema": schema.to_string()}))
                .send()
                .await
            {
                Ok(response) => response.status().is_success(),
                Err(_) => false,
            }
        }
    })
    .await;
    report(
        "POST /subjects/{s}/versions (new schema each)",
        &register,
        Some(ceiling.per_second()),
    );

    let target_ratio = by_id.per_second() / ceiling.per_second();
    println!();
    println!(
        "target: by-id throughput >= 70% of bare ({:.0}%: {}), by-id p99 < 5 ms ({:.2} ms: {})",
        100.0 * target_ratio,
        if target_ratio >= 0.7 {
            "met"
        } else {
            "NOT met"
        },
        by_id.percentile_ms(0.99),
        if by_id.percentile_ms(0.99) < 5.0 {
            "met"
        } else {
            "NOT met"
        },
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
