//! Reading the protobuf wire format: varints, tags, lengths and skipping.
//!
//! Every function works on `data`, a prefix of the top-level message's bytes
//! that ends where the current message ends, with `p` an absolute position in
//! it; so bounds checks are against the current message and every offset in
//! an error is absolute. The limits are upb's (what Google's Python
//! `protobuf` parses with): varints up to 10 bytes (extra high bits of the
//! tenth byte are dropped, as upb does), tags and lengths up to 5 bytes and
//! 32 bits, field number 0 and wire types 6 and 7 rejected, groups and
//! sub-messages nested at most [`MAX_DEPTH`] deep.

use crate::error::{ErrorKind, Fault};

/// The wire types of the protobuf encoding: how a field's value is laid
/// out after its tag (the tag's low three bits). 6 and 7 are not wire
/// types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WireType {
    /// A varint: integers, booleans, enum numbers.
    Varint = 0,
    /// Eight little-endian bytes: `fixed64`, `sfixed64`, `double`.
    I64 = 1,
    /// A varint length, then that many bytes: strings, bytes, messages,
    /// packed repeated fields.
    Len = 2,
    /// The start of a group: fields up to the matching end-group tag.
    StartGroup = 3,
    /// The end of the group with the same field number.
    EndGroup = 4,
    /// Four little-endian bytes: `fixed32`, `sfixed32`, `float`.
    I32 = 5,
}

impl WireType {
    /// The wire type of a tag's low three bits, `None` for 6 and 7.
    pub fn from_bits(bits: u8) -> Option<WireType> {
        Some(match bits {
            0 => WireType::Varint,
            1 => WireType::I64,
            2 => WireType::Len,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::I32,
            _ => return None,
        })
    }
}

// The hot path matches on a tag's wire type as a `u8` (one comparison, no
// conversion); these are the same values, named after `WireType`.
pub(crate) const VARINT: u8 = WireType::Varint as u8;
pub(crate) const I64: u8 = WireType::I64 as u8;
pub(crate) const LEN: u8 = WireType::Len as u8;
pub(crate) const SGROUP: u8 = WireType::StartGroup as u8;
pub(crate) const EGROUP: u8 = WireType::EndGroup as u8;
pub(crate) const I32: u8 = WireType::I32 as u8;

/// How deep messages and groups may nest below the top-level message, as in
/// upb (Google's Python protobuf): 100 levels parse, 101 fail. Map entries
/// count as a level of their own, as do unknown groups.
pub(crate) const MAX_DEPTH: u32 = 100;

/// Decodes a varint of up to 10 bytes at `*p`.
///
/// Errors: [`ErrorKind::Truncated`] at `*p` when the data ends inside it,
/// [`ErrorKind::InvalidVarint`] when it runs over 10 bytes.
#[inline(always)]
pub(crate) fn varint(data: &[u8], p: &mut usize) -> Result<u64, Fault> {
    let i = *p;
    match data.get(i) {
        Some(&b) if b < 0x80 => {
            *p = i + 1;
            Ok(u64::from(b))
        }
        _ => varint_long(data, p),
    }
}

/// A varint of two or more bytes. With eight bytes at hand (all but the
/// last few bytes of a message) one of up to eight bytes is decoded from a
/// single word without a branch per byte; longer ones, and those near the
/// end of the data, go byte by byte.
#[inline(always)]
fn varint_long(data: &[u8], p: &mut usize) -> Result<u64, Fault> {
    match word_varint(data, *p) {
        Some((value, len)) => {
            *p += len;
            Ok(value)
        }
        None => varint_bytes(data, p),
    }
}

/// The varint at `at` and its length when it is at most eight bytes and
/// eight bytes can be read from `at`.
#[inline(always)]
fn word_varint(data: &[u8], at: usize) -> Option<(u64, usize)> {
    let word = u64::from_le_bytes(*data.get(at..)?.first_chunk::<8>()?);
    // The last byte is the first with its high bit clear.
    let last = !word & 0x8080_8080_8080_8080;
    if last == 0 {
        return None;
    }
    let top = last.trailing_zeros(); // 8 * len - 1
    // The varint's bytes without their continuation bits, then the 7-bit
    // groups packed together: pairs, then quads, then the two halves.
    let x = word & (u64::MAX >> (63 - top)) & 0x7f7f_7f7f_7f7f_7f7f;
    let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
    let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
    let x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
    Some((x, (top as usize + 1) / 8))
}

