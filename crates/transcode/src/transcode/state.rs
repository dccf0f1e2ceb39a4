//! The scratch memory a transcode reuses, and the records kept in it: field
//! occurrences and map entries gathered by the slow path, the keys of the
//! map being written, the fast path's state per message.

use std::cell::RefCell;
use std::collections::HashSet;

use super::read::Val;
use crate::wkt;

/// Reusable scratch memory for one thread.
#[derive(Default)]
pub(super) struct Scratch {
    /// Field occurrences of the messages being merged (slow path), a stack.
    pub(super) recs: Vec<Rec>,
    /// Spans of messages being merged from several occurrences, a stack.
    pub(super) spans: Vec<(u32, u32)>,
    /// Keys of the map being written (fast path), a stack.
    pub(super) keys: Vec<MapKey>,
    /// Map entries being merged (slow path), a stack.
    pub(super) entries: Vec<Entry>,
    /// Which fields were written, for emit_defaults, a stack of bitsets.
    pub(super) bits: Vec<u64>,
    /// Oneof resolution (slow path): winning field, start of the last
    /// occurrence of another member.
    pub(super) oneofs: Vec<(u32, u32)>,
    /// FieldMask text before escaping.
    pub(super) text: Vec<u8>,
    /// The last date a Timestamp printed.
    pub(super) date: wkt::DateCache,
}

impl Scratch {
    pub(super) fn clear(&mut self) {
        self.recs.clear();
        self.spans.clear();
        self.keys.clear();
        self.entries.clear();
        self.bits.clear();
        self.oneofs.clear();
        self.text.clear();
    }

    /// Gives back memory a huge message made the scratch grow to.
    pub(super) fn trim(&mut self) {
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

pub(super) fn with_scratch<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
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
pub(super) struct Rec {
    pub(super) field_wt: u32,
    pub(super) start: u32,
    pub(super) end: u32,
}

pub(super) const DEAD: u32 = (1 << 29) - 1;

impl Rec {
    pub(super) fn field(self) -> u32 {
        self.field_wt >> 3
    }
    pub(super) fn wt(self) -> u8 {
        (self.field_wt & 7) as u8
    }
    pub(super) fn sort_key(self) -> u64 {
        (u64::from(self.field()) << 32) | u64::from(self.start)
    }
}

/// A map key, normalized so that equal keys compare equal whatever their
/// encoding (a 5- or 10-byte varint for the same int32).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum MapKey {
    Int(u64),
    Str(u32, u32),
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum KeyRef<'a> {
    Int(u64),
    Str(&'a [u8]),
}

/// A parsed map entry.
#[derive(Clone, Copy, Default)]
pub(super) struct Entry {
    pub(super) key: Option<Val>,
    pub(super) value: Option<Val>,
    /// The (message) value occurs more than once: its occurrences merge.
    pub(super) multi: bool,
    /// No unknown field, no unknown closed-enum value: upb keeps it (else
    /// the whole entry becomes an unknown field of the map's message).
    pub(super) ok: bool,
    /// Survives deduplication (slow path).
    pub(super) keep: bool,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// Where a message's bytes are: one span, or several (occurrences that
/// merge) in `Scratch::spans[lo..hi]`.
#[derive(Clone, Copy)]
pub(super) enum Src {
    One(usize, usize),
    Many(usize, usize),
}

impl Src {
    pub(super) fn first_start(self, s: &Scratch) -> usize {
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
    pub(super) fn count(self) -> usize {
        match self {
            Src::One(..) => 1,
            Src::Many(lo, hi) => hi - lo,
        }
    }
}

/// The fast path's state while writing one message.
pub(super) struct Fast<'a> {
    /// The last field number written.
    pub(super) last: u32,
    /// The repeated or map field being written, or `NO_FIELD`.
    pub(super) run: u32,
    /// Its `"key":[` is out.
    pub(super) run_open: bool,
    /// Elements written in the run.
    pub(super) run_len: u32,
    /// Oneofs with a member written (bit per oneof index).
    pub(super) oneofs: u64,
    pub(super) wrote: bool,
    /// The next field needs a comma.
    pub(super) comma: bool,
    /// emit_defaults: written fields are marked in `Scratch::bits`.
    pub(super) track: bool,
    pub(super) bits_base: usize,
    /// The current map's keys are `Scratch::keys[keys_base..]` (or, past
    /// 16 of them, `big_keys`).
    pub(super) keys_base: usize,
    pub(super) big_keys: Option<HashSet<KeyRef<'a>>>,
}

#[inline(always)]
pub(super) fn mark(bits: &mut [u64], base: usize, fi: usize) {
    bits[base + fi / 64] |= 1 << (fi % 64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_sort_by_field_then_position() {
        let rec = |field: u32, wt: u32, start: u32| Rec {
            field_wt: field << 3 | wt,
            start,
            end: start + 1,
        };
        let mut recs = [rec(3, 0, 0), rec(1, 2, 5), rec(3, 0, 2), rec(1, 2, 1)];
        recs.sort_by_key(|r| r.sort_key());
        let order: Vec<_> = recs.iter().map(|r| (r.field(), r.wt(), r.start)).collect();
        assert_eq!(order, [(1, 2, 1), (1, 2, 5), (3, 0, 0), (3, 0, 2)]);
    }

    #[test]
    fn a_message_in_several_spans_starts_at_its_first() {
        let mut s = Scratch::default();
        s.spans.extend([(10, 12), (4, 6)]);
        assert_eq!(Src::Many(0, 2).first_start(&s), 10);
        assert_eq!(Src::Many(0, 2).count(), 2);
        assert_eq!(Src::One(7, 9).first_start(&s), 7);
        assert_eq!(Src::Many(1, 1).first_start(&s), 0);
    }

    #[test]
    fn scratch_is_reused_empty_and_gives_back_huge_buffers() {
        let rec = Rec {
            field_wt: 0,
            start: 0,
            end: 0,
        };
        with_scratch(|s| s.recs.resize(1 << 17, rec));
        with_scratch(|s| {
            assert!(s.recs.is_empty());
            assert!(s.recs.capacity() < 1 << 17);
        });
    }
}
