//! The one error type of this layer, [`ConvertError`], and its coordinates.

use std::fmt;
use std::io;

use protoland_columnar::ColumnarError;
use protoland_transcode::{ErrorKind, TranscodeError};

use crate::settings::{Compression, Framing};

/// Why converting (or inspecting) a stream failed, and where.
///
/// Offsets are byte positions: in the compressed input for
/// [`ConvertError::Decompress`], in the decompressed stream for everything
/// else. Message and frame indexes count from 0.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// Reading the input failed (a network or disk error; may be transient).
    #[error("reading the input failed")]
    Read(#[source] io::Error),
    /// The compressed data is corrupt, truncated, fails its checksum or is
    /// followed by trailing data.
    #[error("{compression} input at byte {offset}: {message}")]
    Decompress {
        compression: Compression,
        /// Compressed bytes consumed when the problem was found (for zstd,
        /// where the block of input being decoded starts: the problem lies
        /// within the next 64 KiB).
        offset: u64,
        message: String,
    },
    /// The decompressed data is larger than
    /// [`Limits::max_decompressed_bytes`](crate::Limits::max_decompressed_bytes):
    /// a decompression bomb, or a limit set too low.
    #[error("decompressed data is over the {} limit", Size(*.limit))]
    TooLarge { limit: u64 },
    /// The decompressed data is more than
    /// [`Limits::max_compression_ratio`](crate::Limits::max_compression_ratio)
    /// times the compressed bytes read (past
    /// [`RATIO_GRACE`](crate::RATIO_GRACE)): a decompression bomb, or data
    /// more repetitive than the limit allows.
    #[error(
        "decompressed data is over {ratio} times its compressed size ({decompressed} bytes from {compressed}), the limit that stops decompression bombs (PROTOLAND_MAX_COMPRESSION_RATIO, --max-compression-ratio)"
    )]
    TooCompressed {
        ratio: u64,
        compressed: u64,
        decompressed: u64,
    },
    /// A frame is over the size limit, truncated or has an invalid length
    /// prefix.
    #[error("frame {index} at byte {offset} {kind}")]
    Frame {
        index: u64,
        /// Where the frame (its length prefix) starts.
        offset: u64,
        kind: FrameErrorKind,
    },
    /// `auto` framing found no layout that parses; `reason` says how each
    /// one failed.
    #[error("no framing fits the input: {reason}")]
    Detect { reason: String },
    /// A message does not decode against the schema.
    #[error("message {index} at byte {offset} does not decode")]
    Transcode {
        index: u64,
        /// Where the message's bytes start (after its length prefix); the
        /// source's offset counts from there.
        offset: u64,
        source: TranscodeError,
    },
    /// A message's JSON is longer than
    /// [`Limits::max_line_bytes`](crate::Limits::max_line_bytes), or its
    /// fields out of order need more working memory than that: found while
    /// writing it, at byte `at` of the message, in `field_path`.
    #[error(
        "message {index} at byte {offset} makes a {} over the {} limit (PROTOLAND_MAX_LINE_BYTES, --max-line-bytes), at byte {at}{}",
        if *.row { "Parquet row" } else { "JSON line" },
        Size(*.limit),
        InField(field_path)
    )]
    LineTooLong {
        /// A Parquet row's column buffers (true) or a JSON line.
        row: bool,
        index: u64,
        /// Where the message's bytes start (after its length prefix).
        offset: u64,
        limit: u64,
        /// Where in the message writing stopped.
        at: u64,
        field_path: String,
    },
    /// Writing the output failed (may be transient).
    #[error("writing the output failed")]
    Write(#[source] io::Error),
    /// The Parquet writer failed on its own (the output's I/O errors are
    /// [`ConvertError::Write`]).
    #[error(transparent)]
    Parquet(ColumnarError),
}

/// What is wrong with a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameErrorKind {
    /// The length prefix announces more than
    /// [`Limits::max_frame_bytes`](crate::Limits::max_frame_bytes); nothing
    /// was allocated for it.
    #[error("is {length} bytes, over the {} limit", Size(*.limit))]
    TooLarge { length: u64, limit: u64 },
    /// `single` framing: the whole stream is longer than the frame limit.
    #[error("(the whole input as a single message) is over the {} limit", Size(*.limit))]
    SingleTooLarge { limit: u64 },
    /// The stream ends before the frame does.
    #[error("is truncated: its prefix says {length} bytes but the input ends after {available}")]
    Truncated { length: u64, available: u64 },
    /// The stream ends inside a length prefix.
    #[error("is truncated: the input ends inside its {framing} length prefix ({available} bytes)")]
    TruncatedPrefix { framing: Framing, available: u64 },
    /// A varint length prefix longer than 10 bytes or over 64 bits.
    #[error("has an invalid varint length prefix")]
    InvalidPrefix,
}

impl FrameErrorKind {
    /// Whether reading can go on after this error with the next frame, so
    /// that `--skip-invalid` may skip it: only a frame over the size limit,
    /// whose length is known, so reading goes on after it (if the input
    /// ends before that length, that is a [`FrameErrorKind::Truncated`]
    /// error of the same frame). A stream that ends inside a frame or its
    /// prefix has lost data, and after an invalid prefix nothing can be
    /// trusted: those always end the conversion with an error.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            FrameErrorKind::TooLarge { .. } | FrameErrorKind::SingleTooLarge { .. }
        )
    }
}

