//! The registry's rules: what registering, looking up, testing, configuring and deleting
//! mean, independent of HTTP. Parsing, canonical forms and compatibility are asked of
//! `eventschema-core`; persistence of [`crate::store`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use eventschema_core::schema::ResolvedReference;
use eventschema_core::{
    CompatibilityLevel, CompatibilityReport, Limits, ParsedSchema, Reference, ReferenceResolver,
    ResolveError, SchemaError, SchemaType, check_compatibility,
};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::api::{CompatibilityResponse, RegisterResponse, SchemaRequest, SubjectVersionResponse};
use crate::error::ApiError;
use crate::mode::Mode;
use crate::store::{self, GLOBAL_SCOPE, Settings, Store, StoredSchema, VersionRow};

/// A version in a path: a number in `1..=2^31-1`, or the newest (`latest` or `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    Latest,
    Number(i64),
}

impl VersionSpec {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        if text.eq_ignore_ascii_case("latest") || text == "-1" {
            return Ok(VersionSpec::Latest);
        }
        match text.parse::<i64>() {
            Ok(number) if (1..=i64::from(i32::MAX)).contains(&number) => {
                Ok(VersionSpec::Number(number))
            }
            _ => Err(ApiError::invalid_version(text)),
        }
    }
}

/// Longest accepted subject name. Confluent has no limit; ours keeps keys and logs sane.
const MAX_SUBJECT_LEN: usize = 4096;
/// Parsed and stored schemas kept in memory; ids are immutable, so entries never go stale
/// except through hard deletes, which evict them.
const MAX_CACHED_SCHEMAS: usize = 100_000;

/// Refuses subject names Confluent refuses (empty, control characters, reserved names).
pub fn validate_subject(subject: &str) -> Result<(), ApiError> {
    if subject.is_empty() {
        return Err(ApiError::invalid_subject(subject, "it is empty"));
    }
    if subject.chars().any(char::is_control) {
        return Err(ApiError::invalid_subject(
            subject,
            "it contains control characters",
        ));
    }
    if subject.len() > MAX_SUBJECT_LEN {
        return Err(ApiError::invalid_subject(
            subject,
            &format!("it is longer than {MAX_SUBJECT_LEN} bytes"),
        ));
    }
    if subject == "__GLOBAL" || subject == "__EMPTY" {
        return Err(ApiError::invalid_subject(subject, "the name is reserved"));
    }
    Ok(())
}

/// Options of register, lookup and compatibility requests (from the query string).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestFlags {
    pub normalize: bool,
    pub force: bool,
    pub verbose: bool,
    pub deleted: bool,
}

/// The registry: storage plus the caches that make reads by id cheap.
#[derive(Debug)]
pub struct Registry {
    store: Store,
    limits: Limits,
    default_compatibility: CompatibilityLevel,
    stored: RwLock<HashMap<i64, Arc<StoredSchema>>>,
    parsed: RwLock<HashMap<i64, Arc<ParsedSchema>>>,
}

fn cache_get<T>(cache: &RwLock<HashMap<i64, Arc<T>>>, id: i64) -> Option<Arc<T>> {
    // A poisoned lock only means another request panicked mid-insert of an immutable
    // value; the map itself is still consistent.
    let map = cache
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.get(&id).cloned()
}

fn cache_put<T>(cache: &RwLock<HashMap<i64, Arc<T>>>, id: i64, value: Arc<T>) {
    let mut map = cache
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if map.len() >= MAX_CACHED_SCHEMAS {
        map.clear();
    }
    map.insert(id, value);
}

fn cache_evict<T>(cache: &RwLock<HashMap<i64, Arc<T>>>, ids: &[i64]) {
    let mut map = cache
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for id in ids {
        map.remove(id);
    }
}

/// References resolved ahead of a parse, since core resolves synchronously.
struct PrefetchedReferences(HashMap<(String, i32), ResolvedReference>);

impl ReferenceResolver for PrefetchedReferences {
    fn resolve(&self, reference: &Reference) -> Result<ResolvedReference, ResolveError> {
        self.0
            .get(&(reference.subject.clone(), reference.version))
            .cloned()
            .ok_or_else(|| {
                ResolveError(format!(
                    "subject '{}' version {} is not registered",
                    reference.subject, reference.version
                ))
            })
    }
}

