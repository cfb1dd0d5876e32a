//! `eventschema dlq`: operate the dead letters a service keeps in SQLite or PostgreSQL
//! (the runtime's `SqlDlq`). Replays are requests recorded in the store, carried out by the
//! service's `ReplayWorker`: this process cannot publish into a service's in-process bus.
//! Exit codes: 0 done, 1 nothing matched (an unknown id, an empty bulk selection, a replay
//! that failed or did not finish in time), 2 usage or I/O errors.

use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand, ValueEnum};
use eventschema::dlq::SqlDlq;
use eventschema::dlq::sql::DEFAULT_TABLE;
use eventschema::{
    DeadLetter, DeadLetterStore, DlqFilter, DlqPage, Envelope, ReplayRequest, ReplayStatus,
};
use serde_json::{Value, json};

/// Version of the `--format json` documents (docs/dlq.md); bumped on incompatible change.
const JSON_VERSION: u32 = 1;

#[derive(Debug, Args)]
pub struct DlqArgs {
    /// The dead-letter database: sqlite://PATH, postgres://USER@HOST/DB, or a SQLite file path.
    #[arg(
        long,
        global = true,
        env = "EVENTSCHEMA_DLQ_DATABASE_URL",
        value_name = "URL"
    )]
    database_url: Option<String>,
    /// The dead-letter table the service uses (replay requests live in TABLE_replays).
    #[arg(long, global = true, value_name = "TABLE", default_value = DEFAULT_TABLE)]
    table: String,
    /// Output format; json is stable and documented in docs/dlq.md.
    #[arg(long, global = true, value_enum, default_value = "human")]
    format: Format,
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// List dead letters, oldest first, one page at a time.
    #[command(after_help = "Examples:
  eventschema dlq list --database-url sqlite://data/service.db
  eventschema dlq list --group billing --since 2h
  eventschema dlq list --type orders.created --limit 200 --format json
  eventschema dlq list --after 0193f1c2-...   # the next page")]
    List(ListArgs),
    /// Show one dead letter: attributes, error chain, payload and replay state.
    #[command(after_help = "Examples:
  eventschema dlq show 0193f1c2-7a4e-7d51-9c1e-2b8f3a5d6e70
  eventschema dlq show 0193f1c2-7a4e-7d51-9c1e-2b8f3a5d6e70 --binary hex
  eventschema dlq show 0193f1c2-7a4e-7d51-9c1e-2b8f3a5d6e70 --format json")]
    Show(ShowArgs),
    /// Request replays: the service's replay worker re-publishes each event to the group
    /// that gave up on it, with its original id and idempotency key.
    #[command(after_help = "Examples:
  eventschema dlq replay 0193f1c2-7a4e-7d51-9c1e-2b8f3a5d6e70
  eventschema dlq replay --all --group billing --reason retries-exhausted
  eventschema dlq replay --all --type orders.created --wait 30s")]
    Replay(ReplayArgs),
    /// Delete dead letters for good. Bulk deletes (--all) need --yes.
    #[command(after_help = "Examples:
  eventschema dlq purge 0193f1c2-7a4e-7d51-9c1e-2b8f3a5d6e70
  eventschema dlq purge --all --older-than 30d --yes
  eventschema dlq purge --all --group billing --reason handler-permanent --yes")]
    Purge(PurgeArgs),
}

#[derive(Debug, Clone, Args)]
struct FilterArgs {
    /// Only this consumer group.
    #[arg(long)]
    group: Option<String>,
    /// Only events of this CloudEvents type.
    #[arg(long = "type", value_name = "TYPE")]
    event_type: Option<String>,
    /// Only this reason (retries-exhausted, handler-permanent, schema-mismatch, ...).
    #[arg(long)]
    reason: Option<String>,
    /// Only letters whose last failure is at or after WHEN: an RFC 3339 time or a
    /// duration ago (90m, 2h, 7d).
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    since: Option<DateTime<Utc>>,
}

