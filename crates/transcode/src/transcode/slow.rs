//! The slow path: a message's fields gathered as spans, ordered by field
//! number and merged as Google's parser merges them (last one wins for
//! singular scalars, repeated elements join, singular messages merge, the
//! last oneof member wins), then written.

use super::check::validate;
use super::read::{
    Fields, R, Val, accepts, is_default, is_item, item, name, name_field, packed, utf8,
};
use super::state::{DEAD, Rec, Src, mark};
use super::values::open_element;
use super::walker::{REC_COST, SPAN_COST, Walker};
use crate::compile::{Card, FieldPlan, Kind, NO_FIELD, NO_ONEOF, TypePlan};
use crate::wire::{self, I32, I64, LEN, VARINT};

/// Decodes the value of a slow-path record (validated when collected).
pub(super) fn rec_val(buf: &[u8], r: Rec) -> Val {
    let (start, end) = (r.start as usize, r.end as usize);
    let bits = match r.wt() {
        VARINT => {
            let mut p = start;
            wire::varint(&buf[..end], &mut p).unwrap_or(0)
        }
        I64 => buf[start..end]
            .first_chunk::<8>()
            .map_or(0, |b| u64::from_le_bytes(*b)),
        I32 => buf[start..end]
            .first_chunk::<4>()
            .map_or(0, |b| u64::from(u32::from_le_bytes(*b))),
        _ => 0,
    };
    Val { bits, start, end }
}

