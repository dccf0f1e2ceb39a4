//! The serverless pipeline: S3 notifications in, NDJSON landing objects out.
//!
//! The decisions (what an event means, which route and landing key an
//! object gets, the settings, outcomes, responses and metrics) are
//! `protoland-pipeline-core`'s, re-exported here; this crate does the I/O
//! around them. Each object is streamed from its store, converted by
//! `protoland-stream` and uploaded to the landing location ([`Stores`]);
//! every message of the event gets an outcome and every batch a metrics
//! line. The same [`Pipeline`] serves the Lambda function, the SQS worker
//! ([`run_worker`], feature `sqs`) and [`backfill`]s.
//!
//! Main types: [`Settings`], [`Pipeline`], [`Invocation`], [`Response`].
//!
//! ```
//! use protoland_pipeline::{
//!     Invocation, KeyInputs, KeyTemplate, OutputCompression, OutputFormat, Record,
//! };
//!
//! // An SQS event whose body is an S3 notification for `raw/clicks/a b.pb.gz`.
//! let body = r#"{"Records":[{"eventVersion":"2.1","eventName":"ObjectCreated:Put",
//!     "s3":{"bucket":{"name":"raw"},"object":{"key":"clicks/a+b.pb.gz"}}}]}"#;
//! let event = serde_json::json!({"Records": [{
//!     "messageId": "m-1", "eventSource": "aws:sqs", "body": body
//! }]});
//! let Invocation::Sqs(messages) = Invocation::from_value(event)? else { unreachable!() };
//! let Ok(records) = &messages[0].records else { unreachable!() };
//! let Record::Created(object) = &records[0] else { unreachable!() };
//! assert_eq!(object.key, "clicks/a b.pb.gz");
//!
//! // Where it lands by default.
//! let key = KeyTemplate::default().render(&KeyInputs {
//!     prefix: "ndjson",
//!     bucket: &object.bucket,
//!     key: &object.key,
//!     time: object.event_time,
//!     output: OutputCompression::Gzip,
//!     format: OutputFormat::Ndjson,
//! });
//! assert_eq!(key, "ndjson/clicks/a b.pb.gz.ndjson.gz");
//! # Ok::<(), protoland_pipeline::EventError>(())
//! ```

mod backfill;
mod handler;
mod memory;
mod provenance;
mod storage;
mod symlinks;
#[cfg(feature = "sqs")]
mod worker;

// Everything the core decides is part of this crate's API, so that the
// binaries depend on one crate.
pub use protoland_pipeline_core::*;

pub use crate::backfill::{BackfillOptions, BackfillSummary, ObjectOutcomeOrSkip, backfill};
pub use crate::handler::{Pipeline, SourceStore};
pub use crate::storage::{Listed, StorageError, Stores, UrlReader, list};
#[cfg(feature = "sqs")]
pub use crate::worker::{
    QueueDepth, WorkerError, WorkerOptions, WorkerSummary, queue_depth, run_worker,
    sqs_client_from_env,
};
