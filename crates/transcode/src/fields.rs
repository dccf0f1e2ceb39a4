//! A public, allocation-free reader of a message's fields, for decoders
//! other than the JSON walker (the columnar crate): the same varint, tag,
//! length and group rules (`wire`) with upb's limits, errors as
//! [`TranscodeError`]s with absolute byte offsets.
//!
//! The walker does not use this: its hot loop reads tags inline. This is
//! the small, checked API around the same primitives.

use crate::error::{ErrorKind, Fault, TranscodeError};
use crate::wire::{self, EGROUP, I32, I64, LEN, SGROUP, VARINT};

/// One field occurrence as read from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireField {
    /// The field number (never 0: that is an error).
    pub number: u32,
    /// Where its tag starts (absolute): what errors about it point at.
    pub tag_at: usize,
    pub value: WireValue,
}

/// The value of a [`WireField`], as its wire type lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireValue {
    Varint(u64),
    /// Eight little-endian bytes, as a number.
    I64(u64),
    /// Four little-endian bytes, as a number.
    I32(u32),
    /// A length-delimited value: its bytes are `wire[start..end]`.
    Len {
        start: usize,
        end: usize,
    },
    /// A group: its body (the fields before the end-group tag) is
    /// `wire[start..end]`.
    Group {
        start: usize,
        end: usize,
    },
}

/// Reads the fields of one message (or group body) in `wire[start..end]`
/// in wire order, checking each value's framing (lengths inside the
/// message, groups closed by their own end tag, nesting at most upb's 100
/// levels counting from `depth`, the depth of the message being read).
#[derive(Debug, Clone)]
pub struct FieldReader<'a> {
    data: &'a [u8],
    p: usize,
    depth: u32,
}

impl<'a> FieldReader<'a> {
    /// A reader of the fields in `wire[start..end]` (clamped to `wire`);
    /// offsets in its fields and errors are positions in `wire`.
    pub fn new(wire: &'a [u8], start: usize, end: usize, depth: u32) -> FieldReader<'a> {
        let data = wire.get(..end).unwrap_or(wire);
        FieldReader {
            data,
            p: start,
            depth,
        }
    }

    /// The next field, or `None` at the end of the message.
    ///
    /// # Errors
    ///
    /// A [`TranscodeError`] (with an empty field path) for a malformed tag
    /// or value: truncation, an over-long varint, field number 0, wire
    /// types 6 and 7, an unexpected end-group tag, a length past the end,
    /// a group never closed or closed by another field's tag, nesting too
    /// deep.
    pub fn next_field(&mut self) -> Result<Option<WireField>, TranscodeError> {
        if self.p >= self.data.len() {
            return Ok(None);
        }
        self.read().map(Some).map_err(Fault::into_error)
    }

    fn read(&mut self) -> Result<WireField, Fault> {
        let (data, p) = (self.data, &mut self.p);
        let tag_at = *p;
        let (number, wt) = wire::tag(data, p)?;
        if number == 0 {
            return Err(Fault::new(ErrorKind::InvalidFieldNumber, tag_at));
        }
        let value = match wt {
            VARINT => WireValue::Varint(wire::varint(data, p).map_err(|f| f.truncated_at(tag_at))?),
            I64 => WireValue::I64(u64::from_le_bytes(wire::fixed::<8>(data, p, tag_at)?)),
            I32 => WireValue::I32(u32::from_le_bytes(wire::fixed::<4>(data, p, tag_at)?)),
            LEN => {
                let end = wire::length(data, p, tag_at)?;
                let start = std::mem::replace(p, end);
                WireValue::Len { start, end }
            }
            SGROUP => {
                let start = *p;
                let end = wire::skip_group(data, p, number, tag_at, self.depth + 1)?;
                WireValue::Group { start, end }
            }
            EGROUP => return Err(Fault::new(ErrorKind::UnexpectedEndGroup(number), tag_at)),
            other => return Err(Fault::new(ErrorKind::InvalidWireType(other), tag_at)),
        };
        Ok(WireField {
            number,
            tag_at,
            value,
        })
    }
}

/// Decodes the varint at `*at` in `wire` (a packed element), moving `*at`
/// past it.
///
/// # Errors
///
/// [`ErrorKind::Truncated`] or [`ErrorKind::InvalidVarint`] at `*at`.
pub fn read_varint(wire: &[u8], at: &mut usize) -> Result<u64, TranscodeError> {
    wire::varint(wire, at).map_err(Fault::into_error)
}

/// Zigzag decoding for `sint32` and `sint64` values.
pub fn unzigzag(v: u64, bits64: bool) -> i64 {
    if bits64 {
        wire::unzigzag64(v)
    } else {
        i64::from(wire::unzigzag32(v as u32))
    }
}
