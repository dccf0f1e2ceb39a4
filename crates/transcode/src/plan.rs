//! The public face of a compiled message type: [`Plan`].
//!
//! A plan holds the compiled form (`compile`) behind an `Arc`, which makes
//! it cheap to clone and `Send + Sync`; its methods hand the wire bytes to
//! the walker (`transcode`).

use std::sync::Arc;

use prost_reflect::MessageDescriptor;

use crate::compile::Compiled;
use crate::error::TranscodeError;
use crate::options::JsonOptions;
use crate::transcode::{self, Check};

/// A message type compiled for transcoding with one set of [`JsonOptions`].
///
/// Compile once, use for every message of the type; cheap to clone and safe
/// to share between threads.
#[derive(Debug, Clone)]
pub struct Plan {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    message: MessageDescriptor,
    compiled: Compiled,
}

impl Plan {
    /// Compiles `message` for transcoding with `options`.
    ///
    /// Cost: proportional to the number of fields of the message types
    /// reachable from `message` (of all message types in its pool when one
    /// of them is `google.protobuf.Any`); typically microseconds to a few
    /// milliseconds. Compile once and clone.
    pub fn new(message: &MessageDescriptor, options: JsonOptions) -> Plan {
        Plan {
            inner: Arc::new(Inner {
                message: message.clone(),
                compiled: Compiled::new(message, options),
            }),
        }
    }

    /// The message type this plan transcodes.
    pub fn message(&self) -> &MessageDescriptor {
        &self.inner.message
    }

    /// The options this plan writes with.
    pub fn options(&self) -> JsonOptions {
        self.inner.compiled.options
    }

    /// Appends the JSON for the message encoded in `wire` to `out` (no
    /// trailing newline): an object, or for a well-known type at the top
    /// level its JSON value (a Timestamp is a string).
    ///
    /// Fields are printed in field-number order (extensions among them by
    /// number); with [`JsonOptions::emit_defaults`] the absent fields
    /// without presence follow, in field-number order, as Python's
    /// `json_format` prints them.
    ///
    /// # Errors
    ///
    /// A [`TranscodeError`] naming the problem, the byte offset and the
    /// field path: malformed wire data (everything Google's parser rejects:
    /// truncation, bad varints, tags and wire types, lengths past the end,
    /// mismatched or unclosed groups, invalid UTF-8 in a `string` field that
    /// validates it (proto3's, or editions' with `utf8_validation = VERIFY`),
    /// nesting deeper than 100 levels), and values Google's printer refuses
    /// (a Timestamp or Duration out of range, a NaN or infinite
    /// `Value.number_value`, a FieldMask path that does not round-trip, an
    /// `Any` whose type is not in the schema or whose payload is malformed).
    /// Messages of 4 GiB or more are refused. On error `out` is left as it
    /// was before the call.
    pub fn transcode(&self, wire: &[u8], out: &mut Vec<u8>) -> Result<(), TranscodeError> {
        transcode::transcode(&self.inner.compiled, wire, out, usize::MAX)
    }

    /// [`Plan::transcode`], refusing a message whose JSON would be longer
    /// than `max_len` bytes, so that no message (a few bytes of wire data
    /// can print as megabytes: empty nested messages with
    /// [`JsonOptions::emit_defaults`], enum names, escaped control
    /// characters) can take more memory than the caller allows.
    ///
    /// The length is checked while the JSON is written, at every field and
    /// every element of a repeated field (every 64 for packed numbers), and
    /// before a string, `bytes` value or map key is written; so the output
    /// never grows past `max_len` by more than one number or enum name,
    /// the opening of a nested message and the defaults
    /// [`JsonOptions::emit_defaults`] adds when it closes. The working
    /// memory for fields out of order (12 bytes per field occurrence, more
    /// per map entry, doubled for `Vec` growth) and for the keys of a large
    /// map counts toward the same limit: the call's memory beyond the
    /// input stays within about `max_len` (twice that with `Vec` growth).
    ///
    /// # Errors
    ///
    /// Those of [`Plan::transcode`], and [`ErrorKind::LineTooLong`](crate::ErrorKind::LineTooLong) at the
    /// field being written when the limit is reached. On error `out` is left
    /// as it was before the call.
    pub fn transcode_limited(
        &self,
        wire: &[u8],
        out: &mut Vec<u8>,
        max_len: usize,
    ) -> Result<(), TranscodeError> {
        transcode::transcode(&self.inner.compiled, wire, out, max_len)
    }

    /// Decodes `wire` without writing JSON and counts its top-level fields:
    /// what framing detection uses to ask "does this parse cleanly as this
    /// type?".
    ///
    /// The check is Google's parser's: the wire format of the message and
    /// of every known nested message and group, UTF-8 of the strings that
    /// validate it (as in [`Plan::transcode`]) and the nesting limit. It does not look into `Any` payloads nor check the
    /// ranges of well-known types (what only printing rejects), so a message
    /// that passes can still fail [`Plan::transcode`] for those.
    ///
    /// # Errors
    ///
    /// The wire-format errors of [`Plan::transcode`].
    pub fn check(&self, wire: &[u8]) -> Result<Check, TranscodeError> {
        transcode::check(&self.inner.compiled, wire)
    }
}