#[inline(never)]
fn varint_bytes(data: &[u8], p: &mut usize) -> Result<u64, Fault> {
    let start = *p;
    let mut value = 0u64;
    for k in 0..10 {
        let Some(&b) = data.get(start + k) else {
            return Err(Fault::new(ErrorKind::Truncated, start));
        };
        // The tenth byte contributes its lowest bit only; upb drops the
        // rest rather than rejecting them.
        value |= u64::from(b & 0x7f) << (7 * k);
        if b < 0x80 {
            *p = start + k + 1;
            return Ok(value);
        }
    }
    Err(Fault::new(ErrorKind::InvalidVarint, start))
}

/// Decodes a varint that must fit 32 bits in at most 5 bytes (tags and
/// lengths, as upb reads them).
#[inline(always)]
pub(crate) fn varint32(data: &[u8], p: &mut usize) -> Result<u32, Fault> {
    let i = *p;
    match data.get(i) {
        Some(&b) if b < 0x80 => {
            *p = i + 1;
            Ok(u32::from(b))
        }
        _ => varint32_long(data, p),
    }
}

/// A tag or length of two or more bytes: as [`varint_long`] when at most
/// five bytes and 32 bits, else byte by byte for the exact error.
#[inline(always)]
fn varint32_long(data: &[u8], p: &mut usize) -> Result<u32, Fault> {
    if let Some((value, len)) = word_varint(data, *p)
        && len <= 5
        && let Ok(value) = u32::try_from(value)
    {
        *p += len;
        return Ok(value);
    }
    varint32_bytes(data, p)
}

#[inline(never)]
fn varint32_bytes(data: &[u8], p: &mut usize) -> Result<u32, Fault> {
    let start = *p;
    let mut value = 0u64;
    for k in 0..5 {
        let Some(&b) = data.get(start + k) else {
            return Err(Fault::new(ErrorKind::Truncated, start));
        };
        value |= u64::from(b & 0x7f) << (7 * k);
        if b < 0x80 {
            return match u32::try_from(value) {
                Ok(v) => {
                    *p = start + k + 1;
                    Ok(v)
                }
                Err(_) => Err(Fault::new(ErrorKind::InvalidVarint, start)),
            };
        }
    }
    Err(Fault::new(ErrorKind::InvalidVarint, start))
}

/// Reads a tag at `*p` (which must be before the end of `data`): field
/// number and wire type. The caller checks both: field number 0 is an error
/// except at the top level of a message type without fields (upb accepts it
/// there as an unknown field); wire types 4 (end group), 6 and 7 are errors
/// the caller can name the field in.
#[inline(always)]
pub(crate) fn tag(data: &[u8], p: &mut usize) -> Result<(u32, u8), Fault> {
    let v = varint32(data, p)?;
    Ok((v >> 3, (v & 7) as u8))
}

/// Reads a length prefix at `*p` and returns the end of the value it
/// delimits, checked against the end of `data`. `tag_at` is the offset
/// errors point at.
#[inline(always)]
pub(crate) fn length(data: &[u8], p: &mut usize, tag_at: usize) -> Result<usize, Fault> {
    let len = varint32(data, p).map_err(|f| f.truncated_at(tag_at))? as usize;
    let remaining = data.len() - *p;
    if len > remaining {
        return Err(Fault::new(
            ErrorKind::LengthOutOfBounds {
                length: len as u64,
                remaining,
            },
            tag_at,
        ));
    }
    Ok(*p + len)
}

/// Reads a little-endian fixed-size value of `N` bytes.
#[inline(always)]
pub(crate) fn fixed<const N: usize>(
    data: &[u8],
    p: &mut usize,
    tag_at: usize,
) -> Result<[u8; N], Fault> {
    let i = *p;
    match data.get(i..i + N) {
        Some(bytes) => {
            *p = i + N;
            let mut a = [0u8; N];
            a.copy_from_slice(bytes);
            Ok(a)
        }
        None => Err(Fault::new(ErrorKind::Truncated, tag_at)),
    }
}

