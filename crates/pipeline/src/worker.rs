//! `protoland worker`: the same handler as the Lambda function, fed by
//! long-polling an SQS queue (for containers, and for running the whole
//! pipeline locally against an S3-compatible server).
//!
//! Each receive (up to 10 messages) is one batch: converted with the
//! pipeline's concurrency, then the messages that succeeded are deleted in
//! one batch call; failures are left for redelivery (after the queue's
//! visibility timeout, or `retry_delay` when set) and finally move to the
//! dead-letter queue by the queue's redrive policy. While a batch is in
//! progress a heartbeat extends its messages' visibility timeout, so a large
//! object is never redelivered while it is being converted. On shutdown
//! (SIGTERM, Ctrl-C) no new batch is received; the one in progress finishes
//! and is acknowledged first.

use std::future::Future;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName, QueueAttributeName,
};

use protoland_pipeline_core::{BatchStats, Invocation, QueueMessage, Response};

use crate::handler::Pipeline;

/// How the worker polls.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub queue_url: String,
    /// Exit once a receive finds the queue empty. Default: keep polling.
    pub until_empty: bool,
    /// Long-poll wait per receive. Default: 20 s, SQS's maximum (fewest
    /// empty receives).
    pub wait_time: Duration,
    /// Messages per receive, 1–10. Default: 10.
    pub max_messages: i32,
    /// Visibility timeout the heartbeat keeps extending to. Default: the
    /// queue's own `VisibilityTimeout`.
    pub visibility_timeout: Option<Duration>,
    /// Make failed messages visible again after this long instead of after
    /// the visibility timeout. Default: unset (leave them).
    pub retry_delay: Option<Duration>,
}

impl WorkerOptions {
    pub fn new(queue_url: impl Into<String>) -> WorkerOptions {
        WorkerOptions {
            queue_url: queue_url.into(),
            until_empty: false,
            wait_time: Duration::from_secs(20),
            max_messages: 10,
            visibility_timeout: None,
            retry_delay: None,
        }
    }
}

/// What a worker run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerSummary {
    pub batches: u64,
    pub received: u64,
    pub deleted: u64,
    pub failed: u64,
    pub stats: BatchStats,
    /// With `until_empty`: the messages the queue still counted in flight
    /// (or delayed) when the worker stopped, if its attributes could be
    /// read. Not zero when another consumer holds some, or a receive's
    /// answer was lost: they return after their visibility timeout, and a
    /// later run converts them.
    pub in_flight_at_exit: Option<u64>,
}

/// Why the worker stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    #[error("{action} {queue_url}: {message}")]
    Sqs {
        action: &'static str,
        queue_url: String,
        message: String,
    },
}

/// An SQS client from the standard AWS environment (credentials, region,
/// `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL`).
pub async fn sqs_client_from_env() -> Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Client::new(&config)
}

/// Consecutive failed receives before the worker gives up.
const MAX_RECEIVE_FAILURES: u32 = 5;

