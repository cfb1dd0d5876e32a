//! A typed async client of the Confluent Schema Registry REST API (this registry's or
//! Confluent's), for the CLI and tools; built with the `client` feature, without server code.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::api::{
    ConfigResponse, ConfigUpdate, ErrorResponse, RegisterResponse, SchemaRequest, SchemaResponse,
    SubjectVersionRef, SubjectVersionResponse,
};

/// Confluent's content type; the registry also accepts plain JSON, other servers may not.
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Everything but unreserved characters is escaped in a path segment, so subjects with `/`,
/// `%` or spaces reach the server as one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The registry answered with an error body (`error_code`, `message`).
    #[error("the registry refused {what}: {message} (error code {error_code}, HTTP {status})")]
    Api {
        what: String,
        status: u16,
        error_code: u32,
        message: String,
    },
    /// No answer (connection refused, timeout) or an answer that is not the expected JSON.
    #[error("cannot reach the registry at {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The base URL is not an http(s) URL.
    #[error("invalid registry URL '{0}' (expected http://HOST:PORT)")]
    InvalidUrl(String),
}

impl ClientError {
    /// Confluent's error code, when the registry answered with one.
    pub fn error_code(&self) -> Option<u32> {
        match self {
            ClientError::Api { error_code, .. } => Some(*error_code),
            _ => None,
        }
    }

    /// Whether the registry refused a schema as incompatible (HTTP 409, code 409 or 40901).
    pub fn is_incompatible(&self) -> bool {
        matches!(self, ClientError::Api { status, .. } if *status == StatusCode::CONFLICT.as_u16())
    }

    /// Whether the registry said "not found" (any 404xx code).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Api { status: 404, .. })
    }
}

/// A client bound to one registry base URL. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for `base_url` (`http://host:port`, an optional path prefix is kept).
    pub fn new(base_url: &str) -> Result<Client, ClientError> {
        Self::with_http(base_url, reqwest::Client::new())
    }

    /// As [`Client::new`] over a configured `reqwest::Client` (timeouts, proxies).
    pub fn with_http(base_url: &str, http: reqwest::Client) -> Result<Client, ClientError> {
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::InvalidUrl(base_url.to_owned()));
        }
        Ok(Client {
            base: base.to_owned(),
            http,
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /subjects`: live subjects, sorted (the server answers a set).
    pub async fn subjects(&self) -> Result<Vec<String>, ClientError> {
        let mut subjects: Vec<String> = self
            .send("the subject list", self.http.get(self.url("/subjects")))
            .await?;
        subjects.sort();
        Ok(subjects)
    }

    /// `GET /subjects/{s}/versions`; an unknown subject is an empty list.
    pub async fn versions(&self, subject: &str) -> Result<Vec<i32>, ClientError> {
        let url = self.url(&format!("/subjects/{}/versions", segment(subject)));
        match self
            .send(&format!("the versions of '{subject}'"), self.http.get(url))
            .await
        {
            Err(err) if err.error_code() == Some(40401) => Ok(Vec::new()),
            other => other,
        }
    }

    /// `GET /subjects/{s}/versions/{v}`.
    pub async fn version(
        &self,
        subject: &str,
        version: i32,
    ) -> Result<SubjectVersionResponse, ClientError> {
        let url = self.url(&format!(
            "/subjects/{}/versions/{version}",
            segment(subject)
        ));
        self.send(
            &format!("version {version} of '{subject}'"),
            self.http.get(url),
        )
        .await
    }

    /// `GET /schemas/ids/{id}`: the schema text, type and references of an id.
    pub async fn schema_by_id(&self, id: u64) -> Result<SchemaResponse, ClientError> {
        let url = self.url(&format!("/schemas/ids/{id}"));
        self.send(&format!("schema id {id}"), self.http.get(url))
            .await
    }

    /// `GET /schemas/ids/{id}/versions`: every (subject, version) holding the id.
    pub async fn schema_versions(&self, id: u64) -> Result<Vec<SubjectVersionRef>, ClientError> {
        let url = self.url(&format!("/schemas/ids/{id}/versions"));
        self.send(
            &format!("the versions holding schema id {id}"),
            self.http.get(url),
        )
        .await
    }

    /// `POST /subjects/{s}` (lookup): the version holding this schema, `None` when the subject
    /// is unknown or does not hold it.
    pub async fn lookup(
        &self,
        subject: &str,
        request: &SchemaRequest,
    ) -> Result<Option<SubjectVersionResponse>, ClientError> {
        let url = self.url(&format!("/subjects/{}", segment(subject)));
        match self
            .send(
                &format!("a lookup in '{subject}'"),
                self.http.post(url).json(request),
            )
            .await
        {
            Ok(found) => Ok(Some(found)),
            Err(err) if matches!(err.error_code(), Some(40401 | 40403)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `POST /subjects/{s}/versions` (register).
    pub async fn register(
        &self,
        subject: &str,
        request: &SchemaRequest,
    ) -> Result<RegisterResponse, ClientError> {
        let url = self.url(&format!("/subjects/{}/versions", segment(subject)));
        self.send(
            &format!("a new version of '{subject}'"),
            self.http.post(url).json(request),
        )
        .await
    }

    /// The subject's effective level (`GET /config/{s}?defaultToGlobal=true`).
    pub async fn effective_compatibility(&self, subject: &str) -> Result<String, ClientError> {
        let url = self.url(&format!(
            "/config/{}?defaultToGlobal=true",
            segment(subject)
        ));
        let config: ConfigResponse = self
            .send(
                &format!("the configuration of '{subject}'"),
                self.http.get(url),
            )
            .await?;
        Ok(config.compatibility_level)
    }

    /// The subject's own level, `None` when it has none (40408) and the global one applies.
    pub async fn subject_compatibility(
        &self,
        subject: &str,
    ) -> Result<Option<String>, ClientError> {
        let url = self.url(&format!("/config/{}", segment(subject)));
        match self
            .send::<ConfigResponse>(
                &format!("the configuration of '{subject}'"),
                self.http.get(url),
            )
            .await
        {
            Ok(config) => Ok(Some(config.compatibility_level)),
            Err(err) if err.error_code() == Some(40408) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// `PUT /config/{s}`: sets the subject's own level.
    pub async fn set_subject_compatibility(
        &self,
        subject: &str,
        level: &str,
    ) -> Result<(), ClientError> {
        let url = self.url(&format!("/config/{}", segment(subject)));
        let body = ConfigUpdate {
            compatibility: Some(level.to_owned()),
            normalize: None,
        };
        let _: ConfigUpdate = self
            .send(
                &format!("the configuration of '{subject}'"),
                self.http.put(url).json(&body),
            )
            .await?;
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let transport = |source: reqwest::Error| ClientError::Transport {
            url: self.base.clone(),
            source,
        };
        let response = request
            .header(reqwest::header::ACCEPT, CONTENT_TYPE)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status.is_success() {
            return response.json().await.map_err(transport);
        }
        let body = response.bytes().await.map_err(transport)?;
        // Proxies and other servers may answer errors without Confluent's body.
        let (error_code, message) = match serde_json::from_slice::<ErrorResponse>(&body) {
            Ok(error) => (error.error_code, error.message),
            Err(_) => (
                u32::from(status.as_u16()),
                String::from_utf8_lossy(&body).chars().take(500).collect(),
            ),
        };
        Err(ClientError::Api {
            what: what.to_owned(),
            status: status.as_u16(),
            error_code,
            message,
        })
    }
}

fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}
