//! What passes between the stages: batches of frames from the reader
//! thread, chunks of JSON lines back from the transcoding threads.

use crossbeam_channel::Sender;

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

/// A chunk of a batch's JSON lines, on its way to the calling thread.
#[derive(Debug, Default)]
pub(super) struct Lines {
    /// One line per message converted.
    pub(super) json: Vec<u8>,
    pub(super) messages: u64,
    /// The chunk's errors, in stream order.
    pub(super) failures: Vec<Failure>,
    /// The batch's last chunk.
    pub(super) last: bool,
    /// Budget units the batch holds until its lines are written (in its
    /// last chunk).
    pub(super) units: usize,
}

/// An error among a batch's lines: `json[..json_len]` (`messages` lines)
/// came before it.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) json_len: usize,
    pub(super) messages: u64,
    pub(super) error: ConvertError,
}

/// A batch for a transcoding thread, and where its lines go.
pub(super) type Job = (Batch, Sender<Lines>);
