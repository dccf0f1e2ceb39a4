//! S3 Batch Operations invocations (schema 1.0 and 2.0): one object per
//! task, a task that names no usable object failing alone.

use serde_json::Value;

use super::error::EventError;
use super::json::{str_at, type_name};
use super::object::{ObjectRef, check_bucket, form_decode};

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

pub(super) fn parse_batch(event: Value) -> Result<BatchInvocation, EventError> {
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
