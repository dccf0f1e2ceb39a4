//! Why an event, or one message or task of it, cannot be used.

/// Why an event (or one message of it) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    /// Valid JSON of an unknown shape.
    #[error("not an S3 event notification: {0}")]
    UnknownShape(String),
    #[error("{context} has no `{field}`")]
    MissingField {
        context: &'static str,
        field: &'static str,
    },
    #[error("{context} has `{field}` of the wrong type: {found}")]
    WrongType {
        context: &'static str,
        field: &'static str,
        found: String,
    },
    #[error("event version `{0}` is not supported (major version 2 is)")]
    UnsupportedVersion(String),
    #[error("key `{key}` does not decode to UTF-8")]
    KeyEncoding { key: String },
    /// A bucket name S3 would never send: reading it could address
    /// something else (`../etc` in a path-style URL is another bucket).
    #[error("bucket `{bucket}` is not a valid S3 bucket name: {reason}")]
    InvalidBucket { bucket: String, reason: String },
}
