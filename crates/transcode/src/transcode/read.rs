//! Reading fields and values off the wire, and the small checks both paths
//! share (does a field accept this wire type, UTF-8, packed elements).

use crate::compile::{FieldPlan, Kind, TypePlan};
use crate::error::{ErrorKind, Fault};
use crate::wire::{self, EGROUP, I32, I64, LEN, SGROUP, VARINT};

/// A result whose error may be a restart in slow mode ([`Fault::Bail`]).
pub(super) type R<T> = Result<T, Fault>;

/// A decoded value: the bits of a numeric value, or the span of a
/// length-delimited one (or of a group body).
#[derive(Clone, Copy, Default)]
pub(super) struct Val {
    pub(super) bits: u64,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// Field number 0, in a message type without fields, is an unknown field
/// for upb with these wire types; with a group's it is still an error.
#[inline]
pub(super) fn zero_wire_type_ok(wt: u8) -> bool {
    matches!(wt, VARINT | I64 | LEN | I32)
}

/// A MessageSet item that names a type and holds a message.
pub(super) struct Item {
    pub(super) type_id: u32,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// Reads the body of a MessageSet item (group 1 of a message with
/// `message_set_wire_format`) whose start tag was at `tag_at`, leaving `*p`
/// after its end tag, as upb reads it: the first `type_id` (field 2, a
/// varint, of which the low 32 bits count) and the first `message` (field
/// 3, length-delimited) win, in either order; any other field is skipped,
/// field number 0 included; the item ends with its own end-group tag.
/// `None` when the item lacks either part (upb then keeps nothing).
/// `depth` is the depth of the message holding the item.
pub(super) fn item(data: &[u8], p: &mut usize, tag_at: usize, depth: u32) -> R<Option<Item>> {
    let mut type_id = None;
    let mut message = None;
    while *p < data.len() {
        let at = *p;
        let (number, wt) = wire::tag(data, p)?;
        match (number, wt) {
            (1, EGROUP) => {
                return Ok(match (type_id, message) {
                    (Some(type_id), Some((start, end))) => Some(Item {
                        type_id,
                        start,
                        end,
                    }),
                    _ => None,
                });
            }
            (_, EGROUP) => {
                return Err(Fault::new(
                    ErrorKind::EndGroupMismatch {
                        expected: 1,
                        found: number,
                    },
                    at,
                ));
            }
            (2, VARINT) => {
                let id = wire::varint(data, p).map_err(|f| f.truncated_at(at))?;
                type_id.get_or_insert(id as u32);
            }
            (3, LEN) => {
                let end = wire::length(data, p, at)?;
                message.get_or_insert((*p, end));
                *p = end;
            }
            _ => wire::skip(data, p, number, wt, at, depth + 1)?,
        }
    }
    Err(Fault::new(ErrorKind::UnclosedGroup(1), tag_at))
}

/// Whether a field with this number and wire type is a MessageSet item of
/// a message of type `t`.
#[inline(always)]
pub(super) fn is_item(t: &TypePlan, number: u32, wt: u8) -> bool {
    t.message_set && number == 1 && wt == SGROUP
}

/// Reads fields of one span.
pub(super) struct Fields<'b> {
    pub(super) data: &'b [u8],
    pub(super) p: usize,
    pub(super) depth: u32,
    /// Field number 0 is an unknown field, not an error (upb, for message
    /// types without fields).
    pub(super) zero_ok: bool,
}

impl<'b> Fields<'b> {
    #[inline(always)]
    pub(super) fn new(buf: &'b [u8], start: usize, end: usize, depth: u32) -> Fields<'b> {
        Fields {
            data: &buf[..end],
            p: start,
            depth,
            zero_ok: false,
        }
    }

    /// Reads the fields of a message of type `t`.
    #[inline(always)]
    pub(super) fn of(
        t: &TypePlan,
        buf: &'b [u8],
        start: usize,
        end: usize,
        depth: u32,
    ) -> Fields<'b> {
        Fields {
            zero_ok: t.field_zero_ok,
            ..Fields::new(buf, start, end, depth)
        }
    }

    #[inline(always)]
    pub(super) fn more(&self) -> bool {
        self.p < self.data.len()
    }

