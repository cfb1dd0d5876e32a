//! `eventschema push`: registers the folder's new versions in order, after the same check
//! `check --against` runs; all or nothing, so an incompatible version registers nothing.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;
use eventschema_core::{CompatibilityLevel, Limits};
use eventschema_registry::Client;
use indicatif::{ProgressBar, ProgressStyle};

use crate::check::{self, Folder};
use crate::report::{Style, human};

fn bar(total: usize, message: &'static str) -> ProgressBar {
    // indicatif draws nothing when stderr is not a terminal, so CI logs stay clean.
    let bar = ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {wide_msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs the push and returns the exit code (0 done, 1 refused, 2 unreadable folder).
pub async fn push(
    view: &Folder<'_>,
    client: &Client,
    dry_run: bool,
    limits: &Limits,
    style: Style,
) -> anyhow::Result<u8> {
    let total = match view.read() {
        Ok(folder) => folder.files().count(),
        Err(_) => 0,
    };
    let progress = bar(total, "checking");
    let outcome = check::against_registry(view, client, limits, |_| progress.inc(1)).await;
    progress.finish_and_clear();
    let outcome = outcome?;
    let report = &outcome.report;
    if report.exit_code() != 0 {
        print!("{}", human(report, style));
        println!("{}: nothing was registered", style.red("push refused"));
        return Ok(report.exit_code());
    }
    let Some(folder) = outcome.folder else {
        return Ok(2);
    };

    let mut out = String::new();
    let verb = if dry_run { "would set" } else { "set" };
    for subject in folder.subjects_in_dependency_order() {
        let Some(wanted) = folder.compatibility(subject) else {
            continue;
        };
        let current = client.effective_compatibility(subject).await?;
        if current.parse::<CompatibilityLevel>().ok() == Some(wanted) {
            continue;
        }
        if !dry_run {
            client
                .set_subject_compatibility(subject, wanted.as_str())
                .await?;
        }
        let _ = writeln!(
            out,
            "{verb} the compatibility of {subject} to {wanted} (was {current})"
        );
    }

    let progress = bar(outcome.new_versions.len(), "pushing");
    let mut registered = 0;
    for new in &outcome.new_versions {
        let Some(file) = folder.file(&new.subject, new.version) else {
            continue;
        };
        progress.set_message(format!("{} v{}", new.subject, new.version));
        if dry_run {
            let _ = writeln!(
                out,
                "would register {} v{} ({})",
                new.subject,
                new.version,
                view.display(&file.path)
            );
        } else {
            let answer = client
                .register(&new.subject, &check::request(file))
                .await
                .with_context(|| format!("registering {}", view.display(&file.path)))?;
            let _ = write!(
                out,
                "{} {} v{} (id {})",
                style.green("registered"),
                new.subject,
                new.version,
                answer.id
            );
            if let Some(version) = answer.version
                && version != i64::from(new.version)
            {
                // The registry numbers versions itself (soft-deleted versions count).
                let _ = write!(out, ": the registry numbered it version {version}");
            }
            out.push('\n');
        }
        registered += 1;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let already = folder.files().count() - registered;
    if registered == 0 {
        let _ = writeln!(
            out,
            "eventschema push: nothing to register, all {already} versions are already in the registry"
        );
    } else {
        let _ = writeln!(
            out,
            "eventschema push: {registered} {}, {already} already in the registry",
            if dry_run {
                "to register (dry run)"
            } else {
                "registered"
            }
        );
    }
    print!("{out}");
    Ok(0)
}
