//! The conversion pipeline: input bytes → NDJSON, on two threads, in
//! bounded memory.
//!
//! ```text
//!  reader thread                       calling thread
//!  read → decompress → 256 KiB chunk ──▶ frame → transcode → 1 MiB buffer → write
//!                 ▲  (channel of 4)            │
//!                 └──── recycled chunks ◀──────┘
//! ```
//!
//! Memory is bounded by the channel (at most 4 chunks in flight plus a few
//! recycled ones), the framer's buffer (one frame, at most the frame limit,
//! plus the 1 MiB detection window at the start) and the output buffer (1
//! MiB plus the JSON of one message). None of it grows with the input.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};
use protoland_transcode::Plan;

use crate::Limits;
use crate::decompress::{Compression, Decompressor};
use crate::error::ConvertError;
use crate::framing::{Framer, Framing};

/// How to read the input. Every default is the choice that needs no
/// knowledge of the input: detect compression and framing, generous caps,
/// and stop at the first bad message so nothing is dropped silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvertOptions {
    /// Default: [`Compression::Auto`] (by magic bytes).
    pub compression: Compression,
    /// Default: [`Framing::Auto`] (whichever layout parses cleanly).
    pub framing: Framing,
    /// Default: [`Limits::default`] (64 GiB decompressed, 64 MiB a frame).
    pub limits: Limits,
    /// Skip (count and report) frames that do not decode, and oversized
    /// frames, instead of failing. Default: off, so that no message is lost
    /// without an error.
    pub skip_invalid: bool,
}

/// Live counters, updated while converting (relaxed atomics); a progress
/// bar or metrics can read them from another thread. They only grow, so
/// one `Progress` can count several conversions.
#[derive(Debug, Default)]
pub struct Progress {
    /// Compressed bytes read.
    pub bytes_in: AtomicU64,
    /// Decompressed bytes produced.
    pub bytes_decompressed: AtomicU64,
    /// Messages written.
    pub messages: AtomicU64,
}

/// What a conversion did.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConvertReport {
    /// The compression in use (never `Auto`).
    pub compression: Compression,
    /// The framing in use (never `Auto`).
    pub framing: Framing,
    /// Why `auto` chose the framing; `explicit` when it was given.
    pub framing_reason: String,
    /// Messages written.
    pub messages: u64,
    /// Frames skipped with [`ConvertOptions::skip_invalid`].
    pub skipped: u64,
    /// The first [`MAX_REPORTED_SKIPS`] skipped frames' errors.
    pub first_skipped: Vec<ConvertError>,
    /// Compressed bytes read.
    pub bytes_in: u64,
    /// Decompressed bytes.
    pub bytes_decompressed: u64,
    /// JSON bytes written (newlines included).
    pub bytes_out: u64,
}

/// How many skipped frames' errors a [`ConvertReport`] keeps.
pub const MAX_REPORTED_SKIPS: usize = 10;

/// Size of the chunks passed from the reader thread.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the threads.
const CHANNEL_DEPTH: usize = 4;
/// Output is written in pieces of about this size.
const OUTPUT_BUFFER: usize = 1 << 20;

/// Converts inputs of one message type to NDJSON; see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct Converter {
    plan: Plan,
    options: ConvertOptions,
}

/// What the reader thread learned.
#[derive(Debug, Default)]
struct ReadSummary {
    compression: Option<Compression>,
    bytes_in: u64,
    bytes_decompressed: u64,
}

/// What the writing side learned.
#[derive(Debug)]
struct WriteSummary {
    framing: Framing,
    framing_reason: String,
    messages: u64,
    skipped: u64,
    first_skipped: Vec<ConvertError>,
    bytes_out: u64,
}

impl Converter {
    /// A converter that writes messages with `plan` and reads inputs as
    /// `options` say.
    pub fn new(plan: Plan, options: ConvertOptions) -> Converter {
        Converter { plan, options }
    }

    /// The options this converter reads with.
    pub fn options(&self) -> &ConvertOptions {
        &self.options
    }

