//! Framing detection: which layout parses cleanly, and why.
//!
//! [`detect`] looks at a probe window (the first
//! [`PROBE_WINDOW`](crate::PROBE_WINDOW) bytes of the decompressed
//! input, or all of it when shorter) and tries each layout:
//!
//! - `varint` and `fixed32`: the prefixes must line up, frame after frame,
//!   to the last byte of the input (or to the end of the window, where the
//!   last frame may be cut), no frame over the limit, and each complete
//!   frame must decode (against the schema's plan, with [`Plan::check`], or
//!   without one as well-formed wire data);
//! - `single`: the whole input must decode as one message (when the input
//!   is longer than the window, its first window must be well-formed wire
//!   data up to the cut).
//!
//! A layout is a candidate when it lines up and fewer than half of its
//! frames fail to decode. Candidates are ranked by, in order: fewer frames
//! that fail to decode; no unknown fields before some; fewer zero-length
//! frames; fewer unknown fields; and finally `varint`, `fixed32`, `single`.
//! The reasons, written into [`Detection::reason`], are in
//! `docs/framing.md` with examples of the ambiguous cases.
//!
//! A window of zero bytes only is never detected: every length-prefixed
//! layout reads it as empty messages (a varint stream of 10 GiB of zeros
//! would print ten billion `{}` lines), and it is far likelier to be a
//! blank disk block or padding than messages.

use std::fmt::Write as _;

use protoland_transcode::{Plan, check_wire};

use crate::error::Size;
use crate::prefix::{Prefix, read_prefix};
use crate::settings::Framing;

/// The outcome of framing detection: the layout chosen and why.
#[derive(Debug, Clone)]
pub struct Detection {
    /// The chosen layout (never [`Framing::Auto`]), or `None` when no layout
    /// is a candidate.
    pub framing: Option<Framing>,
    /// Why: the chosen layout's evidence first, then how each other layout
    /// fared.
    pub reason: String,
    /// How each layout fared, in the order varint, fixed32, single.
    pub layouts: Vec<LayoutCheck>,
}

impl Detection {
    /// How `framing` fared.
    pub fn layout(&self, framing: Framing) -> Option<&LayoutCheck> {
        self.layouts.iter().find(|l| l.framing == framing)
    }
}

/// How one layout fared on the probe window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutCheck {
    pub framing: Framing,
    /// `None` when the frames line up to the end; else why not.
    pub misfit: Option<String>,
    /// Complete frames found in the window.
    pub frames: u64,
    /// Frames (complete, or the cut last one) that do not decode.
    pub failed: u64,
    /// The first decode failure, as text.
    pub first_failure: Option<String>,
    /// Zero-length frames.
    pub empty_frames: u64,
    /// Fields the schema does not know, over all frames (0 without a plan).
    pub unknown_fields: u64,
    /// The window was the whole input.
    pub complete: bool,
    /// The window ends inside a frame (only when it is not the whole input).
    pub cut: bool,
    /// The input length when `complete`, else the window length.
    pub window: u64,
    /// What the layout made of the window, in a phrase (the part of
    /// [`Detection::reason`] about this layout).
    pub summary: String,
}

impl LayoutCheck {
    /// Whether the layout lines up and fewer than half its frames fail
    /// (whether it fits at all; the best-ranked candidate is chosen).
    pub fn is_candidate(&self) -> bool {
        self.misfit.is_none() && 2 * self.failed < self.frames.max(1)
    }

    fn rank(&self) -> (u64, bool, u64, u64, u8) {
        let order = match self.framing {
            Framing::Varint => 0,
            Framing::Fixed32 => 1,
            _ => 2,
        };
        (
            self.failed,
            self.unknown_fields > 0,
            self.empty_frames,
            self.unknown_fields,
            order,
        )
    }