impl<'a> Walker<'a, '_> {
    /// Writes the absent fields without presence (emit_defaults).
    pub(super) fn write_defaults(
        &self,
        t: &TypePlan,
        bits_base: usize,
        mut comma: bool,
        out: &mut Vec<u8>,
    ) -> bool {
        let mut wrote = false;
        for &fi in t.defaults.iter() {
            let fi = fi as usize;
            if self.s.bits[bits_base + fi / 64] & (1 << (fi % 64)) != 0 {
                continue;
            }
            let f = &t.fields[fi];
            f.write_key(out, comma);
            out.extend_from_slice(&f.default_json);
            comma = true;
            wrote = true;
        }
        wrote
    }

    // ---- slow path -------------------------------------------------------

    pub(super) fn fields_slow(
        &mut self,
        t: &'a TypePlan,
        src: Src,
        depth: u32,
        out: &mut Vec<u8>,
        mut comma: bool,
    ) -> R<bool> {
        let base = self.s.recs.len();
        for k in 0..src.count() {
            let (start, end) = self.span(src, k);
            self.collect(t, base, start, end, depth, out.len())?;
        }
        let top = self.s.recs.len();
        if t.oneofs > 0 {
            self.resolve_oneofs(t, base, top, depth)?;
        }
        self.s.recs[base..top].sort_unstable_by_key(|r| r.sort_key());

        let track = !t.defaults.is_empty();
        let bits_base = self.s.bits.len();
        if track {
            self.s
                .bits
                .resize(bits_base + t.fields.len().div_ceil(64), 0);
        }
        let mut wrote = false;
        let mut i = base;
        while i < top {
            let fi = self.s.recs[i].field();
            if fi == DEAD {
                break;
            }
            let mut j = i + 1;
            while j < top && self.s.recs[j].field() == fi {
                j += 1;
            }
            let f = &t.fields[fi as usize];
            let written = self
                .write_field_slow(f, i, j, depth, out, comma)
                .map_err(|e| e.in_field(format_args!("{}", f.name)))?;
            if written {
                comma = true;
                wrote = true;
                if track {
                    mark(&mut self.s.bits, bits_base, fi as usize);
                }
            }
            i = j;
        }
        if track {
            wrote |= self.write_defaults(t, bits_base, comma, out);
            self.s.bits.truncate(bits_base);
        }
        self.s.recs.truncate(base);
        self.give_scratch((top - base) * REC_COST);
        Ok(wrote)
    }

    /// Gathers the known field occurrences of one span (validating the
    /// span's wire format and its strings) after those of the message's
    /// earlier spans, `recs[base..]`, counting them against the line limit
    /// (`out_len`: the output's length). A MessageSet item counts as an
    /// occurrence of the extension it names, holding its message, and
    /// replaces the occurrences before it (which upb parsed all the same,
    /// so they are validated).
    pub(super) fn collect(
        &mut self,
        t: &TypePlan,
        base: usize,
        start: usize,
        end: usize,
        depth: u32,
        out_len: usize,
    ) -> R<()> {
        let mut it = Fields::of(t, self.buf, start, end, depth);
        while it.more() {
            let at = it.p;
            let (num, wt) = it.tag()?;
            if is_item(t, num, wt) {
                let Some(item) = item(it.data, &mut it.p, at, depth)? else {
                    continue;
                };
                let Some(fi) = t.item_field(item.type_id) else {
                    continue;
                };
                let f = &t.fields[fi];
                let Kind::Message(ty) = f.kind else { continue };
                for k in base..self.s.recs.len() {
                    let r = self.s.recs[k];
                    if r.field() == fi as u32 {
                        validate(
                            self.c,
                            self.buf,
                            ty,
                            r.start as usize,
                            r.end as usize,
                            depth + 1,
                        )
                        .map_err(|e| name(e, f))?;
                        self.s.recs[k].field_wt = DEAD << 3;
                    }
                }
                self.s.recs.push(Rec {
                    field_wt: ((fi as u32) << 3) | u32::from(LEN),
                    start: item.start as u32,
                    end: item.end as u32,
                });
                self.take_scratch(REC_COST);
                if out_len > self.cap {
                    return Err(self.over_limit(at));
                }
                continue;
            }
            let fi = t.lookup(num);
            let v = it.value(num, wt, at).map_err(|e| name_field(e, t, fi))?;
            let Some(fi) = fi else { continue };
            let f = &t.fields[fi];
            if !accepts(f, wt) {
                continue;
            }
            if f.card == Card::Singular && self.unknown_closed(f.kind, v) {
                continue;
            }
            if wt == LEN && f.kind == Kind::String && f.utf8 {
                utf8(self.buf, v.start, v.end)
                    .map_err(|e| e.in_field(format_args!("{}", f.name)))?;
            }
            self.s.recs.push(Rec {
                field_wt: ((fi as u32) << 3) | u32::from(wt),
                start: v.start as u32,
                end: v.end as u32,
            });
            self.take_scratch(REC_COST);
            if out_len > self.cap {
                return Err(self.over_limit(at));
            }
        }
        Ok(())
    }

    /// Keeps, for each oneof, only the last member set and its occurrences
    /// since the last switch; the others die (their messages still get
    /// validated, as Google's parser parsed them).
    pub(super) fn resolve_oneofs(
        &mut self,
        t: &TypePlan,
        base: usize,
        top: usize,
        depth: u32,
    ) -> R<()> {
        let ob = self.s.oneofs.len();
        self.s.oneofs.resize(ob + t.oneofs as usize, (NO_FIELD, 0));
        for i in (base..top).rev() {
            let r = self.s.recs[i];
            if r.field() == DEAD {
                continue; // replaced by a MessageSet item
            }
            let f = &t.fields[r.field() as usize];
            if f.oneof == NO_ONEOF {
                continue;
            }
            let slot = &mut self.s.oneofs[ob + f.oneof as usize];
            if slot.0 == NO_FIELD {
                slot.0 = r.field();
            } else if slot.0 != r.field() && slot.1 == 0 {
                slot.1 = r.start;
            }
        }
        for i in base..top {
            let r = self.s.recs[i];
            if r.field() == DEAD {
                continue;
            }
            let f = &t.fields[r.field() as usize];
            if f.oneof == NO_ONEOF {
                continue;
            }
            let (winner, cutoff) = self.s.oneofs[ob + f.oneof as usize];
            if r.field() != winner || r.start < cutoff {
                if let Kind::Message(ty) | Kind::Group(ty) = f.kind {
                    validate(
                        self.c,
                        self.buf,
                        ty,
                        r.start as usize,
                        r.end as usize,
                        depth + 1,
                    )
                    .map_err(|e| e.in_field(format_args!("{}", f.name)))?;
                }
                self.s.recs[i].field_wt = DEAD << 3;
            }
        }
        self.s.oneofs.truncate(ob);
        Ok(())
    }

    /// Writes field `f` from its occurrences `recs[i..j]` (wire order).
    pub(super) fn write_field_slow(
        &mut self,
        f: &FieldPlan,
        i: usize,
        j: usize,
        depth: u32,
        out: &mut Vec<u8>,
        comma: bool,
    ) -> R<bool> {
        self.room(out, self.s.recs[i].start as usize)?;
        match f.card {
            Card::Singular => {
                if let Kind::Message(ty) | Kind::Group(ty) = f.kind {
                    f.write_key(out, comma);
                    if j - i == 1 {
                        let r = self.s.recs[i];
                        self.message(
                            ty,
                            Src::One(r.start as usize, r.end as usize),
                            depth + 1,
                            out,
                        )?;
                    } else {
                        let lo = self.s.spans.len();
                        for k in i..j {
                            let r = self.s.recs[k];
                            self.s.spans.push((r.start, r.end));
                        }
                        let hi = self.s.spans.len();
                        self.take_scratch((hi - lo) * SPAN_COST);
                        self.room(out, self.s.recs[i].start as usize)?;
                        self.message(ty, Src::Many(lo, hi), depth + 1, out)?;
                        self.s.spans.truncate(lo);
                        self.give_scratch((hi - lo) * SPAN_COST);
                    }
                    return Ok(true);
                }
                let v = rec_val(self.buf, self.s.recs[j - 1]);
                if f.implicit && is_default(f.kind, v) {
                    return Ok(false);
                }
                f.write_key(out, comma);
                self.scalar(f, f.kind, v, out)?;
                Ok(true)
            }
            Card::Repeated => {
                let mut open = false;
                let mut comma = comma;
                let mut n = 0u32;
                for k in i..j {
                    let r = self.s.recs[k];
                    let v = rec_val(self.buf, r);
                    if r.wt() == LEN && f.packable {
                        packed(self.buf, f.kind, v, |e| {
                            self.room(out, e.start)
                                .map_err(|err| err.in_field(format_args!("[{n}]")))?;
                            if self.unknown_closed(f.kind, e) {
                                return Ok(());
                            }
                            open_element(out, f, &mut open, &mut comma, b'[');
                            self.scalar(f, f.kind, e, out)
                                .map_err(|err| err.in_field(format_args!("[{n}]")))?;
                            n += 1;
                            Ok(())
                        })?;
                        continue;
                    }
                    if self.unknown_closed(f.kind, v) {
                        continue;
                    }
                    self.room(out, v.start)
                        .map_err(|err| err.in_field(format_args!("[{n}]")))?;
                    open_element(out, f, &mut open, &mut comma, b'[');
                    match f.kind {
                        Kind::Message(ty) | Kind::Group(ty) => {
                            self.message(ty, Src::One(v.start, v.end), depth + 1, out)
                        }
                        kind => self.scalar(f, kind, v, out),
                    }
                    .map_err(|err| err.in_field(format_args!("[{n}]")))?;
                    n += 1;
                }
                if f.present_when_empty && !open {
                    open_element(out, f, &mut open, &mut comma, b'[');
                }
                if open {
                    out.push(b']');
                }
                Ok(open)
            }
            Card::Map => self.map_slow(f, i, j, depth, out, comma),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Wire, json, plan};

    const FIELDS: &str = "message Inner { int32 x = 1; int32 y = 2; repeated int32 z = 3; } \
        message M { int32 a = 1; string b = 2; repeated int32 c = 3; Inner d = 4; \
        oneof pick { string s = 5; int32 i = 6; } }";

    #[test]
    fn orders_fields_by_number() {
        let p = plan(FIELDS, "M");
        let wire = Wire::new().bytes(2, b"b").varint(1, 1);
        assert_eq!(json(&p, &wire).as_deref(), Ok(r#"{"a":1,"b":"b"}"#));
    }

    #[test]
    fn last_scalar_wins_and_repeated_elements_join() {
        let p = plan(FIELDS, "M");
        let wire = Wire::new()
            .varint(1, 1)
            .varint(3, 10)
            .bytes(2, b"first")
            .varint(3, 11)
            .varint(1, 2)
            .bytes(2, b"second");
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"a":2,"b":"second","c":[10,11]}"#)
        );
    }

    #[test]
    fn merges_repeated_singular_message() {
        let p = plan(FIELDS, "M");
        let wire = Wire::new()
            .message(4, Wire::new().varint(1, 1).varint(3, 5))
            .varint(1, 9)
            .message(4, Wire::new().varint(2, 2).varint(3, 6).varint(1, 3));
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"a":9,"d":{"x":3,"y":2,"z":[5,6]}}"#)
        );
    }

    #[test]
    fn a_later_oneof_member_replaces_the_earlier() {
        let p = plan(FIELDS, "M");
        let wire = Wire::new().bytes(5, b"gone").varint(6, 4);
        assert_eq!(json(&p, &wire).as_deref(), Ok(r#"{"i":4}"#));
        let wire = Wire::new().varint(6, 4).bytes(5, b"kept");
        assert_eq!(json(&p, &wire).as_deref(), Ok(r#"{"s":"kept"}"#));
    }

    #[test]
    fn a_replaced_oneof_member_is_still_checked() {
        let p = plan(FIELDS, "M");
        let wire = Wire::new().bytes(5, b"\xff").varint(6, 4);
        assert_eq!(
            json(&p, &wire),
            Err("invalid UTF-8 in a string field at byte 2 in field `s`".into())
        );
    }
}
