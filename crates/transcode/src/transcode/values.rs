//! Writing one value: scalars, enum names, strings (checked and escaped),
//! and the opening of an array or map element.

use super::read::{R, Val};
use super::walker::Walker;
use crate::compile::{FieldPlan, Kind, Special};
use crate::error::{ErrorKind, Fault};
use crate::wire;
use crate::write;

impl<'a> Walker<'a, '_> {
    /// Writes a scalar value (not a message) of field `f`.
    #[inline(always)]
    pub(super) fn scalar(&self, f: &FieldPlan, kind: Kind, v: Val, out: &mut Vec<u8>) -> R<()> {
        match kind {
            Kind::String => self.string(v, f.utf8, out)?,
            Kind::Bytes => {
                self.room_for(out, (v.end - v.start).div_ceil(3) * 4 + 2, v.start)?;
                write::base64(out, &self.buf[v.start..v.end]);
            }
            Kind::Double => {
                let x = f64::from_bits(v.bits);
                if f.special == Special::ValueNumber && !x.is_finite() {
                    return Err(self.refuse(
                        ErrorKind::InvalidWellKnown {
                            type_name: "google.protobuf.Value",
                            reason: format!(
                                "number_value {} is not a JSON number",
                                if x.is_nan() {
                                    "NaN"
                                } else if x > 0.0 {
                                    "Infinity"
                                } else {
                                    "-Infinity"
                                }
                            ),
                        },
                        v.start,
                    ));
                }
                write::f64(out, x);
            }
            Kind::Float => write::f32(out, f32::from_bits(v.bits as u32)),
            Kind::Int64 | Kind::SFixed64 => write::quoted_int(out, v.bits as i64),
            Kind::UInt64 | Kind::Fixed64 => write::quoted_int(out, v.bits),
            Kind::SInt64 => write::quoted_int(out, wire::unzigzag64(v.bits)),
            Kind::Int32 | Kind::SFixed32 => write::int(out, v.bits as u32 as i32),
            Kind::UInt32 | Kind::Fixed32 => write::int(out, v.bits as u32),
            Kind::SInt32 => write::int(out, wire::unzigzag32(v.bits as u32)),
            Kind::Bool => write::bool(out, v.bits != 0),
            Kind::Enum(e) => self.enum_value(f, e, v.bits as u32 as i32, out),
            Kind::Message(_) | Kind::Group(_) => {}
        }
        Ok(())
    }

    #[inline]
    pub(super) fn enum_value(&self, f: &FieldPlan, e: u32, number: i32, out: &mut Vec<u8>) {
        let ep = &self.c.enums[e as usize];
        if f.special == Special::ValueNull {
            out.extend_from_slice(b"null");
        } else if self.c.options.enum_numbers {
            write::int(out, number);
        } else if ep.null_value {
            out.extend_from_slice(b"null");
        } else {
            match ep.name(number) {
                Some(name) => write::words(out, &name.words, name.bytes.len()),
                None => write::int(out, number),
            }
        }
    }

    #[inline(always)]
    pub(super) fn string(&self, v: Val, verify: bool, out: &mut Vec<u8>) -> R<()> {
        self.string_room(out, v.start, v.end)?;
        match write::string_at(out, self.buf, v.start, v.end) {
            Ok(()) => Ok(()),
            Err(at) if verify => Err(Fault::new(ErrorKind::InvalidUtf8, v.start + at)),
            Err(_) => {
                // The repr (at most 4 bytes a byte) and its JSON (5).
                self.room_for(out, 9 * (v.end - v.start) + 8, v.start)?;
                write::python_bytes_repr(out, &self.buf[v.start..v.end]);
                Ok(())
            }
        }
    }

    /// [`Walker::room_for`] the JSON string of `buf[start..end]` (valid
    /// UTF-8), before writing it. A JSON string takes at most six bytes a
    /// byte (`\u0001`) and its quotes: only near the limit is its exact
    /// length worth counting.
    #[inline(always)]
    pub(super) fn string_room(&self, out: &[u8], start: usize, end: usize) -> R<()> {
        if out.len().saturating_add(6 * (end - start) + 2) > self.cap {
            return self.exact_string_room(out, start, end);
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    pub(super) fn exact_string_room(&self, out: &[u8], start: usize, end: usize) -> R<()> {
        let len = write::json_string_len(&self.buf[start..end]);
        self.room_for(out, len, start)
    }

    /// Whether a singular closed-enum value is unknown (and so an unknown
    /// field, not printed, not replacing an earlier value).
    #[inline(always)]
    pub(super) fn unknown_closed(&self, kind: Kind, v: Val) -> bool {
        match kind {
            Kind::Enum(e) => {
                let ep = &self.c.enums[e as usize];
                ep.closed && !ep.known(v.bits as u32 as i32)
            }
            _ => false,
        }
    }
}

/// Before an element of a repeated or map field: the key and opening
/// bracket for the first, a comma for the others.
#[inline(always)]
pub(super) fn open_element(
    out: &mut Vec<u8>,
    f: &FieldPlan,
    open: &mut bool,
    comma: &mut bool,
    bracket: u8,
) {
    if *open {
        // An open array may still be empty (a repeated extension opened by
        // an empty packed record).
        if out.last() != Some(&bracket) {
            out.push(b',');
        }
    } else {
        f.write_key(out, *comma);
        out.push(bracket);
        *open = true;
        *comma = true;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Wire, json, plan, plan_with};
    use crate::JsonOptions;

    const SCALARS: &str = "enum E { ZERO = 0; ONE = 1; } \
        message M { int64 i64 = 1; uint32 u32 = 2; sint32 s32 = 3; bytes raw = 4; \
        string text = 5; float f = 6; double d = 7; E e = 8; fixed64 f64 = 9; sfixed32 sf32 = 10; }";

    #[test]
    fn writes_numbers_as_protojson_does() {
        let p = plan(SCALARS, "M");
        let wire = Wire::new()
            .varint(1, -5i64 as u64)
            .varint(2, u64::from(u32::MAX))
            .varint(3, 3)
            .fixed32(6, 0.1f32.to_bits())
            .fixed64(7, 1e21f64.to_bits())
            .fixed64(9, u64::MAX)
            .fixed32(10, -2i32 as u32);
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(
                r#"{"i64":"-5","u32":4294967295,"s32":-2,"f":0.1,"d":1e+21,"f64":"18446744073709551615","sf32":-2}"#
            )
        );
    }

    #[test]
    fn non_finite_floats_are_strings() {
        let p = plan(SCALARS, "M");
        let wire = Wire::new()
            .fixed32(6, f32::NAN.to_bits())
            .fixed64(7, f64::NEG_INFINITY.to_bits());
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"f":"NaN","d":"-Infinity"}"#)
        );
    }

    #[test]
    fn escapes_strings_and_encodes_bytes_in_base64() {
        let p = plan(SCALARS, "M");
        let wire = Wire::new()
            .bytes(4, &[0xff, 0x00, 0x7f])
            .bytes(5, "\"\\\n\u{1}é<".as_bytes());
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"raw":"/wB/","text":"\"\\\n\u0001é<"}"#)
        );
    }

    #[test]
    fn enums_print_by_name_unknown_numbers_as_numbers() {
        let p = plan(SCALARS, "M");
        assert_eq!(
            json(&p, &Wire::new().varint(8, 1)).as_deref(),
            Ok(r#"{"e":"ONE"}"#)
        );
        assert_eq!(
            json(&p, &Wire::new().varint(8, 7)).as_deref(),
            Ok(r#"{"e":7}"#)
        );
        let numbers = plan_with(
            SCALARS,
            "M",
            JsonOptions {
                enum_numbers: true,
                ..JsonOptions::default()
            },
        );
        assert_eq!(
            json(&numbers, &Wire::new().varint(8, 1)).as_deref(),
            Ok(r#"{"e":1}"#)
        );
    }
}
