//! S3 event notifications, directly, in an SNS envelope, or as EventBridge
//! "Object Created" events: down to one [`Record`] per object.

use serde_json::Value;

use super::error::EventError;
use super::json::{parse_time, str_at, type_name};
use super::object::{ObjectRef, check_bucket, form_decode};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
