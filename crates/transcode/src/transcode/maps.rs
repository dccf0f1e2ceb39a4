//! Maps: entries read (with a shortcut for the usual encoding), duplicate
//! keys detected (the last entry for a key wins), keys written as JSON
//! object keys.

use std::collections::HashSet;

use super::check::validate;
use super::read::{Fields, R, Val, name, utf8};
use super::state::{Entry, Fast, KeyRef, MapKey, Src};
use super::values::open_element;
use super::walker::{ENTRY_COST, KEY_COST, SPAN_COST, Walker};
use crate::compile::{FieldPlan, Kind, TypePlan};
use crate::error::{ErrorKind, Fault};
use crate::wire::{self, I32, I64, LEN, MAX_DEPTH, VARINT};
use crate::write;

/// Reads a map entry in the usual encoding, the key then the value, once
/// each, with one-byte tags and values that need no check here (no closed
/// enum); anything else, malformed bytes included, is `None` and goes to
/// `Walker::parse_entry`.
#[inline]
pub(super) fn simple_entry(buf: &[u8], start: usize, end: usize, et: &TypePlan) -> Option<Entry> {
    let [kf, vf] = &et.fields[..] else {
        return None;
    };
    if matches!(vf.kind, Kind::Enum(_)) {
        return None;
    }
    let data = &buf[..end];
    let mut p = start;
    let mut read = |tag: u8, wt: u8| -> Option<Val> {
        if *data.get(p)? != tag {
            return None;
        }
        p += 1;
        let start = p;
        let bits = match wt {
            VARINT => wire::varint(data, &mut p).ok()?,
            LEN => {
                let end = wire::length(data, &mut p, start).ok()?;
                let content = p;
                p = end;
                return Some(Val {
                    bits: 0,
                    start: content,
                    end,
                });
            }
            I64 => u64::from_le_bytes(wire::fixed::<8>(data, &mut p, start).ok()?),
            I32 => u64::from(u32::from_le_bytes(
                wire::fixed::<4>(data, &mut p, start).ok()?,
            )),
            _ => return None,
        };
        Some(Val {
            bits,
            start,
            end: p,
        })
    };
    let key = read(0x08 | kf.wire_type, kf.wire_type)?;
    let value = read(0x10 | vf.wire_type, vf.wire_type)?;
    (p == end).then_some(Entry {
        key: Some(key),
        value: Some(value),
        multi: false,
        ok: true,
        keep: true,
        start,
        end,
    })
}

pub(super) fn map_key(kind: Kind, v: Val) -> MapKey {
    match kind {
        Kind::String => MapKey::Str(v.start as u32, v.end as u32),
        Kind::Int32 | Kind::SFixed32 => MapKey::Int(i64::from(v.bits as u32 as i32) as u64),
        Kind::SInt32 => MapKey::Int(i64::from(wire::unzigzag32(v.bits as u32)) as u64),
        Kind::UInt32 | Kind::Fixed32 => MapKey::Int(u64::from(v.bits as u32)),
        Kind::SInt64 => MapKey::Int(wire::unzigzag64(v.bits) as u64),
        Kind::Bool => MapKey::Int(u64::from(v.bits != 0)),
        _ => MapKey::Int(v.bits),
    }
}

