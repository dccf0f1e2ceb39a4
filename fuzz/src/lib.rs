//! The checks behind protoland's fuzz targets, one module per
//! target, shared by the libFuzzer binaries in `fuzz_targets/` and by the
//! corpus test in `tests/corpus.rs` (which CI runs).
//!
//! - [`transcode`]: arbitrary bytes against every message type of
//!   `testdata/schemas` and the well-known types, with every option set:
//!   no panic, valid JSON on success, the buffer untouched on error,
//!   bounded allocation, and the same JSON values as prost-reflect
//!   whenever prost-reflect accepts the bytes (except the listed classes
//!   where Google, protoland's reference, differs from prost-reflect).
//! - [`framing`]: arbitrary bytes, read in arbitrary splits, through
//!   `Decompressor`, `Framer` and `Converter` with small caps: no panic,
//!   the same frames whatever the splits, caps and memory respected.
//! - [`events`]: arbitrary JSON into the pipeline's event parsing: no
//!   panic, the same result after a round trip through JSON text, and
//!   every object named has a bucket and a key.
//!
//! Each target reads its configuration from the first bytes of its input,
//! so that every input replays exactly (`fuzz/run` and the corpus test feed
//! the same bytes).

pub mod alloc;
pub mod compare;
pub mod events;
pub mod framing;
pub mod schema;
pub mod schemas;
pub mod transcode;
pub mod wire;
