//! What a conversion is asked to do and what it reports: the options, the
//! live counters, the report, and which errors `skip_invalid` skips.

use std::sync::atomic::AtomicU64;

use crate::error::ConvertError;
use crate::limits::Limits;
use crate::settings::{Compression, Framing};

/// How to read the input. Every default is the choice that needs no
/// knowledge of the input: detect compression and framing, generous caps,
/// and stop at the first bad message so nothing is dropped silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConvertOptions {
    /// Default: [`Compression::Auto`] (by magic bytes).
    pub compression: Compression,
    /// Default: [`Framing::Auto`] (whichever layout parses cleanly).
    pub framing: Framing,
    /// Default: [`Limits::default`] (64 GiB decompressed and 200 times the
    /// compressed size past 256 MiB, 64 MiB a frame and a line, 8 MiB zstd
    /// windows).
    pub limits: Limits,
    /// Skip (count and report) messages that cannot be converted instead of
    /// failing: a message that does not decode, whose JSON is over the line
    /// limit, or whose frame is over the frame limit (and present whole).
    /// Never skipped: the input ending inside a frame or its prefix, an
    /// invalid length prefix, corrupt or truncated compressed data, the
    /// decompression limits (see [`ConvertError`] and `docs/framing.md`).
    /// Default: off, so that no message is lost without an error.
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

/// Whether `error` may be skipped (counted and reported) when
/// [`ConvertOptions::skip_invalid`] is on: a message that is there whole
/// but cannot be converted (it does not decode, its JSON is over the line
/// limit, its frame is over the frame limit and the framer reads past it).
/// Anything that loses data or position (the input ending inside a frame
/// or prefix, an invalid prefix, corrupt compressed data, a decompression
/// limit, I/O) is not.
pub(super) fn skippable(error: &ConvertError) -> bool {
    match error {
        ConvertError::Transcode { .. } | ConvertError::LineTooLong { .. } => true,
        ConvertError::Frame { kind, .. } => kind.is_recoverable(),
        _ => false,
    }
}
