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

use chrono::{DateTime, Utc};
use percent_encoding::percent_decode;
use serde::Deserialize;
use serde_json::Value;

/// One object to convert, as named by an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub bucket: String,
    /// The key, decoded (`a b+c.pb`, not `a+b%2Bc.pb`).
    pub key: String,
    /// The object version, when the bucket is versioned and the event says.
    pub version_id: Option<String>,
    /// The size the event reports, if it does (informational only).
    pub size: Option<u64>,
    /// When the event happened; the key template's date placeholders use it.
    pub event_time: Option<DateTime<Utc>>,
}

impl ObjectRef {
    /// A reference with only bucket and key (backfills, tests).
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> ObjectRef {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            version_id: None,
            size: None,
            event_time: None,
        }
    }

    /// `s3://bucket/key` (with `?versionId=` when versioned), for logs and
    /// errors: control characters escaped (see [`printable`]).
    pub fn url(&self) -> String {
        let (bucket, key) = (printable(&self.bucket), printable(&self.key));
        match &self.version_id {
            Some(v) => format!("s3://{bucket}/{key}?versionId={}", printable(v)),
            None => format!("s3://{bucket}/{key}"),
        }
    }
}

/// Text from an event (a key, a bucket) made safe for a log line or an
/// error message: control characters (a newline, an escape sequence) and
/// Unicode's line and paragraph separators as `\u{…}`, so that a key can
/// neither break a text log line nor forge one. Everything else, and text
/// without such characters, is unchanged.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One record of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// An object was created: convert it.
    Created(ObjectRef),
    /// Any other event (`ObjectRemoved:Delete`, `Object Deleted`, …):
    /// acknowledged without work.
    Skipped {
        event_name: String,
        bucket: String,
        key: String,
    },
    /// `s3:TestEvent`, sent by S3 when a notification configuration is saved:
    /// acknowledged without work.
    Test,
}

/// An SQS message of an SQS event (or of a worker's receive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub message_id: String,
    /// The records of the body, or why the body is not a notification (which
    /// fails this message only).
    pub records: Result<Vec<Record>, EventError>,
}

impl QueueMessage {
    /// Parses an SQS message body.
    pub fn from_body(message_id: impl Into<String>, body: &str) -> QueueMessage {
        QueueMessage {
            message_id: message_id.into(),
            records: parse_body(body),
        }
    }
}

/// One task of an S3 Batch Operations invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTask {
    pub task_id: String,
    pub object: Result<ObjectRef, EventError>,
}

/// An S3 Batch Operations invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInvocation {
    /// `1.0` or `2.0`, echoed in the response.
    pub schema_version: String,
    /// Echoed in the response.
    pub invocation_id: String,
    pub tasks: Vec<BatchTask>,
}

/// What one invocation carries, by shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// An SQS event: answered with a partial batch response.
    Sqs(Vec<QueueMessage>),
    /// An S3 notification, SNS event or EventBridge event invoking the
    /// function directly: answered with a summary, or an error when any
    /// object failed (so Lambda's own retries and destinations apply).
    Direct(Vec<Record>),
    /// S3 Batch Operations: answered with one result per task.
    Batch(BatchInvocation),
}

/// Why an event (or one message of it) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    /// Valid JSON of an unknown shape.
    #[error("not an S3 event notification: {0}")]
    UnknownShape(String),
    #[error("{context} has no `{field}`")]
    MissingField {
        context: &'static str,
        field: &'static str,
    },
    #[error("{context} has `{field}` of the wrong type: {found}")]
    WrongType {
        context: &'static str,
        field: &'static str,
        found: String,
    },
    #[error("event version `{0}` is not supported (major version 2 is)")]
    UnsupportedVersion(String),
    #[error("key `{key}` does not decode to UTF-8")]
    KeyEncoding { key: String },
    /// A bucket name S3 would never send: reading it could address
    /// something else (`../etc` in a path-style URL is another bucket).
    #[error("bucket `{bucket}` is not a valid S3 bucket name: {reason}")]
    InvalidBucket { bucket: String, reason: String },
}