    /// Blocking. Reads `input` (compressed or not), writes one JSON object
    /// and `\n` per message to `output`, in order, then flushes it.
    ///
    /// Reading and decompression run on a second thread; framing,
    /// transcoding and writing on the calling thread. On error, the lines of
    /// the messages before the failing one have been written (and flushed);
    /// nothing after it.
    ///
    /// # Errors
    ///
    /// [`ConvertError::Read`] and [`ConvertError::Write`] for I/O,
    /// [`ConvertError::Decompress`] and [`ConvertError::TooLarge`] for the
    /// compressed data, [`ConvertError::Detect`] when `auto` framing finds no
    /// layout, and (unless [`ConvertOptions::skip_invalid`] skips them)
    /// [`ConvertError::Frame`] and [`ConvertError::Transcode`] for bad
    /// frames and messages.
    pub fn convert<R: Read + Send, W: Write>(
        &self,
        input: R,
        mut output: W,
        progress: &Progress,
    ) -> Result<ConvertReport, ConvertError> {
        let (full_tx, full_rx) = crossbeam_channel::bounded(CHANNEL_DEPTH);
        let (free_tx, free_rx) = crossbeam_channel::bounded(CHANNEL_DEPTH + 2);
        let options = self.options;
        std::thread::scope(|scope| {
            let reader =
                scope.spawn(move || read_stage(input, options, full_tx, free_rx, progress));
            let chunks = ChunkReader {
                full: full_rx,
                free: free_tx,
                chunk: Vec::new(),
                pos: 0,
                done: false,
            };
            // `write_stage` owns (and on return drops) the chunk reader, so an
            // early error disconnects the channel and the reader thread
            // stops at its next send.
            let written = self.write_stage(chunks, &mut output, progress);
            let read = match reader.join() {
                Ok(read) => read,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let written = written?;
            Ok(ConvertReport {
                compression: read.compression.unwrap_or(Compression::None),
                framing: written.framing,
                framing_reason: written.framing_reason,
                messages: written.messages,
                skipped: written.skipped,
                first_skipped: written.first_skipped,
                bytes_in: read.bytes_in,
                bytes_decompressed: read.bytes_decompressed,
                bytes_out: written.bytes_out,
            })
        })
    }

    fn write_stage<R: Read, W: Write>(
        &self,
        chunks: R,
        output: &mut W,
        progress: &Progress,
    ) -> Result<WriteSummary, ConvertError> {
        let limits = self.options.limits;
        let mut framer = Framer::new(chunks, self.options.framing, limits.max_frame_bytes)
            .detect_with(self.plan.clone());
        let framing = framer.resolve()?;
        let framing_reason = framer
            .detection()
            .map_or_else(|| "explicit".to_owned(), |d| d.reason.clone());
        let mut summary = WriteSummary {
            framing,
            framing_reason,
            messages: 0,
            skipped: 0,
            first_skipped: Vec::new(),
            bytes_out: 0,
        };
        let mut out = Vec::with_capacity(OUTPUT_BUFFER + 64 * 1024);
        let result = loop {
            let error = match framer.next_frame() {
                Ok(None) => break Ok(()),
                Ok(Some(frame)) => match self.plan.transcode(frame.data, &mut out) {
                    Ok(()) => {
                        out.push(b'\n');
                        summary.messages += 1;
                        progress.messages.fetch_add(1, Ordering::Relaxed);
                        if out.len() >= OUTPUT_BUFFER {
                            if let Err(e) = output.write_all(&out) {
                                break Err(ConvertError::Write(e));
                            }
                            summary.bytes_out += out.len() as u64;
                            out.clear();
                        }
                        continue;
                    }
                    Err(source) => ConvertError::Transcode {
                        index: frame.index,
                        offset: frame.data_offset,
                        source,
                    },
                },
                Err(e) => e,
            };
            let skippable = match &error {
                ConvertError::Transcode { .. } => true,
                ConvertError::Frame { kind, .. } => kind.is_recoverable(),
                _ => false,
            };
            if !(skippable && self.options.skip_invalid) {
                break Err(error);
            }
            summary.skipped += 1;
            if summary.first_skipped.len() < MAX_REPORTED_SKIPS {
                summary.first_skipped.push(error);
            }
        };
        if let Err(e @ ConvertError::Write(_)) = result {
            // Part of `out` may have been written: writing it again would
            // duplicate lines.
            return Err(e);
        }
        // The lines before an error are written too: what was converted is
        // kept, in order, and the error says where it stopped.
        let flushed = output
            .write_all(&out)
            .and_then(|()| output.flush())
            .map_err(ConvertError::Write);
        summary.bytes_out += out.len() as u64;
        result?;
        flushed?;
        Ok(summary)
    }
}

/// The reader thread: decompresses `input` into chunks until the end, an
/// error (sent as the last item) or the consumer hanging up.
fn read_stage<R: Read>(
    input: R,
    options: ConvertOptions,
    full: Sender<Result<Vec<u8>, ConvertError>>,
    free: Receiver<Vec<u8>>,
    progress: &Progress,
) -> ReadSummary {
    let mut summary = ReadSummary::default();
    let limit = options.limits.max_decompressed_bytes;
    let mut decompressor = match Decompressor::new(input, options.compression, limit) {
        Ok(d) => d,
        Err(e) => {
            let _ = full.send(Err(e));
            return summary;
        }
    };
    summary.compression = Some(decompressor.compression());
    loop {
        // A recycled chunk when one is back, else a new one: at most
        // CHANNEL_DEPTH in the channel, one here, one being framed and the
        // recycling channel's few.
        let mut chunk = free.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let mut filled = 0;
        let status = loop {
            if filled == CHUNK {
                break Ok(false);
            }
            match decompressor.read_decompressed(&mut chunk[filled..]) {
                Ok(0) => break Ok(true),
                Ok(n) => filled += n,
                Err(e) => break Err(e),
            }
        };
        let (bytes_in, bytes_out) = (decompressor.bytes_in(), decompressor.bytes_out());
        progress
            .bytes_in
            .fetch_add(bytes_in - summary.bytes_in, Ordering::Relaxed);
        progress
            .bytes_decompressed
            .fetch_add(bytes_out - summary.bytes_decompressed, Ordering::Relaxed);
        summary.bytes_in = bytes_in;
        summary.bytes_decompressed = bytes_out;
        chunk.truncate(filled);
        if filled > 0 && full.send(Ok(chunk)).is_err() {
            return summary; // the consumer stopped
        }
        match status {
            Ok(false) => {}
            Ok(true) => return summary,
            Err(e) => {
                let _ = full.send(Err(e));
                return summary;
            }
        }
    }
}

/// The calling thread's view of the channel: a [`Read`] over the chunks,
/// giving each back for reuse once read.
struct ChunkReader {
    full: Receiver<Result<Vec<u8>, ConvertError>>,
    free: Sender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            if self.chunk.capacity() > 0 {
                // Dropped instead when the recycling channel is full.
                let _ = self.free.try_send(std::mem::take(&mut self.chunk));
            }
            self.pos = 0;
            match self.full.recv() {
                Ok(Ok(chunk)) => self.chunk = chunk,
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e.into_io());
                }
                // The reader thread finished: the end of the input. (Had it
                // panicked, `convert` re-raises the panic after joining.)
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{
        ShortReads, click_plan, clicks, frame_fixed32, frame_varint, gzip, zstd_frame,
    };

