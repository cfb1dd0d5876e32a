//! `eventschema check`: finds the new and changed files of a schemas folder (against a git
//! revision or a registry) and checks each against the versions before it with
//! `eventschema-core`, at the subject's level. `push` reuses it to decide what to register.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use eventschema_codegen::folder::{FolderError, SchemaFile, SchemaFolder};
use eventschema_core::schema::ResolvedReference;
use eventschema_core::{
    CompatibilityLevel, Limits, ParsedSchema, Reference, ReferenceResolver, ResolveError,
    SchemaType, check_compatibility,
};
use eventschema_registry::Client;
use eventschema_registry::api::{SchemaRequest, SubjectVersionResponse};

use crate::git;
use crate::report::{CheckedFile, Finding, Report, ReportError};

/// What the folder is compared with.
#[derive(Debug, Clone)]
pub enum Against {
    Git(String),
    Registry(String),
}

/// The folder as the user named it, for printing paths relative to where they run.
#[derive(Debug, Clone)]
pub struct Folder<'a> {
    pub dir: &'a Path,
    pub display_root: String,
}

impl<'a> Folder<'a> {
    pub fn new(dir: &'a Path) -> Self {
        let given = dir.to_string_lossy().replace('\\', "/");
        let trimmed = given.trim_end_matches('/');
        let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
        let display_root = if trimmed == "." || trimmed.is_empty() {
            String::new()
        } else {
            format!("{trimmed}/")
        };
        Folder { dir, display_root }
    }

    pub fn display(&self, relative: &str) -> String {
        format!("{}{relative}", self.display_root)
    }

    /// Reads the folder; layout and config errors become report errors.
    pub fn read(&self) -> Result<SchemaFolder, Vec<ReportError>> {
        if !self.dir.is_dir() {
            return Err(vec![ReportError {
                path: self.display_root.trim_end_matches('/').to_owned(),
                line: None,
                column: None,
                kind: "INVALID_FOLDER".into(),
                message: "no such directory (use --schemas DIR)".into(),
            }]);
        }
        SchemaFolder::read_dir(self.dir)
            .map_err(|errors| errors.0.iter().map(|e| self.error(e)).collect())
    }

    pub fn error(&self, error: &FolderError) -> ReportError {
        let (line, column) = match error.position() {
            Some((line, column)) => (Some(line), Some(column)),
            None => (None, None),
        };
        let kind = match error {
            FolderError::Schema { .. } => "INVALID_SCHEMA",
            FolderError::Config { .. } => "INVALID_CONFIG",
            FolderError::Io { .. } | FolderError::Layout { .. } => "INVALID_FOLDER",
        };
        let path = match error {
            FolderError::Io { path, .. } => path.display().to_string(),
            _ => self.display(&error.path()),
        };
        ReportError {
            path,
            line,
            column,
            kind: kind.into(),
            message: error.message(),
        }
    }
}

/// A version `push` would register, in registration order.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub subject: String,
    pub version: i32,
}

/// The outcome of a check: the report, and for a registry the versions it lacks.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub folder: Option<SchemaFolder>,
    pub new_versions: Vec<NewVersion>,
}

/// The request that registers or looks up a folder file.
pub fn request(file: &SchemaFile) -> SchemaRequest {
    SchemaRequest {
        schema: Some(serde_json::Value::String(file.text.clone())),
        schema_type: Some(file.schema_type.as_str().to_owned()),
        references: (!file.references.is_empty()).then(|| file.references.clone()),
        id: None,
        version: None,
    }
}

/// Where a level came from.
fn level_from_folder(
    folder: &SchemaFolder,
    subject: &str,
) -> Option<(CompatibilityLevel, &'static str)> {
    folder
        .compatibility(subject)
        .map(|level| (level, "eventschema.toml"))
}

/// One compatibility check of `candidate` against `previous` (oldest first).
fn check_one(
    path: String,
    file: &SchemaFile,
    candidate: &ParsedSchema,
    previous: &[(i32, &ParsedSchema)],
    (level, level_source): (CompatibilityLevel, &str),
) -> CheckedFile {
    let report = check_compatibility(level, candidate, previous);
    let compared_with: Vec<i32> = if level == CompatibilityLevel::None {
        Vec::new()
    } else if level.is_transitive() {
        previous.iter().rev().map(|(v, _)| *v).collect()
    } else {
        previous.last().map(|(v, _)| *v).into_iter().collect()
    };
    let findings: Vec<Finding> = report
        .incompatibilities
        .into_iter()
        .map(|found| Finding {
            kind: found.kind.to_string(),
            direction: Some(found.direction.as_str().to_owned()),
            against_version: found.against_version.unwrap_or_default(),
            old_path: found.old_path,
            new_path: found.new_path,
            message: found.message,
        })
        .collect();
    CheckedFile {
        path,
        subject: file.subject.clone(),
        version: file.version,
        schema_type: file.schema_type.as_str().to_owned(),
        level: level.as_str().to_owned(),
        level_source: level_source.to_owned(),
        compared_with,
        compatible: findings.is_empty(),
        findings,
        note: None,
    }
}

