//! The `schemas/` folder convention (docs/schemas-folder.md): `<subject>/<version>.avsc` or
//! `<version>.json` plus an optional `eventschema.toml`, read from disk or from any list of
//! files (a git revision), and resolved into parsed schemas through `eventschema-core`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use eventschema_core::schema::ResolvedReference;
use eventschema_core::{
    CompatibilityLevel, Limits, ParsedSchema, Reference, ReferenceResolver, ResolveError,
    SchemaError, SchemaType,
};
use serde::Deserialize;

/// The optional configuration file at the root of the folder.
pub const CONFIG_FILE: &str = "eventschema.toml";

/// One schema version file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaFile {
    pub subject: String,
    pub version: i32,
    /// Path relative to the folder root, `/`-separated (`orders.order-placed/2.avsc`).
    pub path: String,
    pub schema_type: SchemaType,
    pub text: String,
    /// From `eventschema.toml`; empty for most schemas.
    pub references: Vec<Reference>,
}

/// A subject's settings from `eventschema.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectConfig {
    pub compatibility: Option<CompatibilityLevel>,
}

/// A schemas folder that passed the layout rules (schemas are parsed on demand, so that
/// one bad file does not hide the others).
#[derive(Debug, Clone, Default)]
pub struct SchemaFolder {
    subjects: BTreeMap<String, Vec<SchemaFile>>,
    default_compatibility: Option<CompatibilityLevel>,
    subject_config: BTreeMap<String, SubjectConfig>,
}

/// One thing wrong with a folder; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `eventschema.toml` is not valid TOML or not the expected shape.
    #[error("{path}{}: {message}", position.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Config {
        path: String,
        position: Option<(usize, usize)>,
        message: String,
    },
    /// A file or folder that breaks the naming rules (bad name, gap in versions, not UTF-8).
    #[error("{path}: {message}")]
    Layout { path: String, message: String },
    /// A schema file that core refuses.
    #[error("{path}{}: {}", position_suffix(source), schema_message(source))]
    Schema {
        path: String,
        #[source]
        source: SchemaError,
    },
}

/// serde_json's messages end with "at line L column C", which the prefix already says.
fn schema_message(error: &SchemaError) -> String {
    match error {
        SchemaError::InvalidJson { message, .. } => {
            let short = message
                .rfind(" at line ")
                .and_then(|at| message.get(..at))
                .unwrap_or(message);
            format!("invalid JSON: {short}")
        }
        other => other.to_string(),
    }
}

fn position_suffix(error: &SchemaError) -> String {
    match error {
        SchemaError::InvalidJson { line, column, .. } => format!(":{line}:{column}"),
        _ => String::new(),
    }
}

impl FolderError {
    /// The file the error is about, relative to the folder root where it is in the folder.
    pub fn path(&self) -> String {
        match self {
            FolderError::Io { path, .. } => path.display().to_string(),
            FolderError::Config { path, .. }
            | FolderError::Layout { path, .. }
            | FolderError::Schema { path, .. } => path.clone(),
        }
    }

    /// Line and column (1-based) when known.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            FolderError::Config { position, .. } => *position,
            FolderError::Schema {
                source: SchemaError::InvalidJson { line, column, .. },
                ..
            } => Some((*line, *column)),
            _ => None,
        }
    }

    /// The message without the path and position prefix.
    pub fn message(&self) -> String {
        match self {
            FolderError::Io { source, .. } => source.to_string(),
            FolderError::Config { message, .. } | FolderError::Layout { message, .. } => {
                message.clone()
            }
            FolderError::Schema { source, .. } => schema_message(source),
        }
    }
}

/// Every problem found while reading a folder, in path order.
#[derive(Debug)]
pub struct FolderErrors(pub Vec<FolderError>);

impl fmt::Display for FolderErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_one_per_line(f, &self.0)
    }
}

/// How the error lists of codegen print: one problem a line, no trailing newline.
pub(crate) fn write_one_per_line<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str("\n")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl std::error::Error for FolderErrors {}

