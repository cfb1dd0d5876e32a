//! The HTTP surface: the Confluent REST routes, content negotiation, the error shape for
//! unknown routes and bad bodies, and health, readiness and metrics endpoints.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::api::{
    ConfigResponse, ConfigUpdate, ModeBody, SchemaRequest, SchemaResponse, SubjectVersionRef,
};
use crate::error::ApiError;
use crate::mode::Mode;
use crate::service::{Registry, RequestFlags, VersionSpec, validate_subject};

const CONTENT_TYPE_V1: &str = "application/vnd.schemaregistry.v1+json";
const CONTENT_TYPE_GENERIC: &str = "application/vnd.schemaregistry+json";
const CONTENT_TYPE_JSON: &str = "application/json";

type Shared = State<Arc<Registry>>;
type ApiResult = Result<Response, ApiError>;

/// The query string, with Confluent's lenient reading of booleans and numbers.
#[derive(Debug, Default)]
struct Params(HashMap<String, String>);

impl Params {
    /// `true` only for a case-insensitive "true": clients send `False`/`True` too.
    fn flag(&self, name: &str) -> bool {
        self.0
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
    fn text(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }
    fn int(&self, name: &str, default: i64) -> i64 {
        self.0
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
    fn request_flags(&self) -> RequestFlags {
        RequestFlags {
            normalize: self.flag("normalize"),
            force: self.flag("force"),
            verbose: self.flag("verbose"),
            deleted: self.flag("deleted"),
        }
    }
    /// Applies `offset` and `limit` (-1 = all) to a list.
    fn page<T>(&self, items: Vec<T>) -> Vec<T> {
        let offset = usize::try_from(self.int("offset", 0)).unwrap_or(0);
        let limit = self.int("limit", -1);
        let iter = items.into_iter().skip(offset);
        match usize::try_from(limit) {
            Ok(limit) if limit > 0 => iter.take(limit).collect(),
            _ => iter.collect(),
        }
    }
}

fn params(query: Option<String>) -> Params {
    let pairs = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes());
    Params(pairs.into_owned().collect())
}

fn ok<T: Serialize>(body: T) -> ApiResult {
    Ok(Json(body).into_response())
}

/// A raw schema text as a JSON body (`/schema` endpoints).
fn raw_json(text: String) -> ApiResult {
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE_JSON)], text).into_response())
}

/// Parses a JSON body whatever Content-Type it came with, as Confluent does; an empty body
/// counts as `{}`.
fn body<T: DeserializeOwned>(bytes: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = bytes.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::schema_too_large("Request body is over the size limit")
        } else {
            ApiError::bad_request(format!("Could not read the request body: {rejection}"))
        }
    })?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    serde_json::from_slice(bytes)
        .map_err(|err| ApiError::bad_request(format!("Invalid JSON in request body: {err}")))
}

fn schema_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>().map_err(|_| {
        ApiError::new(
            40403,
            format!("Schema '{text}' not found: ids are integers"),
        )
    })
}

// ----- schemas ------------------------------------------------------------------------

async fn root() -> ApiResult {
    ok(json!({}))
}

async fn schema_types() -> ApiResult {
    ok(["AVRO", "JSON"])
}

async fn schema_by_id(State(registry): Shared, Path(id): Path<String>) -> ApiResult {
    let schema = registry.schema_by_id(schema_id(&id)?).await?;
    ok(SchemaResponse {
        schema: schema.schema.clone(),
        schema_type: Some(schema.schema_type.as_str().to_owned()),
        references: schema.references.clone(),
    })
}

async fn schema_text_by_id(State(registry): Shared, Path(id): Path<String>) -> ApiResult {
    let schema = registry.schema_by_id(schema_id(&id)?).await?;
    raw_json(schema.schema.clone())
}

async fn schema_subjects(
    State(registry): Shared,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = params(query);
    let rows = registry
        .schema_versions(schema_id(&id)?, params.flag("deleted"))
        .await?;
    let filter = params.text("subject");
    let mut subjects: Vec<String> = rows
        .into_iter()
        .filter(|row| filter.is_empty() || row.subject == filter)
        .map(|row| row.subject)
        .collect();
    subjects.dedup();
    ok(params.page(subjects))
}