impl Invocation {
    /// Tells the shape of a Lambda event and parses it.
    ///
    /// # Errors
    ///
    /// [`EventError`] when the event as a whole is of no known shape (for
    /// SQS events a bad body is not an error here: it fails its own message).
    pub fn from_value(event: Value) -> Result<Invocation, EventError> {
        let Value::Object(map) = &event else {
            return Err(EventError::UnknownShape(format!(
                "expected a JSON object, found {}",
                type_name(&event)
            )));
        };
        if map.contains_key("invocationSchemaVersion") && map.contains_key("tasks") {
            return parse_batch(event).map(Invocation::Batch);
        }
        if let Some(Value::Array(records)) = map.get("Records")
            && records.first().is_some_and(is_sqs_record)
        {
            let event: SqsEvent = serde_json::from_value(event)
                .map_err(|e| EventError::UnknownShape(format!("SQS event: {e}")))?;
            return Ok(Invocation::Sqs(
                event
                    .records
                    .into_iter()
                    .map(|r| QueueMessage::from_body(r.message_id, &r.body))
                    .collect(),
            ));
        }
        if let Some(Value::Array(records)) = map.get("Records")
            && records.first().is_some_and(|r| r.get("Sns").is_some())
        {
            let mut out = Vec::new();
            for record in records {
                let message = record
                    .get("Sns")
                    .and_then(|s| s.get("Message"))
                    .and_then(Value::as_str)
                    .ok_or(EventError::MissingField {
                        context: "SNS record",
                        field: "Sns.Message",
                    })?;
                out.extend(parse_body(message)?);
            }
            return Ok(Invocation::Direct(out));
        }
        parse_notification(&event).map(Invocation::Direct)
    }
}

fn is_sqs_record(record: &Value) -> bool {
    record.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")
        || (record.get("messageId").is_some() && record.get("body").is_some())
}

#[derive(Deserialize)]
struct SqsEvent {
    #[serde(rename = "Records")]
    records: Vec<SqsRecord>,
}

#[derive(Deserialize)]
struct SqsRecord {
    #[serde(rename = "messageId")]
    message_id: String,
    body: String,
}

/// Parses a message body: an S3 notification, an SNS envelope around one, or
/// an EventBridge event.
///
/// # Errors
///
/// [`EventError`] when the body is not JSON or not one of those shapes.
pub fn parse_body(body: &str) -> Result<Vec<Record>, EventError> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| EventError::NotJson(e.to_string()))?;
    parse_notification(&value)
}

/// Parses an already-decoded notification value (see [`parse_body`]).
///
/// # Errors
///
/// [`EventError`] when the value is none of the accepted shapes.
pub fn parse_notification(value: &Value) -> Result<Vec<Record>, EventError> {
    let Value::Object(map) = value else {
        return Err(EventError::UnknownShape(format!(
            "expected a JSON object, found {}",
            type_name(value)
        )));
    };
    // SNS envelope (not raw message delivery): the notification is a JSON
    // string in `Message`.
    if map.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(message) = map.get("Message")
    {
        let message = message.as_str().ok_or_else(|| EventError::WrongType {
            context: "SNS envelope",
            field: "Message",
            found: type_name(message).to_owned(),
        })?;
        return parse_body(message);
    }
    if let Some(event) = map.get("Event").and_then(Value::as_str) {
        if event == "s3:TestEvent" {
            return Ok(vec![Record::Test]);
        }
        return Err(EventError::UnknownShape(format!("`Event` is `{event}`")));
    }
    if map.contains_key("detail-type") {
        return parse_eventbridge(map).map(|r| vec![r]);
    }
    match map.get("Records") {
        Some(Value::Array(records)) => records.iter().map(parse_s3_record).collect(),
        Some(other) => Err(EventError::WrongType {
            context: "S3 notification",
            field: "Records",
            found: type_name(other).to_owned(),
        }),
        None => Err(EventError::UnknownShape(
            "no `Records`, `Event`, `detail-type` or SNS `Message`".to_owned(),
        )),
    }
}

