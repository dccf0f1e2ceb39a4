//! Dispatch: an invocation's records to objects (each once), the objects
//! run concurrently within the deadline, and their outcomes to the
//! response its source expects.

use std::collections::HashMap;
use std::sync::Arc;

use protoland_pipeline_core::{
    BatchInvocation, BatchItemFailure, BatchOperationsResponse, BatchStats, BatchTaskResult,
    DirectResponse, Invocation, MissingPolicy, ObjectOutcome, ObjectRef, QueueMessage, Record,
    Response, SqsBatchResponse, printable,
};
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::Pipeline;
use super::error::join_error_text;

impl Pipeline {
    /// Parses and handles a Lambda event.
    ///
    /// # Errors
    ///
    /// A message when the event is of no known shape, or when a direct
    /// invocation had failed objects.
    pub async fn handle_value(
        &self,
        event: Value,
        deadline: Option<Instant>,
    ) -> Result<Value, String> {
        let invocation = Invocation::from_value(event).map_err(|e| e.to_string())?;
        self.handle(invocation, deadline).await.0.into_result()
    }

    /// Handles one invocation; prints its metrics line when enabled.
    pub async fn handle(
        &self,
        invocation: Invocation,
        deadline: Option<Instant>,
    ) -> (Response, BatchStats) {
        let started = Instant::now();
        let (response, mut stats) = match invocation {
            Invocation::Sqs(messages) => {
                let (r, s) = self.handle_messages(messages, deadline).await;
                (Response::Sqs(r), s)
            }
            Invocation::Batch(batch) => {
                let (r, s) = self.handle_batch(batch, deadline).await;
                (Response::Batch(r), s)
            }
            Invocation::Direct(records) => {
                let (r, s) = self.handle_direct(records, deadline).await;
                (Response::Direct(r), s)
            }
        };
        stats.duration = started.elapsed();
        if self.inner.settings.metrics.enabled {
            stats.emit(&self.inner.settings.metrics.namespace, self.inner.mode);
        }
        (response, stats)
    }

    /// Handles queue messages: the partial batch response names every
    /// message with a failed record (or a body that is not a notification).
    pub async fn handle_messages(
        &self,
        messages: Vec<QueueMessage>,
        deadline: Option<Instant>,
    ) -> (SqsBatchResponse, BatchStats) {
        let mut stats = BatchStats::default();
        let mut objects = Vec::new();
        for message in &messages {
            match &message.records {
                Ok(records) => {
                    for record in records {
                        self.collect(record, &mut objects, &mut stats);
                    }
                }
                Err(e) => {
                    tracing::error!(message_id = %message.message_id, error = %e, "message is not an S3 event notification");
                    stats.failures += 1;
                }
            }
        }
        let outcomes = self.run_objects(&objects, deadline, &mut stats).await;
        let missing = self.inner.settings.on_missing_object;
        let mut failures = Vec::new();
        for message in &messages {
            let ok = match &message.records {
                Err(_) => false,
                Ok(records) => records.iter().all(|r| match r {
                    Record::Created(o) => outcomes
                        .get(&identity(o))
                        .is_some_and(|out| out.is_success(missing)),
                    _ => true,
                }),
            };
            if !ok {
                failures.push(BatchItemFailure {
                    item_identifier: message.message_id.clone(),
                });
            }
        }
        (
            SqsBatchResponse {
                batch_item_failures: failures,
            },
            stats,
        )
    }

    async fn handle_direct(
        &self,
        records: Vec<Record>,
        deadline: Option<Instant>,
    ) -> (DirectResponse, BatchStats) {
        let mut stats = BatchStats::default();
        let mut objects = Vec::new();
        for record in &records {
            self.collect(record, &mut objects, &mut stats);
        }
        let outcomes = self.run_objects(&objects, deadline, &mut stats).await;
        let missing = self.inner.settings.on_missing_object;
        let failures = objects
            .iter()
            .filter_map(|o| {
                let out = &outcomes[&identity(o)];
                (!out.is_success(missing)).then(|| format!("{}: {}", o.url(), out.describe()))
            })
            .collect();
        let response = DirectResponse {
            converted: stats.objects,
            // Only acknowledged ones: with the `fail` policy a missing
            // object is among `failures` (and counted once).
            missing: match missing {
                MissingPolicy::Acknowledge => stats.missing,
                MissingPolicy::Fail => 0,
            },
            quarantined: stats.quarantined,
            skipped: stats.skipped,
            failures,
        };
        (response, stats)
    }

