//! Protobuf objects as streams: decompression, framing, detection and
//! conversion to newline-delimited JSON, in bounded memory.
//!
//! The data flows through one module per step:
//!
//! - [`decompress`]: gzip (every member), zstd (every frame) or none,
//!   chosen by magic bytes, capped ([`Compression`], [`Decompressor`]);
//! - [`framing`]: single, varint- or fixed32-prefixed messages, capped and
//!   split-proof ([`Framing`], [`Framer`]);
//! - [`detect`]: which framing parses cleanly against the schema, and why;
//! - [`convert`]: the pipeline from bytes to NDJSON (decompression on one
//!   thread, transcoding on the others, output in order)
//!   ([`Converter`]);
//! - [`compress`]: gzip or zstd for the output ([`compress_writer`]);
//! - [`inspect`](mod@inspect): what an object is, for `protoland inspect`.
//!
//! Every error is a [`ConvertError`] with the coordinates (message index,
//! byte offset, field path) of what went wrong.
//!
//! ```
//! use protoland_schema::Schema;
//! use protoland_stream::{ConvertOptions, Converter, Framing, Progress};
//! use protoland_transcode::{JsonOptions, Plan};
//!
//! let schema = Schema::from_proto_source(
//!     "click.proto",
//!     r#"syntax = "proto3"; package acme; message Click { string url = 1; int64 user_id = 2; }"#,
//! )?;
//! let plan = Plan::new(&schema.message("acme.Click")?, JsonOptions::default());
//!
//! // Two varint-delimited messages: url = "/a", then user_id = 42.
//! let input: &[u8] = b"\x04\x0a\x02/a\x02\x10\x2a";
//! let mut output = Vec::new();
//! let report = Converter::new(plan, ConvertOptions::default())
//!     .convert(input, &mut output, &Progress::default())?;
//!
//! assert_eq!(output, b"{\"url\":\"/a\"}\n{\"userId\":\"42\"}\n");
//! assert_eq!(report.framing, Framing::Varint);
//! assert_eq!(report.messages, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod compress;
pub mod convert;
pub mod decompress;
pub mod detect;
mod error;
pub mod framing;
pub mod inspect;

pub use compress::{CompressWriter, compress_writer};
pub use convert::{ConvertOptions, ConvertReport, Converter, Progress};
pub use decompress::{Compression, Decompressor};
pub use detect::Detection;
pub use error::{ConvertError, FrameErrorKind, ParseSettingError};
pub use framing::{Frame, Framer, Framing};
pub use inspect::{InspectReport, inspect};

/// Caps that keep a hostile or broken input from exhausting memory, disk
/// or time. What one conversion may take in memory, given these, is
/// [`conversion_memory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most decompressed bytes one input may produce. Default: 64 GiB,
    /// far above any sane object yet small enough to stop a decompression
    /// bomb before it fills a disk downstream.
    pub max_decompressed_bytes: u64,
    /// The most decompressed bytes per compressed byte, checked once the
    /// decompressed data passes [`RATIO_GRACE`] (0: no ratio limit).
    /// Default: 200. gzip cannot pass about 1030 (zeros, at any level) and
    /// zstd reaches thousands only on runs of repeated bytes, while real
    /// protobuf streams compress 2 to 20 times (the benchmark's clickstream
    /// about 4, its telemetry 1.3): 200 leaves ten times the headroom of the
    /// most compressible data seen, and stops a 10 GiB gzip of zeros after
    /// 256 MiB instead of 64 GiB.
    pub max_compression_ratio: u64,
    /// The longest frame (one message) accepted. Default: 64 MiB, which is
    /// protobuf's own historical default message size limit; a frame must
    /// be held in memory whole to be transcoded.
    pub max_frame_bytes: u64,
    /// The longest JSON line (one message, without its newline). Default:
    /// 64 MiB, the frame limit: the JSON of the largest message accepted is
    /// as large when it is mostly strings, and a line is held whole until
    /// it is written. Checked while the line is written, so that a message
    /// of a few bytes cannot print gigabytes (see
    /// [`Plan::transcode_limited`](protoland_transcode::Plan::transcode_limited)).
    pub max_line_bytes: u64,
    /// The largest zstd window (the history a frame may refer back to,
    /// which the decoder holds in memory) accepted. A power of two from 1
    /// KiB to 2 GiB (other values round down). Default: 8 MiB, the most
    /// `zstd` uses at levels up to 19 without `--long` (level 19 has a
    /// window of 2^23); `--long` (2^27 unless given) and `--ultra` levels
    /// need more, and a frame that does is refused with an error naming
    /// this limit.
    pub max_zstd_window: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed_bytes: 64 << 30,
            max_compression_ratio: 200,
            max_frame_bytes: 64 << 20,
            max_line_bytes: 64 << 20,
            max_zstd_window: 8 << 20,
        }
    }
}

/// The compression ratio limit ([`Limits::max_compression_ratio`]) applies
/// once this many bytes are decompressed: small objects of repeated data
/// compress far better than large ones, and are no danger.
pub const RATIO_GRACE: u64 = 256 << 20;

/// The most memory one conversion by a [`Converter`] with `threads`
/// transcoding threads can take under `limits`, whatever the input (a
/// bound on resident memory, for sizing; the writer's destination comes
/// on top). Each term is the worst case of one stage:
///
/// - decompression: the zstd window, and 512 KiB of input buffers and
///   decoder state (gzip's is 32 KiB);
/// - framing: one frame and a read, or the 1 MiB detection window;
/// - batches on their way to transcoding: the [`convert::BUDGET`] of
///   8 MiB, or one frame larger than that (it waits until it is the only
///   one), and the batch being gathered;
/// - JSON: each transcoding thread's lines and the writer's (a line up to
///   the line limit and a chunk of smaller ones each), and the chunks of
///   the batches waiting their turn;
/// - the buffers kept for reuse (one per batch in flight and thread).
pub fn conversion_memory(limits: &Limits, threads: usize) -> u64 {
    let window = limits.max_zstd_window.min(2 << 30);
    let frame = limits.max_frame_bytes;
    let line = limits.max_line_bytes;
    let chunk = convert::JSON_CHUNK as u64;
    let decompress = window.saturating_add(512 << 10);
    let framing = frame.saturating_add(64 << 10).max(1 << 20);
    let batches = (convert::BUDGET as u64)
        .max(frame)
        .saturating_add(convert::BATCH as u64);
    let json = (threads as u64 + 1)
        .saturating_mul(chunk.saturating_add(line))
        .saturating_add(convert::BUDGET_UNITS as u64 * 2 * chunk);
    let pools = (convert::BUDGET_UNITS + threads) as u64
        * (convert::KEEP_BATCH + convert::KEEP_JSON) as u64;
    decompress
        .saturating_add(framing)
        .saturating_add(batches)
        .saturating_add(json)
        .saturating_add(pools)
}

#[cfg(test)]
mod testing;
