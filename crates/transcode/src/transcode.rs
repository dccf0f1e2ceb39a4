//! Walking wire bytes and writing JSON.
//!
//! **Fast path.** A message's fields are written as they are read while
//! they arrive in ascending field-number order without repeats (a run of
//! one repeated or map field counts as one). That is what every mainstream
//! serializer produces, so it is the common case, and it costs one pass and
//! no allocation per field.
//!
//! **Slow path.** On the first field that breaks the order (a lower or
//! repeated number, a second member of a oneof, a second occurrence of a
//! singular message, a duplicate map key), or a value the JSON printer
//! would refuse (which a later field might still overwrite), the fast path
//! gives up ([`Fault::Bail`]); the whole call restarts in slow mode, where
//! each message's fields are first gathered as spans in a reusable scratch
//! stack, ordered stably by field number and then merged the way Google's
//! parser merges: last one wins for singular scalars, repeated elements join
//! one array in wire order, occurrences of a singular message merge
//! (recursively: their spans are transcoded as one message), a later oneof
//! member clears the earlier ones, the last map entry for a key wins.
//! Restarting the whole call (instead of just the message that bailed)
//! bounds the work at two passes, whatever the nesting.
//!
//! Memory: the output, plus in slow mode 12 bytes of scratch per field
//! occurrence; the scratch is reused across calls on a thread.

use std::cell::RefCell;
use std::collections::HashSet;

use crate::error::{ErrorKind, Fault};
use crate::plan::{Card, Compiled, FieldPlan, Kind, NO_FIELD, NO_ONEOF, Special, TypePlan};
use crate::wire::{self, EGROUP, I32, I64, LEN, MAX_DEPTH, SGROUP, VARINT};
use crate::wkt::{self, BareEmpty, Wkt};
use crate::write;
use crate::{Check, TranscodeError};

type R<T> = Result<T, Fault>;

/// Reusable scratch memory for one thread.
#[derive(Default)]
struct Scratch {
    /// Field occurrences of the messages being merged (slow path), a stack.
    recs: Vec<Rec>,
    /// Spans of messages being merged from several occurrences, a stack.
    spans: Vec<(u32, u32)>,
    /// Keys of the map being written (fast path), a stack.
    keys: Vec<MapKey>,
    /// Map entries being merged (slow path), a stack.
    entries: Vec<Entry>,
    /// Which fields were written, for emit_defaults, a stack of bitsets.
    bits: Vec<u64>,
    /// Oneof resolution (slow path): winning field, start of the last
    /// occurrence of another member.
    oneofs: Vec<(u32, u32)>,
    /// FieldMask text before escaping.
    text: Vec<u8>,
    /// The last date a Timestamp printed.
    date: wkt::DateCache,
}

impl Scratch {
    fn clear(&mut self) {
        self.recs.clear();
        self.spans.clear();
        self.keys.clear();
        self.entries.clear();
        self.bits.clear();
        self.oneofs.clear();
        self.text.clear();
    }

    /// Gives back memory a huge message made the scratch grow to.
    fn trim(&mut self) {
        const KEEP: usize = 1 << 16;
        if self.recs.capacity() > KEEP {
            self.recs = Vec::new();
        }
        if self.entries.capacity() > KEEP {
            self.entries = Vec::new();
        }
        if self.spans.capacity() > KEEP {
            self.spans = Vec::new();
        }
        if self.keys.capacity() > KEEP {
            self.keys = Vec::new();
        }
        if self.text.capacity() > KEEP {
            self.text = Vec::new();
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

fn with_scratch<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            s.clear();
            let r = f(&mut s);
            s.trim();
            r
        }
        // Only reachable if a transcode ran inside another on one thread.
        Err(_) => f(&mut Scratch::default()),
    })
}

/// One field occurrence in slow mode: field index and wire type, and the
/// value's bytes (the varint, the fixed bytes, the length-delimited
/// contents or the group body).
#[derive(Clone, Copy)]
struct Rec {
    field_wt: u32,
    start: u32,
    end: u32,
}

const DEAD: u32 = (1 << 29) - 1;

impl Rec {
    fn field(self) -> u32 {
        self.field_wt >> 3
    }
    fn wt(self) -> u8 {
        (self.field_wt & 7) as u8
    }
    fn sort_key(self) -> u64 {
        (u64::from(self.field()) << 32) | u64::from(self.start)
    }
}