type Map = serde_json::Map<String, Value>;

fn parse_s3_record(record: &Value) -> Result<Record, EventError> {
    const CTX: &str = "S3 notification record";
    let version = str_at(record, &["eventVersion"], CTX, "eventVersion")?;
    if version.split('.').next() != Some("2") {
        return Err(EventError::UnsupportedVersion(version.to_owned()));
    }
    let event_name = str_at(record, &["eventName"], CTX, "eventName")?;
    let bucket = str_at(record, &["s3", "bucket", "name"], CTX, "s3.bucket.name")?;
    check_bucket(bucket)?;
    let raw_key = str_at(record, &["s3", "object", "key"], CTX, "s3.object.key")?;
    let key = form_decode(raw_key)?;
    let event_name = event_name.strip_prefix("s3:").unwrap_or(event_name);
    if !event_name.starts_with("ObjectCreated:") {
        return Ok(Record::Skipped {
            event_name: event_name.to_owned(),
            bucket: bucket.to_owned(),
            key,
        });
    }
    let object = record.get("s3").and_then(|s| s.get("object"));
    Ok(Record::Created(ObjectRef {
        bucket: bucket.to_owned(),
        key,
        version_id: object
            .and_then(|o| o.get("versionId"))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty() && *v != "null")
            .map(str::to_owned),
        size: object.and_then(|o| o.get("size")).and_then(Value::as_u64),
        event_time: record
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(parse_time),
    }))
}

fn parse_eventbridge(map: &Map) -> Result<Record, EventError> {
    const CTX: &str = "EventBridge event";
    let event = Value::Object(map.clone());
    let detail_type = str_at(&event, &["detail-type"], CTX, "detail-type")?;
    let bucket = str_at(
        &event,
        &["detail", "bucket", "name"],
        CTX,
        "detail.bucket.name",
    )?;
    check_bucket(bucket)?;
    // EventBridge keys are not URL-encoded.
    let key = str_at(
        &event,
        &["detail", "object", "key"],
        CTX,
        "detail.object.key",
    )?;
    if detail_type != "Object Created" {
        return Ok(Record::Skipped {
            event_name: detail_type.to_owned(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        });
    }
    let object = event.get("detail").and_then(|d| d.get("object"));
    Ok(Record::Created(ObjectRef {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        version_id: object
            .and_then(|o| o.get("version-id"))
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        size: object.and_then(|o| o.get("size")).and_then(Value::as_u64),
        event_time: event
            .get("time")
            .and_then(Value::as_str)
            .and_then(parse_time),
    }))
}

fn parse_batch(event: Value) -> Result<BatchInvocation, EventError> {
    const CTX: &str = "S3 Batch Operations invocation";
    let schema_version = str_at(
        &event,
        &["invocationSchemaVersion"],
        CTX,
        "invocationSchemaVersion",
    )?;
    if schema_version != "1.0" && schema_version != "2.0" {
        return Err(EventError::UnsupportedVersion(schema_version.to_owned()));
    }
    let invocation_id = str_at(&event, &["invocationId"], CTX, "invocationId")?;
    let tasks = match event.get("tasks") {
        Some(Value::Array(tasks)) => tasks,
        Some(other) => {
            return Err(EventError::WrongType {
                context: CTX,
                field: "tasks",
                found: type_name(other).to_owned(),
            });
        }
        None => {
            return Err(EventError::MissingField {
                context: CTX,
                field: "tasks",
            });
        }
    };
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        const TASK: &str = "S3 Batch Operations task";
        let task_id = str_at(task, &["taskId"], TASK, "taskId")?.to_owned();
        out.push(BatchTask {
            task_id,
            object: parse_batch_task(task),
        });
    }
    Ok(BatchInvocation {
        schema_version: schema_version.to_owned(),
        invocation_id: invocation_id.to_owned(),
        tasks: out,
    })
}

