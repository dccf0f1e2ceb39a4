//! The walk's state ([`Walker`]): the output's limit and the scratch
//! counted against it, nesting and the move to a bigger stack, and the
//! dispatch of a message to the fast path, the slow path or a well-known
//! type's printer.

use super::read::R;
use super::state::{Entry, KeyRef, Rec, Scratch, Src};
use crate::compile::{Compiled, TypePlan};
use crate::error::{ErrorKind, Fault};
use crate::wire::MAX_DEPTH;
use crate::wkt::{self, BareEmpty, Wkt};

/// Messages nested in all, counting `Any` payloads and the levels inside
/// them (whose parse depth starts anew, as in upb): a bound on recursion.
/// Google's Python printer fails from about 200 nested `Any`s (400 levels)
/// on its recursion limit.
pub(super) const MAX_NESTING: u32 = 400;

/// The nesting at which the walk moves to a thread with a stack of
/// [`BIG_STACK`] bytes: 32 levels take some 50 KiB of stack in release
/// builds and 600 KiB in debug builds, comfortably below a thread's usual
/// 2 MiB; messages that deep are rare enough for a thread start (tens of
/// microseconds) not to matter.
pub(super) const STACK_HOP: u32 = 32;

/// Room for the remaining levels, at 48 KiB each (debug builds take up to
/// about 20 KiB per level of `Any` nesting). Only the pages used are
/// committed.
pub(super) const BIG_STACK: usize = (MAX_NESTING - STACK_HOP) as usize * 48 * 1024;

pub(super) struct Walker<'a, 's> {
    pub(super) c: &'a Compiled,
    pub(super) buf: &'a [u8],
    /// The output may grow to this length (the line limit, less the
    /// scratch in use); beyond it the message is refused (see
    /// [`Walker::room`]).
    pub(super) cap: usize,
    /// The output's length at the start plus the line limit.
    pub(super) full_cap: usize,
    /// Bytes of scratch counted against the line limit: field occurrences,
    /// spans and map entries gathered in slow mode, the keys of large maps.
    pub(super) scratch: usize,
    /// The line limit, for the error.
    pub(super) max_len: usize,
    /// Messages being written, nested (see [`MAX_NESTING`]).
    pub(super) nesting: u32,
    /// The walk moved to a thread with a big stack (see [`STACK_HOP`]).
    pub(super) on_big_stack: bool,
    /// Slow mode: every message goes through the gather-sort-merge path and
    /// printing errors are errors (in fast mode they make the call restart).
    pub(super) slow: bool,
    pub(super) s: &'s mut Scratch,
}

/// What scratch costs against the line limit, doubled for the growth of
/// the `Vec`s and hash sets holding it.
pub(super) const REC_COST: usize = 2 * std::mem::size_of::<Rec>();
pub(super) const SPAN_COST: usize = 2 * std::mem::size_of::<(u32, u32)>();
pub(super) const KEY_COST: usize = 2 * (std::mem::size_of::<KeyRef<'static>>() + 1);
pub(super) const ENTRY_COST: usize = 2 * std::mem::size_of::<Entry>() + KEY_COST;

/// Packed numbers are written this many at a time between two checks of
/// the line limit (at most 64 × 26 bytes past it).
pub(super) const PACKED_CHECK_EVERY: usize = 64;

impl<'a> Walker<'a, '_> {
    /// Whether the output may still grow: `Ok` while `out` is within the
    /// line limit. Past it the message is refused, in fast mode by
    /// restarting in slow mode (a later field might replace what made the
    /// output long), in slow mode with [`ErrorKind::LineTooLong`] at `at`.
    #[inline(always)]
    pub(super) fn room(&self, out: &[u8], at: usize) -> R<()> {
        if out.len() > self.cap {
            return Err(self.over_limit(at));
        }
        Ok(())
    }

    /// [`Walker::room`] for `extra` more bytes, before writing them.
    #[inline(always)]
    pub(super) fn room_for(&self, out: &[u8], extra: usize, at: usize) -> R<()> {
        if out.len().saturating_add(extra) > self.cap {
            return Err(self.over_limit(at));
        }
        Ok(())
    }

    #[cold]
    pub(super) fn over_limit(&self, at: usize) -> Fault {
        self.refuse(
            ErrorKind::LineTooLong {
                limit: self.max_len,
            },
            at,
        )
    }

    /// Counts `bytes` more scratch against the line limit.
    #[inline]
    pub(super) fn take_scratch(&mut self, bytes: usize) {
        self.scratch += bytes;
        self.cap = self.full_cap.saturating_sub(self.scratch);
    }

    /// Gives back scratch counted with [`Walker::take_scratch`].
    #[inline]
    pub(super) fn give_scratch(&mut self, bytes: usize) {
        self.scratch = self.scratch.saturating_sub(bytes);
        self.cap = self.full_cap.saturating_sub(self.scratch);
    }

    pub(super) fn span(&self, src: Src, k: usize) -> (usize, usize) {
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
    pub(super) fn refuse(&self, kind: ErrorKind, at: usize) -> Fault {
        if self.slow {
            Fault::new(kind, at)
        } else {
            Fault::Bail
        }
    }

    /// Writes the JSON value of a message of type `ty`.
    pub(super) fn message(&mut self, ty: u32, src: Src, depth: u32, out: &mut Vec<u8>) -> R<()> {
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
    pub(super) fn message_on_big_stack(
        &mut self,
        ty: u32,
        src: Src,
        depth: u32,
        out: &mut Vec<u8>,
    ) -> R<()> {
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
    pub(super) fn submessage(
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

    pub(super) fn message_body(
        &mut self,
        ty: u32,
        src: Src,
        depth: u32,
        out: &mut Vec<u8>,
    ) -> R<()> {
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
    pub(super) fn fields(
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
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Wire, json, plan};

    const TREE: &str = "message T { T child = 1; string s = 2; repeated string r = 3; }";

    #[test]
    fn refuses_a_line_over_the_limit_and_leaves_the_output_as_it_was() {
        let p = plan(TREE, "T");
        let wire = Wire::new().bytes(3, b"abcdefgh").bytes(3, b"abcdefgh");
        let mut out = b"kept".to_vec();
        let err = p
            .transcode_limited(&wire.0, &mut out, 20)
            .expect_err("over 20 bytes");
        assert!(
            err.to_string()
                .starts_with("its JSON is over the line limit of 20 bytes"),
            "{err}"
        );
        assert_eq!(out, b"kept");
        p.transcode_limited(&wire.0, &mut out, 40)
            .expect("within 40 bytes");
        assert_eq!(out, br#"kept{"r":["abcdefgh","abcdefgh"]}"#);
    }

    #[test]
    fn deep_messages_move_to_a_big_stack_and_print_whole() {
        let p = plan(TREE, "T");
        let mut wire = Wire::new().bytes(2, b"leaf");
        for _ in 0..90 {
            wire = Wire::new().message(1, wire);
        }
        let out = json(&p, &wire).expect("90 levels");
        let opening = r#"{"child":"#.repeat(90);
        assert!(out.starts_with(&opening), "{out}");
        assert!(out.ends_with(&format!("{}{}", r#"{"s":"leaf"}"#, "}".repeat(90))));
    }
}
