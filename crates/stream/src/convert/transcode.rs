//! A transcoding thread: batches of frames in, chunks of JSON lines out.

use crossbeam_channel::{Receiver, Sender};
use protoland_transcode::Plan;

use super::batch::{Batch, Item, Job, Lines};
use super::memory::{JSON_CHUNK, budget_units};
use super::options::ConvertOptions;
use crate::error::ConvertError;

/// A transcoding thread: batches in, JSON lines out, until the reader
/// thread is done.
pub(super) fn transcode_stage(
    plan: &Plan,
    options: ConvertOptions,
    jobs: &Receiver<Job<Vec<u8>>>,
    free_batches: &Sender<Batch>,
    free_json: &Receiver<Vec<u8>>,
) {
    while let Ok((mut batch, reply)) = jobs.recv() {
        transcode_batch(plan, options, &mut batch, &reply, free_json);
        batch.recycle(free_batches);
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
            out: json,
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
                match plan.transcode_limited(frame, &mut lines.out, max_line) {
                    Ok(()) => {
                        lines.out.push(b'\n');
                        lines.messages += 1;
                        if lines.out.len() >= JSON_CHUNK && k + 1 < items {
                            let long = lines.out.len() > 2 * JSON_CHUNK;
                            let next = chunk(free_json, batch.data.len() - start);
                            if !std::mem::replace(&mut lines, next).hand_over(reply, long) {
                                return;
                            }
                        }
                        continue;
                    }
                    Err(source) => {
                        ConvertError::message(index, offset, options.limits.max_line_bytes, source)
                    }
                }
            }
            Item::Error(e) => e,
        };
        let json_len = lines.out.len();
        if lines.fail(error, json_len, options.skip_invalid) {
            break;
        }
    }
    lines.last = true;
    lines.units = budget_units(batch.data.len());
    let long = lines.out.len() > 2 * JSON_CHUNK;
    lines.hand_over(reply, long);
}
