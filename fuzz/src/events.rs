//! Target `events`: arbitrary JSON into the pipeline's event parsing
//! (`protoland-pipeline-core`: `Invocation::from_value`, `parse_body`, `QueueMessage::from_body`):
//! SQS, SNS, EventBridge, S3 notifications and S3 Batch Operations.
//!
//! Input: byte 0 picks the mode, the rest is:
//! - mode 0: JSON text (any bytes), parsed by serde_json, then
//!   `Invocation::from_value`;
//! - mode 1: a recipe for a JSON value built from the events' own
//!   vocabulary (keys, event names, versions, encoded keys, nested bodies
//!   as JSON text), so the fuzzer reaches deep shapes without guessing
//!   every key, then `Invocation::from_value`;
//! - mode 2: an SQS message body (any bytes, as lossy UTF-8) through
//!   `parse_body` and `QueueMessage::from_body`.
//!
//! Checked for every input:
//! - no panic;
//! - parsing the value again after a round trip through JSON text gives
//!   the same result (nothing depends on more than the JSON value);
//! - an SQS event yields one message per record;
//! - every object to convert (`Record::Created`, a batch task's object)
//!   has a non-empty bucket and key, and `url()` names them (control
//!   characters escaped).

use serde_json::{Map, Value};

// The pipeline's core: event parsing without the S3 client stack.
use protoland_pipeline_core::{Invocation, ObjectRef, QueueMessage, Record, parse_body};

/// Keys that the event shapes use.
const KEYS: [&str; 34] = [
    "Records",
    "eventVersion",
    "eventSource",
    "eventName",
    "eventTime",
    "s3",
    "bucket",
    "name",
    "arn",
    "object",
    "key",
    "size",
    "versionId",
    "sequencer",
    "messageId",
    "body",
    "receiptHandle",
    "Sns",
    "Message",
    "Type",
    "Event",
    "detail-type",
    "detail",
    "version-id",
    "time",
    "source",
    "invocationSchemaVersion",
    "invocationId",
    "tasks",
    "taskId",
    "s3Key",
    "s3Bucket",
    "s3BucketArn",
    "s3VersionId",
];

/// Strings that the event shapes give meaning to, and a few edge cases.
const STRINGS: [&str; 26] = [
    "2.1",
    "2.0",
    "1.0",
    "3.0",
    "2",
    "aws:sqs",
    "aws:s3",
    "ObjectCreated:Put",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "ObjectRemoved:Delete",
    "Object Created",
    "Object Deleted",
    "Notification",
    "s3:TestEvent",
    "arn:aws:s3:::raw",
    "raw",
    "",
    "a+b%2Bc.pb",
    "%",
    "%ff%fe",
    "+",
    "null",
    "2026-11-29T09:00:00Z",
    "2026-11-29T09:00:00.123",
    "9999-99-99T99:99:99+99:99",
    "m-1",
];

/// Builds a JSON value from bytes (mode 1).
struct Recipe<'a> {
    data: &'a [u8],
}

impl Recipe<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn string(&mut self, depth: u32) -> String {
        let b = self.byte();
        match b % 4 {
            0 | 1 => STRINGS[usize::from(self.byte()) % STRINGS.len()].to_owned(),
            2 => {
                let n = usize::from(self.byte() % 16).min(self.data.len());
                let (raw, rest) = self.data.split_at(n);
                self.data = rest;
                String::from_utf8_lossy(raw).into_owned()
            }
            // A JSON document inside a string (an SQS body, an SNS Message).
            _ if depth < 4 => self.value(depth + 1).to_string(),
            _ => String::new(),
        }
    }

    fn value(&mut self, depth: u32) -> Value {
        let b = self.byte();
        let kind = if depth > 8 { b % 4 } else { b % 8 };
        match kind {
            0 => Value::Null,
            1 => Value::Bool(b & 0x80 != 0),
            2 => match self.byte() % 3 {
                0 => Value::from(self.byte()),
                1 => Value::from(u64::MAX - u64::from(self.byte())),
                _ => Value::from(-1.5 * f64::from(self.byte())),
            },
            3 => Value::String(self.string(depth)),
            4 => {
                let n = self.byte() % 4;
                Value::Array((0..n).map(|_| self.value(depth + 1)).collect())
            }
            _ => {
                let n = self.byte() % 6;
                let mut map = Map::new();
                for _ in 0..n {
                    let k = self.byte();
                    let key = if k < 240 {
                        KEYS[usize::from(k) % KEYS.len()].to_owned()
                    } else {
                        self.string(depth)
                    };
                    let value = self.value(depth + 1);
                    map.insert(key, value);
                }
                Value::Object(map)
            }
        }
    }
}

/// Builds the JSON value of a mode-1 input (for seeds and tests).
pub fn recipe_value(recipe: &[u8]) -> Value {
    Recipe { data: recipe }.value(0)
}

fn check_object(object: &ObjectRef, what: &str) {
    assert!(
        !object.bucket.is_empty() && !object.key.is_empty(),
        "{what} names an object with an empty bucket or key: {object:?}"
    );
    // url() is for log lines: it names the object with control characters
    // escaped (`printable`), so that a key can neither break a line nor
    // forge one.
    assert!(
        object.url().starts_with(&format!(
            "s3://{}/{}",
            protoland_pipeline_core::printable(&object.bucket),
            protoland_pipeline_core::printable(&object.key)
        )),
        "url() does not name the object: {}",
        object.url()
    );
}

fn check_records(records: &[Record], what: &str) {
    for record in records {
        if let Record::Created(object) = record {
            check_object(object, what);
        }
    }
}

fn check_invocation(invocation: &Invocation) {
    match invocation {
        Invocation::Sqs(messages) => {
            for m in messages {
                if let Ok(records) = &m.records {
                    check_records(records, "an SQS message");
                }
            }
        }
        Invocation::Direct(records) => check_records(records, "a direct event"),
        Invocation::Batch(batch) => {
            for task in &batch.tasks {
                if let Ok(object) = &task.object {
                    check_object(object, "a batch task");
                }
            }
        }
    }
}

fn check_value(value: Value) {
    let records = match &value {
        Value::Object(map) => map.get("Records").and_then(Value::as_array).map(Vec::len),
        _ => None,
    };
    let text = value.to_string();
    let first = Invocation::from_value(value);
    let again: Value = serde_json::from_str(&text).expect("serde_json reads what it writes");
    let second = Invocation::from_value(again);
    assert_eq!(
        first, second,
        "parsing depends on more than the JSON value: {text}"
    );
    if let Ok(invocation) = &first {
        if let (Invocation::Sqs(messages), Some(n)) = (invocation, records) {
            assert_eq!(messages.len(), n, "an SQS event lost records: {text}");
        }
        check_invocation(invocation);
    }
}

/// Runs the target on one input; panics on any violated property.
pub fn run(data: &[u8]) {
    let [mode, rest @ ..] = data else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(value) = serde_json::from_slice::<Value>(rest) {
                check_value(value);
            }
        }
        1 => check_value(recipe_value(rest)),
        _ => {
            let body = String::from_utf8_lossy(rest);
            let parsed = parse_body(&body);
            if let Ok(records) = &parsed {
                check_records(records, "an SQS body");
            }
            let message = QueueMessage::from_body("m-1", &body);
            assert_eq!(message.records, parsed, "from_body and parse_body differ");
        }
    }
}
