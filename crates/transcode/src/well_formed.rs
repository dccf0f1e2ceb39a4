//! Is it protobuf at all? A check of wire data without a schema, for
//! framing detection when no message type is known (and for `inspect`).
//!
//! It is stricter than the transcoder's reading in one place: a varint
//! whose tenth byte is over 1 (more than 64 bits) is invalid here, where
//! upb drops the extra bits; data that only decodes that way is unlikely to
//! be what a detector should call protobuf.

use crate::error::{ErrorKind, TranscodeError};
use crate::wire::{MAX_DEPTH, WireType};

/// Checks that `bytes` is well-formed protobuf wire data at the top level:
/// valid tags (field number 1 to 2^29-1, wire types 0, 1, 2, 5 and matched
/// groups 3/4, nested at most 100 deep), varints of at most 10 bytes, and
/// fixed-size and length-delimited values that fit. With `cut_ok`, the
/// bytes may end in the middle of a field (they are the start of something
/// longer). Returns the number of top-level fields (0 when cut short with
/// `cut_ok`).
///
/// ```
/// use protoland_transcode::check_wire;
///
/// // Field 1 = 150, then field 2 = "hi".
/// assert_eq!(check_wire(b"\x08\x96\x01\x12\x02hi", false), Ok(2));
/// // Cut inside the string: fine as the start of something longer.
/// assert_eq!(check_wire(b"\x08\x96\x01\x12\x02h", true), Ok(0));
/// let err = check_wire(b"\x0f", false).unwrap_err();
/// assert_eq!(err.to_string(), "invalid wire type 7 at byte 0");
/// ```
///
/// # Errors
///
/// The first problem, with its offset in `bytes`.
pub fn check_wire(bytes: &[u8], cut_ok: bool) -> Result<u64, TranscodeError> {
    let mut pos = 0usize;
    match walk_fields(bytes, &mut pos, None, 0) {
        Ok(fields) => Ok(fields),
        Err(e) if cut_ok && e.kind == ErrorKind::Truncated => Ok(0),
        Err(e) if cut_ok && matches!(e.kind, ErrorKind::LengthOutOfBounds { .. }) => Ok(0),
        Err(e) if cut_ok && matches!(e.kind, ErrorKind::UnclosedGroup(_)) => Ok(0),
        Err(e) => Err(e),
    }
}

/// The deepest group nesting [`check_wire`] follows: the transcoder's.
const MAX_GROUP_DEPTH: usize = MAX_DEPTH as usize;

fn error(kind: ErrorKind, at: usize) -> TranscodeError {
    TranscodeError::new(kind, at, "")
}

/// Walks fields from `*pos` to the end of `bytes`, or to the end-group tag
/// of `group` when inside one.
fn walk_fields(
    bytes: &[u8],
    pos: &mut usize,
    group: Option<u32>,
    depth: usize,
) -> Result<u64, TranscodeError> {
    let mut fields = 0u64;
    while *pos < bytes.len() {
        let start = *pos;
        let tag = read_varint(bytes, pos)?;
        if tag > u64::from(u32::MAX) {
            return Err(error(ErrorKind::InvalidVarint, start));
        }
        let field = (tag >> 3) as u32;
        let bits = (tag & 7) as u8;
        if field == 0 {
            return Err(error(ErrorKind::InvalidFieldNumber, start));
        }
        let Some(wire_type) = WireType::from_bits(bits) else {
            return Err(error(ErrorKind::InvalidWireType(bits), start));
        };
        match wire_type {
            WireType::Varint => {
                read_varint(bytes, pos)?;
            }
            WireType::I64 => skip(bytes, pos, 8)?,
            WireType::Len => {
                let at = *pos;
                let length = read_varint(bytes, pos)?;
                let remaining = bytes.len() - *pos;
                if length > remaining as u64 {
                    return Err(error(
                        ErrorKind::LengthOutOfBounds { length, remaining },
                        at,
                    ));
                }
                *pos += length as usize;
            }
            WireType::StartGroup => {
                if depth >= MAX_GROUP_DEPTH {
                    return Err(error(ErrorKind::TooDeep(MAX_GROUP_DEPTH), start));
                }
                walk_fields(bytes, pos, Some(field), depth + 1)?;
            }
            WireType::EndGroup => {
                return match group {
                    Some(open) if open == field => Ok(fields),
                    Some(open) => Err(error(
                        ErrorKind::EndGroupMismatch {
                            expected: open,
                            found: field,
                        },
                        start,
                    )),
                    None => Err(error(ErrorKind::UnexpectedEndGroup(field), start)),
                };
            }
            WireType::I32 => skip(bytes, pos, 4)?,
        }
        fields += 1;
    }
    match group {
        Some(open) => Err(error(ErrorKind::UnclosedGroup(open), *pos)),
        None => Ok(fields),
    }
}