impl From<FolderError> for FolderErrors {
    fn from(error: FolderError) -> Self {
        FolderErrors(vec![error])
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    subjects: BTreeMap<String, RawSubject>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    compatibility: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubject {
    compatibility: Option<String>,
    #[serde(default)]
    versions: BTreeMap<String, RawVersion>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersion {
    #[serde(default)]
    references: Vec<Reference>,
}

impl SchemaFolder {
    /// Reads the folder at `root`. Files whose names start with `.` and `*.md` files are
    /// ignored; anything else that breaks the convention is an error.
    pub fn read_dir(root: &Path) -> Result<SchemaFolder, FolderErrors> {
        let io = |path: &Path, source| FolderError::Io {
            path: path.to_owned(),
            source,
        };
        let mut files = Vec::new();
        let mut errors = Vec::new();
        let top = std::fs::read_dir(root).map_err(|err| io(root, err))?;
        for entry in top {
            let entry = entry.map_err(|err| io(root, err))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                if ignored(&name) {
                    continue;
                }
                let inner = std::fs::read_dir(&path).map_err(|err| io(&path, err))?;
                for file in inner {
                    let file = file.map_err(|err| io(&path, err))?;
                    let file_name = file.file_name().to_string_lossy().into_owned();
                    let rel = format!("{name}/{file_name}");
                    if file.path().is_dir() {
                        if !ignored(&file_name) {
                            errors.push(layout(
                                &rel,
                                "unexpected folder: a subject folder holds only version files",
                            ));
                        }
                        continue;
                    }
                    match std::fs::read(file.path()) {
                        Ok(bytes) => files.push((rel, bytes)),
                        Err(err) => errors.push(io(&file.path(), err)),
                    }
                }
            } else if name == CONFIG_FILE {
                match std::fs::read(&path) {
                    Ok(bytes) => files.push((name, bytes)),
                    Err(err) => errors.push(io(&path, err)),
                }
            }
        }
        match Self::from_files(files) {
            Ok(folder) if errors.is_empty() => Ok(folder),
            Ok(_) => Err(FolderErrors(errors)),
            Err(FolderErrors(more)) => {
                errors.extend(more);
                errors.sort_by_key(FolderError::path);
                Err(FolderErrors(errors))
            }
        }
    }

    /// Builds a folder from `(path relative to the root, content)` pairs, e.g. the files of
    /// a git revision. Paths deeper than `<subject>/<file>` are errors, top-level files other
    /// than `eventschema.toml` are ignored.
    pub fn from_files(
        files: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> Result<SchemaFolder, FolderErrors> {
        let mut errors = Vec::new();
        let mut folder = SchemaFolder::default();
        let mut raw_config = None;
        let mut by_version: BTreeMap<String, BTreeMap<i32, Vec<SchemaFile>>> = BTreeMap::new();
        for (path, bytes) in files {
            let parts: Vec<&str> = path.split('/').collect();
            match parts.as_slice() {
                [name] if *name == CONFIG_FILE => match String::from_utf8(bytes) {
                    Ok(text) => raw_config = Some(text),
                    Err(_) => errors.push(layout(&path, "not UTF-8 text")),
                },
                [_] => {}
                [subject, file] => {
                    if ignored(subject) || ignored(file) {
                        continue;
                    }
                    match schema_file(subject, file, &path, bytes) {
                        Ok(found) => by_version
                            .entry(found.subject.clone())
                            .or_default()
                            .entry(found.version)
                            .or_default()
                            .push(found),
                        Err(err) => errors.push(err),
                    }
                }
                _ => {
                    if !parts.iter().any(|part| ignored(part)) {
                        errors.push(layout(
                            &path,
                            "unexpected nesting: schema files live at <subject>/<version>.avsc",
                        ));
                    }
                }
            }
        }
        for (subject, versions) in by_version {
            let mut list = Vec::new();
            for (version, mut found) in versions {
                if found.len() > 1 {
                    let names: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
                    errors.push(layout(
                        &names.join(", "),
                        &format!("version {version} of '{subject}' is defined more than once"),
                    ));
                }
                if let Some(first) = found.drain(..).next() {
                    list.push(first);
                }
            }
            // Versions are 1..=n: a gap means a file was lost or misnamed, and registering
            // around it would give the registry a different numbering than the folder.
            for (expected, file) in (1..).zip(&list) {
                if file.version != expected {
                    errors.push(layout(
                        &file.path,
                        &format!(
                            "versions of '{subject}' must be numbered 1, 2, 3, ... without gaps: version {expected} is missing"
                        ),
                    ));
                    break;
                }
            }
            folder.subjects.insert(subject, list);
        }
        if let Some(text) = raw_config
            && let Err(mut more) = folder.apply_config(&text)
        {
            errors.append(&mut more);
        }
        if errors.is_empty() {
            Ok(folder)
        } else {
            errors.sort_by_key(FolderError::path);
            Err(FolderErrors(errors))
        }
    }

    fn apply_config(&mut self, text: &str) -> Result<(), Vec<FolderError>> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| {
            vec![FolderError::Config {
                path: CONFIG_FILE.to_owned(),
                position: err.span().map(|span| line_column(text, span.start)),
                message: err.message().to_owned(),
            }]
        })?;
        let mut errors = Vec::new();
        let config_error = |message: String| FolderError::Config {
            path: CONFIG_FILE.to_owned(),
            position: None,
            message,
        };
        let level = |name: &Option<String>, errors: &mut Vec<FolderError>, context: &str| {
            let name = name.as_ref()?;
            match name.parse::<CompatibilityLevel>() {
                Ok(level) => Some(level),
                Err(err) => {
                    errors.push(config_error(format!("{context}: {err}")));
                    None
                }
            }
        };
        self.default_compatibility = level(&raw.defaults.compatibility, &mut errors, "[defaults]");
        for (subject, settings) in raw.subjects {
            let context = format!("[subjects.\"{subject}\"]");
            let Some(files) = self.subjects.get_mut(&subject) else {
                errors.push(config_error(format!(
                    "{context}: there is no folder '{subject}/' for this subject"
                )));
                continue;
            };
            for (key, version) in settings.versions {
                let Some(file) = key
                    .parse::<i32>()
                    .ok()
                    .and_then(|n| files.iter_mut().find(|file| file.version == n))
                else {
                    errors.push(config_error(format!(
                        "{context}: versions.\"{key}\" does not name a version file of the subject"
                    )));
                    continue;
                };
                file.references = version.references;
            }
            let compatibility = level(&settings.compatibility, &mut errors, &context);
            self.subject_config
                .insert(subject, SubjectConfig { compatibility });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Subject names, sorted.
    pub fn subject_names(&self) -> impl Iterator<Item = &str> {
        self.subjects.keys().map(String::as_str)
    }

    /// A subject's versions, oldest first (`None` for an unknown subject).
    pub fn versions(&self, subject: &str) -> Option<&[SchemaFile]> {
        self.subjects.get(subject).map(Vec::as_slice)
    }

    /// Every schema file, by subject then version.
    pub fn files(&self) -> impl Iterator<Item = &SchemaFile> {
        self.subjects.values().flatten()
    }

    /// One version of a subject.
    pub fn file(&self, subject: &str, version: i32) -> Option<&SchemaFile> {
        self.subjects
            .get(subject)?
            .iter()
            .find(|file| file.version == version)
    }

    /// The file at a folder-relative path.
    pub fn file_at(&self, path: &str) -> Option<&SchemaFile> {
        self.files().find(|file| file.path == path)
    }

    /// The level `eventschema.toml` sets for the subject: its own entry, else `[defaults]`;
    /// `None` when the file says nothing (callers then ask the registry or use BACKWARD).
    pub fn compatibility(&self, subject: &str) -> Option<CompatibilityLevel> {
        self.subject_compatibility(subject)
            .or(self.default_compatibility)
    }

    /// The level of the subject's own entry in `eventschema.toml`, without `[defaults]`.
    pub fn subject_compatibility(&self, subject: &str) -> Option<CompatibilityLevel> {
        self.subject_config.get(subject)?.compatibility
    }

    /// Subjects ordered so that every subject comes after the subjects its versions
    /// reference (then by name), the order in which they can be registered.
    pub fn subjects_in_dependency_order(&self) -> Vec<&str> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut order = Vec::new();
        for subject in self.subjects.keys() {
            let mut stack = vec![(subject.as_str(), false)];
            while let Some((current, expanded)) = stack.pop() {
                if done.contains(current) {
                    continue;
                }
                if expanded {
                    done.insert(current);
                    order.push(current);
                    continue;
                }
                stack.push((current, true));
                for file in self.subjects.get(current).into_iter().flatten() {
                    for reference in &file.references {
                        // A cycle simply stops here; parsing reports it with a clear error.
                        let pending = stack.iter().any(|(s, e)| *e && *s == reference.subject);
                        if let Some((name, _)) = self.subjects.get_key_value(&reference.subject)
                            && !pending
                            && !done.contains(name.as_str())
                        {
                            stack.push((name.as_str(), false));
                        }
                    }
                }
            }
        }
        order
    }

    /// Parses one file, resolving its references from this folder.
    pub fn parse(&self, file: &SchemaFile, limits: &Limits) -> Result<ParsedSchema, FolderError> {
        ParsedSchema::parse(file.schema_type, &file.text, &file.references, self, limits).map_err(
            |source| FolderError::Schema {
                path: file.path.clone(),
                source,
            },
        )
    }
}

impl ReferenceResolver for SchemaFolder {
    fn resolve(&self, reference: &Reference) -> Result<ResolvedReference, ResolveError> {
        let file = self
            .file(&reference.subject, reference.version)
            .ok_or_else(|| {
                ResolveError(format!(
                    "the schemas folder has no version {} of subject '{}'",
                    reference.version, reference.subject
                ))
            })?;
        Ok(ResolvedReference {
            schema_type: file.schema_type,
            schema: file.text.clone(),
            references: file.references.clone(),
        })
    }
}

fn ignored(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".md")
}

fn layout(path: &str, message: &str) -> FolderError {
    FolderError::Layout {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

fn schema_file(
    subject: &str,
    file: &str,
    path: &str,
    bytes: Vec<u8>,
) -> Result<SchemaFile, FolderError> {
    if subject.is_empty() || subject.chars().any(char::is_control) {
        return Err(layout(path, "the folder name is not a valid subject name"));
    }
    let (stem, schema_type) = if let Some(stem) = file.strip_suffix(".avsc") {
        (stem, SchemaType::Avro)
    } else if let Some(stem) = file.strip_suffix(".json") {
        (stem, SchemaType::Json)
    } else {
        return Err(layout(
            path,
            "unexpected file: expected <version>.avsc (Avro) or <version>.json (JSON Schema)",
        ));
    };
    let version = stem
        .parse::<i32>()
        .ok()
        .filter(|v| *v > 0 && !stem.starts_with(['0', '+']))
        .ok_or_else(|| {
            layout(
                path,
                "the file name must be a positive version number without leading zeros (1.avsc, 2.avsc, ...)",
            )
        })?;
    let text = String::from_utf8(bytes).map_err(|_| layout(path, "not UTF-8 text"))?;
    Ok(SchemaFile {
        subject: subject.to_owned(),
        version,
        path: path.to_owned(),
        schema_type,
        text,
        references: Vec::new(),
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec()))
            .collect()
    }

    const RECORD: &str = r#"{"type":"record","name":"A","fields":[{"name":"id","type":"string"}]}"#;

    #[test]
    fn reads_subjects_versions_and_levels() {
        let folder = SchemaFolder::from_files(files(&[
            ("a.b/1.avsc", RECORD),
            ("a.b/2.avsc", RECORD),
            ("c/1.json", r#"{"type":"object"}"#),
            ("README.md", "hello"),
            (
                "eventschema.toml",
                "[defaults]\ncompatibility = \"forward\"\n[subjects.\"a.b\"]\ncompatibility = \"FULL_TRANSITIVE\"\n",
            ),
        ]))
        .unwrap();
        assert_eq!(folder.subject_names().collect::<Vec<_>>(), ["a.b", "c"]);
        assert_eq!(folder.versions("a.b").unwrap().len(), 2);
        assert_eq!(
            folder.compatibility("a.b"),
            Some(CompatibilityLevel::FullTransitive)
        );
        assert_eq!(folder.compatibility("c"), Some(CompatibilityLevel::Forward));
        assert_eq!(folder.file("c", 1).unwrap().schema_type, SchemaType::Json);
        assert!(
            folder
                .parse(folder.file("a.b", 2).unwrap(), &Limits::DEFAULT)
                .is_ok()
        );
    }

    #[test]
    fn gaps_bad_names_and_duplicates_are_all_reported() {
        let err = SchemaFolder::from_files(files(&[
            ("a/1.avsc", RECORD),
            ("a/3.avsc", RECORD),
            ("b/01.avsc", RECORD),
            ("b/x.txt", RECORD),
            ("c/1.avsc", RECORD),
            ("c/1.json", "{}"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("a/3.avsc: versions of 'a'"), "{text}");
        assert!(text.contains("version 2 is missing"), "{text}");
        assert!(text.contains("b/01.avsc: the file name"), "{text}");
        assert!(text.contains("b/x.txt: unexpected file"), "{text}");
        assert!(text.contains("defined more than once"), "{text}");
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let folder = SchemaFolder::from_files(files(&[(
            "a/1.avsc",
            "{\n  \"type\": \"record\",\n  oops\n}",
        )]))
        .unwrap();
        let err = folder
            .parse(folder.file("a", 1).unwrap(), &Limits::DEFAULT)
            .unwrap_err();
        assert_eq!(err.position(), Some((3, 3)));
        assert!(err.to_string().starts_with("a/1.avsc:3:3: "), "{err}");
    }

    #[test]
    fn config_errors_name_the_position() {
        let err = SchemaFolder::from_files(files(&[
            ("a/1.avsc", RECORD),
            (
                "eventschema.toml",
                "[defaults]\ncompatibility = \"SIDEWAYS\"\n[oops\n",
            ),
        ]))
        .unwrap_err();
        assert!(err.to_string().starts_with("eventschema.toml:3:"), "{err}");
        let err = SchemaFolder::from_files(files(&[
            ("a/1.avsc", RECORD),
            (
                "eventschema.toml",
                "[defaults]\ncompatibility = \"SIDEWAYS\"\n[subjects.zzz]\n",
            ),
        ]))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("invalid compatibility level 'SIDEWAYS'"),
            "{text}"
        );
        assert!(text.contains("no folder 'zzz/'"), "{text}");
    }

    #[test]
    fn references_resolve_within_the_folder_and_order_subjects() {
        let folder = SchemaFolder::from_files(files(&[
            ("a/1.avsc", r#"{"type":"record","name":"A","fields":[{"name":"b","type":"B"}]}"#),
            ("b/1.avsc", r#"{"type":"record","name":"B","fields":[]}"#),
            (
                "eventschema.toml",
                "[subjects.a.versions.1]\nreferences = [{ name = \"B\", subject = \"b\", version = 1 }]\n",
            ),
        ]))
        .unwrap();
        assert_eq!(folder.subjects_in_dependency_order(), ["b", "a"]);
        folder
            .parse(folder.file("a", 1).unwrap(), &Limits::DEFAULT)
            .unwrap();
    }

    #[test]
    fn reads_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("s")).unwrap();
        std::fs::write(dir.path().join("s/1.avsc"), RECORD).unwrap();
        std::fs::write(dir.path().join("s/.gitkeep"), "").unwrap();
        let folder = SchemaFolder::read_dir(dir.path()).unwrap();
        assert_eq!(folder.file("s", 1).unwrap().path, "s/1.avsc");
    }
}