/// Skips the value of a field with wire type `wire_type` whose tag started
/// at `tag_at` (`number` is its field number, for groups). Groups are
/// walked to their end tag, counting nesting from `depth` (the depth of the
/// message holding the field).
pub(crate) fn skip(
    data: &[u8],
    p: &mut usize,
    number: u32,
    wire_type: u8,
    tag_at: usize,
    depth: u32,
) -> Result<(), Fault> {
    match wire_type {
        VARINT => {
            varint(data, p).map_err(|f| f.truncated_at(tag_at))?;
        }
        I64 => {
            fixed::<8>(data, p, tag_at)?;
        }
        LEN => {
            *p = length(data, p, tag_at)?;
        }
        I32 => {
            fixed::<4>(data, p, tag_at)?;
        }
        SGROUP => {
            skip_group(data, p, number, tag_at, depth + 1)?;
        }
        EGROUP => return Err(Fault::new(ErrorKind::UnexpectedEndGroup(number), tag_at)),
        other => return Err(Fault::new(ErrorKind::InvalidWireType(other), tag_at)),
    }
    Ok(())
}

/// Skips the body of a group opened at `tag_at` for field `number`, leaving
/// `*p` after its end tag, and returns where the body ends (the end tag's
/// offset). `depth` is the group's own depth.
pub(crate) fn skip_group(
    data: &[u8],
    p: &mut usize,
    number: u32,
    tag_at: usize,
    depth: u32,
) -> Result<usize, Fault> {
    if depth > MAX_DEPTH {
        return Err(Fault::new(ErrorKind::TooDeep(MAX_DEPTH as usize), tag_at));
    }
    while *p < data.len() {
        let at = *p;
        let (n, wt) = tag(data, p)?;
        if n == 0 {
            return Err(Fault::new(ErrorKind::InvalidFieldNumber, at));
        }
        if wt == EGROUP {
            if n != number {
                return Err(Fault::new(
                    ErrorKind::EndGroupMismatch {
                        expected: number,
                        found: n,
                    },
                    at,
                ));
            }
            return Ok(at);
        }
        skip(data, p, n, wt, at, depth)?;
    }
    Err(Fault::new(ErrorKind::UnclosedGroup(number), tag_at))
}