/// Parses every file of the folder once; failures become report errors.
fn parse_all<'f>(
    folder: &'f SchemaFolder,
    view: &Folder<'_>,
    limits: &Limits,
    errors: &mut Vec<ReportError>,
) -> BTreeMap<(String, i32), (&'f SchemaFile, ParsedSchema)> {
    let mut parsed = BTreeMap::new();
    for file in folder.files() {
        match folder.parse(file, limits) {
            Ok(schema) => {
                parsed.insert((file.subject.clone(), file.version), (file, schema));
            }
            Err(err) => errors.push(view.error(&err)),
        }
    }
    parsed
}

/// Checks the folder against a git revision: files absent at `rev` or whose content
/// differs are checked against the folder's earlier versions (and, for a file edited in
/// place, against its content at `rev`).
pub fn against_git(view: &Folder<'_>, rev: &str, limits: &Limits) -> anyhow::Result<Outcome> {
    let against = format!("git:{rev}");
    let folder = match view.read() {
        Ok(folder) => folder,
        Err(errors) => return Ok(outcome(Report::new(against, Vec::new(), errors), None)),
    };
    let baseline = git::files_at(view.dir, rev)?;
    let mut errors = Vec::new();
    let changed: Vec<&SchemaFile> = folder
        .files()
        .filter(|file| {
            baseline
                .get(&file.path)
                .is_none_or(|old| *old != file.text.as_bytes())
        })
        .collect();
    let mut files = Vec::new();
    // Only what changed must parse, plus what it is compared with.
    let mut cache: BTreeMap<(String, i32), Option<ParsedSchema>> = BTreeMap::new();
    let mut parse = |file: &SchemaFile, errors: &mut Vec<ReportError>| -> Option<ParsedSchema> {
        cache
            .entry((file.subject.clone(), file.version))
            .or_insert_with(|| match folder.parse(file, limits) {
                Ok(schema) => Some(schema),
                Err(err) => {
                    errors.push(view.error(&err));
                    None
                }
            })
            .clone()
    };
    for file in &changed {
        let Some(candidate) = parse(file, &mut errors) else {
            continue;
        };
        let mut previous = Vec::new();
        let mut broken = false;
        for earlier in folder.versions(&file.subject).unwrap_or_default() {
            if earlier.version >= file.version {
                break;
            }
            match parse(earlier, &mut errors) {
                Some(schema) => previous.push((earlier.version, schema)),
                None => broken = true,
            }
        }
        let mut note = None;
        // When the old content was broken, the fix is what is being checked: nothing to
        // compare it with.
        if let Some(old_bytes) = baseline.get(&file.path)
            && let Ok(schema) = ParsedSchema::parse(
                file.schema_type,
                &String::from_utf8_lossy(old_bytes),
                &file.references,
                &folder,
                limits,
            )
        {
            previous.push((file.version, schema));
            note = Some(format!(
                "version {} was edited in place: compared with its content at {rev}; if it was already pushed, the registry keeps the old content",
                file.version
            ));
        }
        if broken {
            continue;
        }
        let level = level_from_folder(&folder, &file.subject)
            .unwrap_or((CompatibilityLevel::Backward, "default"));
        let refs: Vec<(i32, &ParsedSchema)> = previous.iter().map(|(v, s)| (*v, s)).collect();
        let mut checked = check_one(view.display(&file.path), file, &candidate, &refs, level);
        checked.note = note;
        files.push(checked);
    }
    errors.dedup_by(|a, b| a.path == b.path && a.message == b.message);
    Ok(outcome(Report::new(against, files, errors), Some(folder)))
}

fn outcome(report: Report, folder: Option<SchemaFolder>) -> Outcome {
    Outcome {
        report,
        folder,
        new_versions: Vec::new(),
    }
}

/// Referenced schemas fetched from a registry ahead of parsing (core's resolver is
/// synchronous, the client is not).
#[derive(Debug, Default)]
pub struct Fetched(BTreeMap<(String, i32), ResolvedReference>);

impl ReferenceResolver for Fetched {
    fn resolve(&self, reference: &Reference) -> Result<ResolvedReference, ResolveError> {
        self.0
            .get(&(reference.subject.clone(), reference.version))
            .cloned()
            .ok_or_else(|| {
                ResolveError(format!(
                    "version {} of '{}' is not in the registry",
                    reference.version, reference.subject
                ))
            })
    }
}

/// Fetches every schema `references` reach, transitively (bounded by `limits`).
pub async fn fetch_references(
    client: &Client,
    references: &[Reference],
    limits: &Limits,
) -> anyhow::Result<Fetched> {
    let mut fetched = Fetched::default();
    let mut pending: Vec<Reference> = references.to_vec();
    while let Some(reference) = pending.pop() {
        let key = (reference.subject.clone(), reference.version);
        if fetched.0.contains_key(&key) {
            continue;
        }
        if fetched.0.len() >= limits.max_references {
            anyhow::bail!("more than {} referenced schemas", limits.max_references);
        }
        let found = client
            .version(&reference.subject, reference.version)
            .await?;
        pending.extend(found.references.iter().cloned());
        fetched.0.insert(
            key,
            ResolvedReference {
                schema_type: schema_type(&found)?,
                schema: found.schema,
                references: found.references,
            },
        );
    }
    Ok(fetched)
}

