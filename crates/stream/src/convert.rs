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
//! frames into batches of about [`BATCH`] bytes; the transcoding threads
//! (one per core the process may run on, at most [`MAX_THREADS`]) turn
//! batches into JSON lines; the calling thread writes the batches' lines in
//! input order. Decompression is inherently sequential, so it gets a thread
//! of its own, and transcoding spreads over the cores that are left: on two
//! cores both are busy whichever of the two is the slower step.
//!
//! Memory is bounded by a budget of [`BUDGET`] bytes of batched input in
//! flight (from the moment the reader sends a batch until its lines are
//! written), or one batch when a single frame is larger than that (the
//! reader waits for the budget before copying such a frame, so only the
//! framer's copy and the batch's exist at once); the framer's buffer (one
//! frame, at most the frame limit, plus the 1 MiB detection window at the
//! start); and the JSON. A batch's lines go to the writer in chunks of
//! about [`JSON_CHUNK`] bytes, each line at most the line limit; a chunk
//! holding a line longer than a chunk is taken by the writer before its
//! transcoding thread goes on, so such lines are never queued. None of it
//! grows with the input; [`conversion_memory`](crate::conversion_memory)
//! adds it up.

use std::io::{Read, Write};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};
use protoland_transcode::{ErrorKind, Plan};

use crate::decompress::Decompressor;
use crate::error::ConvertError;
use crate::framing::Framer;
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

/// A batch is sent once its frames hold this many bytes (or at the end of
/// the input, or after a frame error). Large enough that passing it between
/// threads costs well under 1% of transcoding it; small enough to stay in
/// a core's cache from decompression to transcoding.
pub(crate) const BATCH: usize = 256 * 1024;

/// A batch is also sent once it holds this many frames (and errors), so
/// that a stream of empty frames, or of frames the framer skips, cannot
/// grow one without bound.
const BATCH_FRAMES: usize = 4096;

/// The most input bytes in batches that are sent and not yet written (a
/// batch larger than this, holding one large frame, waits until it is the
/// only one). Room for [`BUDGET_UNITS`] batches of [`BATCH`] bytes: enough
/// to keep every transcoding thread busy while the writer catches up.
pub(crate) const BUDGET: usize = BUDGET_UNITS * BUDGET_UNIT;

/// The budget is counted in units of this size (a batch takes at least
/// one).
const BUDGET_UNIT: usize = 1 << 20;
/// The number of budget units: at most this many batches are in flight.
pub(crate) const BUDGET_UNITS: usize = 8;

/// A batch's JSON goes to the writer in chunks: one is handed over once it
/// holds this many bytes (at the end of a line), so that a batch of small
/// messages that print large (a 256 KiB batch may print megabytes) never
/// holds all its JSON at once. A chunk larger than twice this (a long
/// line) is taken by the writer before its transcoding thread goes on.
pub(crate) const JSON_CHUNK: usize = 1 << 20;

/// Buffers whose capacity grew past these (by a large frame or line) are
/// dropped after use instead of being kept for reuse: kept, every buffer
/// of the pools could end up as large as the largest frame or line.
pub(crate) const KEEP_BATCH: usize = 4 * BATCH;
pub(crate) const KEEP_JSON: usize = 2 * JSON_CHUNK;

/// The budget units a batch of `bytes` takes: at least one, at most all.
fn budget_units(bytes: usize) -> usize {
    bytes.div_ceil(BUDGET_UNIT).clamp(1, BUDGET_UNITS)
}

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

/// What the reader thread learned.
#[derive(Debug)]
struct ReadSummary {
    compression: Compression,
    framing: Framing,
    framing_reason: String,
    bytes_in: u64,
    bytes_decompressed: u64,
}

/// What the writing side learned.
#[derive(Debug, Default)]
struct WriteSummary {
    messages: u64,
    skipped: u64,
    first_skipped: Vec<ConvertError>,
    bytes_out: u64,
}

