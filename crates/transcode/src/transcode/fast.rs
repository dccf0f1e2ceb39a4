//! The fast path: a message's fields written as they are read, while they
//! arrive in field-number order; packed numbers written straight from
//! their bytes.

use super::maps::{map_key, simple_entry};
use super::read::{R, Val, is_default, is_item, item, name, packed, value, zero_wire_type_ok};
use super::state::{Fast, MapKey, Src, mark};
use super::values::open_element;
use super::walker::{PACKED_CHECK_EVERY, Walker};
use crate::compile::{Card, FieldPlan, Kind, NO_FIELD, NO_ONEOF, Special, TypePlan};
use crate::error::{ErrorKind, Fault};
use crate::wire::{self, I32, I64, LEN, MAX_DEPTH, VARINT};
use crate::write;

impl<'a> Walker<'a, '_> {
    /// The fast path (see the module docs); returns whether anything was
    /// written. The loop handles the common field inline (singular, the
    /// expected wire type, in order, no oneof or closed enum; one after a
    /// repeated field closes its array first), and the elements of repeated
    /// messages and packed numbers; everything else goes through
    /// [`Walker::field`].
    pub(super) fn fields_fast(
        &mut self,
        t: &'a TypePlan,
        start: usize,
        end: usize,
        depth: u32,
        out: &mut Vec<u8>,
        comma: bool,
    ) -> R<bool> {
        let data = &self.buf[..end];
        let mut st = Fast {
            last: 0,
            run: NO_FIELD,
            run_open: false,
            run_len: 0,
            oneofs: 0,
            wrote: false,
            comma,
            track: !t.defaults.is_empty(),
            bits_base: self.s.bits.len(),
            keys_base: self.s.keys.len(),
            big_keys: None,
        };
        if st.track {
            self.s
                .bits
                .resize(st.bits_base + t.fields.len().div_ceil(64), 0);
        }
        let mut p = start;
        while p < end {
            let at = p;
            let (num, wt) = wire::tag(data, &mut p)?;
            let Some(fi) = t.lookup(num) else {
                if num == 0 && !(t.field_zero_ok && zero_wire_type_ok(wt)) {
                    return Err(Fault::new(ErrorKind::InvalidFieldNumber, at));
                }
                if is_item(t, num, wt) {
                    self.item_fast(t, data, &mut p, at, depth, out, &mut st)?;
                    continue;
                }
                wire::skip(data, &mut p, num, wt, at, depth)?;
                continue;
            };
            let f = &t.fields[fi];
            if wt != f.wire_type || !f.fast || num <= st.last || st.run != NO_FIELD {
                // Repeated messages and packed numbers, the usual repeated
                // fields (what `field` does, without the call and its
                // checks): the first record opens the array, the next ones
                // continue it.
                let message = matches!(f.kind, Kind::Message(_)) && f.card == Card::Repeated;
                let numbers = f.packable
                    && !f.present_when_empty
                    && f.special == Special::None
                    && !matches!(f.kind, Kind::Enum(_));
                if wt == LEN && (message || numbers) && (st.run == fi as u32 || num > st.last) {
                    // The line limit, once an element or packed record. (A
                    // singular field in order needs no check: each is
                    // written once, so what they add up to before the next
                    // check is bounded by the schema; long strings check
                    // themselves.)
                    self.room(out, at)?;
                    let e = wire::length(data, &mut p, at).map_err(|e| name(e, f))?;
                    if st.run != fi as u32 {
                        self.close_run(t, out, &mut st);
                        st.run = fi as u32;
                        st.run_len = 0;
                        st.last = num;
                    }
                    if let Kind::Message(ty) = f.kind {
                        open_element(out, f, &mut st.run_open, &mut st.comma, b'[');
                        self.submessage(ty, p, e, depth + 1, out)
                            .map_err(|e| e.in_field(format_args!("{}[{}]", f.name, st.run_len)))?;
                        st.run_len += 1;
                    } else {
                        let v = Val {
                            bits: 0,
                            start: p,
                            end: e,
                        };
                        let written = self
                            .packed_numbers(f, v, out, &mut st)
                            .map_err(|e| name(e, f))?;
                        debug_assert!(written, "packed_numbers takes every packable number");
                    }
                    st.wrote |= st.run_open;
                    p = e;
                    continue;
                }
                if !(st.run != NO_FIELD && num > st.last && wt == f.wire_type && f.fast) {
                    p = self.field(t, fi, wt, at, data, p, depth, out, &mut st)?;
                    continue;
                }
                // A singular field after a repeated one ends its run; then
                // the usual way.
                self.close_run(t, out, &mut st);
            }
            match wt {
                LEN => {
                    let e = wire::length(data, &mut p, at).map_err(|e| name(e, f))?;
                    let s = p;
                    p = e;
                    if f.implicit && s == e {
                        continue;
                    }
                    let v = Val {
                        bits: 0,
                        start: s,
                        end: e,
                    };
                    if f.kind == Kind::String {
                        // Key and value in one go when both are short.
                        if let Some((ka, kb, kn)) = f.short_key(st.comma)
                            && let Some((a, b)) = write::short_plain(self.buf, s, e)
                        {
                            write::key_and_short_string(out, [ka, kb, a, b], kn, e - s);
                        } else {
                            f.write_key(out, st.comma);
                            self.string(v, f.utf8, out).map_err(|e| name(e, f))?;
                        }
                    } else {
                        f.write_key(out, st.comma);
                        match f.kind {
                            Kind::Message(ty) => self.submessage(ty, s, e, depth + 1, out),
                            kind => self.scalar(f, kind, v, out),
                        }
                        .map_err(|e| name(e, f))?;
                    }
                }
                VARINT | I64 | I32 => {
                    if !self
                        .number(f, data, &mut p, at, out, st.comma)
                        .map_err(|e| name(e, f))?
                    {
                        continue;
                    }
                }
                _ => {
                    // A group (the only other wire type a field expects).
                    let v = value(data, &mut p, num, wt, at, depth).map_err(|e| name(e, f))?;
                    let Kind::Group(ty) = f.kind else { continue };
                    f.write_key(out, st.comma);
                    self.message(ty, Src::One(v.start, v.end), depth + 1, out)
                        .map_err(|e| name(e, f))?;
                }
            }
            st.last = num;
            st.comma = true;
            st.wrote = true;
            if st.track {
                mark(&mut self.s.bits, st.bits_base, fi);
            }
        }
        self.close_run(t, out, &mut st);
        self.s.keys.truncate(st.keys_base);
        self.drop_big_keys(&mut st.big_keys);
        if st.track {
            st.wrote |= self.write_defaults(t, st.bits_base, st.comma, out);
            self.s.bits.truncate(st.bits_base);
        }
        Ok(st.wrote)
    }

    /// Reads the value of a singular number field `f` (the wire type its
    /// kind expects; the value at `*p`, its tag at `at`) and writes the key
    /// and the value, unless it is the default of a field without presence.
    /// Returns whether it wrote. One dispatch on the kind for reading,
    /// checking and writing (the general way is one on the wire type, one
    /// for the default and one in [`Walker::scalar`]).
    #[inline(always)]
    pub(super) fn number(
        &self,
        f: &FieldPlan,
        data: &[u8],
        p: &mut usize,
        at: usize,
        out: &mut Vec<u8>,
        comma: bool,
    ) -> R<bool> {
        let varint = |p: &mut usize| wire::varint(data, p).map_err(|e| e.truncated_at(at));
        let fixed32 = |p: &mut usize| wire::fixed::<4>(data, p, at).map(u32::from_le_bytes);
        let fixed64 = |p: &mut usize| wire::fixed::<8>(data, p, at).map(u64::from_le_bytes);
        // Reads `bits`; unless they are zero (after the conversion upb
        // applies, see `is_default`) in a field without presence, which is
        // not printed, writes the key and `value`.
        macro_rules! number {
            ($bits:expr, |$b:ident| $value:expr) => {{
                let $b = $bits;
                if f.implicit && $b == 0 {
                    return Ok(false);
                }
                f.write_key(out, comma);
                $value;
            }};
        }
        match f.kind {
            Kind::Double if f.special == Special::None => {
                number!(fixed64(p)?, |b| write::f64(out, f64::from_bits(b)))
            }
            Kind::Float => number!(fixed32(p)?, |b| write::f32(out, f32::from_bits(b))),
            Kind::Fixed32 => number!(fixed32(p)?, |b| write::int(out, b)),
            Kind::SFixed32 => number!(fixed32(p)?, |b| write::int(out, b as i32)),
            Kind::Fixed64 => number!(fixed64(p)?, |b| write::quoted_int(out, b)),
            Kind::SFixed64 => number!(fixed64(p)?, |b| write::quoted_int(out, b as i64)),
            Kind::Int32 => number!(varint(p)? as u32, |b| write::int(out, b as i32)),
            Kind::UInt32 => number!(varint(p)? as u32, |b| write::int(out, b)),
            Kind::SInt32 => {
                number!(varint(p)? as u32, |b| write::int(out, wire::unzigzag32(b)))
            }
            Kind::Int64 => number!(varint(p)?, |b| write::quoted_int(out, b as i64)),
            Kind::UInt64 => number!(varint(p)?, |b| write::quoted_int(out, b)),
            Kind::SInt64 => number!(varint(p)?, |b| write::quoted_int(out, wire::unzigzag64(b))),
            Kind::Bool => number!(varint(p)?, |b| write::bool(out, b != 0)),
            Kind::Enum(e) => {
                number!(varint(p)? as u32, |b| self.enum_value(f, e, b as i32, out))
            }
            kind => {
                // `Value.number_value`, which `scalar` checks. (Depth 0:
                // no group here.)
                let v = value(data, p, f.number, f.wire_type, at, 0)?;
                if f.implicit && is_default(kind, v) {
                    return Ok(false);
                }
                f.write_key(out, comma);
                self.scalar(f, kind, v, out)?;
            }
        }
        Ok(true)
    }

    /// A MessageSet item (its start tag at `at`, its body at `*p`) in the
    /// fast path: the extension it names is written like a singular
    /// message field read in order; an item for a type the schema does not
    /// know, or without a type or a message, is an unknown field. An item
    /// replaces what its extension held (upb makes a new message for
    /// it), so one that does not come after everything written so far
    /// sends the call to the slow path, which orders and replaces.
    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn item_fast(
        &mut self,
        t: &'a TypePlan,
        data: &[u8],
        p: &mut usize,
        at: usize,
        depth: u32,
        out: &mut Vec<u8>,
        st: &mut Fast<'a>,
    ) -> R<()> {
        let Some(item) = item(data, p, at, depth)? else {
            return Ok(());
        };
        let Some(fi) = t.item_field(item.type_id) else {
            return Ok(());
        };
        let f = &t.fields[fi];
        let Kind::Message(ty) = f.kind else {
            return Ok(());
        };
        if f.number <= st.last {
            return Err(Fault::Bail);
        }
        self.close_run(t, out, st);
        st.last = f.number;
        f.write_key(out, st.comma);
        self.message(ty, Src::One(item.start, item.end), depth + 1, out)
            .map_err(|e| name(e, f))?;
        st.comma = true;
        st.wrote = true;
        if st.track {
            mark(&mut self.s.bits, st.bits_base, fi);
        }
        Ok(())
    }

    /// Ends the current run of a repeated or map field (fast path).
    #[inline]
    pub(super) fn close_run(&mut self, t: &TypePlan, out: &mut Vec<u8>, st: &mut Fast<'_>) {
        if st.run == NO_FIELD {
            return;
        }
        if st.run_open {
            let f = &t.fields[st.run as usize];
            out.push(if f.card == Card::Map { b'}' } else { b']' });
            if st.track {
                mark(&mut self.s.bits, st.bits_base, st.run as usize);
            }
        }
        st.run = NO_FIELD;
        st.run_open = false;
    }

    /// The fast path for every field the inline loop does not take: reads
    /// the value of field `fi` (tag at `at`, value at `p`) and writes it;
    /// returns where the next field starts.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn field(
        &mut self,
        t: &'a TypePlan,
        fi: usize,
        wt: u8,
        at: usize,
        data: &'a [u8],
        mut p: usize,
        depth: u32,
        out: &mut Vec<u8>,
        st: &mut Fast<'a>,
    ) -> R<usize> {
        let f = &t.fields[fi];
        // The line limit, once a record of a repeated or map field (or of
        // any field taking this way).
        self.room(out, at)?;
        let num = f.number;
        let v = value(data, &mut p, num, wt, at, depth).map_err(|e| name(e, f))?;
        if wt != f.wire_type && !(wt == LEN && f.packable) {
            return Ok(p); // an unknown field
        }
        let continuing = if num > st.last {
            false
        } else if num == st.last && fi as u32 == st.run {
            true
        } else {
            return Err(Fault::Bail);
        };
        match f.card {
            Card::Singular => {
                // Values that are not printed (a default without presence,
                // an unknown closed-enum number) leave everything as it was.
                if f.implicit && is_default(f.kind, v) {
                    return Ok(p);
                }
                if self.unknown_closed(f.kind, v) {
                    return Ok(p);
                }
                if f.oneof != NO_ONEOF {
                    oneof_claim(&mut st.oneofs, f.oneof)?;
                }
                self.close_run(t, out, st);
                st.last = num;
                f.write_key(out, st.comma);
                match f.kind {
                    Kind::Message(ty) | Kind::Group(ty) => {
                        self.message(ty, Src::One(v.start, v.end), depth + 1, out)
                    }
                    Kind::String => self.string(v, f.utf8, out),
                    kind => self.scalar(f, kind, v, out),
                }
                .map_err(|e| name(e, f))?;
                st.comma = true;
                st.wrote = true;
                if st.track {
                    mark(&mut self.s.bits, st.bits_base, fi);
                }
            }
            Card::Repeated => {
                if !continuing {
                    self.close_run(t, out, st);
                    st.run = fi as u32;
                    st.run_len = 0;
                    st.last = num;
                }
                if wt == LEN
                    && f.packable
                    && self.packed_numbers(f, v, out, st).map_err(|e| name(e, f))?
                {
                    // (Written.)
                } else if wt == LEN && f.packable {
                    let buf = self.buf;
                    packed(buf, f.kind, v, |e| {
                        self.room(out, e.start)?;
                        if self.unknown_closed(f.kind, e) {
                            return Ok(());
                        }
                        open_element(out, f, &mut st.run_open, &mut st.comma, b'[');
                        self.scalar(f, f.kind, e, out).map_err(|err| {
                            err.in_field(format_args!("{}[{}]", f.name, st.run_len))
                        })?;
                        st.run_len += 1;
                        Ok(())
                    })
                    .map_err(|e| name(e, f))?;
                } else {
                    if self.unknown_closed(f.kind, v) {
                        return Ok(p);
                    }
                    open_element(out, f, &mut st.run_open, &mut st.comma, b'[');
                    match f.kind {
                        Kind::Message(ty) => self.submessage(ty, v.start, v.end, depth + 1, out),
                        Kind::Group(ty) => {
                            self.message(ty, Src::One(v.start, v.end), depth + 1, out)
                        }
                        Kind::String => self.string(v, f.utf8, out),
                        kind => self.scalar(f, kind, v, out),
                    }
                    .map_err(|e| e.in_field(format_args!("{}[{}]", f.name, st.run_len)))?;
                    st.run_len += 1;
                }
                if f.present_when_empty && !st.run_open {
                    open_element(out, f, &mut st.run_open, &mut st.comma, b'[');
                }
                st.wrote |= st.run_open;
            }
            Card::Map => {
                if !continuing {
                    self.close_run(t, out, st);
                    st.run = fi as u32;
                    st.last = num;
                    self.s.keys.truncate(st.keys_base);
                    self.drop_big_keys(&mut st.big_keys);
                }
                let Kind::Message(ety) = f.kind else {
                    return Ok(p);
                };
                let et = &self.c.types[ety as usize];
                if self.string_entry(f, et, v, depth + 1, out, st)? {
                    return Ok(p);
                }
                let entry = match simple_entry(self.buf, v.start, v.end, et) {
                    Some(entry) if depth < MAX_DEPTH => entry,
                    _ => self
                        .parse_entry(et, v.start, v.end, depth + 1)
                        .map_err(|e| name(e, f))?,
                };
                if !entry.ok {
                    self.validate_dropped_entry(ety, &entry, depth + 1)
                        .map_err(|e| name(e, f))?;
                    return Ok(p);
                }
                let key_kind = et.fields.first().map_or(Kind::String, |k| k.kind);
                let key = match entry.key {
                    Some(k) => map_key(key_kind, k),
                    None if key_kind == Kind::String => MapKey::Str(0, 0),
                    None => MapKey::Int(0),
                };
                if self.seen_key(key, st.keys_base, &mut st.big_keys) {
                    return Err(Fault::Bail);
                }
                open_element(out, f, &mut st.run_open, &mut st.comma, b'{');
                self.entry(et, &entry, depth + 1, out)
                    .map_err(|e| name(e, f))?;
                st.wrote = true;
            }
        }
        Ok(p)
    }

    /// Writes the elements of a packed record of a number field (not an
    /// enum, which has names and closed values to check) with a loop per
    /// kind: the element's writer is chosen once per record, not once per
    /// element as [`packed`] and [`Walker::scalar`] would. Returns `false`,
    /// having done nothing, for the other kinds.
    #[inline(never)]
    pub(super) fn packed_numbers(
        &self,
        f: &FieldPlan,
        v: Val,
        out: &mut Vec<u8>,
        st: &mut Fast<'_>,
    ) -> R<bool> {
        if f.special != Special::None {
            return Ok(false);
        }
        let (buf, e) = (self.buf, (f, out, st, self.cap));
        match f.kind {
            Kind::Float => fixed_elements(buf, v, e, |o, b| write::f32(o, f32::from_le_bytes(b))),
            Kind::Fixed32 => fixed_elements(buf, v, e, |o, b| write::int(o, u32::from_le_bytes(b))),
            Kind::SFixed32 => {
                fixed_elements(buf, v, e, |o, b| write::int(o, i32::from_le_bytes(b)))
            }
            Kind::Double => fixed_elements(buf, v, e, |o, b| write::f64(o, f64::from_le_bytes(b))),
            Kind::Fixed64 => fixed_elements(buf, v, e, |o, b| {
                write::quoted_int(o, u64::from_le_bytes(b))
            }),
            Kind::SFixed64 => fixed_elements(buf, v, e, |o, b| {
                write::quoted_int(o, i64::from_le_bytes(b))
            }),
            Kind::Int32 => varint_elements(buf, v, e, |o, x| write::int(o, x as u32 as i32)),
            Kind::UInt32 => varint_elements(buf, v, e, |o, x| write::int(o, x as u32)),
            Kind::SInt32 => {
                varint_elements(buf, v, e, |o, x| write::int(o, wire::unzigzag32(x as u32)))
            }
            Kind::Int64 => varint_elements(buf, v, e, |o, x| write::quoted_int(o, x as i64)),
            Kind::UInt64 => varint_elements(buf, v, e, write::quoted_int),
            Kind::SInt64 => {
                varint_elements(buf, v, e, |o, x| write::quoted_int(o, wire::unzigzag64(x)))
            }
            Kind::Bool => varint_elements(buf, v, e, |o, x| write::bool(o, x != 0)),
            _ => return Ok(false),
        }?;
        Ok(true)
    }
}

