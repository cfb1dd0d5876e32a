//! The result of `check` (and of `push`'s check) and its four renderings: human, JSON
//! (stable, documented in docs/ci.md), GitHub workflow annotations and JUnit XML.

use std::fmt::Write as _;

use serde::Serialize;

/// Version of the JSON output's shape; bumped only on an incompatible change.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// Everything `check` found. Files and errors are sorted by path, so output is stable.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format_version: u32,
    /// `git:REF` or `registry`.
    pub against: String,
    pub compatible: bool,
    pub files: Vec<CheckedFile>,
    pub errors: Vec<ReportError>,
}

/// One new or changed schema file and what checking it found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedFile {
    pub path: String,
    pub subject: String,
    pub version: i32,
    pub schema_type: String,
    pub level: String,
    /// Where the level came from: `eventschema.toml`, `registry` or `default`.
    pub level_source: String,
    /// The versions the level compares with, newest first.
    pub compared_with: Vec<i32>,
    pub compatible: bool,
    pub findings: Vec<Finding>,
    /// A remark for the reader (e.g. an existing version edited in place).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One reason a file is not compatible.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: String,
    /// `BACKWARD` or `FORWARD`; absent for findings that are not a compatibility check
    /// (`HISTORY_REWRITTEN`, `VERSION_MISMATCH`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    pub against_version: i32,
    pub old_path: String,
    pub new_path: String,
    pub message: String,
}

impl Finding {
    /// The path a reviewer should look at: in the new schema for backward checks (the new
    /// reader is what fails), in the old one for forward checks, as Confluent reports it.
    pub fn path(&self) -> &str {
        match self.direction.as_deref() {
            Some("FORWARD") => &self.old_path,
            _ => &self.new_path,
        }
    }
}

/// A file that could not be checked (malformed schema, bad layout, unreadable).
#[derive(Debug, Clone, Serialize)]
pub struct ReportError {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// `INVALID_SCHEMA`, `INVALID_FOLDER` or `INVALID_CONFIG`.
    pub kind: String,
    pub message: String,
}

impl Report {
    pub fn new(against: String, mut files: Vec<CheckedFile>, mut errors: Vec<ReportError>) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        errors.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        let compatible = errors.is_empty() && files.iter().all(|file| file.compatible);
        Report {
            format_version: JSON_FORMAT_VERSION,
            against,
            compatible,
            files,
            errors,
        }
    }

    /// 0 all compatible, 1 any incompatibility, 2 any file that could not be checked.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() {
            2
        } else if self.files.iter().any(|file| !file.compatible) {
            1
        } else {
            0
        }
    }

    fn summary(&self) -> String {
        let incompatible = self.files.iter().filter(|f| !f.compatible).count();
        let mut text = format!(
            "eventschema check against {}: {} file{} checked, {} incompatible",
            self.against,
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" },
            incompatible
        );
        if !self.errors.is_empty() {
            let _ = write!(
                text,
                ", {} error{}",
                self.errors.len(),
                if self.errors.len() == 1 { "" } else { "s" }
            );
        }
        text
    }
}

/// Terminal styling, off unless stdout is a terminal and NO_COLOR is unset.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn detect() -> Style {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Style {
            color: std::io::stdout().is_terminal() && !no_color,
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn red(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

fn versions(list: &[i32]) -> String {
    let names: Vec<String> = list.iter().map(|v| format!("v{v}")).collect();
    names.join(", ")
}

/// One line per finding (file, subject, versions, kind, path, message) and per error, an
/// `ok` line per compatible file, then a summary.
pub fn human(report: &Report, style: Style) -> String {
    let mut out = String::new();
    for error in &report.errors {
        let position = match (error.line, error.column) {
            (Some(line), Some(column)) => format!(":{line}:{column}"),
            (Some(line), None) => format!(":{line}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}: {}{position}: {}",
            style.red("error"),
            style.bold(&error.path),
            error.message
        );
    }
    for file in &report.files {
        let against = if file.level == "NONE" {
            "not compared (level NONE)".to_owned()
        } else if file.compared_with.is_empty() {
            "nothing to compare with".to_owned()
        } else {
            format!("vs {}", versions(&file.compared_with))
        };
        if file.compatible {
            let _ = writeln!(
                out,
                "{}: {}: {} v{} {} ({})",
                style.green("ok"),
                file.path,
                file.subject,
                file.version,
                against,
                file.level
            );
        }
        for finding in &file.findings {
            let direction = finding
                .direction
                .as_deref()
                .map(|d| format!(", {} check", d.to_ascii_lowercase()))
                .unwrap_or_default();
            let path = finding.path();
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" at {path}")
            };
            let _ = writeln!(
                out,
                "{}: {}: {} v{} vs v{} ({}{direction}): {}{at}: {}",
                style.red("incompatible"),
                style.bold(&file.path),
                file.subject,
                file.version,
                finding.against_version,
                file.level,
                style.bold(&finding.kind),
                finding.message
            );
        }
        if let Some(note) = &file.note {
            let _ = writeln!(out, "  {}", style.dim(&format!("note: {note}")));
        }
    }
    if report.files.is_empty() && report.errors.is_empty() {
        let _ = writeln!(
            out,
            "eventschema check against {}: no new or changed schema files",
            report.against
        );
    } else {
        let _ = writeln!(out, "{}", report.summary());
    }
    out
}