    /// What this layout made of the window, in a phrase.
    fn describe(&self, checked: bool) -> String {
        if let Some(misfit) = &self.misfit {
            return misfit.clone();
        }
        let decode = if checked {
            "decode"
        } else {
            "are well-formed protobuf"
        };
        let mut text = if self.framing == Framing::Single {
            match (self.complete, self.failed > 0) {
                (true, false) if checked => format!(
                    "the whole input ({}) decodes as one message",
                    Size(self.window)
                ),
                (true, false) => format!(
                    "the whole input ({}) is well-formed protobuf",
                    Size(self.window)
                ),
                (true, true) if checked => "does not decode as one message".to_owned(),
                (true, true) => "is not well-formed protobuf as one message".to_owned(),
                (false, false) => format!(
                    "the first {} is well-formed protobuf up to the cut (the input is longer)",
                    Size(self.window)
                ),
                (false, true) => format!(
                    "the first {} is not well-formed protobuf",
                    Size(self.window)
                ),
            }
        } else if self.frames == 0 && !self.cut {
            "the input is empty, so no messages (read as single, it would be one empty message)"
                .to_owned()
        } else if self.frames == 0 {
            format!(
                "the first frame is longer than the first {} and well-formed so far",
                Size(self.window)
            )
        } else {
            let extent = if self.complete {
                "to the last byte".to_owned()
            } else {
                format!("up to the end of the first {}", Size(self.window))
            };
            let good = self.frames - self.failed.min(self.frames);
            let mut text = if self.failed == 0 {
                format!("{} length-prefixed messages {decode} {extent}", self.frames)
            } else {
                format!(
                    "{good} of {} length-prefixed messages {decode} {extent}",
                    self.frames
                )
            };
            if self.empty_frames > 0 {
                let _ = write!(text, ", {} of them empty", self.empty_frames);
            }
            text
        };
        if self.unknown_fields > 0 {
            let _ = write!(text, ", with {} unknown fields", self.unknown_fields);
        }
        if let Some(failure) = &self.first_failure {
            let _ = write!(text, " ({failure})");
        }
        text
    }
}

/// Decides the framing of `window`, the start of a decompressed input
/// (`complete`: the whole input), against `plan` when given, else by
/// generic wire-format validity. Frames over `max_frame` do not fit.
pub(crate) fn detect(
    window: &[u8],
    complete: bool,
    plan: Option<&Plan>,
    max_frame: u64,
) -> Detection {
    let layouts: Vec<LayoutCheck> = [Framing::Varint, Framing::Fixed32, Framing::Single]
        .into_iter()
        .map(|framing| check_layout(framing, window, complete, plan, max_frame))
        .collect();
    let chosen = layouts
        .iter()
        .filter(|l| l.is_candidate())
        .min_by_key(|l| l.rank())
        .map(|l| l.framing);
    let checked = plan.is_some();
    let mut layouts = layouts;
    for l in &mut layouts {
        l.summary = l.describe(checked);
    }
    if !window.is_empty() && window.iter().all(|&b| b == 0) {
        let what = if complete {
            format!("the input's {} bytes are all zero", window.len())
        } else {
            format!("the input's first {} bytes are all zero", window.len())
        };
        return Detection {
            framing: None,
            reason: format!(
                "{what}, which varint and fixed32 would read as empty messages (give the framing if that is what it holds)"
            ),
            layouts,
        };
    }
    let mut parts = Vec::with_capacity(3);
    if let Some(l) = layouts.iter().find(|l| Some(l.framing) == chosen) {
        parts.push(format!("{}: {}", l.framing, l.summary));
    }
    for l in layouts.iter().filter(|l| Some(l.framing) != chosen) {
        let ranked_lower = if l.is_candidate() {
            " (ranked lower)"
        } else {
            ""
        };
        parts.push(format!("{}: {}{ranked_lower}", l.framing, l.summary));
    }
    Detection {
        framing: chosen,
        reason: parts.join("; "),
        layouts,
    }
}

