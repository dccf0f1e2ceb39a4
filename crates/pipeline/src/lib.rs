//! The serverless pipeline: S3 notifications in, NDJSON landing objects out.
//!
//! An event names objects ([`events`]); each object's key picks a message
//! type ([`routes`]) and its landing key ([`landing`]); the object is
//! streamed from its store, converted by `protoland-stream` and uploaded to
//! the landing location ([`storage`]); every message of the event gets an
//! outcome ([`handler`]) and every batch a metrics line ([`metrics`]). The
//! same [`handler::Pipeline`] serves the Lambda function, the SQS
//! [`worker`] (feature `sqs`) and [`backfill`]s. Settings come from
//! `PROTOLAND_*` variables or from flags ([`config`]), their sizes, durations
//! and booleans read by one parser ([`units`]).
//!
//! Main types: [`Settings`], [`Pipeline`], [`Invocation`], [`Response`].
//!
//! ```
//! use protoland_pipeline::events::{Invocation, Record};
//! use protoland_pipeline::landing::{KeyInputs, KeyTemplate, OutputCompression};
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
//! });
//! assert_eq!(key, "ndjson/clicks/a b.pb.gz.ndjson.gz");
//! # Ok::<(), protoland_pipeline::events::EventError>(())
//! ```

pub mod backfill;
pub mod config;
pub mod events;
mod glob;
pub mod handler;
pub mod landing;
pub mod memory;
pub mod metrics;
pub mod provenance;
pub mod routes;
pub mod storage;
mod symlinks;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod units;
#[cfg(feature = "sqs")]
pub mod worker;

pub use config::{ConfigError, Settings};
pub use events::Invocation;
pub use handler::{Pipeline, Response};