/// The JSON document described in docs/ci.md.
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// GitHub's escaping of a workflow command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a workflow command's property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::error file=...,line=...,title=KIND::message` per finding and per error, then a summary.
pub fn github(report: &Report) -> String {
    let mut out = String::new();
    for error in &report.errors {
        let mut properties = format!("file={}", escape_property(&error.path));
        let _ = write!(properties, ",line={}", error.line.unwrap_or(1));
        if let Some(column) = error.column {
            let _ = write!(properties, ",col={column}");
        }
        let _ = writeln!(
            out,
            "::error {properties},title={}::{}",
            escape_property(&error.kind),
            escape_data(&error.message)
        );
    }
    for file in &report.files {
        for finding in &file.findings {
            let direction = finding
                .direction
                .as_deref()
                .map(|d| format!(", {} check", d.to_ascii_lowercase()))
                .unwrap_or_default();
            let path = finding.path();
            let at = if path.is_empty() {
                String::new()
            } else {
                format!(" (at {path})")
            };
            let message = format!(
                "{} v{} is incompatible with v{} ({}{direction}): {}{at}",
                file.subject, file.version, finding.against_version, file.level, finding.message
            );
            let _ = writeln!(
                out,
                "::error file={},line=1,title={}::{}",
                escape_property(&file.path),
                escape_property(&finding.kind),
                escape_data(&message)
            );
        }
    }
    let _ = writeln!(out, "{}", report.summary());
    out
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// One testsuite; one testcase per checked file (failures carry the findings) and per file
/// that could not be checked (as an error).
pub fn junit(report: &Report) -> String {
    let failures = report.files.iter().filter(|f| !f.compatible).count();
    let tests = report.files.len() + report.errors.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"eventschema check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{}\">",
        report.errors.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"eventschema check against {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{}\">",
        xml(&report.against),
        report.errors.len()
    );
    for file in &report.files {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(&file.subject),
            xml(&file.path)
        );
        if file.compatible {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        let kinds: Vec<&str> = file.findings.iter().map(|f| f.kind.as_str()).collect();
        let mut body = String::new();
        for finding in &file.findings {
            let _ = writeln!(
                body,
                "{} v{} vs v{} ({}): {} at {}: {}",
                file.subject,
                file.version,
                finding.against_version,
                file.level,
                finding.kind,
                finding.path(),
                finding.message
            );
        }
        let _ = writeln!(
            out,
            "      <failure message=\"{} incompatible with {}\" type=\"{}\">{}</failure>",
            xml(&file.path),
            xml(&versions(&file.compared_with)),
            xml(&kinds.join(",")),
            xml(&body)
        );
        out.push_str("    </testcase>\n");
    }
    for error in &report.errors {
        let _ = writeln!(
            out,
            "    <testcase classname=\"eventschema\" name=\"{}\">\n      <error message=\"{}\" type=\"{}\"/>\n    </testcase>",
            xml(&error.path),
            xml(&error.message),
            xml(&error.kind)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn github_escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("50%\r\nx: y, z"), "50%25%0D%0Ax: y, z");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn junit_escapes_markup() {
        assert_eq!(xml("<a & \"b\">\u{1}"), "&lt;a &amp; &quot;b&quot;&gt;?");
    }
}