    async fn handle_batch(
        &self,
        batch: BatchInvocation,
        deadline: Option<Instant>,
    ) -> (BatchOperationsResponse, BatchStats) {
        let mut stats = BatchStats::default();
        let objects: Vec<ObjectRef> = batch
            .tasks
            .iter()
            .filter_map(|t| t.object.as_ref().ok().cloned())
            .collect();
        let outcomes = self.run_objects(&objects, deadline, &mut stats).await;
        let missing = self.inner.settings.on_missing_object;
        let results = batch
            .tasks
            .iter()
            .map(|task| {
                let (code, text) = match &task.object {
                    Err(e) => {
                        stats.failures += 1;
                        ("PermanentFailure", e.to_string())
                    }
                    Ok(object) => {
                        let outcome = &outcomes[&identity(object)];
                        let code = match outcome {
                            o if o.is_success(missing) => "Succeeded",
                            ObjectOutcome::Failed {
                                transient: true, ..
                            }
                            | ObjectOutcome::NotStarted { .. } => "TemporaryFailure",
                            _ => "PermanentFailure",
                        };
                        (code, outcome.describe())
                    }
                };
                BatchTaskResult {
                    task_id: task.task_id.clone(),
                    result_code: code,
                    result_string: text,
                }
            })
            .collect();
        let response = BatchOperationsResponse {
            invocation_schema_version: batch.schema_version,
            treat_missing_keys_as: "PermanentFailure",
            invocation_id: batch.invocation_id,
            results,
        };
        (response, stats)
    }

    /// Adds a record's object to the work list (once, however many records
    /// name it), or logs why there is no work.
    fn collect(&self, record: &Record, objects: &mut Vec<ObjectRef>, stats: &mut BatchStats) {
        match record {
            Record::Created(object) => {
                // The same object named twice (a retried notification, two
                // configurations) is converted once; the first record's
                // event time is used.
                let same = |o: &ObjectRef| {
                    o.bucket == object.bucket
                        && o.key == object.key
                        && o.version_id == object.version_id
                };
                if !objects.iter().any(same) {
                    objects.push(object.clone());
                }
            }
            Record::Skipped {
                event_name,
                bucket,
                key,
            } => {
                stats.skipped += 1;
                tracing::info!(event = %printable(event_name), source = %format!("s3://{}/{}", printable(bucket), printable(key)), "skipping: not an object creation");
            }
            Record::Test => {
                stats.skipped += 1;
                tracing::info!("acknowledging s3:TestEvent");
            }
        }
    }

    /// Runs objects concurrently (bounded), respecting the deadline; every
    /// object gets an outcome, a panic included. Objects start in the
    /// batch's order: a permit is taken before an object's task is spawned,
    /// so which objects are left unstarted near the deadline is always the
    /// batch's tail, not whichever tasks the scheduler polled last.
    async fn run_objects(
        &self,
        objects: &[ObjectRef],
        deadline: Option<Instant>,
        stats: &mut BatchStats,
    ) -> HashMap<ObjectId, ObjectOutcome> {
        let permits = Arc::new(Semaphore::new(self.inner.settings.concurrency));
        let mut tasks = Vec::with_capacity(objects.len());
        for object in objects {
            let permit = Arc::clone(&permits)
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let pipeline = self.clone();
            let object = object.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = permit;
                pipeline.process(&object, None, deadline).await
            }));
        }
        let mut outcomes = HashMap::with_capacity(objects.len());
        for (object, task) in objects.iter().zip(tasks) {
            let outcome = match task.await {
                Ok(outcome) => outcome,
                Err(e) => ObjectOutcome::Failed {
                    error: format!(
                        "processing {} stopped: {}",
                        object.url(),
                        join_error_text(e)
                    ),
                    transient: false,
                },
            };
            outcome.count(stats);
            outcomes.insert(identity(object), outcome);
        }
        outcomes
    }
}

/// What makes two records name the same object: bucket, key, version.
type ObjectId = (String, String, Option<String>);

fn identity(object: &ObjectRef) -> ObjectId {
    (
        object.bucket.clone(),
        object.key.clone(),
        object.version_id.clone(),
    )
}
