//! The calling thread: each batch's lines written in stream order, the
//! budget given back as they go out.

use std::io::Write;
use std::sync::atomic::Ordering;

use crossbeam_channel::{Receiver, Sender};

use super::batch::Lines;
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

/// The calling thread: writes each batch's lines in stream order.
pub(super) fn write_stage<W: Write>(
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
