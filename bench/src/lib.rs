//! protoland's benchmark: the data generator and the two baselines that are
//! small Rust programs (`inflate`, the physical limit; `reflect-json`, the
//! obvious prost-reflect + serde_json approach).
//!
//! The harness that builds and runs every contender is `bench/run`; see
//! docs/bench/README.md.
//!
//! ```
//! use protoland_bench::generate::{generate, Compression, Dataset, Framing, Limit, Spec};
//!
//! let spec = Spec {
//!     dataset: Dataset::Clicks,
//!     seed: 1,
//!     limit: Limit::Messages(10),
//!     framing: Framing::Varint,
//!     compression: Compression::Gzip,
//!     member_bytes: None,
//! };
//! let mut gz = Vec::new();
//! let summary = generate(&spec, 1, &mut gz)?;
//! assert_eq!(summary.messages, 10);
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod clicks;
pub mod frames;
pub mod generate;
pub mod rng;
pub mod telemetry;
pub mod wire;