/// Marks oneof `o` as set (fast path); a second member means the fields
/// are not in printable order.
#[inline(always)]
pub(super) fn oneof_claim(oneofs: &mut u64, o: u32) -> R<()> {
    if o >= 64 {
        return Err(Fault::Bail);
    }
    let bit = 1u64 << o;
    if *oneofs & bit != 0 {
        return Err(Fault::Bail);
    }
    *oneofs |= bit;
    Ok(())
}

/// The array being written by [`Walker::packed_numbers`]: the field, the
/// output, the fast path's state and the output's line limit (past it the
/// call restarts in slow mode, which refuses the message: packed numbers
/// are written only in fast mode).
pub(super) type Elements<'x, 'a> = (&'x FieldPlan, &'x mut Vec<u8>, &'x mut Fast<'a>, usize);

/// Writes the elements of packed fixed-size values `v` with `write`.
#[inline(always)]
pub(super) fn fixed_elements<const N: usize>(
    buf: &[u8],
    v: Val,
    (f, out, st, cap): Elements<'_, '_>,
    mut write: impl FnMut(&mut Vec<u8>, [u8; N]),
) -> R<()> {
    let bytes = &buf[v.start..v.end];
    let (elements, rest) = bytes.as_chunks::<N>();
    if !rest.is_empty() {
        return Err(Fault::new(
            ErrorKind::PackedLength {
                length: bytes.len(),
                element_size: N,
            },
            v.start,
        ));
    }
    let Some((first, others)) = elements.split_first() else {
        return Ok(());
    };
    open_element(out, f, &mut st.run_open, &mut st.comma, b'[');
    write(out, *first);
    for chunk in others.chunks(PACKED_CHECK_EVERY) {
        if out.len() > cap {
            return Err(Fault::Bail);
        }
        for &e in chunk {
            out.push(b',');
            write(out, e);
        }
    }
    st.run_len += elements.len() as u32;
    Ok(())
}

