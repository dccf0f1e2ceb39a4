//! What one Lambda invocation carries, told apart by shape: an SQS event
//! (one [`QueueMessage`] per record, each body parsed on its own), an S3
//! Batch Operations invocation, or a notification invoking the function
//! directly.

use serde::Deserialize;
use serde_json::Value;

use super::batch::{BatchInvocation, parse_batch};
use super::error::EventError;
use super::json::type_name;
use super::notification::{Record, parse_body, parse_notification};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::object::ObjectRef;
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
    fn rejects_events_of_unknown_shape() {
        let err = Invocation::from_value(json!({"hello": "world"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an S3 event notification: no `Records`, `Event`, `detail-type` or SNS `Message`"
        );
        assert!(Invocation::from_value(json!([1, 2])).is_err());
    }
}