/// A varint of at most 10 bytes and 64 bits at `*pos`.
fn read_varint(bytes: &[u8], pos: &mut usize) -> Result<u64, TranscodeError> {
    let start = *pos;
    let mut value: u64 = 0;
    for (i, &byte) in bytes[start..].iter().take(10).enumerate() {
        if i == 9 && byte > 1 {
            return Err(error(ErrorKind::InvalidVarint, start));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            *pos = start + i + 1;
            return Ok(value);
        }
    }
    if bytes.len() - start >= 10 {
        Err(error(ErrorKind::InvalidVarint, start))
    } else {
        Err(error(ErrorKind::Truncated, start))
    }
}

fn skip(bytes: &[u8], pos: &mut usize, n: usize) -> Result<(), TranscodeError> {
    if bytes.len() - *pos < n {
        return Err(error(ErrorKind::Truncated, *pos));
    }
    *pos += n;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_data() {
        // field 1 varint, field 2 fixed64, field 3 bytes, field 4 group with
        // field 1 varint inside, field 5 fixed32
        let data = [
            0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 2, b'h', b'i', 0x23, 0x08, 1,
            0x24, 0x2d, 1, 2, 3, 4,
        ];
        assert_eq!(check_wire(&data, false), Ok(5));
        for cut in 0..data.len() {
            assert!(check_wire(&data[..cut], true).is_ok(), "cut {cut}");
        }
    }

    #[test]
    fn rejects_malformed_data() {
        let cases: [(&[u8], &str); 9] = [
            (&[0x0f], "invalid wire type 7 at byte 0"),
            (&[0x00], "field number 0 is invalid at byte 0"),
            (
                &[0x0a, 5, 1],
                "length 5 runs past the end of the message (1 bytes left) at byte 1",
            ),
            (&[0x0c], "unexpected end-group tag for field 1 at byte 0"),
            (
                &[0x0b, 0x08, 1],
                "group for field 1 is never closed at byte 3",
            ),
            (
                &[0x0b, 0x14],
                "end-group tag for field 2 does not match the open group (field 1) at byte 1",
            ),
            (&[0x08], "message ends in the middle of a field at byte 1"),
            // A tag over 32 bits, and a varint over 64.
            (&[0x80, 0x80, 0x80, 0x80, 0x10], "invalid varint at byte 0"),
            (
                &[
                    0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
                ],
                "invalid varint at byte 1",
            ),
        ];
        for (data, expected) in cases {
            let err = check_wire(data, false).expect_err("malformed");
            assert_eq!(err.to_string(), expected, "{data:?}");
        }
    }

    #[test]
    fn follows_groups_to_the_depth_limit() {
        let nested = |depth: usize| {
            let mut data = vec![0x0b; depth];
            data.extend(std::iter::repeat_n(0x0c, depth));
            data
        };
        assert_eq!(check_wire(&nested(MAX_GROUP_DEPTH), false), Ok(1));
        let err = check_wire(&nested(MAX_GROUP_DEPTH + 1), false).expect_err("too deep");
        assert_eq!(err.kind, ErrorKind::TooDeep(MAX_GROUP_DEPTH));
    }

    #[test]
    fn wire_types_round_trip_through_their_bits() {
        for bits in 0..8u8 {
            match WireType::from_bits(bits) {
                Some(wt) => assert_eq!(wt as u8, bits),
                None => assert!(bits >= 6),
            }
        }
    }
}