    /// The expected NDJSON for `messages`, one `Plan::transcode` each.
    fn expected_ndjson(messages: &[Vec<u8>]) -> Vec<u8> {
        let plan = click_plan();
        let mut out = Vec::new();
        for m in messages {
            plan.transcode(m, &mut out).unwrap();
            out.push(b'\n');
        }
        out
    }

    fn convert(
        input: &[u8],
        options: ConvertOptions,
    ) -> Result<(Vec<u8>, ConvertReport), ConvertError> {
        let mut out = Vec::new();
        let report =
            Converter::new(click_plan(), options).convert(input, &mut out, &Progress::default())?;
        Ok((out, report))
    }

    fn compress(data: &[u8], compression: Compression) -> Vec<u8> {
        match compression {
            Compression::Gzip => {
                // Two members, split mid-stream: both must be read.
                let mid = data.len() / 2;
                let mut out = gzip(&data[..mid]);
                out.extend(gzip(&data[mid..]));
                out
            }
            Compression::Zstd => {
                let mid = data.len() / 3;
                let mut out = zstd_frame(&data[..mid]);
                out.extend(zstd_frame(&data[mid..]));
                out
            }
            _ => data.to_vec(),
        }
    }

    #[test]
    fn round_trips_every_compression_and_framing() {
        let messages = clicks(3000);
        let expected = expected_ndjson(&messages);
        for framing in [Framing::Varint, Framing::Fixed32] {
            let framed = match framing {
                Framing::Varint => frame_varint(&messages),
                _ => frame_fixed32(&messages),
            };
            for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
                let input = compress(&framed, compression);
                for (c, f) in [(Compression::Auto, Framing::Auto), (compression, framing)] {
                    let options = ConvertOptions {
                        compression: c,
                        framing: f,
                        ..ConvertOptions::default()
                    };
                    let (out, report) = convert(&input, options).unwrap();
                    assert!(out == expected, "{compression} {framing} as {c} {f}");
                    assert_eq!(report.compression, compression);
                    assert_eq!(report.framing, framing);
                    assert_eq!(report.messages, 3000);
                    assert_eq!(report.bytes_in, input.len() as u64);
                    assert_eq!(report.bytes_decompressed, framed.len() as u64);
                    assert_eq!(report.bytes_out, expected.len() as u64);
                }
            }
        }
    }

    #[test]
    fn round_trips_a_single_message() {
        let message = clicks(5).remove(4);
        let expected = expected_ndjson(std::slice::from_ref(&message));
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let input = compress(&message, compression);
            let (out, report) = convert(&input, ConvertOptions::default()).unwrap();
            assert_eq!(out, expected, "{compression}");
            assert_eq!(report.framing, Framing::Single, "{}", report.framing_reason);
        }
    }

    #[test]
    fn explicit_settings_are_reported_as_explicit() {
        let input = frame_varint(&clicks(3));
        let options = ConvertOptions {
            framing: Framing::Varint,
            ..ConvertOptions::default()
        };
        let (_, report) = convert(&input, options).unwrap();
        assert_eq!(report.framing_reason, "explicit");
        let (_, report) = convert(&input, ConvertOptions::default()).unwrap();
        assert!(
            report
                .framing_reason
                .starts_with("varint: 3 length-prefixed"),
            "{}",
            report.framing_reason
        );
    }

    #[test]
    fn output_does_not_depend_on_read_sizes() {
        let messages = clicks(500);
        let input = gzip(&frame_varint(&messages));
        let expected = expected_ndjson(&messages);
        for step in [1, 13, 1000] {
            let mut out = Vec::new();
            Converter::new(click_plan(), ConvertOptions::default())
                .convert(
                    ShortReads::every(&input, step),
                    &mut out,
                    &Progress::default(),
                )
                .unwrap();
            assert!(out == expected, "reads of {step}");
        }
    }

    #[test]
    fn larger_than_the_probe_window_and_the_channel() {
        // ~6 MiB of frames: several probe windows and many chunks.
        let messages: Vec<Vec<u8>> = clicks(200).into_iter().cycle().take(300_000).collect();
        let input = zstd_frame(&frame_varint(&messages));
        let (out, report) = convert(&input, ConvertOptions::default()).unwrap();
        assert_eq!(report.messages, 300_000);
        assert!(
            report
                .framing_reason
                .contains("up to the end of the first 1 MiB"),
            "{}",
            report.framing_reason
        );
        assert!(out == expected_ndjson(&messages));
    }

    #[test]
    fn stops_at_a_bad_message_after_writing_the_ones_before() {
        let mut messages = clicks(10);
        messages[4] = vec![0x0f];
        let input = frame_varint(&messages);
        let mut out = Vec::new();
        let err = Converter::new(click_plan(), ConvertOptions::default())
            .convert(&input[..], &mut out, &Progress::default())
            .unwrap_err();
        let offset = frame_varint(&messages[..4]).len() as u64 + 1;
        assert!(
            matches!(err, ConvertError::Transcode { index: 4, offset: o, .. } if o == offset),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("message 4 at byte {offset} does not decode")
        );
        assert_eq!(out, expected_ndjson(&messages[..4]));
    }

    #[test]
    fn skips_invalid_messages_when_asked() {
        let mut messages = clicks(30);
        messages[4] = vec![0x0f];
        messages[20] = vec![0x0a, 0x05];
        let input = frame_varint(&messages);
        let options = ConvertOptions {
            skip_invalid: true,
            ..ConvertOptions::default()
        };
        let (out, report) = convert(&input, options).unwrap();
        assert_eq!(report.messages, 28);
        assert_eq!(report.skipped, 2);
        let indexes: Vec<_> = report
            .first_skipped
            .iter()
            .map(|e| e.message_index())
            .collect();
        assert_eq!(indexes, [Some(4), Some(20)]);
        let good: Vec<Vec<u8>> = messages
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 4 && *i != 20)
            .map(|(_, m)| m.clone())
            .collect();
        assert_eq!(out, expected_ndjson(&good));
    }

    #[test]
    fn skips_oversized_frames_when_asked() {
        let mut messages = clicks(5);
        messages[2] = vec![0x08; 2000]; // field 1 varint... repeated: not valid, but too large first
        let input = frame_fixed32(&messages);
        let options = ConvertOptions {
            framing: Framing::Fixed32,
            skip_invalid: true,
            limits: Limits {
                max_frame_bytes: 1000,
                ..Limits::default()
            },
            ..ConvertOptions::default()
        };
        let (_, report) = convert(&input, options).unwrap();
        assert_eq!(report.messages, 4);
        assert_eq!(report.skipped, 1);
        assert!(
            report.first_skipped[0]
                .to_string()
                .ends_with("is 2000 bytes, over the 1000 bytes limit")
        );
    }

    #[test]
    fn truncated_compressed_input_is_an_error_not_a_short_output() {
        let input = gzip(&frame_varint(&clicks(2000)));
        let cut = &input[..input.len() - 20];
        let err = convert(cut, ConvertOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ConvertError::Decompress {
                    compression: Compression::Gzip,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let zeros = vec![0u8; 8 << 20];
        let input = gzip(&zeros);
        let options = ConvertOptions {
            framing: Framing::Varint,
            skip_invalid: true,
            limits: Limits {
                max_decompressed_bytes: 1 << 20,
                ..Limits::default()
            },
            ..ConvertOptions::default()
        };
        let err = convert(&input, options).unwrap_err();
        assert_eq!(err.to_string(), "decompressed data is over the 1 MiB limit");
    }

    #[test]
    fn undetectable_input_says_why() {
        let err = convert(&[0xff; 20], ConvertOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("no framing fits the input: varint: frame 0 at byte 0 has an invalid varint length prefix; "), "{err}");
    }

    #[test]
    fn input_errors_stop_the_conversion() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::TimedOut, "slow disk"))
            }
        }
        let input = frame_varint(&clicks(10));
        let mut out = Vec::new();
        let err = Converter::new(click_plan(), ConvertOptions::default())
            .convert((&input[..]).chain(Failing), &mut out, &Progress::default())
            .unwrap_err();
        assert!(
            matches!(&err, ConvertError::Read(e) if e.kind() == io::ErrorKind::TimedOut),
            "{err}"
        );
        assert!(err.is_transient());
    }

    #[test]
    fn output_errors_stop_the_reader_thread() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        // Endless input: the reader thread must stop when the writer fails.
        let endless = std::io::repeat(0);
        let options = ConvertOptions {
            framing: Framing::Varint,
            ..ConvertOptions::default()
        };
        let err = Converter::new(click_plan(), options)
            .convert(endless, Full, &Progress::default())
            .unwrap_err();
        assert!(matches!(err, ConvertError::Write(_)), "{err}");
    }

    #[test]
    fn progress_counts_bytes_and_messages() {
        let input = gzip(&frame_varint(&clicks(100)));
        let progress = Progress::default();
        let mut out = Vec::new();
        let report = Converter::new(click_plan(), ConvertOptions::default())
            .convert(&input[..], &mut out, &progress)
            .unwrap();
        assert_eq!(progress.messages.load(Ordering::Relaxed), 100);
        assert_eq!(
            progress.bytes_in.load(Ordering::Relaxed),
            input.len() as u64
        );
        assert_eq!(
            progress.bytes_decompressed.load(Ordering::Relaxed),
            report.bytes_decompressed
        );
    }

    #[test]
    fn empty_input_writes_nothing() {
        let (out, report) = convert(&[], ConvertOptions::default()).unwrap();
        assert!(out.is_empty());
        assert_eq!(report.messages, 0);
        let options = ConvertOptions {
            framing: Framing::Single,
            ..ConvertOptions::default()
        };
        let (out, _) = convert(&[], options).unwrap();
        assert_eq!(out, b"{}\n");
    }
}