fn schema_type(found: &SubjectVersionResponse) -> anyhow::Result<SchemaType> {
    let name = found.schema_type.as_deref().unwrap_or("AVRO");
    name.parse()
        .with_context(|| format!("version {} of '{}'", found.version, found.subject))
}

/// Parses a version as the registry returned it.
pub async fn parse_registered(
    client: &Client,
    found: &SubjectVersionResponse,
    limits: &Limits,
) -> anyhow::Result<ParsedSchema> {
    let resolver = fetch_references(client, &found.references, limits).await?;
    ParsedSchema::parse(
        schema_type(found)?,
        &found.schema,
        &found.references,
        &resolver,
        limits,
    )
    .with_context(|| {
        format!(
            "the registry's version {} of '{}' does not parse",
            found.version, found.subject
        )
    })
}

/// Checks the folder against a registry: versions the registry does not hold yet are new
/// and checked against the registry's versions plus the folder's earlier new ones; a file
/// whose version the registry holds with other content is reported (history rewritten).
pub async fn against_registry(
    view: &Folder<'_>,
    client: &Client,
    limits: &Limits,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<Outcome> {
    let against = "registry".to_owned();
    let folder = match view.read() {
        Ok(folder) => folder,
        Err(errors) => return Ok(outcome(Report::new(against, Vec::new(), errors), None)),
    };
    let mut errors = Vec::new();
    let parsed = parse_all(&folder, view, limits, &mut errors);
    let mut files = Vec::new();
    let mut new_versions = Vec::new();
    for subject in folder.subjects_in_dependency_order() {
        let registered = client.versions(subject).await?;
        let mut registry_schemas: Vec<(i32, ParsedSchema)> = Vec::new();
        for version in &registered {
            let found = client.version(subject, *version).await?;
            registry_schemas.push((*version, parse_registered(client, &found, limits).await?));
        }
        let mut folder_new: Vec<(i32, &ParsedSchema)> = Vec::new();
        let mut level = None;
        for file in folder.versions(subject).unwrap_or_default() {
            progress(&file.path);
            let Some((_, candidate)) = parsed.get(&(file.subject.clone(), file.version)) else {
                continue;
            };
            let path = view.display(&file.path);
            let found = client.lookup(subject, &request(file)).await?;
            if found
                .as_ref()
                .is_some_and(|f| f.version == i64::from(file.version))
            {
                continue;
            }
            let same_number = registry_schemas.iter().find(|(v, _)| *v == file.version);
            let mismatch = match (same_number, &found) {
                // The lookup may answer a later version holding the same schema.
                (Some((_, stored)), _)
                    if stored.normalized_string() == candidate.normalized_string() =>
                {
                    continue;
                }
                (Some(_), _) => Some(Finding {
                    kind: "HISTORY_REWRITTEN".into(),
                    direction: None,
                    against_version: file.version,
                    old_path: String::new(),
                    new_path: String::new(),
                    message: format!(
                        "the registry's version {} of '{subject}' has different content: registered versions never change, so add the change as a new version file instead of editing this one",
                        file.version
                    ),
                }),
                (None, Some(other)) => Some(Finding {
                    kind: "VERSION_MISMATCH".into(),
                    direction: None,
                    against_version: i32::try_from(other.version).unwrap_or_default(),
                    old_path: String::new(),
                    new_path: String::new(),
                    message: format!(
                        "the registry already holds this schema as version {} of '{subject}', so registering it would not create version {}",
                        other.version, file.version
                    ),
                }),
                (None, None) => None,
            };
            if let Some(finding) = mismatch {
                files.push(CheckedFile {
                    path,
                    subject: subject.to_owned(),
                    version: file.version,
                    schema_type: file.schema_type.as_str().to_owned(),
                    level: String::new(),
                    level_source: String::new(),
                    compared_with: vec![finding.against_version],
                    compatible: false,
                    findings: vec![finding],
                    note: None,
                });
                continue;
            }
            let level = match level {
                Some(level) => level,
                None => {
                    let resolved = match level_from_folder(&folder, subject) {
                        Some(found) => found,
                        None => {
                            let name = client.effective_compatibility(subject).await?;
                            let parsed: CompatibilityLevel = name
                                .parse()
                                .with_context(|| format!("the registry's level for '{subject}'"))?;
                            (parsed, "registry")
                        }
                    };
                    *level.insert(resolved)
                }
            };
            let mut previous: Vec<(i32, &ParsedSchema)> =
                registry_schemas.iter().map(|(v, s)| (*v, s)).collect();
            previous.extend(folder_new.iter().copied());
            previous.sort_by_key(|(v, _)| *v);
            files.push(check_one(path, file, candidate, &previous, level));
            folder_new.push((file.version, candidate));
            new_versions.push(NewVersion {
                subject: subject.to_owned(),
                version: file.version,
            });
        }
    }
    Ok(Outcome {
        report: Report::new(against, files, errors),
        folder: Some(folder),
        new_versions,
    })
}