impl ConvertError {
    /// Message `index` (its bytes from `offset`) failed to convert with
    /// `source`: over the line limit `limit` (a JSON line, or a Parquet
    /// row's column buffers), or anything else the decoder rejects.
    pub(crate) fn message(
        index: u64,
        offset: u64,
        limit: u64,
        source: TranscodeError,
    ) -> ConvertError {
        let row = match source.kind {
            ErrorKind::LineTooLong { .. } => false,
            ErrorKind::RowTooLarge { .. } => true,
            _ => {
                return ConvertError::Transcode {
                    index,
                    offset,
                    source,
                };
            }
        };
        ConvertError::LineTooLong {
            row,
            index,
            offset,
            limit,
            at: source.offset as u64,
            field_path: source.field_path,
        }
    }

    /// Whether retrying the same input may succeed: only input or output I/O
    /// errors (timeouts, resets, throttling), never anything about the data.
    pub fn is_transient(&self) -> bool {
        match self {
            ConvertError::Read(e) | ConvertError::Write(e) => !matches!(
                e.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput
            ),
            _ => false,
        }
    }

    /// The index of the frame or message the error is about.
    pub fn message_index(&self) -> Option<u64> {
        match self {
            ConvertError::Frame { index, .. }
            | ConvertError::Transcode { index, .. }
            | ConvertError::LineTooLong { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// The byte offset the error is about: in the compressed input for
    /// [`ConvertError::Decompress`], else in the decompressed stream (frame
    /// start for [`ConvertError::Frame`], message start for
    /// [`ConvertError::Transcode`]).
    pub fn offset(&self) -> Option<u64> {
        match self {
            ConvertError::Decompress { offset, .. }
            | ConvertError::Frame { offset, .. }
            | ConvertError::Transcode { offset, .. }
            | ConvertError::LineTooLong { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// The path of fields where decoding failed (`page.items[2].price`), when
    /// known and not the top level.
    pub fn field_path(&self) -> Option<&str> {
        match self {
            ConvertError::Transcode { source, .. } if !source.field_path.is_empty() => {
                Some(&source.field_path)
            }
            ConvertError::LineTooLong { field_path, .. } if !field_path.is_empty() => {
                Some(field_path)
            }
            _ => None,
        }
    }

    /// Wraps this error in an [`io::Error`] so it can pass through a
    /// [`std::io::Read`] implementation; [`ConvertError::from_io`] unwraps it
    /// again.
    pub fn into_io(self) -> io::Error {
        match self {
            ConvertError::Read(e) => e,
            other => {
                let kind = if other.is_transient() {
                    io::ErrorKind::Other
                } else {
                    io::ErrorKind::InvalidData
                };
                io::Error::new(kind, other)
            }
        }
    }

    /// The [`ConvertError`] inside an [`io::Error`] made by
    /// [`ConvertError::into_io`], or [`ConvertError::Read`] for any other
    /// I/O error.
    pub fn from_io(e: io::Error) -> ConvertError {
        if e.get_ref().is_some_and(|inner| inner.is::<ConvertError>()) {
            match e.into_inner().map(|inner| inner.downcast::<ConvertError>()) {
                Some(Ok(inner)) => *inner,
                // Unreachable after the check above; keep the error anyway.
                Some(Err(other)) => ConvertError::Read(io::Error::other(other)),
                None => ConvertError::Read(io::Error::other("unknown input error")),
            }
        } else {
            ConvertError::Read(e)
        }
    }
}

/// A byte count for messages: `64 MiB` when it is a whole number of binary
/// units, else `1000 bytes`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size(pub(crate) u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 4] = [
            (1 << 40, "TiB"),
            (1 << 30, "GiB"),
            (1 << 20, "MiB"),
            (1 << 10, "KiB"),
        ];
        let n = self.0;
        for (unit, name) in UNITS {
            if n >= unit && n.is_multiple_of(unit) {
                return write!(f, "{} {name}", n / unit);
            }
        }
        if n == 1 {
            f.write_str("1 byte")
        } else {
            write!(f, "{n} bytes")
        }
    }
}

/// ` in field `path``, or nothing for the top level.
struct InField<'a>(&'a str);

impl fmt::Display for InField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, " in field `{}`", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_in_binary_units_when_exact() {
        assert_eq!(Size(64 << 20).to_string(), "64 MiB");
        assert_eq!(Size(64 << 30).to_string(), "64 GiB");
        assert_eq!(Size(1536).to_string(), "1536 bytes");
        assert_eq!(Size(1).to_string(), "1 byte");
        assert_eq!(Size(0).to_string(), "0 bytes");
    }

    #[test]
    fn frame_error_reads_as_one_sentence() {
        let e = ConvertError::Frame {
            index: 12,
            offset: 40961,
            kind: FrameErrorKind::TooLarge {
                length: 80_000_000,
                limit: 64 << 20,
            },
        };
        assert_eq!(
            e.to_string(),
            "frame 12 at byte 40961 is 80000000 bytes, over the 64 MiB limit"
        );
        assert_eq!(e.message_index(), Some(12));
        assert_eq!(e.offset(), Some(40961));
        assert!(!e.is_transient());
    }

    #[test]
    fn io_errors_are_transient_data_errors_are_not() {
        let reset = ConvertError::Read(io::Error::from(io::ErrorKind::ConnectionReset));
        assert!(reset.is_transient());
        let bad = ConvertError::Read(io::Error::from(io::ErrorKind::InvalidData));
        assert!(!bad.is_transient());
        assert!(!ConvertError::TooLarge { limit: 1 }.is_transient());
    }

    #[test]
    fn round_trips_through_io_error() {
        let e = ConvertError::TooLarge { limit: 10 }.into_io();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(matches!(
            ConvertError::from_io(e),
            ConvertError::TooLarge { limit: 10 }
        ));
        let plain = io::Error::from(io::ErrorKind::TimedOut);
        assert!(matches!(
            ConvertError::from_io(plain),
            ConvertError::Read(_)
        ));
    }
}