/// Frames on their way from the reader thread to a transcoding thread, in
/// stream order, with the frame errors among them where they occurred.
#[derive(Debug, Default)]
struct Batch {
    /// The frames' bytes, one after the other.
    data: Vec<u8>,
    items: Vec<Item>,
}

#[derive(Debug)]
enum Item {
    /// A frame: `data[previous frame's end..end]`.
    Frame {
        index: u64,
        /// Where its bytes start in the decompressed stream.
        offset: u64,
        end: usize,
    },
    /// An error of the input (reading, decompression, framing) at this
    /// point of the stream.
    Error(ConvertError),
}

/// A chunk of a batch's JSON lines, on its way to the calling thread.
#[derive(Debug, Default)]
struct Lines {
    /// One line per message converted.
    json: Vec<u8>,
    messages: u64,
    /// The chunk's errors, in stream order.
    failures: Vec<Failure>,
    /// The batch's last chunk.
    last: bool,
    /// Budget units the batch holds until its lines are written (in its
    /// last chunk).
    units: usize,
}

/// An error among a batch's lines: `json[..json_len]` (`messages` lines)
/// came before it.
#[derive(Debug)]
struct Failure {
    json_len: usize,
    messages: u64,
    error: ConvertError,
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

/// Whether `error` may be skipped (counted and reported) when
/// [`ConvertOptions::skip_invalid`] is on: a message that is there whole
/// but cannot be converted (it does not decode, its JSON is over the line
/// limit, its frame is over the frame limit and the framer reads past it).
/// Anything that loses data or position (the input ending inside a frame
/// or prefix, an invalid prefix, corrupt compressed data, a decompression
/// limit, I/O) is not.
fn skippable(error: &ConvertError) -> bool {
    match error {
        ConvertError::Transcode { .. } | ConvertError::LineTooLong { .. } => true,
        ConvertError::Frame { kind, .. } => kind.is_recoverable(),
        _ => false,
    }
}

/// A batch for a transcoding thread, and where its lines go.
type Job = (Batch, Sender<Lines>);

/// The reader thread's channels.
struct ReadStage<'p> {
    tokens: Receiver<()>,
    jobs: Sender<Job>,
    /// One receiver per batch, in stream order, for the writer.
    order: Sender<Receiver<Lines>>,
    free: Receiver<Batch>,
    progress: &'p Progress,
}