async fn schema_versions(
    State(registry): Shared,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = params(query);
    let rows = registry
        .schema_versions(schema_id(&id)?, params.flag("deleted"))
        .await?;
    let filter = params.text("subject");
    let refs: Vec<SubjectVersionRef> = rows
        .into_iter()
        .filter(|row| filter.is_empty() || row.subject == filter)
        .map(|row| SubjectVersionRef {
            subject: row.subject,
            version: row.version,
        })
        .collect();
    ok(params.page(refs))
}

async fn all_schemas(State(registry): Shared, RawQuery(query): RawQuery) -> ApiResult {
    let params = params(query);
    let schemas = registry
        .all_schemas(
            params.text("subjectPrefix"),
            params.flag("deleted"),
            params.flag("latestOnly"),
        )
        .await?;
    ok(params.page(schemas))
}

// ----- subjects -----------------------------------------------------------------------

async fn subjects(State(registry): Shared, RawQuery(query): RawQuery) -> ApiResult {
    let params = params(query);
    let names = registry
        .subjects(
            params.flag("deleted"),
            params.flag("deletedOnly"),
            params.text("subjectPrefix"),
        )
        .await?;
    ok(params.page(names))
}

async fn subject_versions(
    State(registry): Shared,
    Path(subject): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = params(query);
    let negative = params.flag("deletedAsNegative");
    let rows = registry
        .versions(
            &subject,
            params.flag("deleted") || negative,
            params.flag("deletedOnly"),
        )
        .await?;
    let numbers: Vec<i64> = rows
        .into_iter()
        .map(|row| {
            if negative && row.deleted {
                -row.version
            } else {
                row.version
            }
        })
        .collect();
    ok(params.page(numbers))
}

async fn register(
    State(registry): Shared,
    Path(subject): Path<String>,
    RawQuery(query): RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: SchemaRequest = body(bytes)?;
    ok(registry
        .register(&subject, &request, params(query).request_flags())
        .await?)
}

async fn lookup(
    State(registry): Shared,
    Path(subject): Path<String>,
    RawQuery(query): RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: SchemaRequest = body(bytes)?;
    ok(registry
        .lookup(&subject, &request, params(query).request_flags())
        .await?)
}

