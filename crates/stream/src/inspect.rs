//! What an object is: compression, framing (with the reason), message count
//! and sizes, and, with a schema, the first message that does not decode.
//! `protoland inspect` prints this.
//!
//! The whole input is read (in bounded memory, like a conversion) but no
//! JSON is written. Each frame is checked against the plan with
//! [`Plan::check`] when one is given, else for well-formed wire data.

use std::io::Read;

use protoland_transcode::{Plan, check_wire};

use crate::convert::ConvertOptions;
use crate::decompress::Decompressor;
use crate::detect::{self, Detection};
use crate::error::{ConvertError, Size};
use crate::framing::{Framer, PROBE_WINDOW};
use crate::settings::{Compression, Framing};

/// What [`inspect`] found.
#[derive(Debug)]
#[non_exhaustive]
pub struct InspectReport {
    /// The compression in use (never `Auto`).
    pub compression: Compression,
    /// The framing in use, or `None` when `auto` found no layout.
    pub framing: Option<Framing>,
    /// Why `auto` chose the framing (or why nothing fits); `explicit` when
    /// it was given.
    pub framing_reason: String,
    /// Frames read.
    pub messages: u64,
    /// Smallest frame, in bytes (without its prefix).
    pub min_frame_bytes: Option<u64>,
    /// Largest frame, in bytes (without its prefix).
    pub max_frame_bytes: Option<u64>,
    /// All frames' bytes (without prefixes), for the mean.
    pub total_frame_bytes: u64,
    /// Compressed bytes read.
    pub bytes_in: u64,
    /// Decompressed bytes read.
    pub bytes_decompressed: u64,
    /// Whether frames were checked against a schema (else for well-formed
    /// wire data).
    pub schema_checked: bool,
    /// Frames that do not decode.
    pub decode_errors: u64,
    /// Fields the schema does not know, over all frames.
    pub unknown_fields: u64,
    /// The first frame that does not decode
    /// ([`ConvertError::Transcode`], with index, offset and field path).
    pub first_decode_error: Option<ConvertError>,
    /// The first framing or decompression error (reading stops there
    /// unless the frame could be skipped).
    pub stream_error: Option<ConvertError>,
    /// What framing detection made of the first window (for `auto`, how the
    /// framing was chosen; for an explicit framing, what else would fit).
    /// `None` when the window could not be read.
    pub detection: Option<Detection>,
    /// Set when an explicit framing fails but another layout parses:
    /// "this looks like a varint-delimited stream of 1200 messages; you
    /// asked for single".
    pub hint: Option<String>,
}

impl InspectReport {
    /// The mean frame size in bytes, when there are frames.
    pub fn mean_frame_bytes(&self) -> Option<f64> {
        (self.messages > 0).then(|| self.total_frame_bytes as f64 / self.messages as f64)
    }

    /// Whether anything is wrong: no framing fits, a frame or the
    /// compressed data is bad, or a message does not decode.
    pub fn has_problems(&self) -> bool {
        self.framing.is_none() || self.stream_error.is_some() || self.decode_errors > 0
    }
}

