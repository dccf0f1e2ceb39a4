//! zstd for the output: one frame with a content checksum, compressed by
//! zstd's own worker threads.
//!
//! zstd cuts the input into jobs of [`JOB_SIZE`] bytes, each compressed on
//! a worker with the previous job's end as its history, and writes them in
//! order. With one worker or more the frame's bytes depend on the input,
//! the level and the job size only, never on the number of workers (zstd
//! states this, and `output_is_the_same_on_any_thread_count` checks it).
//! Without workers (`NbWorkers` 0) zstd compresses differently, so at least
//! one is always asked for, even on one core: the landing object's bytes
//! do not depend on the machine.

use std::num::NonZeroUsize;

use zstd::stream::raw::Encoder as RawEncoder;
use zstd::zstd_safe::CParameter;

/// Uncompressed bytes per job. 2 MiB at every level (zstd's own default
/// at level 1, the default level; a quarter of level 3's 8 MiB, four
/// windows): a 64 MiB object is then 32 jobs to share between
/// the workers, and the buffers zstd keeps per worker stay a few MiB. Each
/// job starts with the end of the one before as history (zstd's overlap),
/// so the ratio stays close to one stream's; the landed sizes are in
/// docs/bench/results.md, "The deployed path".
pub(crate) const JOB_SIZE: u32 = 2 << 20;

/// A compression context's tables at each level 1 to 19, in MiB rounded
/// up (`ZSTD_estimateCCtxSize` for zstd 1.5's parameters of that level).
const CONTEXT_MIB: [u64; 19] = [
    1, 1, 2, 3, 3, 3, 6, 6, 11, 21, 21, 41, 33, 49, 65, 33, 49, 50, 82,
];

/// What a zstd writer at `level` on `threads` workers holds at most, for
/// memory sizing: each worker's context, its job's input (with the window
/// before it) and output, and as many jobs again waiting to be written.
/// An estimate from zstd's parameters, not a figure zstd reports.
pub(crate) fn zstd_memory(level: u32, threads: NonZeroUsize) -> u64 {
    let index = (level.clamp(1, 19) - 1) as usize;
    let context = CONTEXT_MIB[index] << 20;
    let window = 8 << 20;
    let job = u64::from(JOB_SIZE);
    let workers = threads.get() as u64;
    // The calling thread's context too (it owns the job table and the
    // window the next job starts from).
    (workers + 1) * context + window + 2 * workers * (2 * job + window / 8)
}

/// A zstd encoder at `level` with `threads` workers, ready to wrap a
/// writer.
///
/// # Errors
///
/// zstd's, when the context cannot be created or a parameter is refused
/// (out of memory, or a build without worker threads).
pub(crate) fn encoder(level: i32, threads: NonZeroUsize) -> std::io::Result<RawEncoder<'static>> {
    let mut raw = RawEncoder::new(level)?;
    raw.set_parameter(CParameter::ChecksumFlag(true))?;
    let workers = u32::try_from(threads.get()).unwrap_or(u32::MAX);
    raw.set_parameter(CParameter::NbWorkers(workers))?;
    raw.set_parameter(CParameter::JobSize(JOB_SIZE))?;
    Ok(raw)
}
