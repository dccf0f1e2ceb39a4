//! What passes between the stages: batches of frames from the reader
//! thread, chunks of output (JSON lines, or rows) back from the
//! transcoding threads.

use crossbeam_channel::Sender;

use super::memory::KEEP_BATCH;
use super::options::skippable;
use crate::error::ConvertError;

/// Frames on their way from the reader thread to a transcoding thread, in
/// stream order, with the frame errors among them where they occurred.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// The frames' bytes, one after the other.
    pub(super) data: Vec<u8>,
    pub(super) items: Vec<Item>,
}

#[derive(Debug)]
pub(super) enum Item {
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

/// A chunk of a batch's output, on its way to the calling thread: JSON
/// lines ([`Lines`]) or rows.
#[derive(Debug, Default)]
pub(super) struct Chunk<T> {
    /// One line, or one row, per message converted.
    pub(super) out: T,
    pub(super) messages: u64,
    /// The chunk's errors, in stream order.
    pub(super) failures: Vec<Failure>,
    /// The batch's last chunk.
    pub(super) last: bool,
    /// Budget units the batch holds until its lines are written (in its
    /// last chunk).
    pub(super) units: usize,
}

/// A chunk of JSON lines.
pub(super) type Lines = Chunk<Vec<u8>>;

/// An error among a chunk's output: `messages` lines or rows came before
/// it (for lines, `out[..json_len]`).
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) json_len: usize,
    pub(super) messages: u64,
    pub(super) error: ConvertError,
}

impl Batch {
    /// Empties the batch and sends it back to the reader thread for reuse
    /// (drops it instead when it grew past [`KEEP_BATCH`], or when the way
    /// back is full).
    pub(super) fn recycle(mut self, free: &Sender<Batch>) {
        self.data.clear();
        self.items.clear();
        if self.data.capacity() <= KEEP_BATCH {
            let _ = free.try_send(self);
        }
    }
}

impl<T> Chunk<T> {
    /// Notes `error` after the chunk's messages so far (`json_len` bytes
    /// of JSON lines); whether it stops the batch (it does unless
    /// `skip_invalid` skips it).
    pub(super) fn fail(
        &mut self,
        error: ConvertError,
        json_len: usize,
        skip_invalid: bool,
    ) -> bool {
        let stop = !(skip_invalid && skippable(&error));
        self.failures.push(Failure {
            json_len,
            messages: self.messages,
            error,
        });
        stop
    }
}

impl<T: Default> Chunk<T> {
    /// Sends the chunk to the writer; for a `long` one (holding a line or
    /// row larger than a chunk), waits until the writer has taken it, so
    /// that a transcoding thread never leaves more than one long one
    /// behind it. `false` when the writer has stopped.
    pub(super) fn hand_over(self, reply: &Sender<Chunk<T>>, long: bool) -> bool {
        if reply.send(self).is_err() {
            return false;
        }
        // The channel holds one chunk: a second send waits until the
        // writer has received the first. (After the last chunk the writer
        // reads no more; the empty chunk stays in the channel, which is
        // then dropped.)
        !long || reply.send(Chunk::default()).is_ok()
    }
}

/// A batch for a transcoding thread, and where its output goes.
pub(super) type Job<T> = (Batch, Sender<Chunk<T>>);