impl ReadStage<'_> {
    /// Decompresses and frames `input` into batches until the end, an error
    /// that ends the stream (sent as the last item) or the writer hanging
    /// up.
    fn run<R: Read>(self, input: R, options: ConvertOptions, plan: &Plan) -> ReadSummary {
        let mut summary = ReadSummary {
            compression: Compression::None,
            framing: options.framing,
            framing_reason: "explicit".to_owned(),
            bytes_in: 0,
            bytes_decompressed: 0,
        };
        let limits = options.limits;
        let decompressor = match Decompressor::with_limits(input, options.compression, &limits) {
            Ok(d) => d,
            Err(e) => {
                let mut batch = Batch::default();
                batch.items.push(Item::Error(e));
                self.send(batch);
                return summary;
            }
        };
        summary.compression = decompressor.compression();
        let mut framer = Framer::new(decompressor, options.framing, limits.max_frame_bytes)
            .detect_with(plan.clone());
        let mut batch = Batch::default();
        let mut more = match framer.resolve() {
            Ok(framing) => {
                summary.framing = framing;
                if let Some(d) = framer.detection() {
                    summary.framing_reason.clone_from(&d.reason);
                }
                true
            }
            Err(e) => {
                batch.items.push(Item::Error(e));
                false
            }
        };
        while more {
            match framer.next_frame() {
                Ok(Some(frame)) if frame.data.len() > BATCH => {
                    // A large frame goes in a batch of its own, copied only
                    // once the budget it takes is free: for a frame over the
                    // whole budget, once every batch before it is written,
                    // so that its batch and the previous large frame's are
                    // never both in memory.
                    if !batch.items.is_empty() {
                        let next = self.free.try_recv().unwrap_or_default();
                        if !self.send(std::mem::replace(&mut batch, next)) {
                            return summary;
                        }
                    }
                    if !self.take_budget(budget_units(frame.data.len())) {
                        return summary;
                    }
                    let mut large = Batch {
                        data: frame.data.to_vec(),
                        items: Vec::new(),
                    };
                    large.items.push(Item::Frame {
                        index: frame.index,
                        offset: frame.data_offset,
                        end: large.data.len(),
                    });
                    self.count(&framer, &mut summary);
                    if !self.dispatch(large) {
                        return summary;
                    }
                    continue;
                }
                Ok(Some(frame)) => {
                    batch.data.extend_from_slice(frame.data);
                    batch.items.push(Item::Frame {
                        index: frame.index,
                        offset: frame.data_offset,
                        end: batch.data.len(),
                    });
                }
                Ok(None) => more = false,
                Err(e) => {
                    // Reading on after an error makes sense only when the
                    // writer will skip it.
                    more = options.skip_invalid && skippable(&e);
                    batch.items.push(Item::Error(e));
                }
            }
            if more && batch.data.len() < BATCH && batch.items.len() < BATCH_FRAMES {
                continue;
            }
            self.count(&framer, &mut summary);
            if !more {
                break;
            }
            let next = self.free.try_recv().unwrap_or_default();
            if !self.send(std::mem::replace(&mut batch, next)) {
                return summary; // the writer stopped
            }
        }
        if !batch.items.is_empty() {
            self.send(batch);
        }
        summary
    }

    /// Adds what the decompressor counted since the last call to the
    /// progress counters and the summary.
    fn count<R: Read>(&self, framer: &Framer<Decompressor<R>>, summary: &mut ReadSummary) {
        let d = framer.get_ref();
        let (bytes_in, bytes_out) = (d.bytes_in(), d.bytes_out());
        let progress = self.progress;
        progress
            .bytes_in
            .fetch_add(bytes_in - summary.bytes_in, Ordering::Relaxed);
        progress
            .bytes_decompressed
            .fetch_add(bytes_out - summary.bytes_decompressed, Ordering::Relaxed);
        summary.bytes_in = bytes_in;
        summary.bytes_decompressed = bytes_out;
    }

    /// Takes budget for `batch` and sends it off; `false` when the writer
    /// has stopped.
    fn send(&self, batch: Batch) -> bool {
        self.take_budget(budget_units(batch.data.len())) && self.dispatch(batch)
    }

    /// Waits for `units` of budget (given back by the writer); `false`
    /// when the writer has stopped.
    fn take_budget(&self, units: usize) -> bool {
        (0..units).all(|_| self.tokens.recv().is_ok())
    }

    /// Sends `batch` off, its budget taken; `false` when the writer has
    /// stopped.
    fn dispatch(&self, batch: Batch) -> bool {
        let (lines_tx, lines_rx) = crossbeam_channel::bounded(1);
        // The writer learns the order first, then a transcoding thread gets
        // the batch: the writer waits only for batches already sent.
        // (When the transcoding threads are gone, which only a panic does,
        // the failed send drops `lines_tx`, and the writer stops there.)
        self.order.send(lines_rx).is_ok() && self.jobs.send((batch, lines_tx)).is_ok()
    }
}

/// A transcoding thread: batches in, JSON lines out, until the reader
/// thread is done.
fn transcode_stage(
    plan: &Plan,
    options: ConvertOptions,
    jobs: &Receiver<Job>,
    free_batches: &Sender<Batch>,
    free_json: &Receiver<Vec<u8>>,
) {
    while let Ok((mut batch, reply)) = jobs.recv() {
        transcode_batch(plan, options, &mut batch, &reply, free_json);
        batch.data.clear();
        batch.items.clear();
        if batch.data.capacity() <= KEEP_BATCH {
            let _ = free_batches.try_send(batch);
        }
    }
}