impl<'a> Walker<'a, '_> {
    /// The commonest map entry, `map<string, string>` in the usual encoding
    /// with lengths below 128, read and written without the general entry
    /// machinery (`depth` is the entry's). Returns `false`, having done
    /// nothing, for any other entry.
    #[inline]
    pub(super) fn string_entry(
        &mut self,
        f: &FieldPlan,
        et: &TypePlan,
        v: Val,
        depth: u32,
        out: &mut Vec<u8>,
        st: &mut Fast<'a>,
    ) -> R<bool> {
        let [kf, vf] = &et.fields[..] else {
            return Ok(false);
        };
        if kf.kind != Kind::String || vf.kind != Kind::String || depth > MAX_DEPTH {
            return Ok(false);
        }
        let buf = self.buf;
        let data = &buf[..v.end];
        let string = |tag: u8, at: usize| -> Option<(usize, usize)> {
            if data.get(at) != Some(&tag) {
                return None;
            }
            let len = *data.get(at + 1)?;
            let start = at + 2;
            let end = start + usize::from(len);
            (len < 0x80 && end <= v.end).then_some((start, end))
        };
        let Some((ks, ke)) = string(0x0a, v.start) else {
            return Ok(false);
        };
        let Some((vs, ve)) = string(0x12, ke) else {
            return Ok(false);
        };
        if ve != v.end {
            return Ok(false);
        }
        if self.seen_key(
            MapKey::Str(ks as u32, ke as u32),
            st.keys_base,
            &mut st.big_keys,
        ) {
            return Err(Fault::Bail);
        }
        open_element(out, f, &mut st.run_open, &mut st.comma, b'{');
        if let (Some((a, b)), Some((c, d))) = (
            write::short_plain(buf, ks, ke),
            write::short_plain(buf, vs, ve),
        ) {
            write::short_string_pair(out, [a, b, c, d], ke - ks, ve - vs);
        } else {
            let key = Val {
                bits: 0,
                start: ks,
                end: ke,
            };
            let value = Val {
                bits: 0,
                start: vs,
                end: ve,
            };
            let entry = Entry {
                key: Some(key),
                value: Some(value),
                multi: false,
                ok: true,
                keep: true,
                start: v.start,
                end: v.end,
            };
            self.entry(et, &entry, depth, out).map_err(|e| name(e, f))?;
        }
        st.wrote = true;
        Ok(true)
    }

    /// Whether `key` was already written in this map (fast path); records
    /// it otherwise. Linear below 16 keys, hashed above.
    pub(super) fn seen_key(
        &mut self,
        key: MapKey,
        keys_base: usize,
        big: &mut Option<HashSet<KeyRef<'a>>>,
    ) -> bool {
        let buf = self.buf;
        let as_ref = |k: MapKey| match k {
            MapKey::Int(i) => KeyRef::Int(i),
            MapKey::Str(s, e) => KeyRef::Str(&buf[s as usize..e as usize]),
        };
        if let Some(set) = big {
            let new = set.insert(as_ref(key));
            if new {
                self.take_scratch(KEY_COST);
            }
            return !new;
        }
        let keys = &self.s.keys[keys_base..];
        let probe = as_ref(key);
        let seen = match key {
            MapKey::Int(_) => keys.contains(&key),
            // Lengths first: most keys differ there.
            MapKey::Str(s, e) => keys.iter().any(|&k| match k {
                MapKey::Str(s2, e2) => e2 - s2 == e - s && as_ref(k) == probe,
                MapKey::Int(_) => false,
            }),
        };
        if seen {
            return true;
        }
        if keys.len() >= 16 {
            let mut set: HashSet<KeyRef<'a>> = keys.iter().map(|&k| as_ref(k)).collect();
            set.insert(probe);
            self.take_scratch(set.len() * KEY_COST);
            *big = Some(set);
        } else {
            self.s.keys.push(key);
        }
        false
    }

    /// Drops the key set of a large map, giving back its scratch.
    pub(super) fn drop_big_keys(&mut self, big: &mut Option<HashSet<KeyRef<'a>>>) {
        if let Some(set) = big.take() {
            self.give_scratch(set.len() * KEY_COST);
        }
    }

    /// Parses a map entry: its key and value, and whether upb keeps it.
    pub(super) fn parse_entry(
        &mut self,
        et: &TypePlan,
        start: usize,
        end: usize,
        depth: u32,
    ) -> R<Entry> {
        if depth > MAX_DEPTH {
            return Err(Fault::new(ErrorKind::TooDeep(MAX_DEPTH as usize), start));
        }
        let mut e = Entry {
            ok: true,
            start,
            end,
            ..Entry::default()
        };
        let mut it = Fields::new(self.buf, start, end, depth);
        while it.more() {
            let at = it.p;
            let (num, wt) = it.tag()?;
            let v = it.value(num, wt, at)?;
            let fi = match et.lookup(num) {
                Some(fi) if wt == et.fields[fi].wire_type => fi,
                _ => {
                    e.ok = false;
                    continue;
                }
            };
            let f = &et.fields[fi];
            if self.unknown_closed(f.kind, v) {
                e.ok = false;
                continue;
            }
            // Strings are checked when written (so that an error names the
            // key); one overwritten within the entry is checked here.
            let slot = if fi == 0 { &mut e.key } else { &mut e.value };
            if let Some(old) = *slot {
                match f.kind {
                    Kind::String if f.utf8 => utf8(self.buf, old.start, old.end)?,
                    Kind::Message(_) => e.multi = true,
                    _ => {}
                }
            }
            *slot = Some(v);
        }
        Ok(e)
    }

    /// Checks a map entry upb parses but does not keep (it has an unknown
    /// field, or a later entry has its key).
    pub(super) fn validate_dropped_entry(&mut self, ety: u32, e: &Entry, depth: u32) -> R<()> {
        validate(self.c, self.buf, ety, e.start, e.end, depth)
    }

    /// Writes `"key":value` for a map entry (`depth` is the entry's).
    pub(super) fn entry(
        &mut self,
        et: &TypePlan,
        e: &Entry,
        depth: u32,
        out: &mut Vec<u8>,
    ) -> R<()> {
        let (Some(kf), Some(vf)) = (et.fields.first(), et.fields.get(1)) else {
            return Ok(());
        };
        // A short string key and value, in one go.
        if let (Kind::String, Some(k), Kind::String, Some(v)) = (kf.kind, e.key, vf.kind, e.value)
            && let Some((a, b)) = write::short_plain(self.buf, k.start, k.end)
            && let Some((c, d)) = write::short_plain(self.buf, v.start, v.end)
        {
            write::short_string_pair(out, [a, b, c, d], k.end - k.start, v.end - v.start);
            return Ok(());
        }
        match (kf.kind, e.key) {
            // A key that is not UTF-8 (a proto2 map): Python's map iterator
            // decodes keys strictly, so Google refuses to print the message.
            (Kind::String, Some(k)) => {
                self.string_room(out, k.start, k.end)?;
                if let Err(at) = write::string_at(out, self.buf, k.start, k.end) {
                    let kind = ErrorKind::InvalidUtf8;
                    return Err(if kf.utf8 {
                        Fault::new(kind, k.start + at)
                    } else {
                        self.refuse(kind, k.start + at)
                    });
                }
            }
            (Kind::String, None) => out.extend_from_slice(b"\"\""),
            (Kind::Bool, k) => out.extend_from_slice(if k.is_some_and(|k| k.bits != 0) {
                b"\"true\""
            } else {
                b"\"false\""
            }),
            (kind, k) => {
                out.push(b'"');
                let v = k.unwrap_or_default();
                match kind {
                    Kind::Int64 | Kind::SFixed64 => write::int(out, v.bits as i64),
                    Kind::UInt64 | Kind::Fixed64 => write::int(out, v.bits),
                    Kind::SInt64 => write::int(out, wire::unzigzag64(v.bits)),
                    Kind::Int32 | Kind::SFixed32 => write::int(out, v.bits as u32 as i32),
                    Kind::SInt32 => write::int(out, wire::unzigzag32(v.bits as u32)),
                    _ => write::int(out, v.bits as u32),
                }
                out.push(b'"');
            }
        }
        out.push(b':');
        let result = match (vf.kind, e.value) {
            (Kind::Message(vty), _) if e.multi => {
                let lo = self.s.spans.len();
                let mut it = Fields::new(self.buf, e.start, e.end, depth);
                while it.more() {
                    let at = it.p;
                    let (num, wt) = it.tag()?;
                    let v = it.value(num, wt, at)?;
                    if (num, wt) == (2, LEN) {
                        self.s.spans.push((v.start as u32, v.end as u32));
                        self.take_scratch(SPAN_COST);
                        self.room(out, at)?;
                    }
                }
                let hi = self.s.spans.len();
                let r = self.message(vty, Src::Many(lo, hi), depth + 1, out);
                self.s.spans.truncate(lo);
                self.give_scratch((hi - lo) * SPAN_COST);
                r
            }
            (Kind::Message(vty), Some(v)) => {
                self.message(vty, Src::One(v.start, v.end), depth + 1, out)
            }
            (Kind::Message(vty), None) => self.message(vty, Src::One(e.end, e.end), depth + 1, out),
            (kind, Some(v)) => self.scalar(vf, kind, v, out),
            (_, None) => {
                out.extend_from_slice(&vf.default_json);
                Ok(())
            }
        };
        result.map_err(|err| {
            let mut key = Vec::new();
            // Re-render the key for the path; cannot fail again.
            let _ = self.entry_key_text(et, e, &mut key);
            err.in_field(format_args!("[{}]", String::from_utf8_lossy(&key)))
        })
    }

    #[cold]
    pub(super) fn entry_key_text(&self, et: &TypePlan, e: &Entry, out: &mut Vec<u8>) -> R<()> {
        let Some(kf) = et.fields.first() else {
            return Ok(());
        };
        match (kf.kind, e.key) {
            (Kind::String, Some(k)) => self.string(k, false, out),
            (Kind::String, None) => {
                out.extend_from_slice(b"\"\"");
                Ok(())
            }
            (kind, k) => {
                let v = k.unwrap_or_default();
                out.push(b'"');
                match map_key(kind, v) {
                    MapKey::Int(i) => match kind {
                        Kind::Bool => write::bool(out, i != 0),
                        Kind::UInt32 | Kind::Fixed32 | Kind::UInt64 | Kind::Fixed64 => {
                            write::int(out, i)
                        }
                        _ => write::int(out, i as i64),
                    },
                    MapKey::Str(..) => {}
                }
                out.push(b'"');
                Ok(())
            }
        }
    }
}