fn parse_batch_task(task: &Value) -> Result<ObjectRef, EventError> {
    const TASK: &str = "S3 Batch Operations task";
    // 2.0 names the bucket; 1.0 gives its ARN (`arn:aws:s3:::bucket`).
    let bucket = match task.get("s3Bucket").and_then(Value::as_str) {
        Some(bucket) => bucket.to_owned(),
        None => {
            let arn = str_at(task, &["s3BucketArn"], TASK, "s3Bucket or s3BucketArn")?;
            arn.rsplit(':').next().unwrap_or(arn).to_owned()
        }
    };
    check_bucket(&bucket)?;
    // Batch Operations passes keys URL-encoded as in the manifest; AWS's
    // examples decode them with `unquote_plus`, as S3 notifications are.
    let key = form_decode(str_at(task, &["s3Key"], TASK, "s3Key")?)?;
    Ok(ObjectRef {
        bucket,
        key,
        version_id: task
            .get("s3VersionId")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        size: None,
        event_time: None,
    })
}

/// Checks a bucket name against S3's naming rules: 3 to 63 characters,
/// lowercase letters, digits, `.` and `-`, a letter or digit at each end,
/// no `..`, not an IP address. (The prefixes and suffixes AWS reserves for
/// its own buckets, such as directory buckets' `--x-s3`, are real names and
/// pass.) A notification naming anything else is not from S3.
///
/// # Errors
///
/// [`EventError::InvalidBucket`] with the rule the name breaks.
pub fn check_bucket(bucket: &str) -> Result<(), EventError> {
    let fail = |reason: String| {
        Err(EventError::InvalidBucket {
            bucket: bucket.to_owned(),
            reason,
        })
    };
    if let Some(c) = bucket
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-')))
    {
        return fail(format!(
            "it contains {c:?}; bucket names hold only lowercase letters, digits, `.` and `-`"
        ));
    }
    let length = bucket.len();
    if !(3..=63).contains(&length) {
        return fail(format!(
            "it has {length} characters; bucket names have 3 to 63"
        ));
    }
    let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alphanumeric(bucket.chars().next()) || !alphanumeric(bucket.chars().last()) {
        return fail("it must begin and end with a letter or digit".to_owned());
    }
    if bucket.contains("..") {
        return fail("it contains `..`".to_owned());
    }
    let parts: Vec<&str> = bucket.split('.').collect();
    if parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return fail("it is formatted as an IP address".to_owned());
    }
    Ok(())
}

/// Decodes a key as S3 notifications encode it: `+` is a space, then
/// percent-decoding, as UTF-8.
///
/// # Errors
///
/// [`EventError::KeyEncoding`] when the decoded bytes are not UTF-8.
pub fn form_decode(raw: &str) -> Result<String, EventError> {
    let plus_decoded = raw.replace('+', " ");
    percent_decode(plus_decoded.as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| EventError::KeyEncoding {
            key: raw.to_owned(),
        })
}

fn str_at<'a>(
    value: &'a Value,
    path: &[&str],
    context: &'static str,
    field: &'static str,
) -> Result<&'a str, EventError> {
    let mut current = value;
    for step in path {
        current = current
            .get(step)
            .ok_or(EventError::MissingField { context, field })?;
    }
    match current {
        Value::String(s) => Ok(s),
        Value::Null => Err(EventError::MissingField { context, field }),
        other => Err(EventError::WrongType {
            context,
            field,
            found: type_name(other).to_owned(),
        }),
    }
}