/// Transcodes the frames of `batch`, one line each, into chunks of lines
/// sent to `reply` (the last one marked), noting errors where they occur;
/// without `skip_invalid`, stops at the first. Returns early when the
/// writer has stopped.
fn transcode_batch(
    plan: &Plan,
    options: ConvertOptions,
    batch: &mut Batch,
    reply: &Sender<Lines>,
    free_json: &Receiver<Vec<u8>>,
) {
    let max_line = usize::try_from(options.limits.max_line_bytes).unwrap_or(usize::MAX);
    let chunk = |free: &Receiver<Vec<u8>>, data: usize| {
        let mut json = free.try_recv().unwrap_or_default();
        json.clear();
        json.reserve((data * 2).min(2 * JSON_CHUNK));
        Lines {
            json,
            ..Lines::default()
        }
    };
    let mut lines = chunk(free_json, batch.data.len());
    let mut start = 0;
    let items = batch.items.len();
    for (k, item) in batch.items.drain(..).enumerate() {
        let error = match item {
            Item::Frame { index, offset, end } => {
                let frame = &batch.data[start..end];
                start = end;
                match plan.transcode_limited(frame, &mut lines.json, max_line) {
                    Ok(()) => {
                        lines.json.push(b'\n');
                        lines.messages += 1;
                        if lines.json.len() >= JSON_CHUNK && k + 1 < items {
                            let long = lines.json.len() > 2 * JSON_CHUNK;
                            let next = chunk(free_json, batch.data.len() - start);
                            if !hand_over(reply, std::mem::replace(&mut lines, next), long) {
                                return;
                            }
                        }
                        continue;
                    }
                    Err(source) => match source.kind {
                        ErrorKind::LineTooLong { .. } => ConvertError::LineTooLong {
                            index,
                            offset,
                            limit: options.limits.max_line_bytes,
                            at: source.offset as u64,
                            field_path: source.field_path,
                        },
                        _ => ConvertError::Transcode {
                            index,
                            offset,
                            source,
                        },
                    },
                }
            }
            Item::Error(e) => e,
        };
        let stop = !(options.skip_invalid && skippable(&error));
        lines.failures.push(Failure {
            json_len: lines.json.len(),
            messages: lines.messages,
            error,
        });
        if stop {
            break;
        }
    }
    lines.last = true;
    lines.units = budget_units(batch.data.len());
    let long = lines.json.len() > 2 * JSON_CHUNK;
    hand_over(reply, lines, long);
}

/// Sends a chunk of lines to the writer; for a `long` one (holding a line
/// longer than a chunk), waits until the writer has taken it, so that a
/// transcoding thread never leaves more than one long line behind it.
/// `false` when the writer has stopped.
fn hand_over(reply: &Sender<Lines>, lines: Lines, long: bool) -> bool {
    if reply.send(lines).is_err() {
        return false;
    }
    // The channel holds one chunk: a second send waits until the writer
    // has received the first. (After the last chunk the writer reads no
    // more; the empty chunk stays in the channel, which is then dropped.)
    !long || reply.send(Lines::default()).is_ok()
}

/// The calling thread: writes each batch's lines in stream order.
fn write_stage<W: Write>(
    order: Receiver<Receiver<Lines>>,
    give_back: Sender<()>,
    free_json: Sender<Vec<u8>>,
    options: ConvertOptions,
    output: &mut W,
    progress: &Progress,
) -> Result<WriteSummary, ConvertError> {
    let mut summary = WriteSummary::default();
    let mut result = Ok(());
    'batches: while let Ok(pending) = order.recv() {
        // The batch's chunks of lines, up to the last.
        loop {
            let Ok(lines) = pending.recv() else {
                // A transcoding thread dropped the batch: it panicked, and
                // `convert` re-raises the panic after joining it.
                break 'batches;
            };
            let mut written = lines.json.len();
            let mut messages = lines.messages;
            for failure in lines.failures {
                if options.skip_invalid && skippable(&failure.error) {
                    summary.skipped += 1;
                    if summary.first_skipped.len() < MAX_REPORTED_SKIPS {
                        summary.first_skipped.push(failure.error);
                    }
                } else {
                    written = failure.json_len;
                    messages = failure.messages;
                    result = Err(failure.error);
                    break;
                }
            }
            // The lines before an error are written too: what was converted is
            // kept, in order, and the error says where it stopped.
            if let Err(e) = output.write_all(&lines.json[..written]) {
                // Part of it may have been written: nothing more, and no flush.
                return Err(ConvertError::Write(e));
            }
            summary.bytes_out += written as u64;
            summary.messages += messages;
            progress.messages.fetch_add(messages, Ordering::Relaxed);
            if result.is_err() {
                break 'batches;
            }
            let last = lines.last;
            for _ in 0..lines.units {
                let _ = give_back.try_send(());
            }
            if lines.json.capacity() <= KEEP_JSON {
                let _ = free_json.try_send(lines.json);
            }
            if last {
                break;
            }
        }
    }
    output.flush().map_err(ConvertError::Write)?;
    result.map(|()| summary)
}
/// The most memory one conversion by a [`Converter`] with `threads`
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
///   the batches waiting their turn;
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