impl<'a> Walker<'a, '_> {
    pub(super) fn map_slow(
        &mut self,
        f: &FieldPlan,
        i: usize,
        j: usize,
        depth: u32,
        out: &mut Vec<u8>,
        comma: bool,
    ) -> R<bool> {
        let Kind::Message(ety) = f.kind else {
            return Ok(false);
        };
        let c = self.c;
        let et = &c.types[ety as usize];
        let key_kind = et.fields.first().map_or(Kind::String, |k| k.kind);
        let eb = self.s.entries.len();
        for k in i..j {
            let r = self.s.recs[k];
            let e = self.parse_entry(et, r.start as usize, r.end as usize, depth + 1)?;
            self.s.entries.push(e);
            // (The entry, and its key in `seen` below.)
            self.take_scratch(ENTRY_COST);
            self.room(out, r.start as usize)?;
        }
        let top = self.s.entries.len();
        // Last one wins: walk backwards, keep the first of each key seen.
        let buf = self.buf;
        let key_of = |e: &Entry| -> KeyRef<'_> {
            match e.key.map(|k| map_key(key_kind, k)) {
                Some(MapKey::Str(s, e)) => KeyRef::Str(&buf[s as usize..e as usize]),
                Some(MapKey::Int(v)) => KeyRef::Int(v),
                None if key_kind == Kind::String => KeyRef::Str(&[]),
                None => KeyRef::Int(0),
            }
        };
        let mut seen: HashSet<KeyRef<'_>> = HashSet::new();
        for k in (eb..top).rev() {
            let e = self.s.entries[k];
            self.s.entries[k].keep = e.ok && seen.insert(key_of(&e));
        }
        drop(seen);
        let mut open = false;
        let mut comma = comma;
        for k in eb..top {
            let e = self.s.entries[k];
            if !e.keep {
                self.validate_dropped_entry(ety, &e, depth + 1)?;
                continue;
            }
            self.room(out, e.start)?;
            open_element(out, f, &mut open, &mut comma, b'{');
            self.entry(et, &e, depth + 1, out)?;
        }
        self.s.entries.truncate(eb);
        self.give_scratch((top - eb) * ENTRY_COST);
        if open {
            out.push(b'}');
        }
        Ok(open)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Wire, json, plan};

    const MAPS: &str = "message V { int32 n = 1; } \
        message M { map<string, int32> counts = 1; map<int64, string> names = 2; \
        map<bool, V> flags = 3; map<sint32, int32> zig = 4; }";

    fn entry(key: Wire, value: Wire) -> Wire {
        Wire(key.0.into_iter().chain(value.0).collect())
    }

    #[test]
    fn writes_entries_in_wire_order_with_keys_as_strings() {
        let p = plan(MAPS, "M");
        let wire = Wire::new()
            .message(
                1,
                entry(Wire::new().bytes(1, b"b"), Wire::new().varint(2, 2)),
            )
            .message(
                1,
                entry(Wire::new().bytes(1, b"a"), Wire::new().varint(2, 1)),
            )
            .message(
                2,
                entry(Wire::new().varint(1, 7), Wire::new().bytes(2, b"seven")),
            )
            .message(
                3,
                entry(
                    Wire::new().varint(1, 1),
                    Wire::new().message(2, Wire::new().varint(1, 3)),
                ),
            )
            .message(4, entry(Wire::new().varint(1, 3), Wire::new().varint(2, 1)));
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(
                r#"{"counts":{"b":2,"a":1},"names":{"7":"seven"},"flags":{"true":{"n":3}},"zig":{"-2":1}}"#
            )
        );
    }

    #[test]
    fn the_last_entry_for_a_key_wins() {
        let p = plan(MAPS, "M");
        let wire = Wire::new()
            .message(
                1,
                entry(Wire::new().bytes(1, b"a"), Wire::new().varint(2, 1)),
            )
            .message(
                1,
                entry(Wire::new().bytes(1, b"b"), Wire::new().varint(2, 2)),
            )
            .message(
                1,
                entry(Wire::new().bytes(1, b"a"), Wire::new().varint(2, 3)),
            );
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"counts":{"b":2,"a":3}}"#)
        );
    }

    #[test]
    fn a_missing_key_or_value_is_its_default() {
        let p = plan(MAPS, "M");
        let wire = Wire::new()
            .message(1, Wire::new().varint(2, 5))
            .message(2, Wire::new().varint(1, 1));
        assert_eq!(
            json(&p, &wire).as_deref(),
            Ok(r#"{"counts":{"":5},"names":{"1":""}}"#)
        );
    }

    #[test]
    fn value_before_key_and_repeated_parts_read_as_google_reads_them() {
        let p = plan(MAPS, "M");
        let wire = Wire::new().message(
            1,
            entry(
                Wire::new().varint(2, 1).bytes(1, b"x"),
                Wire::new().varint(2, 4).bytes(1, b"y"),
            ),
        );
        assert_eq!(json(&p, &wire).as_deref(), Ok(r#"{"counts":{"y":4}}"#));
    }
}
