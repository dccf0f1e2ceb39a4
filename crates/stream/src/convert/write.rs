//! The calling thread: each batch's output written in stream order (to a
//! [`Sink`]: NDJSON to a writer, or rows to a Parquet file), the budget
//! given back as it goes out.

use std::io::Write;
use std::sync::atomic::Ordering;

use crossbeam_channel::{Receiver, Sender};

use super::batch::Chunk;
use super::memory::KEEP_JSON;
use super::options::{ConvertOptions, MAX_REPORTED_SKIPS, Progress, skippable};
use crate::error::ConvertError;

/// What the writing side learned.
#[derive(Debug, Default)]
pub(super) struct WriteSummary {
    pub(super) messages: u64,
    pub(super) skipped: u64,
    pub(super) first_skipped: Vec<ConvertError>,
    pub(super) bytes_out: u64,
}

/// Where a failure that stops the conversion cuts a chunk: the messages
/// before it, and for JSON lines their bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cut {
    pub(super) json_len: usize,
    pub(super) messages: u64,
}

/// Where the calling thread puts each chunk's messages, in stream order.
pub(super) trait Sink<T> {
    /// Writes the chunk's messages, or those before `cut` only; returns
    /// the bytes written (none, for output that goes out later).
    ///
    /// # Errors
    ///
    /// [`ConvertError::Write`]; the conversion stops there, unflushed.
    fn put(&mut self, out: T, cut: Option<Cut>) -> Result<u64, ConvertError>;

    /// After the last chunk, or a message error that stops the conversion
    /// (what came before it is kept).
    ///
    /// # Errors
    ///
    /// [`ConvertError::Write`].
    fn flush(&mut self) -> Result<(), ConvertError>;
}

/// NDJSON: the lines straight to the writer, their buffers back to the
/// transcoding threads.
pub(super) struct Ndjson<'w, W> {
    pub(super) output: &'w mut W,
    pub(super) free_json: Sender<Vec<u8>>,
}

impl<W: Write> Sink<Vec<u8>> for Ndjson<'_, W> {
    fn put(&mut self, json: Vec<u8>, cut: Option<Cut>) -> Result<u64, ConvertError> {
        let written = cut.map_or(json.len(), |cut| cut.json_len);
        // Part of it may have been written on error: nothing more, and no
        // flush.
        self.output
            .write_all(&json[..written])
            .map_err(ConvertError::Write)?;
        if json.capacity() <= KEEP_JSON {
            let _ = self.free_json.try_send(json);
        }
        Ok(written as u64)
    }

    fn flush(&mut self) -> Result<(), ConvertError> {
        self.output.flush().map_err(ConvertError::Write)
    }
}

/// The calling thread: writes each batch's output in stream order.
pub(super) fn write_stage<T>(
    order: Receiver<Receiver<Chunk<T>>>,
    give_back: Sender<()>,
    options: ConvertOptions,
    sink: &mut impl Sink<T>,
    progress: &Progress,
) -> Result<WriteSummary, ConvertError> {
    let mut summary = WriteSummary::default();
    let mut result = Ok(());
    'batches: while let Ok(pending) = order.recv() {
        // The batch's chunks, up to the last.
        loop {
            let Ok(chunk) = pending.recv() else {
                // A transcoding thread dropped the batch: it panicked, and
                // `convert` re-raises the panic after joining it.
                break 'batches;
            };
            let mut cut = None;
            let mut messages = chunk.messages;
            for failure in chunk.failures {
                if options.skip_invalid && skippable(&failure.error) {
                    summary.skipped += 1;
                    if summary.first_skipped.len() < MAX_REPORTED_SKIPS {
                        summary.first_skipped.push(failure.error);
                    }
                } else {
                    cut = Some(Cut {
                        json_len: failure.json_len,
                        messages: failure.messages,
                    });
                    messages = failure.messages;
                    result = Err(failure.error);
                    break;
                }
            }
            let (last, units) = (chunk.last, chunk.units);
            // The messages before an error are written too: what was
            // converted is kept, in order, and the error says where it
            // stopped.
            summary.bytes_out += sink.put(chunk.out, cut)?;
            summary.messages += messages;
            progress.messages.fetch_add(messages, Ordering::Relaxed);
            if result.is_err() {
                break 'batches;
            }
            for _ in 0..units {
                let _ = give_back.try_send(());
            }
            if last {
                break;
            }
        }
    }
    sink.flush()?;
    result.map(|()| summary)
}