/// A map key, normalized so that equal keys compare equal whatever their
/// encoding (a 5- or 10-byte varint for the same int32).
#[derive(Clone, Copy, PartialEq, Eq)]
enum MapKey {
    Int(u64),
    Str(u32, u32),
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum KeyRef<'a> {
    Int(u64),
    Str(&'a [u8]),
}

/// A decoded value: the bits of a numeric value, or the span of a
/// length-delimited one (or of a group body).
#[derive(Clone, Copy, Default)]
struct Val {
    bits: u64,
    start: usize,
    end: usize,
}

/// A parsed map entry.
#[derive(Clone, Copy, Default)]
struct Entry {
    key: Option<Val>,
    value: Option<Val>,
    /// The (message) value occurs more than once: its occurrences merge.
    multi: bool,
    /// No unknown field, no unknown closed-enum value: upb keeps it (else
    /// the whole entry becomes an unknown field of the map's message).
    ok: bool,
    /// Survives deduplication (slow path).
    keep: bool,
    start: usize,
    end: usize,
}

/// Where a message's bytes are: one span, or several (occurrences that
/// merge) in `Scratch::spans[lo..hi]`.
#[derive(Clone, Copy)]
enum Src {
    One(usize, usize),
    Many(usize, usize),
}

impl Src {
    fn first_start(self, s: &Scratch) -> usize {
        match self {
            Src::One(start, _) => start,
            Src::Many(lo, hi) => {
                if lo < hi {
                    s.spans[lo].0 as usize
                } else {
                    0
                }
            }
        }
    }
    fn count(self) -> usize {
        match self {
            Src::One(..) => 1,
            Src::Many(lo, hi) => hi - lo,
        }
    }
}

/// Reads a map entry in the usual encoding, the key then the value, once
/// each, with one-byte tags and values that need no check here (no closed
/// enum); anything else, malformed bytes included, is `None` and goes to
/// `Walker::parse_entry`.
#[inline]
fn simple_entry(buf: &[u8], start: usize, end: usize, et: &TypePlan) -> Option<Entry> {
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

/// Field number 0, in a message type without fields, is an unknown field
/// for upb with these wire types; with a group's it is still an error.
#[inline]
fn zero_wire_type_ok(wt: u8) -> bool {
    matches!(wt, VARINT | I64 | LEN | I32)
}

/// A MessageSet item that names a type and holds a message.
struct Item {
    type_id: u32,
    start: usize,
    end: usize,
}

/// Reads the body of a MessageSet item (group 1 of a message with
/// `message_set_wire_format`) whose start tag was at `tag_at`, leaving `*p`
/// after its end tag, as upb reads it: the first `type_id` (field 2, a
/// varint, of which the low 32 bits count) and the first `message` (field
/// 3, length-delimited) win, in either order; any other field is skipped,
/// field number 0 included; the item ends with its own end-group tag.
/// `None` when the item lacks either part (upb then keeps nothing).
/// `depth` is the depth of the message holding the item.
fn item(data: &[u8], p: &mut usize, tag_at: usize, depth: u32) -> R<Option<Item>> {
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
fn is_item(t: &TypePlan, number: u32, wt: u8) -> bool {
    t.message_set && number == 1 && wt == SGROUP
}

/// Reads fields of one span.
struct Fields<'b> {
    data: &'b [u8],
    p: usize,
    depth: u32,
    /// Field number 0 is an unknown field, not an error (upb, for message
    /// types without fields).
    zero_ok: bool,
}

impl<'b> Fields<'b> {
    #[inline(always)]
    fn new(buf: &'b [u8], start: usize, end: usize, depth: u32) -> Fields<'b> {
        Fields {
            data: &buf[..end],
            p: start,
            depth,
            zero_ok: false,
        }
    }

    /// Reads the fields of a message of type `t`.
    #[inline(always)]
    fn of(t: &TypePlan, buf: &'b [u8], start: usize, end: usize, depth: u32) -> Fields<'b> {
        Fields {
            zero_ok: t.field_zero_ok,
            ..Fields::new(buf, start, end, depth)
        }
    }

    #[inline(always)]
    fn more(&self) -> bool {
        self.p < self.data.len()
    }

    #[inline(always)]
    fn tag(&mut self) -> R<(u32, u8)> {
        let at = self.p;
        let (number, wt) = wire::tag(self.data, &mut self.p)?;
        if number == 0 && !(self.zero_ok && zero_wire_type_ok(wt)) {
            return Err(Fault::new(ErrorKind::InvalidFieldNumber, at));
        }
        Ok((number, wt))
    }

    /// Reads the value of a field whose tag (at `at`) was just read.
    #[inline(always)]
    fn value(&mut self, number: u32, wt: u8, at: usize) -> R<Val> {
        value(self.data, &mut self.p, number, wt, at, self.depth)
    }
}

/// Reads the value of a field with wire type `wt` whose tag (at `at`) was
/// just read, leaving `*p` after it; `depth` is the depth of the message
/// holding the field.
#[inline(always)]
fn value(data: &[u8], p: &mut usize, number: u32, wt: u8, at: usize, depth: u32) -> R<Val> {
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
fn is_default(kind: Kind, v: Val) -> bool {
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

/// Decodes the value of a slow-path record (validated when collected).
fn rec_val(buf: &[u8], r: Rec) -> Val {
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

fn map_key(kind: Kind, v: Val) -> MapKey {
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

/// `max_len`: the longest JSON allowed (see [`Plan::transcode_limited`](crate::Plan::transcode_limited)).
pub(crate) fn transcode(
    c: &Compiled,
    buf: &[u8],
    out: &mut Vec<u8>,
    max_len: usize,
) -> Result<(), TranscodeError> {
    if u32::try_from(buf.len()).is_err() {
        return Err(too_large(buf.len()));
    }
    let entry = out.len();
    let full_cap = entry.saturating_add(max_len);
    let result = with_scratch(|s| {
        let mut w = Walker {
            c,
            buf,
            nesting: 0,
            on_big_stack: false,
            slow: false,
            s,
            cap: full_cap,
            full_cap,
            scratch: 0,
            max_len,
        };
        let r = match w.message(c.root, Src::One(0, buf.len()), 0, out) {
            Err(Fault::Bail) => {
                out.truncate(entry);
                w.s.clear();
                w.nesting = 0;
                w.slow = true;
                w.scratch = 0;
                w.cap = full_cap;
                w.message(c.root, Src::One(0, buf.len()), 0, out)
            }
            r => r,
        };
        // The tail (closing braces, the top level's defaults) after the
        // last check. Whichever path finished, its output is the JSON.
        match r {
            Ok(()) if out.len() > full_cap => Err(Fault::new(
                ErrorKind::LineTooLong { limit: max_len },
                buf.len(),
            )),
            r => r,
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(f) => {
            out.truncate(entry);
            Err(match f {
                Fault::Error(e) => *e,
                Fault::Bail => TranscodeError::new(
                    ErrorKind::Other("internal error: the slow path gave up".into()),
                    0,
                    "",
                ),
            })
        }
    }
}

fn too_large(len: usize) -> TranscodeError {
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

#[inline(always)]
fn accepts(f: &FieldPlan, wt: u8) -> bool {
    wt == f.wire_type || (wt == LEN && f.packable)
}

#[cold]
fn name_field(e: Fault, t: &TypePlan, fi: Option<usize>) -> Fault {
    match fi {
        Some(fi) => e.in_field(format_args!("{}", t.fields[fi].name)),
        None => e,
    }
}

/// Checks what Google's parser checks in a message it does not print (a
/// oneof member later replaced, a map entry later overwritten or dropped):
/// wire format, UTF-8 of the strings that validate it, depth.
fn validate(c: &Compiled, buf: &[u8], ty: u32, start: usize, end: usize, depth: u32) -> R<()> {
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
fn validate_item(
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

fn validate_value(c: &Compiled, buf: &[u8], f: &FieldPlan, wt: u8, v: Val, depth: u32) -> R<()> {
    match (f.kind, wt) {
        (Kind::String, LEN) if f.utf8 => utf8(buf, v.start, v.end),
        (Kind::Message(ty), LEN) | (Kind::Group(ty), SGROUP) => {
            validate(c, buf, ty, v.start, v.end, depth + 1)
        }
        (_, LEN) if f.packable => packed(buf, f.kind, v, |_| Ok(())),
        _ => Ok(()),
    }
}

/// Checks UTF-8, pointing at the first bad byte.
#[inline]
fn utf8(buf: &[u8], start: usize, end: usize) -> R<()> {
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
fn packed(buf: &[u8], kind: Kind, v: Val, mut each: impl FnMut(Val) -> R<()>) -> R<()> {
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

/// The fast path's state while writing one message.
struct Fast<'a> {
    /// The last field number written.
    last: u32,
    /// The repeated or map field being written, or `NO_FIELD`.
    run: u32,
    /// Its `"key":[` is out.
    run_open: bool,
    /// Elements written in the run.
    run_len: u32,
    /// Oneofs with a member written (bit per oneof index).
    oneofs: u64,
    wrote: bool,
    /// The next field needs a comma.
    comma: bool,
    /// emit_defaults: written fields are marked in `Scratch::bits`.
    track: bool,
    bits_base: usize,
    /// The current map's keys are `Scratch::keys[keys_base..]` (or, past
    /// 16 of them, `big_keys`).
    keys_base: usize,
    big_keys: Option<HashSet<KeyRef<'a>>>,
}

/// Adds field `f` to an error's path.
#[cold]
fn name(e: Fault, f: &FieldPlan) -> Fault {
    e.in_field(format_args!("{}", f.name))
}

/// Messages nested in all, counting `Any` payloads and the levels inside
/// them (whose parse depth starts anew, as in upb): a bound on recursion.
/// Google's Python printer fails from about 200 nested `Any`s (400 levels)
/// on its recursion limit.
const MAX_NESTING: u32 = 400;

/// The nesting at which the walk moves to a thread with a stack of
/// [`BIG_STACK`] bytes: 32 levels take some 50 KiB of stack in release
/// builds and 600 KiB in debug builds, comfortably below a thread's usual
/// 2 MiB; messages that deep are rare enough for a thread start (tens of
/// microseconds) not to matter.
const STACK_HOP: u32 = 32;

/// Room for the remaining levels, at 48 KiB each (debug builds take up to
/// about 20 KiB per level of `Any` nesting). Only the pages used are
/// committed.
const BIG_STACK: usize = (MAX_NESTING - STACK_HOP) as usize * 48 * 1024;

struct Walker<'a, 's> {
    c: &'a Compiled,
    buf: &'a [u8],
    /// The output may grow to this length (the line limit, less the
    /// scratch in use); beyond it the message is refused (see
    /// [`Walker::room`]).
    cap: usize,
    /// The output's length at the start plus the line limit.
    full_cap: usize,
    /// Bytes of scratch counted against the line limit: field occurrences,
    /// spans and map entries gathered in slow mode, the keys of large maps.
    scratch: usize,
    /// The line limit, for the error.
    max_len: usize,
    /// Messages being written, nested (see [`MAX_NESTING`]).
    nesting: u32,
    /// The walk moved to a thread with a big stack (see [`STACK_HOP`]).
    on_big_stack: bool,
    /// Slow mode: every message goes through the gather-sort-merge path and
    /// printing errors are errors (in fast mode they make the call restart).
    slow: bool,
    s: &'s mut Scratch,
}

/// What scratch costs against the line limit, doubled for the growth of
/// the `Vec`s and hash sets holding it.
const REC_COST: usize = 2 * std::mem::size_of::<Rec>();
const SPAN_COST: usize = 2 * std::mem::size_of::<(u32, u32)>();
const KEY_COST: usize = 2 * (std::mem::size_of::<KeyRef<'static>>() + 1);
const ENTRY_COST: usize = 2 * std::mem::size_of::<Entry>() + KEY_COST;

/// Packed numbers are written this many at a time between two checks of
/// the line limit (at most 64 × 26 bytes past it).
const PACKED_CHECK_EVERY: usize = 64;

impl<'a> Walker<'a, '_> {
    /// Whether the output may still grow: `Ok` while `out` is within the
    /// line limit. Past it the message is refused, in fast mode by
    /// restarting in slow mode (a later field might replace what made the
    /// output long), in slow mode with [`ErrorKind::LineTooLong`] at `at`.
    #[inline(always)]
    fn room(&self, out: &[u8], at: usize) -> R<()> {
        if out.len() > self.cap {
            return Err(self.over_limit(at));
        }
        Ok(())
    }

    /// [`Walker::room`] for `extra` more bytes, before writing them.
    #[inline(always)]
    fn room_for(&self, out: &[u8], extra: usize, at: usize) -> R<()> {
        if out.len().saturating_add(extra) > self.cap {
            return Err(self.over_limit(at));
        }
        Ok(())
    }

    #[cold]
    fn over_limit(&self, at: usize) -> Fault {
        self.refuse(
            ErrorKind::LineTooLong {
                limit: self.max_len,
            },
            at,
        )
    }

    /// Counts `bytes` more scratch against the line limit.
    #[inline]
    fn take_scratch(&mut self, bytes: usize) {
        self.scratch += bytes;
        self.cap = self.full_cap.saturating_sub(self.scratch);
    }

    /// Gives back scratch counted with [`Walker::take_scratch`].
    #[inline]
    fn give_scratch(&mut self, bytes: usize) {
        self.scratch = self.scratch.saturating_sub(bytes);
        self.cap = self.full_cap.saturating_sub(self.scratch);
    }

    fn span(&self, src: Src, k: usize) -> (usize, usize) {
        match src {
            Src::One(start, end) => (start, end),
            Src::Many(lo, _) => {
                let (s, e) = self.s.spans[lo + k];
                (s as usize, e as usize)
            }
        }
    }

    /// An error of printing rather than parsing (a value JSON cannot
    /// express): in fast mode the value might still be overwritten by a
    /// later field, so the call restarts in slow mode, which knows.
    #[cold]
    fn refuse(&self, kind: ErrorKind, at: usize) -> Fault {
        if self.slow {
            Fault::new(kind, at)
        } else {
            Fault::Bail
        }
    }

    /// Writes the JSON value of a message of type `ty`.
    fn message(&mut self, ty: u32, src: Src, depth: u32, out: &mut Vec<u8>) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(Fault::new(
                ErrorKind::TooDeep(MAX_DEPTH as usize),
                src.first_start(self.s),
            ));
        }
        if self.nesting >= MAX_NESTING {
            return Err(Fault::new(
                ErrorKind::TooDeep(MAX_NESTING as usize),
                src.first_start(self.s),
            ));
        }
        self.nesting += 1;
        let result = if self.nesting >= STACK_HOP && !self.on_big_stack {
            self.on_big_stack = true;
            let r = self.message_on_big_stack(ty, src, depth, out);
            self.on_big_stack = false;
            r
        } else {
            self.message_body(ty, src, depth, out)
        };
        self.nesting -= 1;
        result
    }

    /// Writes a message nested [`STACK_HOP`] levels deep on a thread of its
    /// own with room for the rest of [`MAX_NESTING`], so that no input can
    /// overflow the caller's stack (a thread's default is 2 MiB, and debug
    /// builds take several KiB per level).
    #[cold]
    #[inline(never)]
    fn message_on_big_stack(&mut self, ty: u32, src: Src, depth: u32, out: &mut Vec<u8>) -> R<()> {
        let at = src.first_start(self.s);
        std::thread::scope(|scope| {
            let spawned = std::thread::Builder::new()
                .name("protoland-transcode-deep".into())
                .stack_size(BIG_STACK)
                .spawn_scoped(scope, || self.message_body(ty, src, depth, out));
            match spawned {
                Ok(handle) => match handle.join() {
                    Ok(result) => result,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(e) => Err(Fault::new(
                    ErrorKind::Other(format!(
                        "cannot start a thread for messages nested over {STACK_HOP} levels: {e}"
                    )),
                    at,
                )),
            }
        })
    }

    /// [`Walker::message`] for a single span, with a shortcut for the usual
    /// regular message and Timestamp (fewer calls, as most messages are
    /// nested ones).
    #[inline(always)]
    fn submessage(
        &mut self,
        ty: u32,
        start: usize,
        end: usize,
        depth: u32,
        out: &mut Vec<u8>,
    ) -> R<()> {
        let c = self.c;
        let t = &c.types[ty as usize];
        if self.slow || depth > MAX_DEPTH || self.nesting + 1 >= STACK_HOP {
            return self.message(ty, Src::One(start, end), depth, out);
        }
        match t.wkt {
            Wkt::None => {
                self.nesting += 1;
                out.push(b'{');
                let r = self.fields_fast(t, start, end, depth, out, false);
                out.push(b'}');
                self.nesting -= 1;
                r.map(|_| ())
            }
            Wkt::Timestamp => {
                let (seconds, nanos) = self.seconds_nanos(Src::One(start, end), depth)?;
                wkt::timestamp(out, seconds, nanos, &mut self.s.date).map_err(|reason| {
                    self.refuse(
                        ErrorKind::InvalidWellKnown {
                            type_name: "google.protobuf.Timestamp",
                            reason,
                        },
                        start,
                    )
                })
            }
            _ => self.message(ty, Src::One(start, end), depth, out),
        }
    }

    fn message_body(&mut self, ty: u32, src: Src, depth: u32, out: &mut Vec<u8>) -> R<()> {
        let c = self.c;
        let t = &c.types[ty as usize];
        match t.wkt {
            Wkt::None => {
                out.push(b'{');
                self.fields(t, src, depth, out, false)?;
                out.push(b'}');
            }
            Wkt::Bare(empty) => {
                if !self.fields(t, src, depth, out, false)? {
                    out.extend_from_slice(match empty {
                        BareEmpty::Object => b"{}",
                        BareEmpty::Array => b"[]",
                        BareEmpty::Null => b"null",
                        BareEmpty::FieldDefault => {
                            t.fields.first().map_or(&b"null"[..], |f| &f.default_json)
                        }
                    });
                }
            }
            Wkt::Timestamp | Wkt::Duration => {
                let (seconds, nanos) = self.seconds_nanos(src, depth)?;
                let (result, type_name) = if t.wkt == Wkt::Timestamp {
                    (
                        wkt::timestamp(out, seconds, nanos, &mut self.s.date),
                        "google.protobuf.Timestamp",
                    )
                } else {
                    (
                        wkt::duration(out, seconds, nanos),
                        "google.protobuf.Duration",
                    )
                };
                if let Err(reason) = result {
                    return Err(self.refuse(
                        ErrorKind::InvalidWellKnown { type_name, reason },
                        src.first_start(self.s),
                    ));
                }
            }
            Wkt::FieldMask => self.field_mask(src, depth, out)?,
            Wkt::Any => self.any(src, depth, out)?,
        }
        Ok(())
    }

    /// Writes the fields of a message (without braces), a comma first if
    /// `comma`; returns whether anything was written.
    #[inline]
    fn fields(
        &mut self,
        t: &'a TypePlan,
        src: Src,
        depth: u32,
        out: &mut Vec<u8>,
        comma: bool,
    ) -> R<bool> {
        match src {
            Src::One(start, end) if !self.slow => {
                self.fields_fast(t, start, end, depth, out, comma)
            }
            _ => self.fields_slow(t, src, depth, out, comma),
        }
    }

    fn seconds_nanos(&mut self, src: Src, depth: u32) -> R<(i64, i32)> {
        // The usual encoding: seconds then nanos, once each, or either
        // alone.
        // (Straight-line code: as a closure called twice, LLVM kept it
        // out of line.)
        if let Src::One(start, end) = src {
            let data = &self.buf[..end];
            let mut p = start;
            let (mut seconds, mut nanos) = (0, 0);
            let mut ok = true;
            if data.get(p) == Some(&0x08) {
                p += 1;
                match wire::varint(data, &mut p) {
                    Ok(v) => seconds = v,
                    Err(_) => ok = false,
                }
            }
            if ok && data.get(p) == Some(&0x10) {
                p += 1;
                match wire::varint(data, &mut p) {
                    Ok(v) => nanos = v,
                    Err(_) => ok = false,
                }
            }
            // (Anything else, errors included, takes the general way.)
            if ok && p == end {
                return Ok((seconds as i64, nanos as u32 as i32));
            }
        }
        let (mut seconds, mut nanos) = (0i64, 0i32);
        for k in 0..src.count() {
            let (start, end) = self.span(src, k);
            let mut it = Fields::new(self.buf, start, end, depth);
            while it.more() {
                let at = it.p;
                let (num, wt) = it.tag()?;
                let v = it.value(num, wt, at)?;
                match (num, wt) {
                    (1, VARINT) => seconds = v.bits as i64,
                    (2, VARINT) => nanos = v.bits as u32 as i32,
                    _ => {}
                }
            }
        }
        Ok((seconds, nanos))
    }

    fn field_mask(&mut self, src: Src, depth: u32, out: &mut Vec<u8>) -> R<()> {
        let mut text = std::mem::take(&mut self.s.text);
        text.clear();
        let mut first = true;
        let mut result = Ok(());
        'spans: for k in 0..src.count() {
            let (start, end) = self.span(src, k);
            let mut it = Fields::new(self.buf, start, end, depth);
            while it.more() {
                let at = it.p;
                let step = it
                    .tag()
                    .and_then(|(num, wt)| Ok((num, wt, it.value(num, wt, at)?)));
                let (num, wt, v) = match step {
                    Ok(x) => x,
                    Err(e) => {
                        result = Err(e);
                        break 'spans;
                    }
                };
                if (num, wt) != (1, LEN) {
                    continue;
                }
                if let Err(e) = utf8(self.buf, v.start, v.end) {
                    result = Err(e.in_field(format_args!("paths")));
                    break 'spans;
                }
                if !first {
                    text.push(b',');
                }
                first = false;
                let path = std::str::from_utf8(&self.buf[v.start..v.end]).unwrap_or("");
                if out.len().saturating_add(text.len()) > self.cap {
                    result = Err(self.over_limit(v.start).in_field(format_args!("paths")));
                    break 'spans;
                }
                if let Err(reason) = wkt::field_mask_path(&mut text, path) {
                    result = Err(self.refuse(
                        ErrorKind::InvalidWellKnown {
                            type_name: "google.protobuf.FieldMask",
                            reason,
                        },
                        v.start,
                    ));
                    break 'spans;
                }
            }
        }
        if result.is_ok() {
            result = self.room_for(out, write::json_string_len(&text), src.first_start(self.s));
        }
        if result.is_ok() {
            write::string(out, &text);
        }
        self.s.text = text;
        result
    }

    fn any(&mut self, src: Src, depth: u32, out: &mut Vec<u8>) -> R<()> {
        let mut url = (0usize, 0usize);
        let mut value = (0usize, 0usize);
        for k in 0..src.count() {
            let (start, end) = self.span(src, k);
            let mut it = Fields::new(self.buf, start, end, depth);
            while it.more() {
                let at = it.p;
                let (num, wt) = it.tag()?;
                let v = it.value(num, wt, at)?;
                match (num, wt) {
                    (1, LEN) => {
                        utf8(self.buf, v.start, v.end)
                            .map_err(|e| e.in_field(format_args!("@type")))?;
                        url = (v.start, v.end);
                    }
                    (2, LEN) => value = (v.start, v.end),
                    _ => {}
                }
            }
        }
        let url_bytes = &self.buf[url.0..url.1];
        if url_bytes.is_empty() && value.0 == value.1 {
            // Nothing set: Python prints `{}`.
            out.extend_from_slice(b"{}");
            return Ok(());
        }
        let url_text = std::str::from_utf8(url_bytes).unwrap_or("");
        let name = url_text.rsplit('/').next().unwrap_or("");
        let Some(&ty) = self.c.by_name.get(name) else {
            return Err(self.refuse(
                ErrorKind::UnresolvableAny(url_text.to_owned()),
                src.first_start(self.s),
            ));
        };
        self.string_room(out, url.0, url.1)?;
        out.extend_from_slice(b"{\"@type\":");
        write::string(out, url_bytes);
        let payload = Src::One(value.0, value.1);
        let c = self.c;
        let pt = &c.types[ty as usize];
        // Google parses the payload on its own: its depth starts at 0. It
        // counts as a level of nesting (as it does for Python's recursion).
        let result = if pt.wkt == Wkt::None {
            if self.nesting >= MAX_NESTING {
                return Err(Fault::new(
                    ErrorKind::TooDeep(MAX_NESTING as usize),
                    value.0,
                ));
            }
            self.nesting += 1;
            let r = self.fields(pt, payload, 0, out, true).map(|_| ());
            self.nesting -= 1;
            r
        } else {
            out.extend_from_slice(b",\"value\":");
            self.message(ty, payload, 0, out)
                .map_err(|e| e.in_field(format_args!("value")))
        };
        match result {
            // Python parses the payload only when printing, so a bad
            // payload in an Any that a later field overwrites is no error:
            // let slow mode decide.
            Err(Fault::Error(_)) if !self.slow => return Err(Fault::Bail),
            r => r?,
        }
        out.push(b'}');
        Ok(())
    }

    /// Writes a scalar value (not a message) of field `f`.
    #[inline(always)]
    fn scalar(&self, f: &FieldPlan, kind: Kind, v: Val, out: &mut Vec<u8>) -> R<()> {
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
    fn enum_value(&self, f: &FieldPlan, e: u32, number: i32, out: &mut Vec<u8>) {
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
    fn string(&self, v: Val, verify: bool, out: &mut Vec<u8>) -> R<()> {
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
    fn string_room(&self, out: &[u8], start: usize, end: usize) -> R<()> {
        if out.len().saturating_add(6 * (end - start) + 2) > self.cap {
            return self.exact_string_room(out, start, end);
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn exact_string_room(&self, out: &[u8], start: usize, end: usize) -> R<()> {
        let len = write::json_string_len(&self.buf[start..end]);
        self.room_for(out, len, start)
    }

    /// Whether a singular closed-enum value is unknown (and so an unknown
    /// field, not printed, not replacing an earlier value).
    #[inline(always)]
    fn unknown_closed(&self, kind: Kind, v: Val) -> bool {
        match kind {
            Kind::Enum(e) => {
                let ep = &self.c.enums[e as usize];
                ep.closed && !ep.known(v.bits as u32 as i32)
            }
            _ => false,
        }
    }

    /// The fast path (see the module docs); returns whether anything was
    /// written. The loop handles the common field inline (singular, the
    /// expected wire type, in order, no oneof or closed enum; one after a
    /// repeated field closes its array first), and the elements of repeated
    /// messages and packed numbers; everything else goes through
    /// [`Walker::field`].
    fn fields_fast(
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
    fn number(
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
    fn item_fast(
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
    fn close_run(&mut self, t: &TypePlan, out: &mut Vec<u8>, st: &mut Fast<'_>) {
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
    fn field(
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
    fn packed_numbers(
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

    /// The commonest map entry, `map<string, string>` in the usual encoding
    /// with lengths below 128, read and written without the general entry
    /// machinery (`depth` is the entry's). Returns `false`, having done
    /// nothing, for any other entry.
    #[inline]
    fn string_entry(
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
    fn seen_key(
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
    fn drop_big_keys(&mut self, big: &mut Option<HashSet<KeyRef<'a>>>) {
        if let Some(set) = big.take() {
            self.give_scratch(set.len() * KEY_COST);
        }
    }

    /// Parses a map entry: its key and value, and whether upb keeps it.
    fn parse_entry(&mut self, et: &TypePlan, start: usize, end: usize, depth: u32) -> R<Entry> {
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
    fn validate_dropped_entry(&mut self, ety: u32, e: &Entry, depth: u32) -> R<()> {
        validate(self.c, self.buf, ety, e.start, e.end, depth)
    }

    /// Writes `"key":value` for a map entry (`depth` is the entry's).
    fn entry(&mut self, et: &TypePlan, e: &Entry, depth: u32, out: &mut Vec<u8>) -> R<()> {
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
    fn entry_key_text(&self, et: &TypePlan, e: &Entry, out: &mut Vec<u8>) -> R<()> {
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

    /// Writes the absent fields without presence (emit_defaults).
    fn write_defaults(
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

    fn fields_slow(
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
    fn collect(
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
    fn resolve_oneofs(&mut self, t: &TypePlan, base: usize, top: usize, depth: u32) -> R<()> {
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
    fn write_field_slow(
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

    fn map_slow(
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

/// Marks oneof `o` as set (fast path); a second member means the fields
/// are not in printable order.
#[inline(always)]
fn oneof_claim(oneofs: &mut u64, o: u32) -> R<()> {
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

#[inline(always)]
fn mark(bits: &mut [u64], base: usize, fi: usize) {
    bits[base + fi / 64] |= 1 << (fi % 64);
}

/// The array being written by [`Walker::packed_numbers`]: the field, the
/// output, the fast path's state and the output's line limit (past it the
/// call restarts in slow mode, which refuses the message: packed numbers
/// are written only in fast mode).
type Elements<'x, 'a> = (&'x FieldPlan, &'x mut Vec<u8>, &'x mut Fast<'a>, usize);

/// Writes the elements of packed fixed-size values `v` with `write`.
#[inline(always)]
fn fixed_elements<const N: usize>(
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
fn varint_elements(
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

/// Before an element of a repeated or map field: the key and opening
/// bracket for the first, a comma for the others.
#[inline(always)]
fn open_element(out: &mut Vec<u8>, f: &FieldPlan, open: &mut bool, comma: &mut bool, bracket: u8) {
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