fn check_layout(
    framing: Framing,
    window: &[u8],
    complete: bool,
    plan: Option<&Plan>,
    max_frame: u64,
) -> LayoutCheck {
    let mut check = LayoutCheck {
        framing,
        misfit: None,
        frames: 0,
        failed: 0,
        first_failure: None,
        empty_frames: 0,
        unknown_fields: 0,
        complete,
        cut: false,
        window: window.len() as u64,
        summary: String::new(),
    };
    if framing == Framing::Single {
        if complete {
            if window.len() as u64 > max_frame {
                check.misfit = Some(format!(
                    "the input is over the {} frame limit",
                    Size(max_frame)
                ));
                return check;
            }
            check.frames = 1;
            check.empty_frames = u64::from(window.is_empty());
            record(&mut check, 0, 0, window, plan);
        } else {
            check.cut = true;
            if let Err(e) = check_wire(window, true) {
                check.failed = 1;
                check.first_failure = Some(format!("fails at byte {}: {}", e.offset, e.kind));
            }
        }
        return check;
    }
    let mut pos = 0usize;
    let mut index = 0u64;
    while pos < window.len() {
        let rest = &window[pos..];
        let (length, size) = match read_prefix(framing, rest) {
            Prefix::Complete { length, size } => (length, size),
            Prefix::Incomplete if !complete => {
                check.cut = true;
                break;
            }
            Prefix::Incomplete => {
                check.misfit = Some(format!(
                    "the input ends inside the length prefix of frame {index} at byte {pos}"
                ));
                return check;
            }
            Prefix::Invalid => {
                check.misfit = Some(format!(
                    "frame {index} at byte {pos} has an invalid varint length prefix"
                ));
                return check;
            }
        };
        if length > max_frame {
            check.misfit = Some(if index == 0 {
                format!(
                    "first prefix {length} is over the {} frame limit",
                    Size(max_frame)
                )
            } else {
                format!(
                    "frame {index} at byte {pos} claims {length} bytes, over the {} frame limit",
                    Size(max_frame)
                )
            });
            return check;
        }
        let available = (rest.len() - size) as u64;
        if length > available {
            if complete {
                check.misfit = Some(if index == 0 {
                    format!(
                        "first prefix {length} exceeds the input ({} bytes)",
                        window.len()
                    )
                } else {
                    format!(
                        "frame {index} at byte {pos} claims {length} bytes but only {available} remain"
                    )
                });
                return check;
            }
            // The window ends inside this frame: check what is there.
            check.cut = true;
            if let Err(e) = check_wire(&rest[size..], true) {
                check.failed += 1;
                if check.first_failure.is_none() {
                    check.first_failure = Some(format!("frame {index} at byte {pos} fails: {e}"));
                }
            }
            break;
        }
        // `length <= available`, which is a usize.
        let end = size + length as usize;
        check.frames += 1;
        if length == 0 {
            check.empty_frames += 1;
        }
        record(&mut check, index, pos, &rest[size..end], plan);
        pos += end;
        index += 1;
    }
    check
}

