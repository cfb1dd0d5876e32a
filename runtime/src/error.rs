//! Typed errors of the runtime: envelope and codec errors, the error classes handlers
//! return, and the errors of publishing and of the stores.

use std::fmt;

/// A CloudEvents envelope that is missing something or holds something malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("missing required attribute `{0}`")]
    Missing(&'static str),
    #[error("attribute `{name}` is malformed: {reason}")]
    Malformed { name: String, reason: String },
    #[error("invalid attribute name `{0}`: names are 1 to 20 characters of [a-z0-9]")]
    InvalidName(String),
    #[error("attribute `{0}` is a reserved name and cannot be an extension")]
    Reserved(String),
    #[error("unsupported specversion `{0}` (only \"1.0\")")]
    SpecVersion(String),
    #[error("not a structured CloudEvent: {0}")]
    NotAnEvent(String),
    #[error("event of {size} bytes exceeds the limit of {limit} bytes")]
    Oversized { size: usize, limit: usize },
}

impl EnvelopeError {
    pub(crate) fn malformed(name: &str, reason: impl Into<String>) -> Self {
        EnvelopeError::Malformed {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Encoding or decoding a payload failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

/// How the runtime treats a failure: retry it, or dead-letter it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Might succeed later (timeouts, unavailable dependencies): retried with backoff.
    Transient,
    /// Will fail every time (a business rule refuses it): dead-lettered at once.
    Permanent,
    /// The event itself is bad (envelope, decode, schema): dead-lettered at once.
    Invalid,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Invalid => "invalid",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a handler returns: a class and the chain of messages that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    pub class: ErrorClass,
    /// Outermost message first, then each `source()` in turn.
    pub chain: Vec<String>,
}

impl HandlerError {
    fn with_class(class: ErrorClass, error: &(dyn std::error::Error + 'static)) -> Self {
        let mut chain = vec![error.to_string()];
        let mut source = error.source();
        while let Some(inner) = source {
            chain.push(inner.to_string());
            source = inner.source();
        }
        HandlerError { class, chain }
    }

    /// A failure worth retrying; keeps the error's `source()` chain.
    pub fn transient(error: impl std::error::Error + 'static) -> Self {
        Self::with_class(ErrorClass::Transient, &error)
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(error: impl std::error::Error + 'static) -> Self {
        Self::with_class(ErrorClass::Permanent, &error)
    }

    /// The event is unacceptable to this handler.
    pub fn invalid(error: impl std::error::Error + 'static) -> Self {
        Self::with_class(ErrorClass::Invalid, &error)
    }

    /// A failure described by a message only.
    pub fn msg(class: ErrorClass, message: impl Into<String>) -> Self {
        HandlerError {
            class,
            chain: vec![message.into()],
        }
    }

    pub fn is_transient(&self) -> bool {
        self.class == ErrorClass::Transient
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.class, self.chain.join(": "))
    }
}

impl std::error::Error for HandlerError {}

/// An idempotency or dead-letter store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[cfg(feature = "redis")]
    #[error("redis error: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("invalid store configuration: {0}")]
    Config(String),
    #[error("corrupt store record: {0}")]
    Corrupt(String),
}

/// Publishing an event failed; nothing was enqueued.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("the queue of group `{0}` is full")]
    QueueFull(String),
    #[error("the bus is shut down")]
    Closed,
    /// The event's writer schema could not be fetched (the registry is unreachable);
    /// nothing was sent or dead-lettered, the same publish may be tried again.
    #[error("{0}")]
    SchemaUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transport(#[from] crate::transport::TransportError),
}

/// Setting up a subscription failed.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("invalid subject pattern `{0}`")]
    Pattern(String),
    #[error(
        "group `{0}` already runs with other subscriptions; instances of a group must subscribe alike"
    )]
    GroupMismatch(String),
    #[error("group `{0}` has no subscriptions")]
    Empty(String),
    #[error("schema for `{ty}` v{version} does not compile: {reason}")]
    Schema {
        ty: String,
        version: u32,
        reason: String,
    },
    #[error("the bus is shut down")]
    Closed,
    #[error("consumer group `{group}` has two handlers for `{ty}`")]
    DuplicateHandler { group: String, ty: String },
    #[error(
        "consumer group `{0}` has inbox handlers (taking `&mut PgConnection`): register it with `Bus::register_inbox`"
    )]
    NoInbox(String),
    #[error(transparent)]
    Transport(#[from] crate::transport::TransportError),
}
