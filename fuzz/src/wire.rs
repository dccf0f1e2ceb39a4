//! A minimal walk over wire bytes with a descriptor, to tell where Google's
//! parser and prost-reflect disagree on what a message holds (see
//! [`crate::compare::Allowed`]). It never decides
//! validity: on anything odd it stops and reports what it found so far.

use std::collections::BTreeSet;

use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some(value);
        }
    }
    None
}

thread_local! {
    /// Set by [`field`] when a tag or a length prefix is a varint over 5
    /// bytes, wherever the walk reads one (FieldMask, Any, map entries and
    /// groups included).
    static LONG_VARINT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// One field: number, wire type and the value's bytes (for groups, the
/// body).
fn field<'a>(buf: &'a [u8], pos: &mut usize) -> Option<(u32, u8, &'a [u8])> {
    let before = *pos;
    let tag = varint(buf, pos)?;
    if *pos - before > 5 {
        LONG_VARINT.set(true);
    }
    let number = u32::try_from(tag >> 3).ok()?;
    let wt = (tag & 7) as u8;
    let start = *pos;
    match wt {
        0 => {
            varint(buf, pos)?;
        }
        1 => *pos = pos.checked_add(8).filter(|&p| p <= buf.len())?,
        5 => *pos = pos.checked_add(4).filter(|&p| p <= buf.len())?,
        2 => {
            let before = *pos;
            let len = varint(buf, pos)?;
            if *pos - before > 5 {
                LONG_VARINT.set(true);
            }
            let len = usize::try_from(len).ok()?;
            let s = *pos;
            *pos = s.checked_add(len).filter(|&p| p <= buf.len())?;
            return Some((number, wt, &buf[s..*pos]));
        }
        3 => {
            // Skip to the matching end-group tag.
            loop {
                let before = *pos;
                let (n, w, _) = field(buf, pos)?;
                if w == 4 {
                    if n != number {
                        return None;
                    }
                    return Some((number, wt, &buf[start..before]));
                }
            }
        }
        4 => return Some((number, wt, &[])),
        _ => return None,
    }
    Some((number, wt, &buf[start..*pos]))
}

/// What the walk found anywhere in a message (nested messages, groups,
/// map values, `Any` payloads).
#[derive(Debug, Default)]
pub struct Scan {
    /// Full names of map fields with an entry holding a field other than
    /// key (1) and value (2), or an undeclared value of a closed enum.
    pub loose_maps: BTreeSet<String>,
    /// Every path of every `FieldMask`.
    pub field_mask_paths: Vec<Vec<u8>>,
    /// A map field occurs with a wire type other than length-delimited.
    pub mistyped_map: bool,
    /// A tag (field key) or a length prefix is a varint longer than 5
    /// bytes.
    pub long_varint: bool,
}

/// Walks a message of type `desc`.
pub fn scan(pool: &DescriptorPool, desc: &MessageDescriptor, buf: &[u8]) -> Scan {
    let mut found = Scan::default();
    LONG_VARINT.set(false);
    walk(pool, desc, buf, 0, &mut found);
    found.long_varint |= LONG_VARINT.get();
    found
}

fn walk(pool: &DescriptorPool, desc: &MessageDescriptor, buf: &[u8], depth: u32, found: &mut Scan) {
    if depth > 200 {
        return;
    }
    if desc.full_name() == "google.protobuf.Any" {
        let mut pos = 0;
        let (mut url, mut value): (&[u8], &[u8]) = (&[], &[]);
        while pos < buf.len() {
            let Some((n, wt, v)) = field(buf, &mut pos) else {
                return;
            };
            match (n, wt) {
                (1, 2) => url = v,
                (2, 2) => value = v,
                _ => {}
            }
        }
        let url = String::from_utf8_lossy(url);
        let name = url.rsplit_once('/').map_or(&*url, |(_, n)| n);
        if let Some(payload) = pool.get_message_by_name(name) {
            walk(pool, &payload, value, depth + 1, found);
        }
        return;
    }
    if desc.full_name() == "google.protobuf.FieldMask" {
        let mut pos = 0;
        while pos < buf.len() {
            match field(buf, &mut pos) {
                Some((1, 2, v)) => found.field_mask_paths.push(v.to_vec()),
                Some(_) => {}
                None => return,
            }
        }
        return;
    }
    let mut pos = 0;
    while pos < buf.len() {
        // Before the value: a mistyped map field may well be truncated
        // as what its wire type says.
        let mut peek = pos;
        if let Some(tag) = varint(buf, &mut peek)
            && tag & 7 != 2
            && u32::try_from(tag >> 3).is_ok_and(|n| desc.get_field(n).is_some_and(|f| f.is_map()))
        {
            found.mistyped_map = true;
        }
        let Some((n, wt, v)) = field(buf, &mut pos) else {
            return;
        };
        let Some(f) = desc.get_field(n) else {
            continue;
        };
        let Kind::Message(m) = f.kind() else {
            continue;
        };
        if f.is_map() && wt == 2 {
            let mut p = 0;
            while p < v.len() {
                let Some((en, ewt, ev)) = field(v, &mut p) else {
                    break;
                };
                // An undeclared closed-enum value also makes upb drop the
                // entry, even when a later value in it is declared.
                let undeclared = en == 2
                    && ewt == 0
                    && matches!(m.map_entry_value_field().kind(), Kind::Enum(e)
                    if varint(ev, &mut 0).map_or(crate::compare::is_closed(&e), |n| {
                        crate::compare::closed_undeclared(&e, n as i32)
                    }));
                if (en != 1 && en != 2) || undeclared {
                    found.loose_maps.insert(f.full_name().to_owned());
                } else if en == 2
                    && let Kind::Message(vm) = m.map_entry_value_field().kind()
                {
                    walk(pool, &vm, ev, depth + 1, found);
                }
            }
        } else if wt == 2 || wt == 3 {
            walk(pool, &m, v, depth + 1, found);
        }
    }
}

/// Whether Google's printer accepts a FieldMask path: it must be lowercase
/// snake_case that converts to camelCase and back unchanged (no uppercase
/// letter, every `_` followed by a lowercase letter). This is
/// `_SnakeCaseToCamelCase` of Python's `json_format`.
pub fn google_accepts_field_mask_path(path: &str) -> bool {
    let mut after_underscore = false;
    for c in path.chars() {
        if c.is_uppercase() {
            return false;
        }
        if after_underscore {
            if !c.is_lowercase() {
                return false;
            }
            after_underscore = false;
        } else if c == '_' {
            after_underscore = true;
        }
    }
    !after_underscore
}