/// RFC 3339; a time without an offset (some emulators) is taken as UTC.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../../testdata/events/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn created(records: &[Record]) -> Vec<&ObjectRef> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::Created(o) => Some(o),
                _ => None,
            })
            .collect()
    }

    fn sqs(name: &str) -> Vec<QueueMessage> {
        match Invocation::from_value(fixture(name)) {
            Ok(Invocation::Sqs(messages)) => messages,
            other => panic!("{name}: expected an SQS event, got {other:?}"),
        }
    }

    #[test]
    fn decodes_keys_as_s3_form_encodes_them() {
        assert_eq!(form_decode("a+b%2Bc.pb").as_deref(), Ok("a b+c.pb"));
        assert_eq!(
            form_decode("caf%C3%A9%2F%E2%9C%93.pb").as_deref(),
            Ok("café/✓.pb")
        );
        assert_eq!(form_decode("plain/key.pb").as_deref(), Ok("plain/key.pb"));
        assert_eq!(
            form_decode("bad%FF"),
            Err(EventError::KeyEncoding {
                key: "bad%FF".into()
            })
        );
    }

    #[test]
    fn reads_every_record_of_an_sqs_message() {
        let messages = sqs("sqs-s3-multi-record.json");
        assert_eq!(messages.len(), 1);
        let records = messages[0].records.as_ref().expect("parses");
        let keys: Vec<_> = created(records).iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "clicks/2024/one.pb.gz",
                "clicks/2024/two.pb.gz",
                "clicks/2024/three.pb"
            ]
        );
    }

    #[test]
    fn decodes_spaces_plus_and_unicode_in_sqs_s3_keys() {
        let messages = sqs("sqs-s3-put.json");
        let records = messages[0].records.as_ref().expect("parses");
        let object = created(records)[0];
        assert_eq!(object.bucket, "raw-bucket");
        assert_eq!(object.key, "clicks/a b+c/café ✓.pb.gz");
        assert_eq!(
            object.version_id.as_deref(),
            Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
        );
        assert_eq!(object.size, Some(1024));
        assert_eq!(
            object.event_time.map(|t| t.to_rfc3339()),
            Some("2024-03-07T21:42:03.123+00:00".to_owned())
        );
        assert_eq!(
            messages[0].message_id,
            "059f36b4-87a3-44ab-83d2-661975830a7d"
        );
    }

    #[test]
    fn unwraps_sns_envelopes() {
        let messages = sqs("sqs-sns-s3.json");
        let records = messages[0].records.as_ref().expect("parses");
        assert_eq!(created(records)[0].key, "orders/2024/03/07/batch 1.pb.zst");
    }

    #[test]
    fn reads_eventbridge_in_sqs_and_direct_without_form_decoding() {
        let messages = sqs("sqs-eventbridge.json");
        let records = messages[0].records.as_ref().expect("parses");
        assert_eq!(created(records)[0].key, "clicks/a+b c.pb");
        match Invocation::from_value(fixture("eventbridge-object-created.json")) {
            Ok(Invocation::Direct(records)) => {
                let object = created(&records)[0];
                assert_eq!(object.key, "clicks/a+b c.pb");
                assert_eq!(
                    object.version_id.as_deref(),
                    Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")
                );
            }
            other => panic!("expected a direct event, got {other:?}"),
        }
    }

    #[test]
    fn reads_direct_s3_notifications() {
        match Invocation::from_value(fixture("s3-put.json")) {
            Ok(Invocation::Direct(records)) => {
                assert_eq!(created(&records)[0].key, "clicks/day 1/part+1.pb");
            }
            other => panic!("expected a direct event, got {other:?}"),
        }
    }

    #[test]
    fn acknowledges_test_events_and_skips_removals() {
        let messages = sqs("sqs-test-event.json");
        assert_eq!(messages[0].records, Ok(vec![Record::Test]));
        let messages = sqs("sqs-s3-removed.json");
        assert_eq!(
            messages[0].records,
            Ok(vec![Record::Skipped {
                event_name: "ObjectRemoved:Delete".into(),
                bucket: "raw-bucket".into(),
                key: "clicks/old one.pb".into(),
            }])
        );
    }

    #[test]
    fn fails_only_the_message_whose_body_is_not_a_notification() {
        let messages = sqs("sqs-partial-bad.json");
        assert_eq!(messages.len(), 3);
        assert!(messages[0].records.is_ok());
        assert!(matches!(messages[1].records, Err(EventError::NotJson(_))));
        assert!(matches!(
            messages[2].records,
            Err(EventError::UnknownShape(_))
        ));
    }

    #[test]
    fn checks_bucket_names_against_s3_rules() {
        let (longest, too_long) = ("a".repeat(63), "a".repeat(64));
        for ok in [
            "raw",
            "raw-bucket",
            "logs.example.com",
            "a1b2",
            "123",
            "my-bucket--x-s3",
            longest.as_str(),
        ] {
            assert_eq!(check_bucket(ok), Ok(()), "{ok}");
        }
        for (bad, reason) in [
            (
                "../etc",
                "it contains '/'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "raw/clicks",
                "it contains '/'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "Raw",
                "it contains 'R'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "raw_bucket",
                "it contains '_'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "raw bucket",
                "it contains ' '; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "héllo",
                "it contains 'é'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            ("", "it has 0 characters; bucket names have 3 to 63"),
            ("ab", "it has 2 characters; bucket names have 3 to 63"),
            (
                too_long.as_str(),
                "it has 64 characters; bucket names have 3 to 63",
            ),
            ("-raw", "it must begin and end with a letter or digit"),
            ("raw.", "it must begin and end with a letter or digit"),
            ("..", "it has 2 characters; bucket names have 3 to 63"),
            ("a..b", "it contains `..`"),
            ("192.168.5.4", "it is formatted as an IP address"),
        ] {
            assert_eq!(
                check_bucket(bad),
                Err(EventError::InvalidBucket {
                    bucket: bad.to_owned(),
                    reason: reason.to_owned()
                }),
                "{bad}"
            );
        }
    }

    /// An event naming bucket `../etc` was read: in a path-style URL that
    /// addresses bucket `etc`. Now the message carrying it fails alone,
    /// whatever the event's shape.
    #[test]
    fn a_bucket_that_is_not_an_s3_bucket_name_fails_only_its_message() {
        let record = |bucket: &str| {
            json!({"Records": [{
                "eventVersion": "2.1", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": "clicks/a.pb"}}
            }]})
            .to_string()
        };
        let event = json!({"Records": [
            {"messageId": "good", "eventSource": "aws:sqs", "body": record("raw")},
            {"messageId": "bad", "eventSource": "aws:sqs", "body": record("../etc")},
        ]});
        let Ok(Invocation::Sqs(messages)) = Invocation::from_value(event) else {
            panic!("not an SQS event")
        };
        assert_eq!(
            messages[0].records,
            Ok(vec![Record::Created(ObjectRef::new("raw", "clicks/a.pb"))])
        );
        assert_eq!(
            messages[1].records.as_ref().err().map(ToString::to_string),
            Some("bucket `../etc` is not a valid S3 bucket name: it contains '/'; bucket names hold only lowercase letters, digits, `.` and `-`".to_owned())
        );

        let eventbridge = json!({
            "detail-type": "Object Created", "source": "aws.s3",
            "detail": {"bucket": {"name": "../etc"}, "object": {"key": "k.pb"}}
        });
        assert!(matches!(
            Invocation::from_value(eventbridge),
            Err(EventError::InvalidBucket { .. })
        ));
        let removed = json!({"Records": [{
            "eventVersion": "2.1", "eventName": "ObjectRemoved:Delete",
            "s3": {"bucket": {"name": "UPPER"}, "object": {"key": "k.pb"}}
        }]});
        assert!(matches!(
            Invocation::from_value(removed),
            Err(EventError::InvalidBucket { .. })
        ));
        let batch = json!({
            "invocationSchemaVersion": "1.0", "invocationId": "i",
            "job": {"id": "j"},
            "tasks": [
                {"taskId": "t1", "s3Key": "k.pb", "s3BucketArn": "arn:aws:s3:::../etc"},
                {"taskId": "t2", "s3Key": "k.pb", "s3BucketArn": "arn:aws:s3:::raw"}
            ]
        });
        let Ok(Invocation::Batch(batch)) = Invocation::from_value(batch) else {
            panic!("not a Batch Operations invocation")
        };
        assert!(matches!(
            batch.tasks[0].object,
            Err(EventError::InvalidBucket { .. })
        ));
        assert_eq!(batch.tasks[1].object, Ok(ObjectRef::new("raw", "k.pb")));
    }

    #[test]
    fn is_lenient_about_optional_fields_and_strict_about_required_ones() {
        let minimal = json!({"Records": [{
            "eventVersion": "2.0", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "bkt"}, "object": {"key": "k.pb"}}
        }]});
        let records = parse_notification(&minimal).expect("minimal record parses");
        assert_eq!(
            records,
            vec![Record::Created(ObjectRef::new("bkt", "k.pb"))]
        );

        let no_key = json!({"Records": [{
            "eventVersion": "2.1", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "bkt"}, "object": {}}
        }]});
        assert_eq!(
            parse_notification(&no_key).unwrap_err().to_string(),
            "S3 notification record has no `s3.object.key`"
        );
        let old = json!({"Records": [{
            "eventVersion": "1.0", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "bkt"}, "object": {"key": "k"}}
        }]});
        assert_eq!(
            parse_notification(&old).unwrap_err().to_string(),
            "event version `1.0` is not supported (major version 2 is)"
        );
        let no_name = json!({"Records": [{
            "eventVersion": "2.1",
            "s3": {"bucket": {"name": "bkt"}, "object": {"key": "k"}}
        }]});
        assert!(parse_notification(&no_name).is_err());
    }

    #[test]
    fn reads_batch_operations_1_0_and_2_0() {
        match Invocation::from_value(fixture("batch-operations-1.0.json")) {
            Ok(Invocation::Batch(batch)) => {
                assert_eq!(batch.schema_version, "1.0");
                assert_eq!(
                    batch.invocation_id,
                    "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo"
                );
                let object = batch.tasks[0].object.as_ref().expect("parses");
                assert_eq!(object.bucket, "raw-bucket");
                assert_eq!(object.key, "clicks/a b+c.pb");
                assert_eq!(object.version_id.as_deref(), Some("1"));
            }
            other => panic!("expected batch operations, got {other:?}"),
        }
        match Invocation::from_value(fixture("batch-operations-2.0.json")) {
            Ok(Invocation::Batch(batch)) => {
                assert_eq!(batch.schema_version, "2.0");
                let object = batch.tasks[0].object.as_ref().expect("parses");
                assert_eq!(object.bucket, "raw-bucket");
                assert_eq!(object.key, "clicks/café.pb");
                assert_eq!(object.version_id, None);
            }
            other => panic!("expected batch operations, got {other:?}"),
        }
    }

    #[test]
    fn reads_event_times_with_and_without_an_offset() {
        assert_eq!(
            parse_time("2024-03-07T21:42:03.123Z").map(|t| t.to_rfc3339()),
            Some("2024-03-07T21:42:03.123+00:00".to_owned())
        );
        assert_eq!(
            parse_time("2024-03-07T21:42:03.761998").map(|t| t.to_rfc3339()),
            Some("2024-03-07T21:42:03.761998+00:00".to_owned())
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn rejects_events_of_unknown_shape() {
        let err = Invocation::from_value(json!({"hello": "world"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an S3 event notification: no `Records`, `Event`, `detail-type` or SNS `Message`"
        );
        assert!(Invocation::from_value(json!([1, 2])).is_err());
    }
}
