//! The conversion pipeline: input bytes → NDJSON, on several threads, in
//! order, in bounded memory.
//!
//! ```text
//!  reader thread                       transcoding threads      calling thread
//!  read → decompress → frame ─┬─ batch ──▶ JSON lines ──┐
//!                             ├─ batch ──▶ JSON lines ──┼──▶ in input order → write
//!                             └─ …                      ┘
//! ```
//!
//! The reader thread decompresses and frames the input and gathers whole
//! frames into batches of about [`BATCH`](memory::BATCH) bytes; the transcoding threads
//! (one per core the process may run on, at most [`MAX_THREADS`]) turn
//! batches into JSON lines; the calling thread writes the batches' lines in
//! input order. Decompression is inherently sequential, so it gets a thread
//! of its own, and transcoding spreads over the cores that are left: on two
//! cores both are busy whichever of the two is the slower step.
//!
//! Memory is bounded by a budget of [`BUDGET`](memory::BUDGET) bytes of batched input in
//! flight (from the moment the reader sends a batch until its lines are
//! written), or one batch when a single frame is larger than that (the
//! reader waits for the budget before copying such a frame, so only the
//! framer's copy and the batch's exist at once); the framer's buffer (one
//! frame, at most the frame limit, plus the 1 MiB detection window at the
//! start); and the JSON. A batch's lines go to the writer in chunks of
//! about [`JSON_CHUNK`](memory::JSON_CHUNK) bytes, each line at most the line limit; a chunk
//! holding a line longer than a chunk is taken by the writer before its
//! transcoding thread goes on, so such lines are never queued. None of it
//! grows with the input; [`conversion_memory`](crate::conversion_memory)
//! adds it up.
//!
//! One concern a file: `options` (what is asked and reported), `memory`
//! (the budget and its bound), `batch` (what passes between the stages),
//! and one file per stage: `read`, `transcode`, `write`.

mod batch;
mod memory;
mod options;
mod read;
mod transcode;
mod write;

use std::io::{Read, Write};
use std::num::NonZeroUsize;

use protoland_transcode::Plan;

pub use memory::conversion_memory;
pub use options::{ConvertOptions, ConvertReport, MAX_REPORTED_SKIPS, Progress};

use crate::error::ConvertError;
use batch::Job;
use memory::BUDGET_UNITS;
use read::ReadStage;
use transcode::transcode_stage;
use write::write_stage;

/// The most transcoding threads a conversion starts. Decompression runs on
/// one thread and transcoding a batch takes at most a few times as long as
/// inflating it, so more threads than this would only wait.
pub const MAX_THREADS: usize = 4;

/// Converts inputs of one message type to NDJSON: reading, decompression
/// and framing on one thread, transcoding on [`Converter::threads`]
/// others, the lines written in input order, in bounded memory (see
/// [`conversion_memory`]).
#[derive(Debug, Clone)]
pub struct Converter {
    plan: Plan,
    options: ConvertOptions,
    threads: NonZeroUsize,
}

impl Converter {
    /// A converter that writes messages with `plan` and reads inputs as
    /// `options` say, transcoding on as many threads as the process may run
    /// on (see [`Converter::with_threads`]).
    pub fn new(plan: Plan, options: ConvertOptions) -> Converter {
        let threads = std::thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .min(MAX_THREADS);
        Converter {
            plan,
            options,
            threads: NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN),
        }
    }

    /// Transcodes on `threads` threads (besides the reader thread and the
    /// calling thread, which writes). Default: the number of cores the
    /// process may run on (its CPU affinity and cgroup quota, as
    /// [`std::thread::available_parallelism`] reports them), at most
    /// [`MAX_THREADS`]: the output is the same whatever the number.
    pub fn with_threads(mut self, threads: NonZeroUsize) -> Converter {
        self.threads = threads;
        self
    }

    /// The options this converter reads with.
    pub fn options(&self) -> &ConvertOptions {
        &self.options
    }

    /// The number of transcoding threads a conversion starts.
    pub fn threads(&self) -> NonZeroUsize {
        self.threads
    }

    /// Blocking. Reads `input` (compressed or not), writes one JSON object
    /// and `\n` per message to `output`, in order, then flushes it.
    ///
    /// Reading, decompression and framing run on one thread, transcoding
    /// on [`Converter::threads`] others, and writing on the calling thread.
    /// On error, the lines of the messages
    /// before the failing one have been written (and flushed); nothing
    /// after it.
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
        let threads = self.threads.get();
        // The budget: one token per unit, taken by the reader for each batch
        // it sends and given back by the writer once the batch's lines are
        // out. The writer holds the only sender, so when it stops, the
        // reader's wait ends too.
        let (give_back, tokens) = crossbeam_channel::bounded(BUDGET_UNITS);
        for _ in 0..BUDGET_UNITS {
            let _ = give_back.try_send(());
        }
        let (jobs_tx, jobs_rx) = crossbeam_channel::bounded::<Job>(BUDGET_UNITS);
        let (order_tx, order_rx) = crossbeam_channel::bounded(BUDGET_UNITS);
        // Buffers go back to where they are filled, to be reused (dropped
        // instead when the way back is full).
        let (free_batches_tx, free_batches_rx) = crossbeam_channel::bounded(BUDGET_UNITS + threads);
        let (free_json_tx, free_json_rx) = crossbeam_channel::bounded(BUDGET_UNITS + threads);
        let options = self.options;
        let plan = &self.plan;
        std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                let stages = ReadStage {
                    tokens,
                    jobs: jobs_tx,
                    order: order_tx,
                    free: free_batches_rx,
                    progress,
                };
                stages.run(input, options, plan)
            });
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let jobs = jobs_rx.clone();
                    let free_batches = free_batches_tx.clone();
                    let free_json = free_json_rx.clone();
                    scope.spawn(move || {
                        transcode_stage(plan, options, &jobs, &free_batches, &free_json)
                    })
                })
                .collect();
            drop((jobs_rx, free_batches_tx, free_json_rx));
            // `write_stage` owns (and on return drops) the receiving ends,
            // so an early error disconnects the channels: the reader thread
            // stops at its next send or wait for budget, and the
            // transcoding threads when the reader is gone.
            let written = write_stage(
                order_rx,
                give_back,
                free_json_tx,
                options,
                &mut output,
                progress,
            );
            for worker in workers {
                if let Err(panic) = worker.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            let read = match reader.join() {
                Ok(read) => read,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let written = written?;
            Ok(ConvertReport {
                compression: read.compression,
                framing: read.framing,
                framing_reason: read.framing_reason,
                messages: written.messages,
                skipped: written.skipped,
                first_skipped: written.first_skipped,
                bytes_in: read.bytes_in,
                bytes_decompressed: read.bytes_decompressed,
                bytes_out: written.bytes_out,
            })
        })
    }
}

#[cfg(test)]
mod tests;
