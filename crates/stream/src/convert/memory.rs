//! The memory budget: how large batches and chunks of output get, how
//! much of them may be in flight, and what a conversion takes at most.

use protoland_columnar::ParquetOptions;

use crate::limits::Limits;

/// A batch is sent once its frames hold this many bytes (or at the end of
/// the input, or after a frame error). Large enough that passing it between
/// threads costs well under 1% of transcoding it; small enough to stay in
/// a core's cache from decompression to transcoding.
pub(super) const BATCH: usize = 256 * 1024;

/// A batch is also sent once it holds this many frames (and errors), so
/// that a stream of empty frames, or of frames the framer skips, cannot
/// grow one without bound.
pub(super) const BATCH_FRAMES: usize = 4096;

/// The most input bytes in batches that are sent and not yet written (a
/// batch larger than this, holding one large frame, waits until it is the
/// only one). Room for [`BUDGET_UNITS`] batches of [`BATCH`] bytes: enough
/// to keep every transcoding thread busy while the writer catches up.
pub(super) const BUDGET: usize = BUDGET_UNITS * BUDGET_UNIT;

/// The budget is counted in units of this size (a batch takes at least
/// one).
pub(super) const BUDGET_UNIT: usize = 1 << 20;
/// The number of budget units: at most this many batches are in flight.
pub(super) const BUDGET_UNITS: usize = 8;

/// A batch's JSON goes to the writer in chunks: one is handed over once it
/// holds this many bytes (at the end of a line), so that a batch of small
/// messages that print large (a 256 KiB batch may print megabytes) never
/// holds all its JSON at once. A chunk larger than twice this (a long
/// line) is taken by the writer before its transcoding thread goes on.
pub(super) const JSON_CHUNK: usize = 1 << 20;

/// A batch's rows go to the writer in chunks too: a record batch is cut
/// once the rows' Arrow buffers hold this many bytes, for the same reason
/// and with the same bound as [`JSON_CHUNK`] (a row larger than twice
/// this is taken by the writer before its transcoding thread goes on).
pub(super) const ROWS_CHUNK: usize = JSON_CHUNK;

/// Buffers whose capacity grew past these (by a large frame or line) are
/// dropped after use instead of being kept for reuse: kept, every buffer
/// of the pools could end up as large as the largest frame or line.
pub(super) const KEEP_BATCH: usize = 4 * BATCH;
pub(super) const KEEP_JSON: usize = 2 * JSON_CHUNK;

/// The budget units a batch of `bytes` takes: at least one, at most all.
pub(super) fn budget_units(bytes: usize) -> usize {
    bytes.div_ceil(BUDGET_UNIT).clamp(1, BUDGET_UNITS)
}

/// The most memory one conversion by a [`Converter`](crate::Converter) with `threads`
/// transcoding threads can take under `limits`, whatever the input (a
/// bound on resident memory, for sizing; the writer's destination comes
/// on top). Each term is the worst case of one stage:
///
/// - decompression: the zstd window, and 512 KiB of input buffers and
///   decoder state (gzip's is 32 KiB);
/// - framing: one frame and a read, or the 1 MiB detection window;
/// - batches on their way to transcoding: the batch budget of
///   8 MiB, or one frame larger than that (it waits until it is the only
///   one), and the batch being gathered;
/// - JSON: each transcoding thread's lines and the writer's (a line up to
///   the line limit and a chunk of smaller ones each), and the chunks of
///   the batches waiting their turn; rows for Parquet are chunked the
///   same way and held to the same limit (a row whose Arrow buffers pass
///   the line limit fails as a line does), and the row group in progress
///   comes on top ([`parquet_memory`]);
/// - the buffers kept for reuse (one per batch in flight and thread).
pub fn conversion_memory(limits: &Limits, threads: usize) -> u64 {
    let window = limits.max_zstd_window.min(2 << 30);
    let frame = limits.max_frame_bytes;
    let line = limits.max_line_bytes;
    let chunk = JSON_CHUNK as u64;
    let decompress = window.saturating_add(512 << 10);
    let framing = frame.saturating_add(64 << 10).max(1 << 20);
    let batches = (BUDGET as u64).max(frame).saturating_add(BATCH as u64);
    let json = (threads as u64 + 1)
        .saturating_mul(chunk.saturating_add(line))
        .saturating_add(BUDGET_UNITS as u64 * 2 * chunk);
    let pools = (BUDGET_UNITS + threads) as u64 * (KEEP_BATCH + KEEP_JSON) as u64;
    decompress
        .saturating_add(framing)
        .saturating_add(batches)
        .saturating_add(json)
        .saturating_add(pools)
}

/// The Parquet writer's working memory besides the row group it counts:
/// the levels and gathered values of the batch being encoded, page
/// buffers being compressed, the dictionaries' hash tables. Measured with
/// a counting allocator on the benchmark's data: the peak of live
/// allocations was the row group plus 10 to 15 MB.
const PARQUET_WORKING: u64 = 16 << 20;

/// What writing Parquet adds to [`conversion_memory`]: the row group in
/// progress (its encoded pages and dictionaries, up to
/// [`ParquetOptions::row_group_bytes`] before it is flushed, plus the
/// chunk of rows that crossed the limit), and the writer's working memory
/// besides it.
pub fn parquet_memory(options: &ParquetOptions) -> u64 {
    (options.row_group_bytes as u64)
        .saturating_add(ROWS_CHUNK as u64)
        .saturating_add(PARQUET_WORKING)
}
