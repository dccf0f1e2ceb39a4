//! Events as the Lambda function and the queue get them.

use protoland_pipeline_core::{Invocation, QueueMessage};

/// An SQS event (as the Lambda gets it) with one S3 notification per key,
/// message ids `m0`, `m1`, …; keys are form-encoded as S3 sends them.
pub fn sqs_event(bucket: &str, keys: &[&str]) -> Invocation {
    let messages = keys
        .iter()
        .enumerate()
        .map(|(i, key)| QueueMessage::from_body(format!("m{i}"), &notification(bucket, key)))
        .collect();
    Invocation::Sqs(messages)
}

/// The body S3 sends to a queue when `bucket/key` is created.
pub fn notification(bucket: &str, key: &str) -> String {
    let encoded: String = key
        .bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2024-03-07T21:42:03.000Z",
        "s3": {"bucket": {"name": bucket}, "object": {"key": encoded}}
    }]})
    .to_string()
}
