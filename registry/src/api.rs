//! Request and response bodies of the Confluent Schema Registry REST API, defined once for
//! the server, the client and the CLI. Empty and absent fields are omitted, as Confluent's
//! `NON_EMPTY` serialisation does; unknown request fields are ignored.

use eventschema_core::Reference;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Body of register, lookup and compatibility-test requests.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRequest {
    /// The schema text. Clients send a string; a JSON object is accepted as its own text.
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<Vec<Reference>>,
    /// Explicit id (IMPORT mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Explicit version (IMPORT mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// `POST /subjects/{s}/versions` answer: the 7.x `{"id"}` plus the version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RegisterResponse {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

fn is_avro(schema_type: &Option<String>) -> bool {
    schema_type.as_deref().is_none_or(|t| t == "AVRO")
}

/// `GET /schemas/ids/{id}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaResponse {
    pub schema: String,
    /// Omitted for AVRO, as Confluent 7.x does; clients default to AVRO.
    #[serde(default, skip_serializing_if = "is_avro")]
    pub schema_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
}

/// A subject version (`GET /subjects/{s}/versions/{v}`, lookup, `GET /schemas`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectVersionResponse {
    pub subject: String,
    pub version: i64,
    pub id: i64,
    #[serde(default, skip_serializing_if = "is_avro")]
    pub schema_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    pub schema: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// `GET /schemas/ids/{id}/versions` item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SubjectVersionRef {
    pub subject: String,
    pub version: i64,
}

/// Compatibility-test answer; `messages` only with `verbose=true`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CompatibilityResponse {
    pub is_compatible: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<String>>,
}

/// `PUT /config` body and answer (the answer echoes what was set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigUpdate {
    /// Confluent 8.x clients may send the GET-side name `compatibilityLevel`.
    #[serde(
        default,
        alias = "compatibilityLevel",
        skip_serializing_if = "Option::is_none"
    )]
    pub compatibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
}

/// `GET /config` answer: note `compatibilityLevel`, not `compatibility`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigResponse {
    pub compatibility_level: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
}

/// `GET`/`PUT /mode` body and answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ModeBody {
    pub mode: String,
}

/// The body of every error answer: `{"error_code": 40401, "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ErrorResponse {
    pub error_code: u32,
    pub message: String,
}