    #[inline(always)]
    pub(super) fn tag(&mut self) -> R<(u32, u8)> {
        let at = self.p;
        let (number, wt) = wire::tag(self.data, &mut self.p)?;
        if number == 0 && !(self.zero_ok && zero_wire_type_ok(wt)) {
            return Err(Fault::new(ErrorKind::InvalidFieldNumber, at));
        }
        Ok((number, wt))
    }

    /// Reads the value of a field whose tag (at `at`) was just read.
    #[inline(always)]
    pub(super) fn value(&mut self, number: u32, wt: u8, at: usize) -> R<Val> {
        value(self.data, &mut self.p, number, wt, at, self.depth)
    }
}

/// Reads the value of a field with wire type `wt` whose tag (at `at`) was
/// just read, leaving `*p` after it; `depth` is the depth of the message
/// holding the field.
#[inline(always)]
pub(super) fn value(
    data: &[u8],
    p: &mut usize,
    number: u32,
    wt: u8,
    at: usize,
    depth: u32,
) -> R<Val> {
    match wt {
        VARINT => {
            let start = *p;
            let bits = wire::varint(data, p).map_err(|f| f.truncated_at(at))?;
            Ok(Val {
                bits,
                start,
                end: *p,
            })
        }
        LEN => {
            let end = wire::length(data, p, at)?;
            let start = *p;
            *p = end;
            Ok(Val {
                bits: 0,
                start,
                end,
            })
        }
        I64 => {
            let start = *p;
            let b = wire::fixed::<8>(data, p, at)?;
            Ok(Val {
                bits: u64::from_le_bytes(b),
                start,
                end: *p,
            })
        }
        I32 => {
            let start = *p;
            let b = wire::fixed::<4>(data, p, at)?;
            Ok(Val {
                bits: u64::from(u32::from_le_bytes(b)),
                start,
                end: *p,
            })
        }
        SGROUP => {
            let start = *p;
            let end = wire::skip_group(data, p, number, at, depth + 1)?;
            Ok(Val {
                bits: 0,
                start,
                end,
            })
        }
        EGROUP => Err(Fault::new(ErrorKind::UnexpectedEndGroup(number), at)),
        other => Err(Fault::new(ErrorKind::InvalidWireType(other), at)),
    }
}

/// Whether a value read for a field without presence is its default (and
/// so not printed): zero bits after the conversion upb applies (an int32
/// keeps the low 32 bits of its varint; `-0.0` is not zero bits).
#[inline(always)]
pub(super) fn is_default(kind: Kind, v: Val) -> bool {
    match kind {
        Kind::String | Kind::Bytes => v.start == v.end,
        Kind::Int32
        | Kind::UInt32
        | Kind::SInt32
        | Kind::Fixed32
        | Kind::SFixed32
        | Kind::Float
        | Kind::Enum(_) => v.bits as u32 == 0,
        Kind::Message(_) | Kind::Group(_) => false,
        _ => v.bits == 0,
    }
}

#[inline(always)]
pub(super) fn accepts(f: &FieldPlan, wt: u8) -> bool {
    wt == f.wire_type || (wt == LEN && f.packable)
}

#[cold]
pub(super) fn name_field(e: Fault, t: &TypePlan, fi: Option<usize>) -> Fault {
    match fi {
        Some(fi) => e.in_field(format_args!("{}", t.fields[fi].name)),
        None => e,
    }
}

/// Checks UTF-8, pointing at the first bad byte.
#[inline]
pub(super) fn utf8(buf: &[u8], start: usize, end: usize) -> R<()> {
    let bytes = &buf[start..end];
    if simdutf8::basic::from_utf8(bytes).is_ok() {
        return Ok(());
    }
    let at = match simdutf8::compat::from_utf8(bytes) {
        Ok(_) => 0,
        Err(e) => e.valid_up_to(),
    };
    Err(Fault::new(ErrorKind::InvalidUtf8, start + at))
}

/// Calls `each` for every element of a packed field's contents.
#[inline]
pub(super) fn packed(buf: &[u8], kind: Kind, v: Val, mut each: impl FnMut(Val) -> R<()>) -> R<()> {
    let data = &buf[..v.end];
    let mut p = v.start;
    match kind.wire_type() {
        VARINT => {
            while p < v.end {
                let start = p;
                let bits = wire::varint(data, &mut p)?;
                each(Val {
                    bits,
                    start,
                    end: p,
                })?;
            }
        }
        I64 | I32 => {
            let size = if kind.wire_type() == I64 { 8 } else { 4 };
            let len = v.end - v.start;
            if !len.is_multiple_of(size) {
                return Err(Fault::new(
                    ErrorKind::PackedLength {
                        length: len,
                        element_size: size,
                    },
                    v.start,
                ));
            }
            while p < v.end {
                let bytes = &data[p..p + size];
                let bits = if size == 8 {
                    bytes
                        .first_chunk::<8>()
                        .map_or(0, |b| u64::from_le_bytes(*b))
                } else {
                    bytes
                        .first_chunk::<4>()
                        .map_or(0, |b| u64::from(u32::from_le_bytes(*b)))
                };
                each(Val {
                    bits,
                    start: p,
                    end: p + size,
                })?;
                p += size;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Adds field `f` to an error's path.
#[cold]
pub(super) fn name(e: Fault, f: &FieldPlan) -> Fault {
    e.in_field(format_args!("{}", f.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(data: &[u8], wt: u8) -> Result<(Val, usize), (ErrorKind, usize)> {
        let mut p = 0;
        value(data, &mut p, 1, wt, 0, 0)
            .map(|v| (v, p))
            .map_err(|f| (f.kind(), f.offset()))
    }

    #[test]
    fn reads_each_wire_type_with_its_span() {
        let (v, p) = read(&[0x96, 0x01, 0xff], VARINT).expect("varint");
        assert_eq!((v.bits, v.start, v.end, p), (150, 0, 2, 2));
        let (v, p) = read(&[3, b'a', b'b', b'c', 0xff], LEN).expect("length-delimited");
        assert_eq!((v.start, v.end, p), (1, 4, 4));
        let (v, _) = read(&1.5f64.to_le_bytes(), I64).expect("fixed64");
        assert_eq!(f64::from_bits(v.bits), 1.5);
        let (v, _) = read(&7u32.to_le_bytes(), I32).expect("fixed32");
        assert_eq!(v.bits, 7);
        // A group body: everything up to its end tag (field 1, wire type 4).
        let (v, p) = read(&[0x10, 0x01, 0x0c], SGROUP).expect("group");
        assert_eq!((v.start, v.end, p), (0, 2, 3));
    }

    #[test]
    fn refuses_truncated_values_and_stray_wire_types() {
        assert_eq!(
            read(&[0x80], VARINT).map(|_| ()),
            Err((ErrorKind::Truncated, 0))
        );
        assert_eq!(
            read(&[5, b'a'], LEN).map(|_| ()),
            Err((
                ErrorKind::LengthOutOfBounds {
                    length: 5,
                    remaining: 1
                },
                0
            ))
        );
        assert_eq!(
            read(&[], EGROUP).map(|_| ()),
            Err((ErrorKind::UnexpectedEndGroup(1), 0))
        );
        assert_eq!(
            read(&[], 6).map(|_| ()),
            Err((ErrorKind::InvalidWireType(6), 0))
        );
    }

    #[test]
    fn utf8_points_at_the_first_bad_byte() {
        let buf = b"..ok\xffno";
        assert!(utf8(buf, 2, 4).is_ok());
        let err = utf8(buf, 2, buf.len()).expect_err("invalid UTF-8");
        assert_eq!((err.kind(), err.offset()), (ErrorKind::InvalidUtf8, 4));
    }

    #[test]
    fn packed_elements_come_out_one_by_one() {
        let buf = [0x01, 0x96, 0x01, 0x03];
        let mut seen = Vec::new();
        let whole = Val {
            bits: 0,
            start: 0,
            end: buf.len(),
        };
        packed(&buf, Kind::Int32, whole, |v| {
            seen.push(v.bits);
            Ok(())
        })
        .map_err(|f| f.kind())
        .expect("packed varints");
        assert_eq!(seen, [1, 150, 3]);

        let three = Val { end: 3, ..whole };
        let err = packed(&buf, Kind::Fixed32, three, |_| Ok(()))
            .expect_err("3 bytes are not whole fixed32s");
        assert_eq!(
            err.kind(),
            ErrorKind::PackedLength {
                length: 3,
                element_size: 4
            }
        );
    }
}
