//! The caps on one conversion ([`Limits`]).

/// Caps that keep a hostile or broken input from exhausting memory, disk
/// or time. What one conversion may take in memory, given these, is
/// [`conversion_memory`](crate::conversion_memory).
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