/// Zigzag decoding for `sint32`.
#[inline(always)]
pub(crate) fn unzigzag32(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Zigzag decoding for `sint64`.
#[inline(always)]
pub(crate) fn unzigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<(u64, usize), ErrorKind> {
        let mut p = 0;
        varint(bytes, &mut p).map(|v| (v, p)).map_err(|f| f.kind())
    }

    #[test]
    fn decodes_one_byte_varint() {
        assert_eq!(read(&[0x2a]), Ok((42, 1)));
    }

    #[test]
    fn decodes_multi_byte_varint() {
        assert_eq!(read(&[0xac, 0x02]), Ok((300, 2)));
        assert_eq!(
            read(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Ok((u64::MAX, 10))
        );
    }

    #[test]
    fn decodes_every_length_the_same_near_and_far_from_the_end() {
        let mut values = vec![
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::MAX,
            i64::MAX as u64,
        ];
        for shift in 0..64 {
            values.push(1 << shift);
            values.push((1 << shift) - 1);
            values.push(0x5555_5555_5555_5555 >> shift);
        }
        for v in values {
            let mut bytes = Vec::new();
            let mut x = v;
            loop {
                let b = (x & 0x7f) as u8;
                x >>= 7;
                if x == 0 {
                    bytes.push(b);
                    break;
                }
                bytes.push(b | 0x80);
            }
            let n = bytes.len();
            // At the very end of the data, and followed by padding.
            assert_eq!(read(&bytes), Ok((v, n)), "{v} alone");
            bytes.extend_from_slice(&[0xff; 12]);
            assert_eq!(read(&bytes), Ok((v, n)), "{v} padded");
        }
    }

    #[test]
    fn drops_high_bits_of_tenth_byte_like_upb() {
        assert_eq!(
            read(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            Ok((u64::MAX, 10))
        );
    }

    #[test]
    fn rejects_varint_over_ten_bytes() {
        assert_eq!(read(&[0x80; 11]), Err(ErrorKind::InvalidVarint));
        assert_eq!(
            read(&[
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00
            ]),
            Err(ErrorKind::InvalidVarint)
        );
    }

    #[test]
    fn reports_truncated_varint() {
        assert_eq!(read(&[0x80, 0x80]), Err(ErrorKind::Truncated));
        assert_eq!(read(&[]), Err(ErrorKind::Truncated));
    }

    #[test]
    fn limits_tags_to_five_bytes_and_32_bits() {
        let mut p = 0;
        assert_eq!(
            tag(&[0xf8, 0xff, 0xff, 0xff, 0x0f], &mut p).map_err(|f| f.kind()),
            Ok(((1 << 29) - 1, 0))
        );
        let mut p = 0;
        assert_eq!(
            tag(&[0x88, 0x80, 0x80, 0x80, 0x80, 0x00], &mut p).map_err(|f| f.kind()),
            Err(ErrorKind::InvalidVarint)
        );
        let mut p = 0;
        assert_eq!(
            tag(&[0xf8, 0xff, 0xff, 0xff, 0x1f], &mut p).map_err(|f| f.kind()),
            Err(ErrorKind::InvalidVarint)
        );
    }

    #[test]
    fn rejects_field_zero_inside_groups() {
        let data = [0x0b, 0x00, 0x01, 0x0c];
        let mut p = 1;
        assert_eq!(
            skip_group(&data, &mut p, 1, 0, 1).map_err(|f| f.kind()),
            Err(ErrorKind::InvalidFieldNumber)
        );
    }

    #[test]
    fn skip_rejects_wire_types_six_and_seven() {
        let mut p = 1;
        assert_eq!(
            skip(&[0x0e], &mut p, 1, 6, 0, 0).map_err(|f| f.kind()),
            Err(ErrorKind::InvalidWireType(6))
        );
        let mut p = 1;
        assert_eq!(
            skip(&[0x0f], &mut p, 1, 7, 0, 0).map_err(|f| f.kind()),
            Err(ErrorKind::InvalidWireType(7))
        );
    }

    #[test]
    fn checks_length_against_remaining_bytes() {
        let data = [0x0a, 0x05, b'a', b'b'];
        let mut p = 1;
        let f = length(&data, &mut p, 0).unwrap_err();
        assert_eq!(
            f.kind(),
            ErrorKind::LengthOutOfBounds {
                length: 5,
                remaining: 2
            }
        );
        assert_eq!(f.offset(), 0);
    }

    #[test]
    fn skips_nested_groups_and_checks_end_tags() {
        // group 1 { group 2 { } varint 3 = 1 } end
        let data = [0x0b, 0x13, 0x14, 0x18, 0x01, 0x0c, 0x08, 0x01];
        let mut p = 1;
        assert_eq!(
            skip_group(&data, &mut p, 1, 0, 1).map_err(|f| f.kind()),
            Ok(5)
        );
        assert_eq!(p, 6);
        let data = [0x0b, 0x14];
        let mut p = 1;
        assert_eq!(
            skip_group(&data, &mut p, 1, 0, 1).map_err(|f| f.kind()),
            Err(ErrorKind::EndGroupMismatch {
                expected: 1,
                found: 2
            })
        );
        let data = [0x0b, 0x08, 0x01];
        let mut p = 1;
        assert_eq!(
            skip_group(&data, &mut p, 1, 0, 1).map_err(|f| f.kind()),
            Err(ErrorKind::UnclosedGroup(1))
        );
    }

    #[test]
    fn zigzag_round_trips_extremes() {
        assert_eq!(unzigzag32(0), 0);
        assert_eq!(unzigzag32(1), -1);
        assert_eq!(unzigzag32(u32::MAX), i32::MIN);
        assert_eq!(unzigzag32(u32::MAX - 1), i32::MAX);
        assert_eq!(unzigzag64(u64::MAX), i64::MIN);
        assert_eq!(unzigzag64(u64::MAX - 1), i64::MAX);
    }
}
