//! API errors in the Confluent shape `{"error_code": N, "message": "..."}`, with the HTTP
//! status taken from the code's first three digits.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// An error answer of the registry API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: u32,
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: u32,
    message: &'a str,
}

impl ApiError {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status: the first three digits of the code (`40401` -> 404, `409` -> 409).
    pub fn status(&self) -> StatusCode {
        let mut code = self.code;
        while code >= 1000 {
            code /= 10;
        }
        StatusCode::from_u16(u16::try_from(code).unwrap_or(500))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    pub fn subject_not_found(subject: &str) -> Self {
        Self::new(40401, format!("Subject '{subject}' not found."))
    }
    pub fn version_not_found(subject: &str, version: impl std::fmt::Display) -> Self {
        Self::new(
            40402,
            format!("Version {version} not found for subject '{subject}'."),
        )
    }
    pub fn schema_not_found(id: i64) -> Self {
        Self::new(40403, format!("Schema {id} not found"))
    }
    pub fn schema_not_in_subject(subject: &str) -> Self {
        Self::new(40403, format!("Schema not found in subject '{subject}'"))
    }
    pub fn subject_soft_deleted(subject: &str) -> Self {
        Self::new(
            40404,
            format!(
                "Subject '{subject}' was soft deleted. Set permanent=true to delete permanently"
            ),
        )
    }
    pub fn subject_not_soft_deleted(subject: &str) -> Self {
        Self::new(
            40405,
            format!("Subject '{subject}' was not deleted first before being permanently deleted"),
        )
    }
    pub fn version_soft_deleted(subject: &str, version: i64) -> Self {
        Self::new(
            40406,
            format!(
                "Subject '{subject}' Version {version} was soft deleted. Set permanent=true to delete permanently"
            ),
        )
    }
    pub fn version_not_soft_deleted(subject: &str, version: i64) -> Self {
        Self::new(
            40407,
            format!(
                "Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
            ),
        )
    }
    pub fn subject_config_not_found(subject: &str) -> Self {
        Self::new(
            40408,
            format!("Subject '{subject}' does not have subject-level compatibility configured"),
        )
    }
    pub fn subject_mode_not_found(subject: &str) -> Self {
        Self::new(
            40409,
            format!("Subject '{subject}' does not have subject-level mode configured"),
        )
    }
    pub fn incompatible(message: impl Into<String>) -> Self {
        Self::new(409, message)
    }
    pub fn invalid_schema(message: impl Into<String>) -> Self {
        Self::new(42201, message)
    }
    pub fn invalid_version(version: &str) -> Self {
        Self::new(
            42202,
            format!(
                "The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
        )
    }
    pub fn invalid_compatibility_level(message: impl Into<String>) -> Self {
        Self::new(42203, message)
    }
    pub fn invalid_mode(message: impl Into<String>) -> Self {
        Self::new(42204, message)
    }
    pub fn operation_not_permitted(message: impl Into<String>) -> Self {
        Self::new(42205, message)
    }
    pub fn reference_exists(message: impl Into<String>) -> Self {
        Self::new(42206, message)
    }
    pub fn id_mismatch(message: impl Into<String>) -> Self {
        Self::new(42207, message)
    }
    pub fn invalid_subject(subject: &str, why: &str) -> Self {
        Self::new(
            42208,
            format!("The specified subject '{subject}' is not valid: {why}"),
        )
    }
    pub fn schema_too_large(message: impl Into<String>) -> Self {
        Self::new(42209, message)
    }
    pub fn store(message: impl Into<String>) -> Self {
        Self::new(50001, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        tracing::error!(error = %err, "storage failure");
        ApiError::store(format!("Error in the backend data store: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error_code: self.code,
            message: &self.message,
        };
        (self.status(), axum::Json(body)).into_response()
    }
}