/// Runs until the queue is empty (`until_empty`), until `shutdown`
/// resolves, or until SQS keeps failing.
///
/// # Errors
///
/// [`WorkerError`] when receiving fails `MAX_RECEIVE_FAILURES` (5) times in a
/// row or the queue's attributes cannot be read.
pub async fn run_worker(
    pipeline: &Pipeline,
    client: &Client,
    options: &WorkerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<WorkerSummary, WorkerError> {
    let queue_url = options.queue_url.as_str();
    let sqs_error = |action: &'static str, e: &dyn std::fmt::Display| WorkerError::Sqs {
        action,
        queue_url: queue_url.to_owned(),
        message: e.to_string(),
    };
    let visibility = match options.visibility_timeout {
        Some(v) => v,
        None => {
            let attributes = client
                .get_queue_attributes()
                .queue_url(queue_url)
                .attribute_names(QueueAttributeName::VisibilityTimeout)
                .send()
                .await
                .map_err(|e| {
                    sqs_error(
                        "reading the attributes of",
                        &aws_sdk_sqs::error::DisplayErrorContext(e),
                    )
                })?;
            let seconds = attributes
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::VisibilityTimeout))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(30);
            Duration::from_secs(seconds)
        }
    };
    tracing::info!(
        queue_url,
        visibility_timeout_s = visibility.as_secs(),
        until_empty = options.until_empty,
        "worker started"
    );
    let wait_seconds = i32::try_from(options.wait_time.as_secs().min(20)).unwrap_or(20);
    let mut summary = WorkerSummary::default();
    let mut failures_in_a_row = 0;
    tokio::pin!(shutdown);
    loop {
        let received = tokio::select! {
            biased;
            () = &mut shutdown => {
                tracing::info!("shutdown requested; no batch in progress");
                break;
            }
            r = client
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(options.max_messages.clamp(1, 10))
                .wait_time_seconds(wait_seconds)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send() => r,
        };
        let messages = match received {
            Ok(output) => {
                failures_in_a_row = 0;
                output.messages.unwrap_or_default()
            }
            Err(e) => {
                failures_in_a_row += 1;
                let error = sqs_error(
                    "receiving from",
                    &aws_sdk_sqs::error::DisplayErrorContext(e),
                );
                if failures_in_a_row >= MAX_RECEIVE_FAILURES {
                    return Err(error);
                }
                tracing::warn!(error = %error, attempt = failures_in_a_row, "receive failed; retrying");
                tokio::time::sleep(Duration::from_millis(500) * failures_in_a_row).await;
                continue;
            }
        };
        if messages.is_empty() {
            if options.until_empty {
                // Not visible to a receive: in flight or delayed. When the
                // attributes cannot be read the run's outcome stands.
                summary.in_flight_at_exit = queue_depth(client, queue_url)
                    .await
                    .inspect_err(|e| {
                        tracing::warn!(error = %e, "reading the queue's in-flight count failed");
                    })
                    .ok()
                    .map(|d| d.not_visible + d.delayed);
                match summary.in_flight_at_exit {
                    Some(n) if n > 0 => tracing::warn!(
                        in_flight = n,
                        "no message to receive; stopping with messages still in flight \
                         (held by another consumer, or a receive whose answer was lost: \
                         they return after the visibility timeout for a later run)"
                    ),
                    _ => tracing::info!("queue is empty; stopping"),
                }
                break;
            }
            continue;
        }
        summary.batches += 1;
        summary.received += messages.len() as u64;
        let handles: Vec<(String, String)> = messages
            .iter()
            .filter_map(|m| Some((m.message_id()?.to_owned(), m.receipt_handle()?.to_owned())))
            .collect();
        let queue_messages: Vec<QueueMessage> = messages
            .iter()
            .map(|m| {
                QueueMessage::from_body(
                    m.message_id().unwrap_or_default(),
                    m.body().unwrap_or_default(),
                )
            })
            .collect();

        let heartbeat = tokio::spawn(heartbeat(
            client.clone(),
            queue_url.to_owned(),
            handles.clone(),
            visibility,
        ));
        let (response, stats) = pipeline.handle(Invocation::Sqs(queue_messages), None).await;
        heartbeat.abort();
        summary.stats.add(&stats);
        let failed: std::collections::HashSet<String> = match response {
            Response::Sqs(r) => r
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect(),
            _ => Default::default(),
        };
        let (done, retry): (Vec<_>, Vec<_>) = handles
            .into_iter()
            .partition(|(id, _)| !failed.contains(id));
        summary.failed += retry.len() as u64;
        summary.deleted += delete(client, queue_url, &done).await;
        if let Some(delay) = options.retry_delay {
            let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
            change_visibility(client, queue_url, &retry, seconds).await;
        }
        if futures::poll!(&mut shutdown).is_ready() {
            tracing::info!("shutdown requested; batch finished");
            break;
        }
    }
    tracing::info!(
        batches = summary.batches,
        received = summary.received,
        deleted = summary.deleted,
        failed = summary.failed,
        "worker stopped"
    );
    Ok(summary)
}

/// A queue's approximate message counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Ready to be received.
    pub visible: u64,
    /// Received and neither deleted nor back yet (in flight).
    pub not_visible: u64,
    /// Sent with a delay that has not ended.
    pub delayed: u64,
}

impl QueueDepth {
    /// Every message in the queue, visible or not.
    pub fn total(&self) -> u64 {
        self.visible + self.not_visible + self.delayed
    }
}

/// Reads a queue's approximate message counts.
///
/// # Errors
///
/// [`WorkerError`] when the attributes cannot be read.
pub async fn queue_depth(client: &Client, queue_url: &str) -> Result<QueueDepth, WorkerError> {
    let attributes = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(|e| WorkerError::Sqs {
            action: "reading the attributes of",
            queue_url: queue_url.to_owned(),
            message: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
        })?;
    let count = |name: QueueAttributeName| {
        attributes
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(QueueDepth {
        visible: count(QueueAttributeName::ApproximateNumberOfMessages),
        not_visible: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    })
}

/// Keeps extending the visibility of a batch in progress: every third of
/// the timeout, back to the full timeout.
async fn heartbeat(
    client: Client,
    queue_url: String,
    handles: Vec<(String, String)>,
    visibility: Duration,
) {
    let period = (visibility / 3).max(Duration::from_secs(1));
    let seconds = i32::try_from(visibility.as_secs())
        .unwrap_or(i32::MAX)
        .max(1);
    loop {
        tokio::time::sleep(period).await;
        tracing::debug!(messages = handles.len(), seconds, "extending visibility");
        change_visibility(&client, &queue_url, &handles, seconds).await;
    }
}

async fn change_visibility(
    client: &Client,
    queue_url: &str,
    handles: &[(String, String)],
    seconds: i32,
) {
    for chunk in handles.chunks(10) {
        let entries: Vec<_> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, (_, receipt))| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .visibility_timeout(seconds)
                    .build()
                    .ok()
            })
            .collect();
        if let Err(e) = client
            .change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "changing message visibility failed");
        }
    }
}

/// Deletes messages in batches of ten; returns how many were deleted. A
/// message whose delete fails is redelivered and converted again, which
/// rewrites the same landing object with the same bytes.
async fn delete(client: &Client, queue_url: &str, handles: &[(String, String)]) -> u64 {
    let mut deleted = 0;
    for chunk in handles.chunks(10) {
        let entries: Vec<_> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .build()
                    .ok()
            })
            .collect();
        match client
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) => {
                deleted += output.successful().len() as u64;
                for failure in output.failed() {
                    tracing::warn!(entry = %failure.id(), code = %failure.code(), "deleting a message failed; it will be redelivered");
                }
            }
            Err(e) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "deleting messages failed; they will be redelivered");
            }
        }
    }
    deleted
}