impl FilterArgs {
    fn filter(&self) -> DlqFilter {
        DlqFilter {
            group: self.group.clone(),
            reason: self.reason.clone(),
            event_type: self.event_type.clone(),
            since: self.since,
            before: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.filter() == DlqFilter::default()
    }
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// At most this many letters.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Start after this id (the `next` cursor of the previous page).
    #[arg(long, value_name = "ID")]
    after: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Binary {
    Base64,
    Hex,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// The dead letter's id (not the event's).
    id: String,
    /// How to print a payload that is neither JSON nor text.
    #[arg(long, value_enum, default_value = "base64")]
    binary: Binary,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// Dead-letter ids to replay.
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    ids: Vec<String>,
    /// Replay every letter matching the filters.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    filter: FilterArgs,
    /// Wait up to this long for the service to carry the replays out (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    wait: Option<Duration>,
}

#[derive(Debug, Args)]
struct PurgeArgs {
    /// Dead-letter ids to delete.
    #[arg(
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    ids: Vec<String>,
    /// Delete every letter matching the filters.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    filter: FilterArgs,
    /// Only letters whose last failure is older than this (e.g. 30d).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "all")]
    older_than: Option<Duration>,
    /// Confirm a bulk delete.
    #[arg(long)]
    yes: bool,
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let ago = humantime::parse_duration(text)
        .map_err(|e| format!("neither an RFC 3339 time nor a duration ({e})"))?;
    ago_from_now(ago)
}

fn ago_from_now(ago: Duration) -> Result<DateTime<Utc>, String> {
    chrono::Duration::from_std(ago)
        .ok()
        .and_then(|ago| Utc::now().checked_sub_signed(ago))
        .ok_or_else(|| format!("{} is too far back", humantime::format_duration(ago)))
}

/// A bare path means a SQLite file, which must exist: operating on an empty new file would
/// only hide a typo.
fn database_url(raw: Option<&str>) -> anyhow::Result<String> {
    let Some(raw) = raw.filter(|raw| !raw.is_empty()) else {
        bail!("no dead-letter database: pass --database-url or set EVENTSCHEMA_DLQ_DATABASE_URL");
    };
    if raw.contains("://") || raw.starts_with("sqlite:") {
        return Ok(raw.to_owned());
    }
    let path = std::path::Path::new(raw);
    if !path.is_file() {
        bail!("no SQLite database at {raw}");
    }
    Ok(format!("sqlite://{raw}"))
}

/// Runs one `dlq` command; returns the exit code.
pub async fn run(args: DlqArgs) -> anyhow::Result<u8> {
    let url = database_url(args.database_url.as_deref())?;
    let store = SqlDlq::connect(&url, &args.table).await.with_context(|| {
        format!(
            "cannot open the dead-letter store {}",
            eventschema_registry::redact(&url)
        )
    })?;
    let format = args.format;
    match args.command {
        DlqCommand::List(list) => run_list(&store, &list, format).await,
        DlqCommand::Show(show) => run_show(&store, &show, format).await,
        DlqCommand::Replay(replay) => run_replay(&store, &replay, format).await,
        DlqCommand::Purge(purge) => run_purge(&store, &purge, format).await,
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn replay_json(request: Option<&ReplayRequest>) -> Value {
    request.map_or(Value::Null, |r| {
        json!({
            "status": r.status.as_str(),
            "requested_at": time(r.requested_at),
            "updated_at": time(r.updated_at),
            "attempts": r.attempts,
            "error": r.error,
        })
    })
}

fn summary_json(letter: &DeadLetter, replay: Option<&ReplayRequest>) -> Value {
    json!({
        "id": letter.id,
        "group": letter.group,
        "handler": letter.handler,
        "reason": letter.reason,
        "error_class": letter.error_class.as_str(),
        "error": letter.error_chain.first(),
        "attempts": letter.attempts,
        "first_failure": time(letter.first_failure),
        "last_failure": time(letter.last_failure),
        "event_id": letter.attributes.get("id"),
        "type": letter.attributes.get("type"),
        "source": letter.attributes.get("source"),
        "replay": replay_json(replay),
    })
}

async fn run_list(store: &SqlDlq, args: &ListArgs, format: Format) -> anyhow::Result<u8> {
    let page = DlqPage {
        after: args.after.clone(),
        limit: args.limit,
    };
    let letters = store.list_page(&args.filter.filter(), &page).await?;
    let mut replays = Vec::with_capacity(letters.len());
    for letter in &letters {
        replays.push(store.replay_status(&letter.id).await?);
    }
    // A full page may have a successor; the last id is the cursor for it.
    let next = (letters.len() == args.limit && args.limit > 0)
        .then(|| letters.last().map(|l| l.id.clone()))
        .flatten();
    if format == Format::Json {
        let items: Vec<Value> = letters
            .iter()
            .zip(&replays)
            .map(|(l, r)| summary_json(l, r.as_ref()))
            .collect();
        print_json(&json!({ "version": JSON_VERSION, "dead_letters": items, "next": next }))?;
        return Ok(0);
    }
    if letters.is_empty() {
        println!("no dead letters match");
        return Ok(0);
    }
    let rows: Vec<[String; 7]> = letters
        .iter()
        .zip(&replays)
        .map(|(l, r)| {
            [
                l.id.clone(),
                time(l.last_failure),
                l.group.clone().unwrap_or_else(|| "-".into()),
                l.attributes
                    .get("type")
                    .cloned()
                    .unwrap_or_else(|| "-".into()),
                l.reason.clone(),
                l.attempts.to_string(),
                r.as_ref()
                    .map_or_else(|| "-".into(), |r| r.status.as_str().to_owned()),
            ]
        })
        .collect();
    let header = [
        "ID",
        "LAST FAILURE",
        "GROUP",
        "TYPE",
        "REASON",
        "ATTEMPTS",
        "REPLAY",
    ];
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    if let Some(next) = next {
        println!("(more may follow: --after {next})");
    }
    Ok(0)
}

/// The payload for display: the event's `data` when the original is a CloudEvent, else
/// the raw bytes as received.
struct Payload {
    content_type: Option<String>,
    bytes: Vec<u8>,
    cloudevent: bool,
}

impl Payload {
    fn of(letter: &DeadLetter) -> Payload {
        match Envelope::from_structured(&letter.original, usize::MAX) {
            Ok(envelope) => Payload {
                content_type: envelope.datacontenttype().map(str::to_owned),
                bytes: envelope.data().unwrap_or_default().to_vec(),
                cloudevent: true,
            },
            Err(_) => Payload {
                content_type: None,
                bytes: letter.original.clone(),
                cloudevent: false,
            },
        }
    }

    /// `(encoding, text)`: JSON pretty-printed, other UTF-8 as is, binary encoded.
    fn render(&self, binary: Binary) -> (&'static str, String) {
        if let Ok(value) = serde_json::from_slice::<Value>(&self.bytes) {
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            return ("json", pretty);
        }
        if let Ok(text) = std::str::from_utf8(&self.bytes) {
            return ("text", text.to_owned());
        }
        match binary {
            Binary::Base64 => (
                "base64",
                base64::engine::general_purpose::STANDARD.encode(&self.bytes),
            ),
            Binary::Hex => ("hex", hex(&self.bytes)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn run_show(store: &SqlDlq, args: &ShowArgs, format: Format) -> anyhow::Result<u8> {
    let replay = store.replay_status(&args.id).await?;
    let Some(letter) = store.get(&args.id).await? else {
        let gone = match &replay {
            Some(r) if r.status == ReplayStatus::Replayed => {
                format!(" (replayed at {})", time(r.updated_at))
            }
            _ => String::new(),
        };
        if format == Format::Json {
            print_json(&json!({
                "version": JSON_VERSION,
                "dead_letter": null,
                "replay": replay_json(replay.as_ref()),
            }))?;
        }
        eprintln!("no dead letter {}{gone}", args.id);
        return Ok(1);
    };
    let payload = Payload::of(&letter);
    let (encoding, data) = payload.render(args.binary);
    if format == Format::Json {
        let mut value = summary_json(&letter, replay.as_ref());
        if let Some(object) = value.as_object_mut() {
            object.shift_remove("error");
            object.shift_remove("replay");
            object.insert("error_chain".into(), json!(letter.error_chain));
            object.insert("attributes".into(), json!(letter.attributes));
            let data = if encoding == "json" {
                serde_json::from_slice(&payload.bytes).unwrap_or(Value::Null)
            } else {
                Value::String(data)
            };
            object.insert(
                "payload".into(),
                json!({
                    "cloudevent": payload.cloudevent,
                    "content_type": payload.content_type,
                    "encoding": encoding,
                    "size": payload.bytes.len(),
                    "data": data,
                }),
            );
        }
        print_json(&json!({
            "version": JSON_VERSION,
            "dead_letter": value,
            "replay": replay_json(replay.as_ref()),
        }))?;
        return Ok(0);
    }
    let mut out = String::new();
    let mut field = |name: &str, value: &str| out.push_str(&format!("{name:<14}{value}\n"));
    field("id", &letter.id);
    field(
        "group",
        letter.group.as_deref().unwrap_or("- (refused at ingress)"),
    );
    field("handler", letter.handler.as_deref().unwrap_or("-"));
    field("reason", &letter.reason);
    field("error class", letter.error_class.as_str());
    field("attempts", &letter.attempts.to_string());
    field("first failure", &time(letter.first_failure));
    field("last failure", &time(letter.last_failure));
    let replay_line = match &replay {
        None => "-".to_owned(),
        Some(r) => match &r.error {
            Some(error) => format!("{} at {}: {error}", r.status, time(r.updated_at)),
            None => format!("{} at {}", r.status, time(r.updated_at)),
        },
    };
    field("replay", &replay_line);
    out.push_str("\nattributes:\n");
    for (name, value) in &letter.attributes {
        out.push_str(&format!("  {name}: {value}\n"));
    }
    out.push_str("\nerror chain (outermost first):\n");
    for (depth, message) in letter.error_chain.iter().enumerate() {
        out.push_str(&format!("  {depth}: {message}\n"));
    }
    let what = if payload.cloudevent {
        "data"
    } else {
        "original bytes (not a CloudEvent)"
    };
    out.push_str(&format!(
        "\npayload: {what}, {} bytes, {encoding}{}\n{data}\n",
        payload.bytes.len(),
        payload
            .content_type
            .as_ref()
            .map_or_else(String::new, |c| format!(", {c}")),
    ));
    print!("{out}");
    Ok(0)
}

/// Every matching id, a page at a time: letters carry their payloads, so a large queue is
/// never loaded whole.
async fn matching_ids(store: &SqlDlq, filter: &DlqFilter) -> anyhow::Result<Vec<String>> {
    const PAGE: usize = 500;
    let mut ids = Vec::new();
    let mut page = DlqPage::first(PAGE);
    loop {
        let letters = store.list_page(filter, &page).await?;
        let full = letters.len() == PAGE;
        ids.extend(letters.into_iter().map(|l| l.id));
        match (full, ids.last()) {
            (true, Some(last)) => page.after = Some(last.clone()),
            _ => return Ok(ids),
        }
    }
}

/// The ids an operation applies to: those given, or every match of the filters.
async fn select(
    store: &SqlDlq,
    ids: &[String],
    filter: Option<&DlqFilter>,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    if let Some(filter) = filter {
        return Ok((matching_ids(store, filter).await?, Vec::new()));
    }
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for id in ids {
        if store.get(id).await?.is_some() {
            found.push(id.clone());
        } else {
            missing.push(id.clone());
        }
    }
    Ok((found, missing))
}

async fn run_replay(store: &SqlDlq, args: &ReplayArgs, format: Format) -> anyhow::Result<u8> {
    if !args.all && !args.filter.is_empty() {
        bail!("filters select letters for --all; with ids, give only the ids");
    }
    let filter = args.all.then(|| args.filter.filter());
    let (ids, mut missing) = select(store, &args.ids, filter.as_ref()).await?;
    let mut requests = Vec::with_capacity(ids.len());
    for id in ids {
        // Gone between listing and requesting (replayed or purged meanwhile).
        match store.request_replay(&id).await? {
            Some(request) => requests.push(request),
            None => missing.push(id),
        }
    }
    if let Some(limit) = args.wait {
        requests = wait_for(store, requests, limit).await?;
    }
    let unfinished = |r: &ReplayRequest| {
        args.wait.is_some()
            && matches!(r.status, ReplayStatus::Requested | ReplayStatus::InProgress)
    };
    let failed = requests
        .iter()
        .filter(|r| r.status == ReplayStatus::Failed || unfinished(r))
        .count();
    if format == Format::Json {
        let items: Vec<Value> = requests
            .iter()
            .map(|r| {
                let mut value = replay_json(Some(r));
                if let Some(object) = value.as_object_mut() {
                    object.insert("id".into(), json!(r.letter_id));
                }
                value
            })
            .collect();
        print_json(&json!({
            "version": JSON_VERSION,
            "replays": items,
            "not_found": missing,
        }))?;
    } else {
        for r in &requests {
            match &r.error {
                Some(error) => println!("{}  {}: {error}", r.letter_id, r.status),
                None => println!("{}  {}", r.letter_id, r.status),
            }
        }
        for id in &missing {
            eprintln!("no dead letter {id}");
        }
        if requests.is_empty() && missing.is_empty() {
            println!("no dead letters match");
        } else if args.wait.is_none() && !requests.is_empty() {
            println!(
                "{} replay request(s) recorded; the service's replay worker carries them out",
                requests.len()
            );
        }
    }
    let nothing = requests.is_empty();
    Ok(u8::from(nothing || !missing.is_empty() || failed > 0))
}

/// Polls until every request has finished or `limit` has passed; returns the latest states.
async fn wait_for(
    store: &SqlDlq,
    mut requests: Vec<ReplayRequest>,
    limit: Duration,
) -> anyhow::Result<Vec<ReplayRequest>> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        for request in &mut requests {
            if matches!(
                request.status,
                ReplayStatus::Requested | ReplayStatus::InProgress
            ) && let Some(latest) = store.replay_status(&request.letter_id).await?
            {
                *request = latest;
            }
        }
        let pending = requests
            .iter()
            .any(|r| matches!(r.status, ReplayStatus::Requested | ReplayStatus::InProgress));
        if !pending || tokio::time::Instant::now() >= deadline {
            return Ok(requests);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run_purge(store: &SqlDlq, args: &PurgeArgs, format: Format) -> anyhow::Result<u8> {
    if !args.all && !args.filter.is_empty() {
        bail!("filters select letters for --all; with ids, give only the ids");
    }
    let (purged, missing) = if args.all {
        let mut filter = args.filter.filter();
        if let Some(age) = args.older_than {
            filter.before = Some(ago_from_now(age).map_err(anyhow::Error::msg)?);
        }
        if !args.yes {
            let count = matching_ids(store, &filter).await?.len();
            bail!("refusing to delete {count} dead letter(s) without --yes");
        }
        (store.purge(&filter).await?, Vec::new())
    } else {
        let (mut purged, mut missing) = (0, Vec::new());
        for id in &args.ids {
            match store.remove(id).await? {
                Some(_) => purged += 1,
                None => missing.push(id.clone()),
            }
        }
        (purged, missing)
    };
    if format == Format::Json {
        print_json(&json!({ "version": JSON_VERSION, "purged": purged, "not_found": missing }))?;
    } else {
        for id in &missing {
            eprintln!("no dead letter {id}");
        }
        println!("purged {purged} dead letter(s)");
    }
    Ok(u8::from(purged == 0 || !missing.is_empty()))
}