/// The key under which equal content shares one id: type, stored text and references.
fn content_key(schema_type: SchemaType, text: &str, references: &[Reference]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(schema_type.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    for reference in references {
        hasher.update([0]);
        hasher.update(reference.name.as_bytes());
        hasher.update([1]);
        hasher.update(reference.subject.as_bytes());
        hasher.update([1]);
        hasher.update(reference.version.to_be_bytes());
    }
    hex::encode(hasher.finalize())
}

fn schema_error(err: SchemaError, schema_type: SchemaType) -> ApiError {
    match err {
        SchemaError::TooLarge { .. } => ApiError::schema_too_large(err.to_string()),
        other => ApiError::invalid_schema(format!("Invalid schema of type {schema_type}: {other}")),
    }
}

/// A schema request taken apart and parsed.
struct Candidate {
    schema_type: SchemaType,
    parsed: ParsedSchema,
    references: Vec<Reference>,
}

fn type_response(schema_type: SchemaType) -> Option<String> {
    Some(schema_type.as_str().to_owned())
}

impl Registry {
    pub fn new(store: Store, limits: Limits) -> Self {
        Registry {
            store,
            limits,
            default_compatibility: CompatibilityLevel::Backward,
            stored: RwLock::new(HashMap::new()),
            parsed: RwLock::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, ApiError> {
        Ok(self.store.acquire().await?)
    }

    // ----- schemas by id -------------------------------------------------------------

    async fn stored_schema(
        &self,
        conn: &mut AnyConnection,
        id: i64,
    ) -> Result<Option<Arc<StoredSchema>>, ApiError> {
        if let Some(hit) = cache_get(&self.stored, id) {
            return Ok(Some(hit));
        }
        let Some(schema) = store::schema_by_id(conn, id).await? else {
            return Ok(None);
        };
        let schema = Arc::new(schema);
        cache_put(&self.stored, id, schema.clone());
        Ok(Some(schema))
    }

    /// `GET /schemas/ids/{id}`: served from memory after the first read.
    pub async fn schema_by_id(&self, id: i64) -> Result<Arc<StoredSchema>, ApiError> {
        if let Some(hit) = cache_get(&self.stored, id) {
            return Ok(hit);
        }
        let mut conn = self.conn().await?;
        self.stored_schema(&mut conn, id)
            .await?
            .ok_or_else(|| ApiError::schema_not_found(id))
    }

    /// The parsed form of a stored schema, cached by id.
    async fn parsed_schema(
        &self,
        conn: &mut AnyConnection,
        id: i64,
    ) -> Result<Arc<ParsedSchema>, ApiError> {
        if let Some(hit) = cache_get(&self.parsed, id) {
            return Ok(hit);
        }
        let stored = self
            .stored_schema(conn, id)
            .await?
            .ok_or_else(|| ApiError::store(format!("schema {id} is referenced but missing")))?;
        let resolver = self.prefetch_references(conn, &stored.references).await?;
        let parsed = ParsedSchema::parse(
            stored.schema_type,
            &stored.schema,
            &stored.references,
            &resolver,
            &self.limits,
        )
        .map_err(|err| ApiError::store(format!("stored schema {id} no longer parses: {err}")))?;
        let parsed = Arc::new(parsed);
        cache_put(&self.parsed, id, parsed.clone());
        Ok(parsed)
    }

    /// Fetches every schema `references` lead to, transitively, so that core can resolve
    /// them synchronously.
    async fn prefetch_references(
        &self,
        conn: &mut AnyConnection,
        references: &[Reference],
    ) -> Result<PrefetchedReferences, ApiError> {
        let mut resolved = HashMap::new();
        let mut queue: VecDeque<Reference> = references.iter().cloned().collect();
        while let Some(reference) = queue.pop_front() {
            let key = (reference.subject.clone(), reference.version);
            if resolved.contains_key(&key) {
                continue;
            }
            if resolved.len() >= self.limits.max_references {
                return Err(ApiError::invalid_schema(format!(
                    "Invalid schema: more than {} referenced schemas",
                    self.limits.max_references
                )));
            }
            let row = if reference.version == -1 {
                store::latest_version(conn, &reference.subject, false).await?
            } else {
                store::version(conn, &reference.subject, i64::from(reference.version))
                    .await?
                    .filter(|row| !row.deleted)
            };
            // An unresolvable reference is left out; core reports it with the name.
            let Some(row) = row else { continue };
            let Some(schema) = self.stored_schema(conn, row.schema_id).await? else {
                continue;
            };
            queue.extend(schema.references.iter().cloned());
            resolved.insert(
                key,
                ResolvedReference {
                    schema_type: schema.schema_type,
                    schema: schema.schema.clone(),
                    references: schema.references.clone(),
                },
            );
        }
        Ok(PrefetchedReferences(resolved))
    }

    /// Takes a register/lookup/test body apart and parses the schema with core.
    async fn parse_request(
        &self,
        conn: &mut AnyConnection,
        request: &SchemaRequest,
    ) -> Result<Candidate, ApiError> {
        let schema_type = match request.schema_type.as_deref() {
            None | Some("") => SchemaType::Avro,
            Some(name) => name
                .parse::<SchemaType>()
                .map_err(|err| ApiError::invalid_schema(err.to_string()))?,
        };
        let text = match &request.schema {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(serde_json::Value::Null) | None => {
                return Err(ApiError::invalid_schema(
                    "Empty schema: the request has no 'schema'",
                ));
            }
            Some(other) => other.to_string(),
        };
        if text.trim().is_empty() {
            return Err(ApiError::invalid_schema("Empty schema"));
        }
        if text.len() > self.limits.max_schema_bytes {
            return Err(ApiError::schema_too_large(format!(
                "Schema is {} bytes, over the limit of {} bytes",
                text.len(),
                self.limits.max_schema_bytes
            )));
        }
        let references = request.references.clone().unwrap_or_default();
        let resolver = self.prefetch_references(conn, &references).await?;
        let parsed = ParsedSchema::parse(schema_type, &text, &references, &resolver, &self.limits)
            .map_err(|err| schema_error(err, schema_type))?;
        Ok(Candidate {
            schema_type,
            parsed,
            references,
        })
    }

    // ----- settings ------------------------------------------------------------------

    async fn effective_settings(
        &self,
        conn: &mut AnyConnection,
        subject: &str,
    ) -> Result<(CompatibilityLevel, bool, Mode), ApiError> {
        let global = store::settings(conn, GLOBAL_SCOPE).await?;
        let own = store::settings(conn, subject).await?;
        let level = own
            .compatibility
            .or(global.compatibility)
            .unwrap_or(self.default_compatibility);
        let normalize = own.normalize.or(global.normalize).unwrap_or(false);
        let mode = match global.mode {
            Some(Mode::ReadOnlyOverride) => Mode::ReadOnlyOverride,
            global_mode => own.mode.or(global_mode).unwrap_or(Mode::ReadWrite),
        };
        Ok((level, normalize, mode))
    }

    /// The compatibility level of a scope: `None` when the scope has none of its own.
    pub async fn config(&self, subject: Option<&str>) -> Result<Settings, ApiError> {
        let mut conn = self.conn().await?;
        Ok(store::settings(&mut conn, subject.unwrap_or(GLOBAL_SCOPE)).await?)
    }

    /// The global level, or the default when none is set.
    pub async fn global_level(&self) -> Result<CompatibilityLevel, ApiError> {
        Ok(self
            .config(None)
            .await?
            .compatibility
            .unwrap_or(self.default_compatibility))
    }

    /// Changes the config of a scope; returns nothing (the handler echoes the request).
    pub async fn set_config(
        &self,
        subject: Option<&str>,
        level: Option<CompatibilityLevel>,
        normalize: Option<bool>,
    ) -> Result<(), ApiError> {
        let mut tx = self.store.write().await?;
        let scope = subject.unwrap_or(GLOBAL_SCOPE);
        let (_, _, mode) = self.effective_settings(tx.conn(), scope).await?;
        if mode.is_read_only() {
            return Err(read_only(subject));
        }
        let mut settings = store::settings(tx.conn(), scope).await?;
        if level.is_some() {
            settings.compatibility = level;
        }
        if normalize.is_some() {
            settings.normalize = normalize;
        }
        tx.put_settings(scope, &settings).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a scope's config, returning the level in force before.
    pub async fn delete_config(
        &self,
        subject: Option<&str>,
    ) -> Result<CompatibilityLevel, ApiError> {
        let mut tx = self.store.write().await?;
        let scope = subject.unwrap_or(GLOBAL_SCOPE);
        let mut settings = store::settings(tx.conn(), scope).await?;
        let previous = match (subject, settings.compatibility) {
            (Some(subject), None) => return Err(ApiError::subject_not_found(subject)),
            (_, Some(level)) => level,
            (None, None) => self.default_compatibility,
        };
        settings.compatibility = None;
        settings.normalize = None;
        tx.put_settings(scope, &settings).await?;
        tx.commit().await?;
        Ok(previous)
    }

    /// The mode of a scope: `None` when the scope has none of its own.
    pub async fn mode(&self, subject: Option<&str>) -> Result<Option<Mode>, ApiError> {
        Ok(self.config(subject).await?.mode)
    }

    pub async fn set_mode(
        &self,
        subject: Option<&str>,
        mode: Mode,
        force: bool,
    ) -> Result<(), ApiError> {
        let mut tx = self.store.write().await?;
        if mode == Mode::Import && !force && store::has_any_version(tx.conn(), subject).await? {
            return Err(ApiError::operation_not_permitted(
                "Cannot import since found existing subjects; set force=true to switch to IMPORT anyway",
            ));
        }
        let scope = subject.unwrap_or(GLOBAL_SCOPE);
        let mut settings = store::settings(tx.conn(), scope).await?;
        settings.mode = Some(mode);
        tx.put_settings(scope, &settings).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a scope's mode, returning the mode in force before.
    pub async fn delete_mode(&self, subject: Option<&str>) -> Result<Mode, ApiError> {
        let mut tx = self.store.write().await?;
        let scope = subject.unwrap_or(GLOBAL_SCOPE);
        let mut settings = store::settings(tx.conn(), scope).await?;
        let previous = match (subject, settings.mode) {
            (Some(subject), None) => return Err(ApiError::subject_not_found(subject)),
            (_, Some(mode)) => mode,
            (None, None) => Mode::ReadWrite,
        };
        settings.mode = None;
        tx.put_settings(scope, &settings).await?;
        tx.commit().await?;
        Ok(previous)
    }

    // ----- register, lookup, compatibility ------------------------------------------

    /// `POST /subjects/{subject}/versions`.
    pub async fn register(
        &self,
        subject: &str,
        request: &SchemaRequest,
        flags: RequestFlags,
    ) -> Result<RegisterResponse, ApiError> {
        validate_subject(subject)?;
        let mut tx = self.store.write().await?;
        let (level, normalize_config, mode) = self.effective_settings(tx.conn(), subject).await?;
        if mode.is_read_only() {
            return Err(read_only(Some(subject)));
        }
        let candidate = self.parse_request(tx.conn(), request).await?;
        let text = if flags.normalize || normalize_config {
            candidate.parsed.normalized_string()
        } else {
            candidate.parsed.canonical_string()
        };
        let key = content_key(candidate.schema_type, &text, &candidate.references);
        let existing_id = store::schema_id_by_content(tx.conn(), &key).await?;
        let explicit_id = request.id.filter(|id| *id > 0);
        let explicit_version = request.version.filter(|version| *version > 0);

        let live_match = match existing_id {
            Some(id) => store::live_version_with_schema(tx.conn(), subject, id).await?,
            None => None,
        };
        if let (Some(id), Some(live)) = (existing_id, live_match) {
            if let Some(wanted) = explicit_id
                && wanted != id
            {
                return Err(ApiError::id_mismatch(format!(
                    "Schema already registered with id {id} instead of input id {wanted}"
                )));
            }
            return Ok(RegisterResponse {
                id,
                version: Some(live.version),
            });
        }

        let next_version = store::max_version(tx.conn(), subject).await? + 1;
        let (id, version) = if mode == Mode::Import {
            let version = explicit_version.unwrap_or(next_version);
            if store::version(tx.conn(), subject, version).await?.is_some() {
                return Err(ApiError::operation_not_permitted(format!(
                    "Version {version} of subject '{subject}' already exists"
                )));
            }
            let id = match (explicit_id, existing_id) {
                (Some(wanted), Some(existing)) if wanted != existing => {
                    return Err(ApiError::id_mismatch(format!(
                        "Schema already registered with id {existing} instead of input id {wanted}"
                    )));
                }
                (_, Some(existing)) => existing,
                (Some(wanted), None) => {
                    if store::schema_by_id(tx.conn(), wanted).await?.is_some() {
                        return Err(ApiError::id_mismatch(format!(
                            "Overwrite new schema with id {wanted} is not permitted: the id holds another schema"
                        )));
                    }
                    tx.insert_schema(
                        candidate.schema_type,
                        &text,
                        &candidate.references,
                        &key,
                        Some(wanted),
                    )
                    .await?
                }
                (None, None) => {
                    tx.insert_schema(
                        candidate.schema_type,
                        &text,
                        &candidate.references,
                        &key,
                        None,
                    )
                    .await?
                }
            };
            (id, version)
        } else {
            if explicit_id.is_some() {
                return Err(ApiError::operation_not_permitted(format!(
                    "Subject '{subject}' is not in import mode: a schema id can only be given in IMPORT mode"
                )));
            }
            if let Some(wanted) = explicit_version
                && wanted != next_version
            {
                return Err(ApiError::invalid_schema(format!(
                    "Version {wanted} is not one more than the latest version {}",
                    next_version - 1
                )));
            }
            if !flags.force && level != CompatibilityLevel::None {
                let live = store::live_versions(tx.conn(), subject, !level.is_transitive()).await?;
                let live: Vec<&VersionRow> = live.iter().collect();
                let report = self
                    .check_against(tx.conn(), level, &candidate.parsed, &live)
                    .await?;
                if !report.is_compatible() {
                    return Err(ApiError::incompatible(format!(
                        "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                        report.confluent_messages().join(", ")
                    )));
                }
            }
            let id = match existing_id {
                Some(id) => id,
                None => {
                    tx.insert_schema(
                        candidate.schema_type,
                        &text,
                        &candidate.references,
                        &key,
                        None,
                    )
                    .await?
                }
            };
            (id, next_version)
        };
        tx.insert_version(subject, version, id).await?;
        tx.commit().await?;
        tracing::info!(subject, version, id, "registered schema");
        Ok(RegisterResponse {
            id,
            version: Some(version),
        })
    }

    async fn check_against(
        &self,
        conn: &mut AnyConnection,
        level: CompatibilityLevel,
        candidate: &ParsedSchema,
        previous: &[&VersionRow],
    ) -> Result<CompatibilityReport, ApiError> {
        // Only the versions the level compares are parsed.
        let first = if level.is_transitive() {
            0
        } else {
            previous.len().saturating_sub(1)
        };
        let compared = &previous[first..];
        let mut parsed = Vec::with_capacity(compared.len());
        for row in compared {
            parsed.push((row.version, self.parsed_schema(conn, row.schema_id).await?));
        }
        let pairs: Vec<(i32, &ParsedSchema)> = parsed
            .iter()
            .map(|(version, schema)| (i32::try_from(*version).unwrap_or(i32::MAX), schema.as_ref()))
            .collect();
        Ok(check_compatibility(level, candidate, &pairs))
    }

    /// `POST /subjects/{subject}`: the version of this subject holding this schema.
    pub async fn lookup(
        &self,
        subject: &str,
        request: &SchemaRequest,
        flags: RequestFlags,
    ) -> Result<SubjectVersionResponse, ApiError> {
        let mut conn = self.conn().await?;
        let versions: Vec<VersionRow> = store::versions(&mut conn, subject)
            .await?
            .into_iter()
            .filter(|v| flags.deleted || !v.deleted)
            .collect();
        if versions.is_empty() {
            return Err(ApiError::subject_not_found(subject));
        }
        let candidate = self.parse_request(&mut conn, request).await?;
        let mut texts = vec![candidate.parsed.canonical_string()];
        if flags.normalize {
            texts.push(candidate.parsed.normalized_string());
        }
        for text in &texts {
            let key = content_key(candidate.schema_type, text, &candidate.references);
            if let Some(id) = store::schema_id_by_content(&mut conn, &key).await?
                && let Some(row) = versions.iter().rev().find(|v| v.schema_id == id)
            {
                return self.version_response(&mut conn, row).await;
            }
        }
        // No exact match: the newest version whose schema is the same once normalised.
        let wanted = candidate.parsed.normalized_string();
        for row in versions.iter().rev() {
            let stored = self.parsed_schema(&mut conn, row.schema_id).await?;
            let same_refs = self
                .stored_schema(&mut conn, row.schema_id)
                .await?
                .is_some_and(|s| s.references == candidate.references);
            if same_refs
                && stored.schema_type() == candidate.schema_type
                && stored.normalized_string() == wanted
            {
                return self.version_response(&mut conn, row).await;
            }
        }
        Err(ApiError::schema_not_in_subject(subject))
    }

    /// `POST /compatibility/subjects/{subject}/versions[/{version}]`.
    pub async fn test_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        request: &SchemaRequest,
        flags: RequestFlags,
    ) -> Result<CompatibilityResponse, ApiError> {
        let mut conn = self.conn().await?;
        let live: Vec<VersionRow> = store::versions(&mut conn, subject)
            .await?
            .into_iter()
            .filter(|v| !v.deleted)
            .collect();
        let previous: Vec<&VersionRow> = match version {
            None => live.iter().collect(),
            Some(VersionSpec::Latest) => live.last().into_iter().collect(),
            Some(VersionSpec::Number(number)) => match live.iter().find(|v| v.version == number) {
                Some(row) => vec![row],
                None => return Err(ApiError::version_not_found(subject, number)),
            },
        };
        let candidate = match self.parse_request(&mut conn, request).await {
            Ok(candidate) => candidate,
            Err(err) if flags.verbose && err.code == 42201 => {
                return Ok(CompatibilityResponse {
                    is_compatible: false,
                    messages: Some(vec![err.message]),
                });
            }
            Err(err) => return Err(err),
        };
        let (level, _, _) = self.effective_settings(&mut conn, subject).await?;
        // A single named version is the whole history, whatever the level's transitivity.
        let report = self
            .check_against(&mut conn, level, &candidate.parsed, &previous)
            .await?;
        Ok(CompatibilityResponse {
            is_compatible: report.is_compatible(),
            messages: flags.verbose.then(|| report.confluent_messages()),
        })
    }

    // ----- reads by subject -----------------------------------------------------------

    async fn version_response(
        &self,
        conn: &mut AnyConnection,
        row: &VersionRow,
    ) -> Result<SubjectVersionResponse, ApiError> {
        let schema = self
            .stored_schema(conn, row.schema_id)
            .await?
            .ok_or_else(|| ApiError::store(format!("schema {} is missing", row.schema_id)))?;
        Ok(SubjectVersionResponse {
            subject: row.subject.clone(),
            version: row.version,
            id: row.schema_id,
            schema_type: type_response(schema.schema_type),
            references: schema.references.clone(),
            schema: schema.schema.clone(),
            deleted: row.deleted,
        })
    }

    /// `GET /subjects`: subjects with a live version (or any, with `deleted`).
    pub async fn subjects(
        &self,
        include_deleted: bool,
        deleted_only: bool,
        prefix: &str,
    ) -> Result<Vec<String>, ApiError> {
        let mut conn = self.conn().await?;
        Ok(store::subjects(&mut conn)
            .await?
            .into_iter()
            .filter(|(name, live, total)| {
                name.starts_with(prefix)
                    && if deleted_only {
                        live < total
                    } else {
                        *live > 0 || include_deleted
                    }
            })
            .map(|(name, _, _)| name)
            .collect())
    }

    /// `GET /subjects/{subject}/versions`.
    pub async fn versions(
        &self,
        subject: &str,
        include_deleted: bool,
        deleted_only: bool,
    ) -> Result<Vec<VersionRow>, ApiError> {
        let mut conn = self.conn().await?;
        let all = store::versions(&mut conn, subject).await?;
        let selected: Vec<VersionRow> = all
            .iter()
            .filter(|v| {
                if deleted_only {
                    v.deleted
                } else {
                    include_deleted || !v.deleted
                }
            })
            .cloned()
            .collect();
        let subject_known = if include_deleted || deleted_only {
            !all.is_empty()
        } else {
            all.iter().any(|v| !v.deleted)
        };
        if !subject_known {
            return Err(ApiError::subject_not_found(subject));
        }
        Ok(selected)
    }

    async fn find_version(
        &self,
        conn: &mut AnyConnection,
        subject: &str,
        version: VersionSpec,
        include_deleted: bool,
    ) -> Result<VersionRow, ApiError> {
        // The hot path (`latest`, or a live version) is one indexed row read.
        let direct = match version {
            VersionSpec::Latest => store::latest_version(conn, subject, include_deleted).await?,
            VersionSpec::Number(number) => store::version(conn, subject, number)
                .await?
                .filter(|row| include_deleted || !row.deleted),
        };
        if let Some(row) = direct {
            return Ok(row);
        }
        let all = store::versions(conn, subject).await?;
        if !all.iter().any(|v| include_deleted || !v.deleted) {
            return Err(ApiError::subject_not_found(subject));
        }
        let found = match version {
            VersionSpec::Latest => all.iter().rev().find(|v| include_deleted || !v.deleted),
            VersionSpec::Number(number) => all
                .iter()
                .find(|v| v.version == number && (include_deleted || !v.deleted)),
        };
        found.cloned().ok_or_else(|| match version {
            VersionSpec::Latest => ApiError::version_not_found(subject, "latest"),
            VersionSpec::Number(number) => ApiError::version_not_found(subject, number),
        })
    }

    /// `GET /subjects/{subject}/versions/{version}`.
    pub async fn subject_version(
        &self,
        subject: &str,
        version: VersionSpec,
        include_deleted: bool,
    ) -> Result<SubjectVersionResponse, ApiError> {
        let mut conn = self.conn().await?;
        let row = self
            .find_version(&mut conn, subject, version, include_deleted)
            .await?;
        self.version_response(&mut conn, &row).await
    }

    /// `GET /subjects/{subject}/versions/{version}/referencedby`.
    pub async fn referenced_by(
        &self,
        subject: &str,
        version: VersionSpec,
    ) -> Result<Vec<i64>, ApiError> {
        let mut conn = self.conn().await?;
        let row = self.find_version(&mut conn, subject, version, true).await?;
        Ok(store::referenced_by(&mut conn, subject, row.version).await?)
    }

    /// The (subject, version) pairs carrying schema `id`.
    pub async fn schema_versions(
        &self,
        id: i64,
        include_deleted: bool,
    ) -> Result<Vec<VersionRow>, ApiError> {
        let mut conn = self.conn().await?;
        if self.stored_schema(&mut conn, id).await?.is_none() {
            return Err(ApiError::schema_not_found(id));
        }
        Ok(store::versions_of_schema(&mut conn, id)
            .await?
            .into_iter()
            .filter(|v| include_deleted || !v.deleted)
            .collect())
    }

    /// `GET /schemas`: every (live) subject version, optionally the latest per subject.
    pub async fn all_schemas(
        &self,
        prefix: &str,
        include_deleted: bool,
        latest_only: bool,
    ) -> Result<Vec<SubjectVersionResponse>, ApiError> {
        let mut conn = self.conn().await?;
        let rows: Vec<VersionRow> = store::all_versions(&mut conn)
            .await?
            .into_iter()
            .filter(|v| v.subject.starts_with(prefix) && (include_deleted || !v.deleted))
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            let is_latest = rows
                .get(index + 1)
                .is_none_or(|next| next.subject != row.subject);
            if !latest_only || is_latest {
                out.push(self.version_response(&mut conn, row).await?);
            }
        }
        Ok(out)
    }

    // ----- deletes ---------------------------------------------------------------------

    async fn refuse_if_referenced(
        &self,
        conn: &mut AnyConnection,
        subject: &str,
        versions: &[&VersionRow],
    ) -> Result<(), ApiError> {
        for row in versions {
            let referrers = store::referenced_by(conn, subject, row.version).await?;
            if !referrers.is_empty() {
                return Err(ApiError::reference_exists(format!(
                    "One or more references exist to the schema {{subject={subject},version={}}}: schema ids {referrers:?}",
                    row.version
                )));
            }
        }
        Ok(())
    }

    /// `DELETE /subjects/{subject}`: the versions deleted.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<i64>, ApiError> {
        let mut tx = self.store.write().await?;
        let (_, _, mode) = self.effective_settings(tx.conn(), subject).await?;
        if mode.is_read_only() {
            return Err(read_only(Some(subject)));
        }
        let versions = store::versions(tx.conn(), subject).await?;
        if versions.is_empty() {
            return Err(ApiError::subject_not_found(subject));
        }
        let live: Vec<&VersionRow> = versions.iter().filter(|v| !v.deleted).collect();
        let deleted_versions = if permanent {
            if !live.is_empty() {
                return Err(ApiError::subject_not_soft_deleted(subject));
            }
            let all: Vec<&VersionRow> = versions.iter().collect();
            self.refuse_if_referenced(tx.conn(), subject, &all).await?;
            let orphans = tx.hard_delete(subject, None).await?;
            tx.put_settings(subject, &Settings::default()).await?;
            tx.commit().await?;
            cache_evict(&self.stored, &orphans);
            cache_evict(&self.parsed, &orphans);
            versions.iter().map(|v| v.version).collect()
        } else {
            if live.is_empty() {
                return Err(ApiError::subject_soft_deleted(subject));
            }
            self.refuse_if_referenced(tx.conn(), subject, &live).await?;
            tx.soft_delete(subject, None).await?;
            tx.commit().await?;
            live.iter().map(|v| v.version).collect()
        };
        tracing::info!(subject, permanent, "deleted subject");
        Ok(deleted_versions)
    }

    /// `DELETE /subjects/{subject}/versions/{version}`: the version deleted.
    pub async fn delete_version(
        &self,
        subject: &str,
        version: VersionSpec,
        permanent: bool,
    ) -> Result<i64, ApiError> {
        let mut tx = self.store.write().await?;
        let (_, _, mode) = self.effective_settings(tx.conn(), subject).await?;
        if mode.is_read_only() {
            return Err(read_only(Some(subject)));
        }
        let versions = store::versions(tx.conn(), subject).await?;
        if versions.is_empty() || (!permanent && versions.iter().all(|v| v.deleted)) {
            return Err(ApiError::subject_not_found(subject));
        }
        let row = match version {
            VersionSpec::Latest if permanent => versions.last(),
            VersionSpec::Latest => versions.iter().rev().find(|v| !v.deleted),
            VersionSpec::Number(number) => versions.iter().find(|v| v.version == number),
        };
        let Some(row) = row else {
            return Err(match version {
                VersionSpec::Latest => ApiError::version_not_found(subject, "latest"),
                VersionSpec::Number(number) => ApiError::version_not_found(subject, number),
            });
        };
        if permanent {
            if !row.deleted {
                return Err(ApiError::version_not_soft_deleted(subject, row.version));
            }
            self.refuse_if_referenced(tx.conn(), subject, &[row])
                .await?;
            let orphans = tx.hard_delete(subject, Some(row.version)).await?;
            tx.commit().await?;
            cache_evict(&self.stored, &orphans);
            cache_evict(&self.parsed, &orphans);
        } else {
            if row.deleted {
                return Err(ApiError::version_soft_deleted(subject, row.version));
            }
            self.refuse_if_referenced(tx.conn(), subject, &[row])
                .await?;
            tx.soft_delete(subject, Some(row.version)).await?;
            tx.commit().await?;
        }
        tracing::info!(subject, version = row.version, permanent, "deleted version");
        Ok(row.version)
    }

    /// (schemas, live subjects), for the metrics endpoint.
    pub async fn counts(&self) -> Result<(i64, i64), ApiError> {
        let mut conn = self.conn().await?;
        Ok(store::counts(&mut conn).await?)
    }
}

fn read_only(subject: Option<&str>) -> ApiError {
    match subject {
        Some(subject) => {
            ApiError::operation_not_permitted(format!("Subject '{subject}' is in read-only mode"))
        }
        None => ApiError::operation_not_permitted("The registry is in read-only mode"),
    }
}
