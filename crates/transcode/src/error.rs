use std::fmt;

/// Why a message could not be transcoded, and where: the byte offset into
/// the message's wire bytes and the path of fields leading there
/// (`page.items[2].price`; empty at the top level).
///
/// The offset is absolute within the bytes given to
/// [`Plan::transcode`](crate::Plan::transcode), also inside nested messages
/// and `Any` payloads. It points at the start of the offending field's tag
/// for problems with a field as a whole (a bad wire type, a value or length
/// running past the end, a group never closed); at the first bad byte for
/// invalid UTF-8; at the varint itself for an over-long varint; at the tag
/// of the field holding the value for well-known-type values JSON cannot
/// express.
///
/// The path names fields as they are printed (JSON names, or proto names
/// with [`JsonOptions::proto_names`](crate::JsonOptions)), extensions as
/// `[full.name]`; a repeated element adds its index in the JSON array
/// (`items[2]`), a map value (and a `Struct` member) its key as a JSON
/// string (`tags["k"]`, `counts["7"]`), a `ListValue` element its index. The
/// payload of an `Any` adds nothing for a regular message (its fields are
/// printed beside `@type`) and `value` for a well-known type. It ends with
/// the field whose tag or value is bad when that field is known to the
/// schema, and at the enclosing message otherwise.
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
    /// A varint longer than 10 bytes, or a tag or length prefix longer than
    /// 5 bytes or over 32 bits.
    #[error("invalid varint")]
    InvalidVarint,
    #[error("invalid wire type {0}")]
    InvalidWireType(u8),
    #[error("field number 0 is invalid")]
    InvalidFieldNumber,
    #[error("length {length} runs past the end of the message ({remaining} bytes left)")]
    LengthOutOfBounds { length: u64, remaining: usize },
    /// A packed repeated field of a fixed-size type whose length is not a
    /// multiple of the element size.
    #[error("packed field of {length} bytes is not a whole number of {element_size}-byte elements")]
    PackedLength { length: usize, element_size: usize },
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
    /// The message's JSON would be longer than the limit given to
    /// [`Plan::transcode_limited`](crate::Plan::transcode_limited) (the
    /// working memory for fields out of order counts too): found while
    /// writing, at the field being written.
    #[error("its JSON is over the line limit of {limit} bytes")]
    LineTooLong { limit: usize },
    /// The message's row would take more column memory than the limit a
    /// columnar builder was given (its counterpart of the line limit):
    /// found while the row grew, at the field being filled.
    #[error("its row is over the limit of {limit} bytes of column buffers")]
    RowTooLarge { limit: usize },
    /// Anything else the decoder rejects (kept general on purpose so callers
    /// match on the common kinds and print the rest).
    #[error("{0}")]
    Other(String),
}

/// The internal error: either a real error, or the fast path giving up on a
/// message it cannot write in wire order (the caller redoes the whole
/// message on the slow path). One word wide so `Result`s stay cheap.
pub(crate) enum Fault {
    Bail,
    Error(Box<TranscodeError>),
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Bail => f.write_str("Bail"),
            Fault::Error(e) => write!(f, "Error({e})"),
        }
    }
}

impl Fault {
    /// The error (a bail cannot come out of the wire readers; should one,
    /// it says so rather than panicking).
    #[cold]
    pub(crate) fn into_error(self) -> TranscodeError {
        match self {
            Fault::Error(e) => *e,
            Fault::Bail => TranscodeError::new(
                ErrorKind::Other("internal: fast path gave up outside the walker".into()),
                0,
                String::new(),
            ),
        }
    }

    #[cold]
    pub(crate) fn new(kind: ErrorKind, offset: usize) -> Fault {
        Fault::Error(Box::new(TranscodeError::new(kind, offset, String::new())))
    }

    /// Moves a [`ErrorKind::Truncated`] error to `offset` (the tag of the
    /// field being read), leaving other errors where they are.
    #[cold]
    pub(crate) fn truncated_at(mut self, offset: usize) -> Fault {
        if let Fault::Error(e) = &mut self
            && e.kind == ErrorKind::Truncated
        {
            e.offset = offset;
        }
        self
    }

    /// Prepends a path segment (`name`, `name[3]`, `name["k"]`) to the
    /// error's field path.
    #[cold]
    pub(crate) fn in_field(mut self, segment: fmt::Arguments<'_>) -> Fault {
        if let Fault::Error(e) = &mut self {
            let mut path = segment.to_string();
            if path.is_empty() {
                // An element or key without a name of its own (the members
                // of a `Struct` or `ListValue` printed bare).
            } else if !e.field_path.is_empty() && !e.field_path.starts_with('[') {
                path.push('.');
            }
            path.push_str(&e.field_path);
            e.field_path = path;
        }
        self
    }

    #[cfg(test)]
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            Fault::Bail => ErrorKind::Other("bail".into()),
            Fault::Error(e) => e.kind.clone(),
        }
    }

    #[cfg(test)]
    pub(crate) fn offset(&self) -> usize {
        match self {
            Fault::Bail => usize::MAX,
            Fault::Error(e) => e.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_kind_offset_and_path() {
        let e = TranscodeError::new(ErrorKind::InvalidWireType(7), 40, "page.items[2].price");
        assert_eq!(
            e.to_string(),
            "invalid wire type 7 at byte 40 in field `page.items[2].price`"
        );
        let e = TranscodeError::new(ErrorKind::Truncated, 3, "");
        assert_eq!(
            e.to_string(),
            "message ends in the middle of a field at byte 3"
        );
    }

    #[test]
    fn builds_paths_from_the_inside_out() {
        let f = Fault::new(ErrorKind::InvalidUtf8, 9)
            .in_field(format_args!("price"))
            .in_field(format_args!("items[{}]", 2))
            .in_field(format_args!("page"));
        let Fault::Error(e) = f else {
            panic!("not an error")
        };
        assert_eq!(e.field_path, "page.items[2].price");

        let f = Fault::new(ErrorKind::InvalidUtf8, 9)
            .in_field(format_args!("[\"k\"]"))
            .in_field(format_args!("tags"));
        let Fault::Error(e) = f else {
            panic!("not an error")
        };
        assert_eq!(e.field_path, "tags[\"k\"]");
    }
}
