//! Checking a message without writing it: what Google's parser checks in
//! a message it reads but does not print (a oneof member later replaced, a
//! map entry later overwritten or dropped), and
//! [`Plan::check`](crate::Plan::check) for framing detection.

use super::read::{Fields, R, Val, accepts, is_item, item, name, name_field, packed, utf8};
use crate::compile::{Compiled, FieldPlan, Kind, TypePlan};
use crate::error::{ErrorKind, Fault, TranscodeError};
use crate::wire::{LEN, MAX_DEPTH, SGROUP};

/// What [`Plan::check`](crate::Plan::check) learned about a message that decoded cleanly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Check {
    /// Top-level fields whose number the schema knows, with the wire type the
    /// schema expects.
    pub known_fields: u64,
    /// Top-level fields the schema does not know (skipped in the JSON).
    pub unknown_fields: u64,
}

pub(super) fn too_large(len: usize) -> TranscodeError {
    TranscodeError::new(
        ErrorKind::Other(format!("message of {len} bytes is over the 4 GiB limit")),
        0,
        "",
    )
}

pub(crate) fn check(c: &Compiled, buf: &[u8]) -> Result<Check, TranscodeError> {
    if u32::try_from(buf.len()).is_err() {
        return Err(too_large(buf.len()));
    }
    let t = &c.types[c.root as usize];
    let mut counts = Check::default();
    let mut it = Fields::of(t, buf, 0, buf.len(), 0);
    let mut run = || -> R<()> {
        while it.more() {
            let at = it.p;
            let (num, wt) = it.tag()?;
            if is_item(t, num, wt) {
                match validate_item(c, buf, it.data, t, &mut it.p, at, 0)? {
                    true => counts.known_fields += 1,
                    false => counts.unknown_fields += 1,
                }
                continue;
            }
            let fi = t.lookup(num);
            let v = it.value(num, wt, at).map_err(|e| name_field(e, t, fi))?;
            match fi {
                Some(fi) if accepts(&t.fields[fi], wt) => {
                    counts.known_fields += 1;
                    validate_value(c, buf, &t.fields[fi], wt, v, 0)
                        .map_err(|e| e.in_field(format_args!("{}", t.fields[fi].name)))?;
                }
                _ => counts.unknown_fields += 1,
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => Ok(counts),
        Err(Fault::Error(e)) => Err(*e),
        Err(Fault::Bail) => Err(TranscodeError::new(
            ErrorKind::Other("internal error: check gave up".into()),
            0,
            "",
        )),
    }
}

/// Checks what Google's parser checks in a message it does not print (a
/// oneof member later replaced, a map entry later overwritten or dropped):
/// wire format, UTF-8 of the strings that validate it, depth.
pub(super) fn validate(
    c: &Compiled,
    buf: &[u8],
    ty: u32,
    start: usize,
    end: usize,
    depth: u32,
) -> R<()> {
    if depth > MAX_DEPTH {
        return Err(Fault::new(ErrorKind::TooDeep(MAX_DEPTH as usize), start));
    }
    let t = &c.types[ty as usize];
    let mut it = Fields::of(t, buf, start, end, depth);
    while it.more() {
        let at = it.p;
        let (num, wt) = it.tag()?;
        if is_item(t, num, wt) {
            validate_item(c, buf, it.data, t, &mut it.p, at, depth)?;
            continue;
        }
        let fi = t.lookup(num);
        let v = it.value(num, wt, at).map_err(|e| name_field(e, t, fi))?;
        if let Some(fi) = fi {
            let f = &t.fields[fi];
            if accepts(f, wt) {
                validate_value(c, buf, f, wt, v, depth)
                    .map_err(|e| e.in_field(format_args!("{}", f.name)))?;
            }
        }
    }
    Ok(())
}

/// Reads a MessageSet item of a message of type `t` (see [`item`]) and
/// checks the message it holds when its type is known (upb parses it
/// then); returns whether it was. `data` is the buffer up to the end of
/// the message holding the item, `depth` that message's depth.
pub(super) fn validate_item(
    c: &Compiled,
    buf: &[u8],
    data: &[u8],
    t: &TypePlan,
    p: &mut usize,
    at: usize,
    depth: u32,
) -> R<bool> {
    let Some(item) = item(data, p, at, depth)? else {
        return Ok(false);
    };
    let Some(fi) = t.item_field(item.type_id) else {
        return Ok(false);
    };
    let f = &t.fields[fi];
    if let Kind::Message(ty) = f.kind {
        validate(c, buf, ty, item.start, item.end, depth + 1).map_err(|e| name(e, f))?;
    }
    Ok(true)
}

pub(super) fn validate_value(
    c: &Compiled,
    buf: &[u8],
    f: &FieldPlan,
    wt: u8,
    v: Val,
    depth: u32,
) -> R<()> {
    match (f.kind, wt) {
        (Kind::String, LEN) if f.utf8 => utf8(buf, v.start, v.end),
        (Kind::Message(ty), LEN) | (Kind::Group(ty), SGROUP) => {
            validate(c, buf, ty, v.start, v.end, depth + 1)
        }
        (_, LEN) if f.packable => packed(buf, f.kind, v, |_| Ok(())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Wire, plan};
    use super::*;

    const CHECKED: &str = "message Inner { string s = 1; } \
        message M { int32 a = 1; Inner inner = 2; }";

    #[test]
    fn counts_known_and_unknown_top_level_fields() {
        let p = plan(CHECKED, "M");
        let wire = Wire::new()
            .varint(1, 1)
            .message(2, Wire::new().bytes(1, b"ok"))
            .varint(9, 1)
            // Field 1 with the wrong wire type is unknown to the parser.
            .fixed32(1, 0);
        assert_eq!(
            p.check(&wire.0),
            Ok(Check {
                known_fields: 2,
                unknown_fields: 2
            })
        );
    }

    #[test]
    fn checks_nested_messages_without_printing_them() {
        let p = plan(CHECKED, "M");
        let wire = Wire::new().message(2, Wire::new().bytes(1, b"\xc3"));
        let err = p.check(&wire.0).expect_err("invalid UTF-8");
        assert_eq!(
            err.to_string(),
            "invalid UTF-8 in a string field at byte 4 in field `inner.s`"
        );
    }

    #[test]
    fn refuses_nesting_past_the_depth_limit() {
        let p = plan("message R { R r = 1; }", "R");
        let mut wire = Wire::new();
        for _ in 0..=MAX_DEPTH {
            wire = Wire::new().message(1, wire);
        }
        let err = p.check(&wire.0).expect_err("too deep");
        assert_eq!(err.kind, ErrorKind::TooDeep(MAX_DEPTH as usize));
    }
}