#[cfg(test)]
mod tests {
    use std::io;

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

    /// Messages enough for many batches: ~6 MB, each a little different.
    fn many_clicks() -> Vec<Vec<u8>> {
        clicks(300).into_iter().cycle().take(60_000).collect()
    }

    fn convert_on(
        threads: usize,
        input: &[u8],
        options: ConvertOptions,
    ) -> (Vec<u8>, Result<ConvertReport, ConvertError>) {
        let mut out = Vec::new();
        let threads = NonZeroUsize::new(threads).unwrap();
        let result = Converter::new(click_plan(), options)
            .with_threads(threads)
            .convert(input, &mut out, &Progress::default());
        (out, result)
    }

    #[test]
    fn output_is_in_input_order_whatever_the_threads() {
        let messages = many_clicks();
        let input = gzip(&frame_varint(&messages));
        let expected = expected_ndjson(&messages);
        for threads in [1, 2, 3, 8] {
            let (out, report) = convert_on(threads, &input, ConvertOptions::default());
            let report = report.unwrap();
            assert!(out == expected, "{threads} threads");
            assert_eq!(report.messages, messages.len() as u64);
        }
    }

    #[test]
    fn stops_at_a_bad_message_in_a_later_batch_on_several_threads() {
        let mut messages = many_clicks();
        messages[45_001] = vec![0x0f];
        let input = frame_varint(&messages);
        let offset = frame_varint(&messages[..45_001]).len() as u64 + 1;
        for threads in [1, 3] {
            let (out, result) = convert_on(threads, &input, ConvertOptions::default());
            let err = result.unwrap_err();
            assert!(
                matches!(err, ConvertError::Transcode { index: 45_001, offset: o, .. } if o == offset),
                "{err}"
            );
            assert!(
                out == expected_ndjson(&messages[..45_001]),
                "{threads} threads"
            );
        }
    }

    #[test]
    fn skips_bad_messages_in_every_batch_on_several_threads() {
        let mut messages = many_clicks();
        let bad: [usize; 4] = [7, 20_000, 20_001, 59_999];
        for &i in &bad {
            messages[i] = vec![0x0a, 0x05];
        }
        let input = frame_varint(&messages);
        let options = ConvertOptions {
            skip_invalid: true,
            ..ConvertOptions::default()
        };
        let good: Vec<Vec<u8>> = messages
            .iter()
            .enumerate()
            .filter(|(i, _)| !bad.contains(i))
            .map(|(_, m)| m.clone())
            .collect();
        let (out, report) = convert_on(2, &input, options);
        let report = report.unwrap();
        assert_eq!(report.skipped, 4);
        let indexes: Vec<_> = report
            .first_skipped
            .iter()
            .map(|e| e.message_index())
            .collect();
        assert_eq!(indexes, bad.map(|i| Some(i as u64)));
        assert!(out == expected_ndjson(&good));
    }

