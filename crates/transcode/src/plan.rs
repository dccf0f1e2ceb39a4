//! The compiled per-type plan.
//!
//! FIRST CUT: this decodes into prost-reflect's `DynamicMessage` and
//! serializes it with serde_json. It is slow, reports no byte offsets and
//! differs from Google's output at the edges (NaN in wrappers, `-0.0`); it
//! exists so that the layers above can be built against the final API while
//! the wire-walking plan replaces it.

use std::sync::Arc;

use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};

use crate::{ErrorKind, JsonOptions, TranscodeError};

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
    options: JsonOptions,
}

/// What [`Plan::check`] learned about a message that decoded cleanly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Check {
    /// Top-level fields whose number the schema knows, with the wire type the
    /// schema expects.
    pub known_fields: u64,
    /// Top-level fields the schema does not know (skipped in the JSON).
    pub unknown_fields: u64,
}

impl Plan {
    /// Compiles `message` for transcoding with `options`.
    pub fn new(message: &MessageDescriptor, options: JsonOptions) -> Plan {
        Plan {
            inner: Arc::new(Inner {
                message: message.clone(),
                options,
            }),
        }
    }

    /// The message type this plan transcodes.
    pub fn message(&self) -> &MessageDescriptor {
        &self.inner.message
    }

    /// The options this plan writes with.
    pub fn options(&self) -> JsonOptions {
        self.inner.options
    }

    /// Appends the JSON object for the message encoded in `wire` to `out`
    /// (no trailing newline).
    ///
    /// # Errors
    ///
    /// A [`TranscodeError`] naming the problem, the byte offset and the
    /// field path. On error `out` is left as it was before the call.
    pub fn transcode(&self, wire: &[u8], out: &mut Vec<u8>) -> Result<(), TranscodeError> {
        let start = out.len();
        let message = self.decode(wire)?;
        let options = SerializeOptions::new()
            .use_proto_field_name(self.inner.options.proto_names)
            .skip_default_fields(!self.inner.options.emit_defaults)
            .use_enum_numbers(self.inner.options.enum_numbers);
        let mut serializer = serde_json::Serializer::new(&mut *out);
        if let Err(e) = message.serialize_with_options(&mut serializer, &options) {
            out.truncate(start);
            return Err(TranscodeError::new(ErrorKind::Other(e.to_string()), 0, ""));
        }
        Ok(())
    }

    /// Decodes `wire` without writing JSON and counts its top-level fields:
    /// what framing detection uses to ask "does this parse cleanly as this
    /// type?".
    ///
    /// # Errors
    ///
    /// The same errors as [`Plan::transcode`].
    pub fn check(&self, wire: &[u8]) -> Result<Check, TranscodeError> {
        let message = self.decode(wire)?;
        let known = message.fields().count() as u64;
        let unknown = message.unknown_fields().count() as u64;
        Ok(Check {
            known_fields: known,
            unknown_fields: unknown,
        })
    }

    fn decode(&self, wire: &[u8]) -> Result<DynamicMessage, TranscodeError> {
        DynamicMessage::decode(self.inner.message.clone(), wire)
            .map_err(|e| TranscodeError::new(ErrorKind::Other(e.to_string()), 0, ""))
    }
}

// Keep `prost::Message` in scope for `DynamicMessage::decode`.
const _: fn(&DynamicMessage) -> usize = |m| m.encoded_len();
