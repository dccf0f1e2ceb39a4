//! The reader thread: read, decompress and frame the input into batches,
//! each sent off once its budget is free.

use std::io::Read;
use std::sync::atomic::Ordering;

use crossbeam_channel::{Receiver, Sender};
use protoland_transcode::Plan;

use super::batch::{Batch, Chunk, Item, Job};
use super::memory::{BATCH, BATCH_FRAMES, budget_units};
use super::options::{ConvertOptions, Progress, skippable};
use crate::decompress::Decompressor;
use crate::framing::Framer;
use crate::settings::{Compression, Framing};

/// What the reader thread learned.
#[derive(Debug)]
pub(super) struct ReadSummary {
    pub(super) compression: Compression,
    pub(super) framing: Framing,
    pub(super) framing_reason: String,
    pub(super) bytes_in: u64,
    pub(super) bytes_decompressed: u64,
}

/// The reader thread's channels.
pub(super) struct ReadStage<'p, T> {
    pub(super) tokens: Receiver<()>,
    pub(super) jobs: Sender<Job<T>>,
    /// One receiver per batch, in stream order, for the writer.
    pub(super) order: Sender<Receiver<Chunk<T>>>,
    pub(super) free: Receiver<Batch>,
    pub(super) progress: &'p Progress,
}

impl<T> ReadStage<'_, T> {
    /// Decompresses and frames `input` into batches until the end, an error
    /// that ends the stream (sent as the last item) or the writer hanging
    /// up.
    pub(super) fn run<R: Read>(
        self,
        input: R,
        options: ConvertOptions,
        plan: &Plan,
    ) -> ReadSummary {
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