async fn subject_version(
    State(registry): Shared,
    Path((subject, version)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let version = VersionSpec::parse(&version)?;
    ok(registry
        .subject_version(&subject, version, params(query).flag("deleted"))
        .await?)
}

async fn subject_version_schema(
    State(registry): Shared,
    Path((subject, version)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let version = VersionSpec::parse(&version)?;
    let found = registry
        .subject_version(&subject, version, params(query).flag("deleted"))
        .await?;
    raw_json(found.schema)
}

async fn referenced_by(
    State(registry): Shared,
    Path((subject, version)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let version = VersionSpec::parse(&version)?;
    let ids = registry.referenced_by(&subject, version).await?;
    ok(params(query).page(ids))
}

async fn delete_subject(
    State(registry): Shared,
    Path(subject): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    ok(registry
        .delete_subject(&subject, params(query).flag("permanent"))
        .await?)
}

async fn delete_version(
    State(registry): Shared,
    Path((subject, version)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let version = VersionSpec::parse(&version)?;
    ok(registry
        .delete_version(&subject, version, params(query).flag("permanent"))
        .await?)
}

// ----- compatibility ------------------------------------------------------------------

async fn compatibility_all(
    State(registry): Shared,
    Path(subject): Path<String>,
    RawQuery(query): RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let request: SchemaRequest = body(bytes)?;
    ok(registry
        .test_compatibility(&subject, None, &request, params(query).request_flags())
        .await?)
}

async fn compatibility_version(
    State(registry): Shared,
    Path((subject, version)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let version = VersionSpec::parse(&version)?;
    let request: SchemaRequest = body(bytes)?;
    ok(registry
        .test_compatibility(
            &subject,
            Some(version),
            &request,
            params(query).request_flags(),
        )
        .await?)
}

// ----- config and mode ----------------------------------------------------------------

async fn get_global_config(State(registry): Shared) -> ApiResult {
    let settings = registry.config(None).await?;
    ok(ConfigResponse {
        compatibility_level: registry.global_level().await?.as_str().to_owned(),
        normalize: settings.normalize,
    })
}

async fn get_subject_config(
    State(registry): Shared,
    Path(subject): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let own = registry.config(Some(&subject)).await?;
    match own.compatibility {
        Some(level) => ok(ConfigResponse {
            compatibility_level: level.as_str().to_owned(),
            normalize: own.normalize,
        }),
        None if params(query).flag("defaultToGlobal") => get_global_config(State(registry)).await,
        None => Err(ApiError::subject_config_not_found(&subject)),
    }
}

async fn put_config(registry: &Registry, subject: Option<&str>, update: ConfigUpdate) -> ApiResult {
    if let Some(subject) = subject {
        validate_subject(subject)?;
    }
    let level = update
        .compatibility
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|_| {
            ApiError::invalid_compatibility_level(
                "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
            )
        })?;
    if level.is_none() && update.normalize.is_none() {
        return Err(ApiError::invalid_compatibility_level(
            "Invalid compatibility level: the body has no 'compatibility'",
        ));
    }
    registry
        .set_config(subject, level, update.normalize)
        .await?;
    let echo = ConfigUpdate {
        compatibility: level.map(|level| level.as_str().to_owned()),
        normalize: update.normalize,
    };
    ok(echo)
}

async fn put_global_config(
    State(registry): Shared,
    bytes: Result<Bytes, BytesRejection>,
) -> ApiResult {
    put_config(&registry, None, body(bytes)?).await
}

async fn put_subject_config(
    State(registry): Shared,
    Path(subject): Path<String>,
    bytes: Result<Bytes, BytesRejection>,
) -> ApiResult {
    put_config(&registry, Some(&subject), body(bytes)?).await
}

async fn delete_global_config(State(registry): Shared) -> ApiResult {
    let previous = registry.delete_config(None).await?;
    ok(ConfigResponse {
        compatibility_level: previous.as_str().to_owned(),
        normalize: None,
    })
}

async fn delete_subject_config(State(registry): Shared, Path(subject): Path<String>) -> ApiResult {
    let previous = registry.delete_config(Some(&subject)).await?;
    ok(ConfigResponse {
        compatibility_level: previous.as_str().to_owned(),
        normalize: None,
    })
}

async fn get_global_mode(State(registry): Shared) -> ApiResult {
    let mode = registry.mode(None).await?.unwrap_or(Mode::ReadWrite);
    ok(ModeBody {
        mode: mode.as_str().to_owned(),
    })
}

async fn get_subject_mode(
    State(registry): Shared,
    Path(subject): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    match registry.mode(Some(&subject)).await? {
        Some(mode) => ok(ModeBody {
            mode: mode.as_str().to_owned(),
        }),
        None if params(query).flag("defaultToGlobal") => get_global_mode(State(registry)).await,
        None => Err(ApiError::subject_mode_not_found(&subject)),
    }
}

async fn put_mode(
    registry: &Registry,
    subject: Option<&str>,
    body: ModeBody,
    force: bool,
) -> ApiResult {
    if let Some(subject) = subject {
        validate_subject(subject)?;
    }
    let mode: Mode = body.mode.parse().map_err(|_| {
        ApiError::invalid_mode(
            "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT",
        )
    })?;
    registry.set_mode(subject, mode, force).await?;
    ok(ModeBody {
        mode: mode.as_str().to_owned(),
    })
}

fn mode_body(bytes: Result<Bytes, BytesRejection>) -> Result<ModeBody, ApiError> {
    let value: serde_json::Value = body(bytes)?;
    match value.get("mode").and_then(|mode| mode.as_str()) {
        Some(mode) => Ok(ModeBody {
            mode: mode.to_owned(),
        }),
        None => Err(ApiError::invalid_mode(
            "Invalid mode: the body has no 'mode'",
        )),
    }
}

async fn put_global_mode(
    State(registry): Shared,
    RawQuery(query): RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> ApiResult {
    put_mode(
        &registry,
        None,
        mode_body(bytes)?,
        params(query).flag("force"),
    )
    .await
}

async fn put_subject_mode(
    State(registry): Shared,
    Path(subject): Path<String>,
    RawQuery(query): RawQuery,
    bytes: Result<Bytes, BytesRejection>,
) -> ApiResult {
    put_mode(
        &registry,
        Some(&subject),
        mode_body(bytes)?,
        params(query).flag("force"),
    )
    .await
}

async fn delete_global_mode(State(registry): Shared) -> ApiResult {
    let previous = registry.delete_mode(None).await?;
    ok(ModeBody {
        mode: previous.as_str().to_owned(),
    })
}

async fn delete_subject_mode(State(registry): Shared, Path(subject): Path<String>) -> ApiResult {
    let previous = registry.delete_mode(Some(&subject)).await?;
    ok(ModeBody {
        mode: previous.as_str().to_owned(),
    })
}

// ----- misc, health, metrics -----------------------------------------------------------

async fn contexts() -> ApiResult {
    ok(["."])
}

async fn metadata_id() -> ApiResult {
    ok(json!({"scope": {"path": [], "clusters": {"schema-registry-cluster": "eventschema"}}}))
}

async fn metadata_version() -> ApiResult {
    ok(json!({"version": env!("CARGO_PKG_VERSION"), "commitId": ""}))
}

async fn health() -> ApiResult {
    ok(json!({"status": "UP"}))
}

async fn ready(State(registry): Shared) -> Response {
    match registry.store().ping().await {
        Ok(()) => Json(json!({"status": "UP"})).into_response(),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error_code": 50301, "message": format!("database unreachable: {err}")})),
        )
            .into_response(),
    }
}

/// The process-wide Prometheus recorder, installed on first use. `None` when the host
/// process installed another `metrics` recorder first.
fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ])
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

async fn metrics_endpoint(State(registry): Shared) -> ApiResult {
    let (schemas, subjects) = registry.counts().await?;
    metrics::gauge!("eventschema_registry_schemas").set(schemas as f64);
    metrics::gauge!("eventschema_registry_subjects").set(subjects as f64);
    let text = prometheus()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn not_found() -> ApiError {
    ApiError::new(404, "HTTP 404 Not Found")
}

/// Records request counts and latency by route template and status.
async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        "eventschema_registry_http_requests_total",
        "method" => method.clone(), "route" => route.clone(), "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "eventschema_registry_http_request_duration_seconds",
        "method" => method, "route" => route
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// The response media type a request's `Accept` header prefers, among Confluent's three.
fn negotiate(headers: &HeaderMap) -> &'static str {
    let offered = [
        (CONTENT_TYPE_V1, 1.0),
        (CONTENT_TYPE_GENERIC, 0.9),
        (CONTENT_TYPE_JSON, 0.5),
    ];
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return CONTENT_TYPE_V1;
    };
    let mut best = (CONTENT_TYPE_V1, 0.0f32);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        for (candidate, preference) in offered {
            let matches =
                media == "*/*" || media == "application/*" || media.eq_ignore_ascii_case(candidate);
            let score = quality * preference;
            if matches && score > best.1 {
                best = (candidate, score);
            }
        }
    }
    best.0
}