    #[test]
    fn frames_larger_than_a_batch_and_the_budget() {
        // Messages of 3 MiB and 9 MiB (over the whole budget) among small
        // ones: each waits its turn, and the output is complete.
        let big = |n: usize| {
            let mut m = vec![0x0a];
            prost::encoding::encode_varint(n as u64, &mut m);
            m.extend(std::iter::repeat_n(b'x', n));
            m
        };
        let mut messages = clicks(50);
        messages.insert(10, big(3 << 20));
        messages.insert(30, big(9 << 20));
        messages.insert(31, big(3 << 20));
        let input = frame_varint(&messages);
        let (out, report) = convert_on(2, &input, ConvertOptions::default());
        assert_eq!(report.unwrap().messages, 53);
        assert!(out == expected_ndjson(&messages));
    }

    #[test]
    fn endless_empty_frames_are_batched_by_count() {
        // Zero-length frames add no bytes to a batch: the count alone must
        // send it, or the writer would never see one. Stopped by the cap.
        let options = ConvertOptions {
            framing: Framing::Varint,
            limits: Limits {
                max_decompressed_bytes: 1 << 20,
                ..Limits::default()
            },
            ..ConvertOptions::default()
        };
        let mut out = Vec::new();
        let err = Converter::new(click_plan(), options)
            .convert(std::io::repeat(0), &mut out, &Progress::default())
            .unwrap_err();
        assert!(matches!(err, ConvertError::TooLarge { .. }), "{err}");
        // A `{}` line per zero byte read before the cap.
        assert!(!out.is_empty() && out.len() <= 3 << 20, "{}", out.len());
        assert!(out.chunks(3).all(|line| line == b"{}\n"));
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

    /// `--skip-invalid` skips messages that are there but do not convert;
    /// it never turns a stream that ends early into a shorter output: a
    /// varint stream without its last 5 bytes gave 299 of 300 lines and
    /// no error.
    #[test]
    fn skip_invalid_never_hides_a_truncated_stream() {
        let messages = clicks(300);
        let full = frame_varint(&messages);
        let last = frame_varint(&messages[..299]).len() as u64;
        let options = ConvertOptions {
            framing: Framing::Varint,
            skip_invalid: true,
            ..ConvertOptions::default()
        };
        let mut out = Vec::new();
        let err = Converter::new(click_plan(), options)
            .convert(&full[..full.len() - 5], &mut out, &Progress::default())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "frame 299 at byte {last} is truncated: its prefix says {} bytes but the input ends after {}",
                messages[299].len(),
                messages[299].len() - 5
            )
        );
        assert!(out == expected_ndjson(&messages[..299]));
        // In fixed32, a cut inside the last prefix.
        let fixed = frame_fixed32(&messages[..10]);
        let cut = frame_fixed32(&messages[..9]).len() + 2;
        let options = ConvertOptions {
            framing: Framing::Fixed32,
            ..options
        };
        let result = Converter::new(click_plan(), options).convert(
            &fixed[..cut],
            Vec::new(),
            &Progress::default(),
        );
        assert!(
            matches!(
                result,
                Err(ConvertError::Frame {
                    index: 9,
                    kind: crate::FrameErrorKind::TruncatedPrefix { .. },
                    ..
                })
            ),
            "{result:?}"
        );
    }

    /// A frame claiming 4 GiB in the middle of a stream swallowed the rest
    /// of it and was reported only as over the limit: skipped, it is read
    /// past, and the input ending inside it is the error, at its offset.
    #[test]
    fn skip_invalid_stops_at_an_oversized_frame_the_input_cannot_hold() {
        let messages = clicks(300);
        let mut input = frame_varint(&messages[..150]);
        let at = input.len() as u64;
        prost::encoding::encode_varint(1 << 32, &mut input);
        let rest = frame_varint(&messages[150..]);
        input.extend(&rest);
        let options = ConvertOptions {
            framing: Framing::Varint,
            skip_invalid: true,
            ..ConvertOptions::default()
        };
        let mut out = Vec::new();
        let err = Converter::new(click_plan(), options)
            .convert(&input[..], &mut out, &Progress::default())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "frame 150 at byte {at} is truncated: its prefix says 4294967296 bytes but the input ends after {}",
                rest.len()
            )
        );
        assert!(out == expected_ndjson(&messages[..150]));
    }

    /// A message whose JSON is over the line limit is an error naming it
    /// (not a line of any size), or skipped with `skip_invalid`.
    #[test]
    fn a_message_over_the_line_limit_is_an_error_or_skipped() {
        let mut messages = clicks(20);
        // 200,000 empty tags: 400 KB of wire data, 600 KB of JSON.
        messages[7] = [0x1a, 0x00].repeat(200_000);
        let input = frame_varint(&messages);
        let offset = frame_varint(&messages[..7]).len() as u64 + 3;
        let limits = Limits {
            max_line_bytes: 256 << 10,
            ..Limits::default()
        };
        let options = ConvertOptions {
            framing: Framing::Varint,
            limits,
            ..ConvertOptions::default()
        };
        let (out, result) = convert_on(2, &input, options);
        let err = result.unwrap_err();
        assert!(
            matches!(
                &err,
                ConvertError::LineTooLong { index: 7, offset: o, limit, .. }
                    if *o == offset && *limit == 256 << 10
            ),
            "{err}"
        );
        assert!(
            err.to_string().starts_with(&format!(
                "message 7 at byte {offset} makes a JSON line over the 256 KiB limit (PROTOLAND_MAX_LINE_BYTES, --max-line-bytes), at byte "
            )),
            "{err}"
        );
        assert_eq!(err.message_index(), Some(7));
        assert!(out == expected_ndjson(&messages[..7]));
        let options = ConvertOptions {
            skip_invalid: true,
            ..options
        };
        let (out, report) = convert_on(2, &input, options);
        let report = report.unwrap();
        assert_eq!((report.messages, report.skipped), (19, 1));
        let mut good = messages.clone();
        good.remove(7);
        assert!(out == expected_ndjson(&good));
    }

    /// Batches whose JSON is many times their input (strings of control
    /// characters print six bytes a byte) go out in chunks, and lines
    /// longer than a chunk are handed over one at a time: the output is
    /// the same, in order, whatever the threads.
    #[test]
    fn json_many_times_the_input_goes_out_in_order_in_chunks() {
        let tag = |n: usize| {
            let mut t = vec![0x1a];
            prost::encoding::encode_varint(n as u64, &mut t);
            t.extend(std::iter::repeat_n(0x01, n));
            t
        };
        let mut messages: Vec<Vec<u8>> = (0..6000).map(|i| tag(16).repeat(1 + i % 12)).collect();
        // Lines of 1.2 and 3 MB, longer than a chunk.
        messages[100] = tag(200_000);
        messages[3000] = tag(500_000);
        messages[3001] = tag(200_000);
        let input = frame_varint(&messages);
        let expected = expected_ndjson(&messages);
        assert!(expected.len() > 8 * JSON_CHUNK, "{}", expected.len());
        for threads in [1, 2, 3] {
            let (out, report) = convert_on(threads, &input, ConvertOptions::default());
            assert_eq!(report.unwrap().messages, 6000);
            assert!(out == expected, "{threads} threads");
        }
    }

    /// A window of zero bytes is not detected as empty messages (10 GiB
    /// of zeros read as fixed32 printed a `{}` per 4 bytes); an explicit
    /// framing still reads it.
    #[test]
    fn a_window_of_zeros_is_not_detected_as_empty_messages() {
        let err = convert(&[0; 100], ConvertOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no framing fits the input: the input's 100 bytes are all zero, which varint and fixed32 would read as empty messages (give the framing if that is what it holds)"
        );
        let zeros = gzip(&vec![0; 3 << 20]);
        let err = convert(&zeros, ConvertOptions::default()).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "no framing fits the input: the input's first 1048576 bytes are all zero,"
            ),
            "{err}"
        );
        let options = ConvertOptions {
            framing: Framing::Fixed32,
            ..ConvertOptions::default()
        };
        let (out, report) = convert(&[0; 8], options).unwrap();
        assert_eq!((out, report.messages), (b"{}\n{}\n".to_vec(), 2));
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