/// Writes the elements of packed varints `v` with `write`.
#[inline(always)]
pub(super) fn varint_elements(
    buf: &[u8],
    v: Val,
    (f, out, st, cap): Elements<'_, '_>,
    mut write: impl FnMut(&mut Vec<u8>, u64),
) -> R<()> {
    let data = &buf[..v.end];
    let mut p = v.start;
    let mut count = 0usize;
    while p < v.end {
        if count.is_multiple_of(PACKED_CHECK_EVERY) && out.len() > cap {
            return Err(Fault::Bail);
        }
        count += 1;
        let x = wire::varint(data, &mut p)?;
        if st.run_open {
            // (An open array is empty only when a repeated extension's
            // empty record opened it; see `open_element`.)
            if out.last() != Some(&b'[') {
                out.push(b',');
            }
        } else {
            open_element(out, f, &mut st.run_open, &mut st.comma, b'[');
        }
        write(out, x);
        st.run_len += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Wire, json, plan};

    const FIELDS: &str = "enum Color { RED = 0; GREEN = 1; } \
        message Inner { int32 n = 1; } \
        message M { int32 a = 1; string b = 2; repeated int32 c = 3; Inner d = 4; \
        Color e = 5; repeated double f = 6; bool g = 7; }";

    #[test]
    fn writes_fields_in_order_as_read() {
        let p = plan(FIELDS, "M");
        let wire = Wire::new()
            .varint(1, 150)
            .bytes(2, b"hi")
            .bytes(3, &[1, 2, 0x96, 0x01])
            .message(4, Wire::new().varint(1, 7))
            .varint(5, 1)
            .varint(7, 1);
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"a":150,"b":"hi","c":[1,2,150],"d":{"n":7},"e":"GREEN","g":true}"#)
        );
    }

    #[test]
    fn leaves_out_proto3_defaults() {
        let p = plan(FIELDS, "M");
        let wire = Wire::new().varint(1, 0).bytes(2, b"").varint(5, 0);
        assert_eq!(json(&p, &wire).as_deref(), Ok("{}"));
    }

    #[test]
    fn joins_a_run_of_unpacked_and_packed_elements() {
        let p = plan(FIELDS, "M");
        let wire = Wire::new()
            .varint(3, 5)
            .bytes(3, &[6, 7])
            .varint(3, 8)
            .fixed64(6, 0.5f64.to_bits())
            .bytes(
                6,
                &[
                    1.0f64.to_bits().to_le_bytes(),
                    (-0.0f64).to_bits().to_le_bytes(),
                ]
                .concat(),
            );
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"c":[5,6,7,8],"f":[0.5,1,-0.0]}"#)
        );
    }

    #[test]
    fn names_the_field_of_a_truncated_value() {
        let p = plan(FIELDS, "M");
        let mut wire = Wire::new().varint(1, 1).bytes(2, b"abc");
        wire.0.truncate(wire.0.len() - 1);
        assert_eq!(
            json(&p, &wire),
            Err(
                "length 3 runs past the end of the message (2 bytes left) at byte 2 in field `b`"
                    .into()
            )
        );
    }
}
