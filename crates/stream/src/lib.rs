//! Protobuf objects as streams: decompression, framing, detection and
//! conversion to newline-delimited JSON, in bounded memory.
//!
//! The data flows through one module per step:
//!
//! - [`decompress`]: gzip (every member), zstd (every frame) or none,
//!   chosen by magic bytes, capped ([`Compression`], [`Decompressor`]);
//! - [`framing`]: single, varint- or fixed32-prefixed messages, capped and
//!   split-proof ([`Framing`], [`Framer`]);
//! - [`detect`]: which framing parses cleanly against the schema, and why;
//! - [`convert`]: the pipeline from bytes to NDJSON (decompression on one
//!   thread, transcoding on the others, output in order)
//!   ([`Converter`]);
//! - [`compress`]: gzip or zstd for the output ([`compress_writer`]);
//! - [`inspect`]: what an object is, for `protoland inspect`.
//!
//! Every error is a [`ConvertError`] with the coordinates (message index,
//! byte offset, field path) of what went wrong.
//!
//! ```
//! use protoland_schema::Schema;
//! use protoland_stream::{ConvertOptions, Converter, Framing, Progress};
//! use protoland_transcode::{JsonOptions, Plan};
//!
//! let schema = Schema::from_proto_source(
//!     "click.proto",
//!     r#"syntax = "proto3"; package acme; message Click { string url = 1; int64 user_id = 2; }"#,
//! )?;
//! let plan = Plan::new(&schema.message("acme.Click")?, JsonOptions::default());
//!
//! // Two varint-delimited messages: url = "/a", then user_id = 42.
//! let input: &[u8] = b"\x04\x0a\x02/a\x02\x10\x2a";
//! let mut output = Vec::new();
//! let report = Converter::new(plan, ConvertOptions::default())
//!     .convert(input, &mut output, &Progress::default())?;
//!
//! assert_eq!(output, b"{\"url\":\"/a\"}\n{\"userId\":\"42\"}\n");
//! assert_eq!(report.framing, Framing::Varint);
//! assert_eq!(report.messages, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod compress;
pub mod convert;
pub mod decompress;
pub mod detect;
mod error;
pub mod framing;
pub mod inspect;

pub use compress::{CompressWriter, compress_writer};
pub use convert::{ConvertOptions, ConvertReport, Converter, Progress};
pub use decompress::{Compression, Decompressor};
pub use detect::Detection;
pub use error::{ConvertError, FrameErrorKind, ParseSettingError};
pub use framing::{Frame, Framer, Framing};
pub use inspect::{InspectReport, inspect};

/// Caps that keep a hostile or broken input from exhausting memory or disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most decompressed bytes one input may produce. Default: 64 GiB,
    /// far above any sane object yet small enough to stop a decompression
    /// bomb before it fills a disk downstream.
    pub max_decompressed_bytes: u64,
    /// The longest frame (one message) accepted. Default: 64 MiB, which is
    /// protobuf's own historical default message size limit; a frame must
    /// be held in memory whole to be transcoded.
    pub max_frame_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed_bytes: 64 << 30,
            max_frame_bytes: 64 << 20,
        }
    }
}

#[cfg(test)]
mod testing;
