//! `eventschema diff SUBJECT V1 V2`: the structural differences between two versions (from
//! the schemas folder or a registry) and what consumers must do, from `eventschema_core::diff`.

use std::fmt::Write as _;

use anyhow::{Context, anyhow};
use eventschema_core::diff::{SchemaDiff, diff};
use eventschema_core::{Incompatibility, Limits, ParsedSchema};
use eventschema_registry::Client;
use serde::Serialize;

use crate::check::{self, Folder};
use crate::report::Style;

/// Where the two versions come from.
#[derive(Debug)]
pub enum Source<'a> {
    Files(Folder<'a>),
    Registry(Client),
}

/// Loads and parses one version; a file that does not parse is an error naming the file
/// and the position.
async fn load(
    source: &Source<'_>,
    subject: &str,
    version: i32,
    limits: &Limits,
) -> anyhow::Result<ParsedSchema> {
    match source {
        Source::Files(view) => {
            let folder = view.read().map_err(|errors| {
                let lines: Vec<String> = errors
                    .iter()
                    .map(|e| match (e.line, e.column) {
                        (Some(l), Some(c)) => format!("{}:{l}:{c}: {}", e.path, e.message),
                        _ => format!("{}: {}", e.path, e.message),
                    })
                    .collect();
                anyhow!("{}", lines.join("\n"))
            })?;
            let file = folder.file(subject, version).ok_or_else(|| {
                anyhow!(
                    "{} has no version {version} of '{subject}'",
                    view.display_root.trim_end_matches('/')
                )
            })?;
            folder.parse(file, limits).map_err(|err| {
                let error = view.error(&err);
                match (error.line, error.column) {
                    (Some(l), Some(c)) => anyhow!("{}:{l}:{c}: {}", error.path, error.message),
                    _ => anyhow!("{}: {}", error.path, error.message),
                }
            })
        }
        Source::Registry(client) => {
            let found = client
                .version(subject, version)
                .await
                .with_context(|| format!("reading version {version} of '{subject}'"))?;
            check::parse_registered(client, &found, limits).await
        }
    }
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    subject: &'a str,
    old_version: i32,
    new_version: i32,
    old_schema_type: String,
    new_schema_type: String,
    backward_compatible: bool,
    forward_compatible: bool,
    rollout: &'static str,
    #[serde(flatten)]
    diff: &'a SchemaDiff,
}

fn findings(out: &mut String, list: &[Incompatibility]) {
    for found in list {
        let path = match found.direction {
            eventschema_core::Direction::Backward => &found.new_path,
            eventschema_core::Direction::Forward => &found.old_path,
        };
        let _ = writeln!(out, "    {} at {path}: {}", found.kind, found.message);
    }
}

/// Prints the diff; returns the exit code.
pub async fn run(
    source: &Source<'_>,
    subject: &str,
    old_version: i32,
    new_version: i32,
    json: bool,
    limits: &Limits,
    style: Style,
) -> anyhow::Result<u8> {
    let old = load(source, subject, old_version, limits).await?;
    let new = load(source, subject, new_version, limits).await?;
    let result = diff(&old, &new);
    if json {
        let document = JsonDiff {
            subject,
            old_version,
            new_version,
            old_schema_type: old.schema_type().to_string(),
            new_schema_type: new.schema_type().to_string(),
            backward_compatible: result.backward.is_empty(),
            forward_compatible: result.forward.is_empty(),
            rollout: result.rollout(),
            diff: &result,
        };
        println!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(0);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "{subject}: version {old_version} -> version {new_version} ({})",
            new.schema_type()
        ))
    );
    if result.changes.is_empty() {
        let _ = writeln!(out, "\n  no structural change");
    }
    for change in &result.changes {
        let _ = writeln!(
            out,
            "\n  {} {}\n    {}\n    consumers: {}",
            style.bold(change.kind.as_str()),
            change.location,
            change.description,
            change.consumer_action
        );
    }
    let verdict = |ok: bool| {
        if ok {
            style.green("yes")
        } else {
            style.red("no")
        }
    };
    let _ = writeln!(
        out,
        "\nbackward (v{new_version} reads v{old_version} events): {}",
        verdict(result.backward.is_empty())
    );
    findings(&mut out, &result.backward);
    let _ = writeln!(
        out,
        "forward (v{old_version} reads v{new_version} events): {}",
        verdict(result.forward.is_empty())
    );
    findings(&mut out, &result.forward);
    let _ = writeln!(out, "rollout: {}", result.rollout());
    print!("{out}");
    Ok(0)
}
