//! Why one attempt at an object failed, and how error texts are built.

use protoland_pipeline_core::{ConfigError, SourceId, printable};
use protoland_stream::ConvertError;

use crate::storage::StorageError;

/// Why one attempt at an object failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ObjectError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    // The conversion error with its causes: this text is all that logs,
    // quarantine reports and direct responses show ("message 2 at byte 98
    // does not decode" alone would not say why).
    #[error("converting {source_url}: {}", with_causes(error))]
    Convert {
        source_url: String,
        error: ConvertError,
    },
    #[error(
        "no route matches key `{}` and PROTOLAND_MESSAGE is not set",
        printable(key)
    )]
    NoRoute { key: String },
    #[error("converting {source_url} panicked: {message}")]
    Panic { source_url: String, message: String },
    /// Another source's output, or an object protoland did not write, is at
    /// the landing key: never overwritten.
    #[error(
        "landing {source_url}: {landing} {occupant}; not overwriting it (two sources map to one landing key: give PROTOLAND_KEY_TEMPLATE more of the source key, such as {{key}})"
    )]
    LandingTaken {
        source_url: String,
        landing: String,
        occupant: String,
        /// The other source, when the occupant has a record.
        other: Option<SourceId>,
    },
    /// The landing key is the source object itself.
    #[error(
        "landing {source_url}: the landing key is the source object itself; not overwriting it (change the landing location or PROTOLAND_KEY_TEMPLATE)"
    )]
    LandingIsSource { source_url: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ErrorClass {
    /// Worth another attempt.
    Transient,
    /// The object's own fault: quarantine applies.
    BadObject,
    /// Neither (access denied, a panic): fail without quarantine.
    Failure,
}

impl ObjectError {
    pub(super) fn class(&self) -> ErrorClass {
        match self {
            ObjectError::Storage(e) if e.is_transient() => ErrorClass::Transient,
            ObjectError::Storage(StorageError::UnsupportedKey { .. }) => ErrorClass::BadObject,
            ObjectError::Storage(_) => ErrorClass::Failure,
            ObjectError::Convert { error, .. } if error.is_transient() => ErrorClass::Transient,
            ObjectError::Convert { .. }
            | ObjectError::NoRoute { .. }
            | ObjectError::LandingTaken { .. }
            | ObjectError::LandingIsSource { .. } => ErrorClass::BadObject,
            ObjectError::Panic { .. } => ErrorClass::Failure,
        }
    }

    pub(super) fn is_not_found(&self) -> bool {
        matches!(self, ObjectError::Storage(e) if e.is_not_found())
    }
}

/// An error's text followed by its causes', `: `-separated; a cause whose
/// text is already there (errors that print their source and also return it
/// from `source()`, as `object_store`'s do) is not repeated.
pub(super) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = e.source();
    }
    text
}

/// A task's end for an error text: `panic: <message>` or why it stopped.
pub(super) fn join_error_text(e: tokio::task::JoinError) -> String {
    if e.is_panic() {
        format!("panic: {}", panic_message(e))
    } else {
        e.to_string()
    }
}

/// The panic message of a task that panicked (for another end, why it
/// stopped).
pub(super) fn panic_message(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return e.to_string();
    }
    let payload = e.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// A setting whose value does not work, named by its variable.
pub(super) fn invalid(var: &'static str, message: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        var,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_names_each_cause_once() {
        // A transcoding error: its cause is only behind `source()`.
        let transcode = ObjectError::Convert {
            source_url: "s3://raw/a.pb".into(),
            error: ConvertError::Transcode {
                index: 2,
                offset: 98,
                source: protoland_transcode::TranscodeError::new(
                    protoland_transcode::ErrorKind::InvalidUtf8,
                    4,
                    "url",
                ),
            },
        };
        assert_eq!(
            transcode.to_string(),
            "converting s3://raw/a.pb: message 2 at byte 98 does not decode: invalid UTF-8 in a string field at byte 4 in field `url`"
        );
        // A read error whose cause prints its own source and returns it.
        let store = object_store::Error::Generic {
            store: "S3",
            source: "connection reset".into(),
        };
        let read = ObjectError::Convert {
            source_url: "s3://raw/a.pb".into(),
            error: ConvertError::Read(std::io::Error::other(store)),
        };
        assert_eq!(
            read.to_string(),
            "converting s3://raw/a.pb: reading the input failed: Generic S3 error: connection reset"
        );
    }
}