/// Checks one complete frame and adds what it found to `check`.
fn record(check: &mut LayoutCheck, index: u64, pos: usize, frame: &[u8], plan: Option<&Plan>) {
    let result = match plan {
        Some(plan) => plan.check(frame).map(|c| c.unknown_fields),
        None => check_wire(frame, false).map(|_| 0),
    };
    match result {
        Ok(unknown) => check.unknown_fields += unknown,
        Err(e) => {
            check.failed += 1;
            if check.first_failure.is_none() {
                check.first_failure = Some(if check.framing == Framing::Single {
                    e.to_string()
                } else {
                    format!("frame {index} at byte {pos} fails: {e}")
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{click_plan, clicks, frame_fixed32, frame_varint};

    const LIMIT: u64 = 64 << 20;

    #[test]
    fn detects_varint_stream_with_schema() {
        let messages = clicks(200);
        let stream = frame_varint(&messages);
        let d = detect(&stream, true, Some(&click_plan()), LIMIT);
        assert_eq!(d.framing, Some(Framing::Varint), "{}", d.reason);
        assert!(
            d.reason
                .starts_with("varint: 200 length-prefixed messages decode to the last byte"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn detects_fixed32_stream_over_its_varint_reading() {
        // Every fixed32 prefix of a short message reads as three empty
        // varint frames and one real one: varint lines up too, but with
        // empty frames.
        let messages = clicks(50);
        let stream = frame_fixed32(&messages);
        let d = detect(&stream, true, Some(&click_plan()), LIMIT);
        assert_eq!(d.framing, Some(Framing::Fixed32), "{}", d.reason);
        let varint = d.layout(Framing::Varint).unwrap();
        assert!(varint.is_candidate());
        let empty_messages = messages.iter().filter(|m| m.is_empty()).count() as u64;
        assert_eq!(varint.empty_frames, 150 + empty_messages);
        assert!(d.reason.contains("(ranked lower)"), "{}", d.reason);
        // Without a schema, the same rule applies.
        let d = detect(&stream, true, None, LIMIT);
        assert_eq!(d.framing, Some(Framing::Fixed32), "{}", d.reason);
    }

    #[test]
    fn detects_single_message() {
        let message = clicks(1).remove(0);
        let d = detect(&message, true, Some(&click_plan()), LIMIT);
        assert_eq!(d.framing, Some(Framing::Single), "{}", d.reason);
        assert!(
            d.reason.starts_with("single: the whole input ("),
            "{}",
            d.reason
        );
    }

    #[test]
    fn one_message_varint_stream_prefers_zero_unknown_fields() {
        // A one-message varint stream that also decodes as a single message,
        // but with an unknown field: the prefix 0x2a reads as field 5
        // (length-delimited), swallowing the url field.
        let stream = crate::testing::ambiguous_one_message_stream();
        let plan = click_plan();
        let single = plan.check(&stream).unwrap();
        assert_eq!(single.unknown_fields, 1);
        let d = detect(&stream, true, Some(&plan), LIMIT);
        assert_eq!(d.framing, Some(Framing::Varint), "{}", d.reason);
        assert!(
            d.reason.ends_with(
                "single: the whole input (43 bytes) decodes as one message, with 1 unknown fields (ranked lower)"
            ),
            "{}",
            d.reason
        );
    }

    #[test]
    fn empty_input_is_zero_messages() {
        let d = detect(&[], true, Some(&click_plan()), LIMIT);
        assert_eq!(d.framing, Some(Framing::Varint));
        assert!(
            d.reason.starts_with("varint: the input is empty"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn explains_every_layout_when_nothing_fits() {
        let garbage = [
            0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        let d = detect(&garbage, true, Some(&click_plan()), LIMIT);
        assert_eq!(d.framing, None);
        assert_eq!(
            d.reason,
            "varint: frame 0 at byte 0 has an invalid varint length prefix; \
             fixed32: first prefix 4294967295 is over the 64 MiB frame limit; \
             single: does not decode as one message ("
                .to_owned()
                + &click_plan().check(&garbage).unwrap_err().to_string()
                + ")"
        );
    }

    #[test]
    fn window_may_end_inside_a_frame() {
        let messages = clicks(100);
        let stream = frame_varint(&messages);
        let window = &stream[..stream.len() - 5];
        let d = detect(window, false, Some(&click_plan()), LIMIT);
        assert_eq!(d.framing, Some(Framing::Varint), "{}", d.reason);
        let varint = d.layout(Framing::Varint).unwrap();
        assert!(varint.cut);
        assert_eq!(varint.frames, 99);
        // The same window as a whole input does not line up.
        let d = detect(window, true, Some(&click_plan()), LIMIT);
        assert_ne!(d.framing, Some(Framing::Varint), "{}", d.reason);
    }

    #[test]
    fn a_few_bad_messages_do_not_hide_the_layout() {
        let mut messages = clicks(20);
        messages[3] = vec![0x0f, 0x00]; // wire type 7: never valid
        let stream = frame_varint(&messages);
        let d = detect(&stream, true, Some(&click_plan()), LIMIT);
        assert_eq!(d.framing, Some(Framing::Varint), "{}", d.reason);
        assert!(
            d.reason
                .contains("19 of 20 length-prefixed messages decode to the last byte"),
            "{}",
            d.reason
        );
        assert!(
            d.reason.contains(" (frame 3 at byte 51 fails: "),
            "{}",
            d.reason
        );
    }

    #[test]
    fn frames_over_the_limit_do_not_fit() {
        let messages = clicks(3);
        let stream = frame_varint(&messages);
        let d = detect(&stream, true, Some(&click_plan()), 4);
        assert_ne!(d.framing, Some(Framing::Varint), "{}", d.reason);
        assert!(
            d.reason.contains("over the 4 bytes frame limit"),
            "{}",
            d.reason
        );
    }
}
