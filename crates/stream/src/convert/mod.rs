//! The conversion pipeline: input bytes → NDJSON or Parquet, on several
//! threads, in order, in bounded memory.
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
//! For Parquet, the transcoding threads append the messages as rows
//! (`rows`, a `RowsBuilder` each) and hand over Arrow record batches in
//! chunks, as they do lines; the calling thread writes them in input order
//! into one Parquet file, whose row groups are flushed by size. Batch
//! boundaries depend on the input only, so the bytes do not depend on the
//! number of threads.
//!
//! One concern a file: `options` (what is asked and reported), `memory`
//! (the budget and its bound), `batch` (what passes between the stages),
//! `output` (the destination, open across inputs), and one file per
//! stage: `read`, `transcode` or `rows`, `write`.

mod batch;
mod memory;
mod options;
mod output;
mod read;
mod rows;
mod transcode;
mod write;

use std::io::{Read, Write};
use std::num::NonZeroUsize;

use crossbeam_channel::{Receiver, Sender};
use protoland_columnar::{ColumnarError, Columns, ParquetOptions};
use protoland_transcode::Plan;

pub use memory::{conversion_memory, parquet_memory};
pub use options::{ConvertOptions, ConvertReport, MAX_REPORTED_SKIPS, Progress};
pub use output::OutputWriter;

use crate::error::ConvertError;
use crate::settings::OutputFormat;
use batch::{Batch, Job};
use memory::BUDGET_UNITS;
use output::{Dest, Parquet};
use read::ReadStage;
use rows::rows_stage;
use transcode::transcode_stage;
use write::{Ndjson, Sink, write_stage};

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
    /// Parquet's columns and options; NDJSON without.
    parquet: Option<(Columns, ParquetOptions)>,
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
            parquet: None,
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

    /// Writes Parquet (one file per [`Converter::convert`], one row per
    /// message, typed from the plan's message as `options` say) instead of
    /// NDJSON.
    ///
    /// # Errors
    ///
    /// [`ColumnarError`] when the message type has no columns (see
    /// `docs/parquet.md`).
    pub fn with_parquet(mut self, options: ParquetOptions) -> Result<Converter, ColumnarError> {
        let columns = Columns::from_plan(&self.plan, &options)?;
        self.parquet = Some((columns, options));
        Ok(self)
    }

    /// What this converter writes.
    pub fn format(&self) -> OutputFormat {
        match self.parquet {
            None => OutputFormat::Ndjson,
            Some(_) => OutputFormat::Parquet,
        }
    }

    /// The Parquet options, when this converter writes Parquet.
    pub fn parquet_options(&self) -> Option<&ParquetOptions> {
        self.parquet.as_ref().map(|(_, options)| options)
    }

    /// Blocking. Reads `input` (compressed or not), writes one JSON object
    /// and `\n` per message to `output`, in order, then flushes it; or,
    /// with [`Converter::with_parquet`], one Parquet file with a row per
    /// message, in order.
    ///
    /// Reading, decompression and framing run on one thread, transcoding
    /// on [`Converter::threads`] others, and writing on the calling thread.
    /// On error, the lines of the messages
    /// before the failing one have been written (and flushed); nothing
    /// after it. A Parquet file is finished (its footer written) only when
    /// the conversion succeeds: a failed one is never a readable file.
    ///
    /// # Errors
    ///
    /// [`ConvertError::Read`] and [`ConvertError::Write`] for I/O,
    /// [`ConvertError::Decompress`] and [`ConvertError::TooLarge`] for the
    /// compressed data, [`ConvertError::Detect`] when `auto` framing finds no
    /// layout, and (unless [`ConvertOptions::skip_invalid`] skips them)
    /// [`ConvertError::Frame`] and [`ConvertError::Transcode`] for bad
    /// frames and messages.
    pub fn convert<R: Read + Send, W: Write + Send>(
        &self,
        input: R,
        output: W,
        progress: &Progress,
    ) -> Result<ConvertReport, ConvertError> {
        let mut output = self.output_writer(output)?;
        let mut report = self.convert_to(input, &mut output, progress)?;
        let (_, tail) = output.finish_counted()?;
        report.bytes_out += tail;
        Ok(report)
    }

    /// An output for [`Converter::convert_to`], in this converter's
    /// format, over `output`.
    ///
    /// # Errors
    ///
    /// [`ConvertError::Write`].
    pub fn output_writer<W: Write + Send>(
        &self,
        output: W,
    ) -> Result<OutputWriter<W>, ConvertError> {
        OutputWriter::new(self.parquet.as_ref().map(|(c, o)| (c, o)), output)
    }

    /// [`Converter::convert`] into an output that stays open for more
    /// inputs, until [`OutputWriter::finish`].
    ///
    /// # Errors
    ///
    /// As [`Converter::convert`].
    pub fn convert_to<R: Read + Send, W: Write + Send>(
        &self,
        input: R,
        output: &mut OutputWriter<W>,
        progress: &Progress,
    ) -> Result<ConvertReport, ConvertError> {
        let threads = self.threads.get();
        let (plan, options) = (&self.plan, self.options);
        match &mut output.dest {
            Dest::Ndjson(output) => {
                // Buffers go back to where they are filled, to be reused
                // (dropped instead when the way back is full).
                let (free_json_tx, free_json_rx) =
                    crossbeam_channel::bounded(BUDGET_UNITS + threads);
                let mut sink = Ndjson {
                    output,
                    free_json: free_json_tx,
                };
                self.run(input, &mut sink, progress, |jobs, free_batches| {
                    transcode_stage(plan, options, jobs, free_batches, &free_json_rx);
                })
            }
            Dest::Parquet {
                file,
                columns,
                written,
            } => {
                let mut sink = Parquet { file, written };
                let columns = &*columns;
                self.run(input, &mut sink, progress, |jobs, free_batches| {
                    rows_stage(columns, options, jobs, free_batches);
                })
            }
        }
    }

    /// The stages around `transcode` (what a transcoding thread does with
    /// the batches it receives), writing to `sink`.
    fn run<T: Send, R: Read + Send>(
        &self,
        input: R,
        sink: &mut impl Sink<T>,
        progress: &Progress,
        transcode: impl Fn(&Receiver<Job<T>>, &Sender<Batch>) + Sync,
    ) -> Result<ConvertReport, ConvertError> {
        let threads = self.threads.get();
        // The budget: one token per unit, taken by the reader for each batch
        // it sends and given back by the writer once the batch's output is
        // out. The writer holds the only sender, so when it stops, the
        // reader's wait ends too.
        let (give_back, tokens) = crossbeam_channel::bounded(BUDGET_UNITS);
        for _ in 0..BUDGET_UNITS {
            let _ = give_back.try_send(());
        }
        let (jobs_tx, jobs_rx) = crossbeam_channel::bounded::<Job<T>>(BUDGET_UNITS);
        let (order_tx, order_rx) = crossbeam_channel::bounded(BUDGET_UNITS);
        let (free_batches_tx, free_batches_rx) = crossbeam_channel::bounded(BUDGET_UNITS + threads);
        let options = self.options;
        let plan = &self.plan;
        let transcode = &transcode;
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
                    scope.spawn(move || transcode(&jobs, &free_batches))
                })
                .collect();
            drop((jobs_rx, free_batches_tx));
            // `write_stage` owns (and on return drops) the receiving ends,
            // so an early error disconnects the channels: the reader thread
            // stops at its next send or wait for budget, and the
            // transcoding threads when the reader is gone.
            let written = write_stage(order_rx, give_back, options, sink, progress);
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
