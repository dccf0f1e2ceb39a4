//! A transcoding thread for Parquet: batches of frames in, chunks of rows
//! (Arrow record batches, built by a [`RowsBuilder`]) out.

use arrow_array::RecordBatch;
use crossbeam_channel::{Receiver, Sender};
use protoland_columnar::{Columns, RowsBuilder};

use super::batch::{Batch, Chunk, Item, Job};
use super::memory::{ROWS_CHUNK, budget_units};
use super::options::ConvertOptions;
use crate::error::ConvertError;

/// Frames below this size are small enough that the chunk's size is
/// checked only every eighth of them.
const SMALL_FRAME: usize = 4096;

/// A chunk of rows (none when every message of it failed).
pub(super) type Rows = Chunk<Option<RecordBatch>>;

/// A transcoding thread: batches in, rows out, until the reader thread is
/// done. One [`RowsBuilder`] a thread, reused from batch to batch.
pub(super) fn rows_stage(
    columns: &Columns,
    options: ConvertOptions,
    jobs: &Receiver<Job<Option<RecordBatch>>>,
    free_batches: &Sender<Batch>,
) {
    // A row may take the line limit (what the memory budget counts for
    // it) on top of the chunk buffered before it.
    let max_row = usize::try_from(options.limits.max_line_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(ROWS_CHUNK);
    let mut builder = RowsBuilder::new(columns).with_max_row_bytes(max_row);
    while let Ok((mut batch, reply)) = jobs.recv() {
        rows_batch(&mut builder, options, &mut batch, &reply);
        batch.recycle(free_batches);
    }
}

/// Appends the frames of `batch` as rows, sent to `reply` in chunks of
/// about [`ROWS_CHUNK`] bytes of Arrow buffers (the last one marked),
/// noting errors where they occur; without `skip_invalid`, stops at the
/// first. A message that fails leaves no row (the builder cuts back to the
/// last whole one). Returns early when the writer has stopped; the builder
/// is empty whenever this returns.
fn rows_batch(
    builder: &mut RowsBuilder,
    options: ConvertOptions,
    batch: &mut Batch,
    reply: &Sender<Rows>,
) {
    let mut rows = Rows::default();
    let mut start = 0;
    let items = batch.items.len();
    for (k, item) in batch.items.drain(..).enumerate() {
        let error = match item {
            Item::Frame { index, offset, end } => {
                let frame = &batch.data[start..end];
                start = end;
                match builder.append(frame) {
                    Ok(()) => {
                        rows.messages += 1;
                        // Summing every column's buffers costs more than a
                        // small message's row: small ones are counted in
                        // eights (a chunk overshoots by at most seven rows).
                        if frame.len() < SMALL_FRAME && !rows.messages.is_multiple_of(8) {
                            continue;
                        }
                        let buffered = builder.buffered_bytes();
                        if buffered >= ROWS_CHUNK && k + 1 < items {
                            rows.out = Some(builder.finish());
                            let full = std::mem::take(&mut rows);
                            if !full.hand_over(reply, buffered > 2 * ROWS_CHUNK) {
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
        if rows.fail(error, 0, options.skip_invalid) {
            break;
        }
    }
    let long = builder.buffered_bytes() > 2 * ROWS_CHUNK;
    if !builder.is_empty() {
        rows.out = Some(builder.finish());
    }
    rows.last = true;
    rows.units = budget_units(batch.data.len());
    rows.hand_over(reply, long);
}
