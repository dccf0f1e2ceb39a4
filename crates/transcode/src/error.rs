use std::fmt;

/// Why a message could not be transcoded, and where: the byte offset into
/// the message's wire bytes and the path of fields leading there
/// (`page.items[2].price`; empty at the top level).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}{}", FieldPath(.field_path))]
#[non_exhaustive]
pub struct TranscodeError {
    pub kind: ErrorKind,
    /// Offset of the offending byte within the message being transcoded.
    pub offset: usize,
    /// Dotted path of fields (JSON names as written) from the top-level
    /// message to the field where decoding failed; empty at the top level.
    pub field_path: String,
}

impl TranscodeError {
    pub fn new(kind: ErrorKind, offset: usize, field_path: impl Into<String>) -> Self {
        TranscodeError {
            kind,
            offset,
            field_path: field_path.into(),
        }
    }
}

struct FieldPath<'a>(&'a str);

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " in field `{}`", self.0)
        }
    }
}

/// The kinds of bad input. Every one is a property of the data, never a
/// reason to retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("message ends in the middle of a field")]
    Truncated,
    #[error("invalid varint")]
    InvalidVarint,
    #[error("invalid wire type {0}")]
    InvalidWireType(u8),
    #[error("field number 0 is invalid")]
    InvalidFieldNumber,
    #[error("length {length} runs past the end of the message ({remaining} bytes left)")]
    LengthOutOfBounds { length: u64, remaining: usize },
    #[error("end-group tag for field {found} does not match the open group (field {expected})")]
    EndGroupMismatch { expected: u32, found: u32 },
    #[error("unexpected end-group tag for field {0}")]
    UnexpectedEndGroup(u32),
    #[error("group for field {0} is never closed")]
    UnclosedGroup(u32),
    #[error("invalid UTF-8 in a string field")]
    InvalidUtf8,
    #[error("messages nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("Any type URL `{0}` does not name a message type in the schema")]
    UnresolvableAny(String),
    /// A well-known type holds a value its JSON form cannot express (a
    /// Timestamp outside years 1–9999, a Duration over 10000 years, a
    /// FieldMask path that does not round-trip to camelCase, …).
    #[error("invalid {type_name}: {reason}")]
    InvalidWellKnown {
        type_name: &'static str,
        reason: String,
    },
    /// Anything else the decoder rejects (kept general on purpose so callers
    /// match on the common kinds and print the rest).
    #[error("{0}")]
    Other(String),
}
