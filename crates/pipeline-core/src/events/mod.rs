//! What a Lambda invocation (or a queue message) asks for: which objects to
//! convert.
//!
//! Accepted shapes (see `docs/events.md`):
//!
//! - an SQS event whose record bodies are S3 event notifications, SNS
//!   envelopes around them, or EventBridge "Object Created" events;
//! - a direct S3 event notification, an SNS event (`Records[].Sns`) or an
//!   EventBridge event invoking the function;
//! - an S3 Batch Operations invocation (schema 1.0 and 2.0).
//!
//! Parsing is lenient about optional fields (emulators and older senders omit
//! `userIdentity`, `sequencer`, `size`, …) and strict about what conversion
//! needs: bucket, key, event name and major event version 2. A body that is
//! not a notification fails only its own message, never the batch.
//!
//! One concern a file: the shapes of an invocation (`invocation`), S3
//! notifications and their envelopes (`notification`), Batch Operations
//! (`batch`), the object an event names (`object`), reading JSON fields
//! (`json`) and the error (`error`).

mod batch;
mod error;
mod invocation;
mod json;
mod notification;
mod object;

pub use self::batch::{BatchInvocation, BatchTask};
pub use self::error::EventError;
pub use self::invocation::{Invocation, QueueMessage};
pub use self::notification::{Record, parse_body, parse_notification};
pub use self::object::{ObjectRef, check_bucket, form_decode, printable};