/// Gives JSON answers the media type the client asked for (default: the v1 type).
async fn content_type(request: Request, next: Next) -> Response {
    let chosen = negotiate(request.headers());
    let mut response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(CONTENT_TYPE_JSON.as_bytes()));
    if is_json {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(chosen));
    }
    response
}

/// Turns axum's plain-text 405 into the Confluent error shape.
async fn json_method_not_allowed(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        return ApiError::new(405, "HTTP 405 Method Not Allowed").into_response();
    }
    response
}

/// The full router over `registry`.
pub fn router(registry: Arc<Registry>) -> Router {
    // A schema string is JSON-escaped inside the body, which can double its size.
    let body_limit = registry.limits().max_schema_bytes.saturating_mul(4) + 64 * 1024;
    let _ = prometheus();
    Router::new()
        .route("/", get(root))
        .route("/schemas", get(all_schemas))
        .route("/schemas/types", get(schema_types))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(schema_text_by_id))
        .route("/schemas/ids/{id}/subjects", get(schema_subjects))
        .route("/schemas/ids/{id}/versions", get(schema_versions))
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route(
            "/subjects/{subject}/versions",
            get(subject_versions).post(register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(subject_version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(subject_version_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(referenced_by),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compatibility_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility_version),
        )
        .route(
            "/config",
            get(get_global_config)
                .put(put_global_config)
                .delete(delete_global_config),
        )
        .route(
            "/config/{subject}",
            get(get_subject_config)
                .put(put_subject_config)
                .delete(delete_subject_config),
        )
        .route(
            "/mode",
            get(get_global_mode)
                .put(put_global_mode)
                .delete(delete_global_mode),
        )
        .route(
            "/mode/{subject}",
            get(get_subject_mode)
                .put(put_subject_mode)
                .delete(delete_subject_mode),
        )
        .route("/contexts", get(contexts))
        .route("/v1/metadata/id", get(metadata_id))
        .route("/v1/metadata/version", get(metadata_version))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_endpoint))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(json_method_not_allowed))
        .layer(middleware::from_fn(record_metrics))
        .layer(middleware::from_fn(content_type))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(registry)
}
