//! What an invocation is answered with: the SQS partial batch response,
//! the S3 Batch Operations response, or a summary for a direct invocation.

use serde::Serialize;
use serde_json::Value;

/// The SQS partial batch response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SqsBatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// The S3 Batch Operations response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchOperationsResponse {
    #[serde(rename = "invocationSchemaVersion")]
    pub invocation_schema_version: String,
    #[serde(rename = "treatMissingKeysAs")]
    pub treat_missing_keys_as: &'static str,
    #[serde(rename = "invocationId")]
    pub invocation_id: String,
    pub results: Vec<BatchTaskResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchTaskResult {
    #[serde(rename = "taskId")]
    pub task_id: String,
    /// `Succeeded`, `TemporaryFailure` or `PermanentFailure`.
    #[serde(rename = "resultCode")]
    pub result_code: &'static str,
    #[serde(rename = "resultString")]
    pub result_string: String,
}

/// The answer to a direct invocation (S3, SNS or EventBridge event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectResponse {
    /// Objects converted and landed.
    pub converted: u64,
    /// Objects that no longer existed (acknowledged by policy).
    pub missing: u64,
    /// Bad objects with an error report.
    pub quarantined: u64,
    /// Records without work (removals, test events).
    pub skipped: u64,
    /// `source: why` for every failed object; non-empty means the
    /// invocation failed.
    pub failures: Vec<String>,
}

/// What an invocation is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Sqs(SqsBatchResponse),
    Batch(BatchOperationsResponse),
    Direct(DirectResponse),
}

impl Response {
    /// The response as JSON, or an error message when the invocation as a
    /// whole failed (a direct invocation with failed objects), so that
    /// Lambda's retries and failure destinations apply.
    ///
    /// # Errors
    ///
    /// The failures of a direct invocation, one per line.
    pub fn into_result(self) -> Result<Value, String> {
        let value = match self {
            Response::Sqs(r) => serde_json::to_value(r),
            Response::Batch(r) => serde_json::to_value(r),
            Response::Direct(r) if !r.failures.is_empty() => {
                return Err(format!(
                    "{} of {} objects failed:\n{}",
                    r.failures.len(),
                    r.converted + r.missing + r.quarantined + r.failures.len() as u64,
                    r.failures.join("\n")
                ));
            }
            Response::Direct(r) => serde_json::to_value(r),
        };
        value.map_err(|e| format!("serializing the response: {e}"))
    }
}