/// Reads `input` to the end and reports what it is: compression, framing
/// (with the reason), message count and sizes, and, with a plan, the first
/// message that does not decode; in bounded memory, writing no JSON.
/// `options.skip_invalid` is ignored: inspecting
/// always goes on past bad messages and skippable frames.
///
/// # Errors
///
/// Only [`ConvertError::Read`], when reading the input fails. Problems of
/// the data are part of the report.
pub fn inspect<R: Read + Send>(
    input: R,
    options: &ConvertOptions,
    plan: Option<&Plan>,
) -> Result<InspectReport, ConvertError> {
    let limits = options.limits;
    let decompressor = Decompressor::with_limits(input, options.compression, &limits)?;
    let mut report = InspectReport {
        compression: decompressor.compression(),
        framing: None,
        framing_reason: "explicit".to_owned(),
        messages: 0,
        min_frame_bytes: None,
        max_frame_bytes: None,
        total_frame_bytes: 0,
        bytes_in: 0,
        bytes_decompressed: 0,
        schema_checked: plan.is_some(),
        decode_errors: 0,
        unknown_fields: 0,
        first_decode_error: None,
        stream_error: None,
        detection: None,
        hint: None,
    };
    let mut framer = Framer::new(decompressor, options.framing, limits.max_frame_bytes);
    if let Some(plan) = plan {
        framer = framer.detect_with(plan.clone());
    }
    // What the first window looks like: how `auto` decides, and for an
    // explicit framing the hint when it fails.
    let resolved = if options.framing == Framing::Auto {
        let resolved = framer.resolve();
        if let Some(detection) = framer.detection() {
            report.framing_reason = detection.reason.clone();
            report.detection = Some(detection.clone());
        }
        resolved
    } else {
        match framer.probe() {
            Ok((window, complete)) => {
                report.detection = Some(detect::detect(
                    window,
                    complete,
                    plan,
                    limits.max_frame_bytes,
                ));
                Ok(options.framing)
            }
            Err(e) => Err(e),
        }
    };
    match resolved {
        Ok(framing) => report.framing = Some(framing),
        Err(ConvertError::Read(e)) => return Err(ConvertError::Read(e)),
        Err(ConvertError::Detect { .. }) => {}
        Err(e) => {
            if options.framing == Framing::Auto {
                report.framing_reason =
                    "not detected: reading stopped before the end of the probe window".to_owned();
            }
            report.stream_error = Some(e);
        }
    }
    if report.framing.is_some() && report.stream_error.is_none() {
        loop {
            match framer.next_frame() {
                Ok(None) => break,
                Ok(Some(frame)) => {
                    let size = frame.data.len() as u64;
                    report.messages += 1;
                    report.total_frame_bytes += size;
                    report.min_frame_bytes =
                        Some(report.min_frame_bytes.map_or(size, |m| m.min(size)));
                    report.max_frame_bytes =
                        Some(report.max_frame_bytes.map_or(size, |m| m.max(size)));
                    let checked = match plan {
                        Some(plan) => plan.check(frame.data).map(|c| c.unknown_fields),
                        None => check_wire(frame.data, false).map(|_| 0),
                    };
                    match checked {
                        Ok(unknown) => report.unknown_fields += unknown,
                        Err(source) => {
                            report.decode_errors += 1;
                            if report.first_decode_error.is_none() {
                                report.first_decode_error = Some(ConvertError::Transcode {
                                    index: frame.index,
                                    offset: frame.data_offset,
                                    source,
                                });
                            }
                        }
                    }
                }
                Err(ConvertError::Read(e)) => return Err(ConvertError::Read(e)),
                Err(e) => {
                    let recoverable =
                        matches!(&e, ConvertError::Frame { kind, .. } if kind.is_recoverable());
                    if report.stream_error.is_none() {
                        report.stream_error = Some(e);
                    }
                    if !recoverable {
                        break;
                    }
                }
            }
        }
    }
    let decompressor = framer.get_ref();
    report.bytes_in = decompressor.bytes_in();
    report.bytes_decompressed = decompressor.bytes_out();
    let failed = report.stream_error.is_some() || report.decode_errors > 0;
    let explicit = options.framing != Framing::Auto;
    let other = report
        .detection
        .as_ref()
        .and_then(|d| d.framing.and_then(|f| d.layout(f)))
        .filter(|layout| layout.framing != options.framing);
    if let (true, true, Some(layout)) = (explicit, failed, other) {
        report.hint = Some(hint(
            layout.framing,
            layout.frames,
            layout.complete,
            options.framing,
        ));
    }
    Ok(report)
}

