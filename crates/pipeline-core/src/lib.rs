//! The pipeline's decisions, without I/O: what an event means, which route
//! and which landing key an object gets, which settings hold, how an object
//! ended and what an invocation answers. `protoland-pipeline` does the I/O
//! (object stores, the batch handler, the SQS worker, backfills) around them;
//! everything here is unit-tested and fuzzed without a server.
//!
//! - Events ([`Invocation`]): SQS, SNS, EventBridge, S3 notifications and S3
//!   Batch Operations tasks, down to the objects they name ([`ObjectRef`]).
//! - Routes ([`RouteSpec`]): a message type per key glob ([`Glob`]).
//! - Landing keys ([`KeyTemplate`]).
//! - Settings ([`Settings`]) from `PROTOLAND_*` variables or from flags, with
//!   their [`Location`]s, sizes, durations and booleans read by one parser
//!   ([`parse_size`], [`parse_duration`], [`parse_bool`]).
//! - Outcomes ([`ObjectOutcome`]), responses ([`Response`]) and the metrics
//!   line of a batch ([`BatchStats`]).
//! - The source record on what protoland writes ([`SourceRecord`]).
//!
//! ```
//! use protoland_pipeline_core::{
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
//! # Ok::<(), protoland_pipeline_core::EventError>(())
//! ```

mod config;
mod events;
mod glob;
mod landing;
mod location;
mod metrics;
mod outcome;
mod provenance;
mod response;
mod routes;
mod units;

pub use crate::config::{
    BadObjectPolicy, ConfigError, LAMBDA_MAX_TIMEOUT, MAX_PART_SIZE, MIN_PART_SIZE,
    MetricsSettings, MissingPolicy, SQS_MAX_VISIBILITY_TIMEOUT, SQS_MAX_WAIT_TIME, SchemaSource,
    Settings, ValueKind, check_retry_delay, check_visibility_timeout, check_wait_time, value_kind,
    vars,
};
pub use crate::events::{
    BatchInvocation, BatchTask, EventError, Invocation, ObjectRef, QueueMessage, Record,
    check_bucket, form_decode, parse_body, parse_notification, printable,
};
pub use crate::glob::{Glob, GlobError};
pub use crate::landing::{
    DEFAULT_TEMPLATE, KeyInputs, KeyTemplate, OutputCompression, TemplateError, output_extension,
    strip_suffixes,
};
pub use crate::location::{Backoff, Location, RequestRetry, StorageOptions};
pub use crate::metrics::BatchStats;
pub use crate::outcome::{ObjectOutcome, UploadKind};
pub use crate::provenance::{Occupant, SourceId, SourceKind, SourceRecord, digest};
pub use crate::response::{
    BatchItemFailure, BatchOperationsResponse, BatchTaskResult, DirectResponse, Response,
    SqsBatchResponse,
};
pub use crate::routes::{RouteError, RouteSpec, find_route, parse_routes};
// The output format is the converter's; the landing key's extension and
// the settings name it too.
pub use crate::units::{
    UnitError, format_duration, format_size, parse_bool, parse_duration, parse_size, parse_window,
};
pub use protoland_stream::OutputFormat;