fn hint(found: Framing, frames: u64, complete: bool, asked: Framing) -> String {
    let looks = match (found, complete) {
        (Framing::Single, _) => "a single message".to_owned(),
        (_, true) => format!("a {found}-delimited stream of {frames} messages"),
        (_, false) => format!(
            "a {found}-delimited stream ({frames} messages in the first {})",
            Size(PROBE_WINDOW as u64)
        ),
    };
    format!("this looks like {looks}; you asked for {asked}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{click_plan, clicks, frame_fixed32, frame_varint, gzip};

    fn options(framing: Framing) -> ConvertOptions {
        ConvertOptions {
            framing,
            ..ConvertOptions::default()
        }
    }

    #[test]
    fn reports_compression_framing_and_sizes() {
        let messages = clicks(1200);
        let input = gzip(&frame_varint(&messages));
        let report = inspect(&input[..], &options(Framing::Auto), Some(&click_plan())).unwrap();
        assert_eq!(report.compression, Compression::Gzip);
        assert_eq!(report.framing, Some(Framing::Varint));
        assert!(
            report
                .framing_reason
                .starts_with("varint: 1200 length-prefixed messages decode to the last byte"),
            "{}",
            report.framing_reason
        );
        assert_eq!(report.messages, 1200);
        let sizes: Vec<u64> = messages.iter().map(|m| m.len() as u64).collect();
        assert_eq!(report.min_frame_bytes, sizes.iter().copied().min());
        assert_eq!(report.max_frame_bytes, sizes.iter().copied().max());
        assert_eq!(report.total_frame_bytes, sizes.iter().sum::<u64>());
        assert!(!report.has_problems());
        assert_eq!(report.bytes_in, input.len() as u64);
    }

    #[test]
    fn hints_at_the_layout_that_parses() {
        let input = frame_varint(&clicks(1200));
        let report = inspect(&input[..], &options(Framing::Single), Some(&click_plan())).unwrap();
        assert_eq!(report.framing, Some(Framing::Single));
        assert!(report.has_problems());
        assert_eq!(
            report.hint.as_deref(),
            Some(
                "this looks like a varint-delimited stream of 1200 messages; you asked for single"
            )
        );
        // Without a schema too.
        let report = inspect(&input[..], &options(Framing::Single), None).unwrap();
        assert_eq!(
            report.hint.as_deref(),
            Some(
                "this looks like a varint-delimited stream of 1200 messages; you asked for single"
            )
        );
        let fixed = frame_fixed32(&clicks(10));
        let report = inspect(&fixed[..], &options(Framing::Varint), Some(&click_plan())).unwrap();
        // Read as varint, a fixed32 stream of short messages lines up (with
        // empty frames) and decodes: nothing failed, so no hint.
        assert_eq!(report.hint, None);
        let report = inspect(&fixed[..], &options(Framing::Single), Some(&click_plan())).unwrap();
        assert_eq!(
            report.hint.as_deref(),
            Some("this looks like a fixed32-delimited stream of 10 messages; you asked for single")
        );
    }

    #[test]
    fn first_decode_error_has_coordinates() {
        let mut messages = clicks(10);
        messages[6] = vec![0x0a, 0x02, b'o', b'k', 0x0f];
        let input = frame_varint(&messages);
        let report = inspect(&input[..], &options(Framing::Varint), Some(&click_plan())).unwrap();
        assert_eq!(report.decode_errors, 1);
        let err = report.first_decode_error.as_ref().unwrap();
        assert_eq!(err.message_index(), Some(6));
        assert_eq!(
            err.offset(),
            Some(frame_varint(&messages[..6]).len() as u64 + 1)
        );
        assert_eq!(report.messages, 10);
    }

    #[test]
    fn reports_a_truncated_stream() {
        let input = frame_varint(&clicks(10));
        let cut = &input[..input.len() - 2];
        let report = inspect(cut, &options(Framing::Varint), Some(&click_plan())).unwrap();
        assert_eq!(report.messages, 9);
        assert!(matches!(
            report.stream_error,
            Some(ConvertError::Frame { index: 9, .. })
        ));
    }

    #[test]
    fn reports_when_nothing_fits() {
        let report = inspect(&[0xffu8; 30][..], &options(Framing::Auto), None).unwrap();
        assert_eq!(report.framing, None);
        assert!(
            report
                .framing_reason
                .starts_with("varint: frame 0 at byte 0 has an invalid varint length prefix"),
            "{}",
            report.framing_reason
        );
        assert!(report.has_problems());
    }

    #[test]
    fn reports_corrupt_compression() {
        let mut input = gzip(&frame_varint(&clicks(10)));
        let n = input.len();
        input.truncate(n - 3);
        let report = inspect(&input[..], &options(Framing::Auto), None).unwrap();
        assert_eq!(report.compression, Compression::Gzip);
        assert!(matches!(
            report.stream_error,
            Some(ConvertError::Decompress { .. })
        ));
    }
}
