//! The batch handler: for every object an event names, route → read →
//! convert → write, and an outcome per message.
//!
//! [`Pipeline::start`] loads the schemas and compiles the plans once;
//! [`Pipeline::handle`] then serves any number of invocations. Objects of a
//! batch run concurrently (bounded by `concurrency`), each on the runtime
//! for network I/O and on a blocking thread for decompression, framing,
//! transcoding and compression.
//!
//! Outcomes:
//!
//! - transient failures (throttling, 5xx, timeouts, resets) are retried
//!   with backoff within the invocation, then reported as failed;
//! - a bad object (corrupt data, wrong schema, no route) fails by default,
//!   or with the quarantine policy gets a JSON error report and is
//!   acknowledged;
//! - an object deleted before it is read is acknowledged and counted as
//!   missing (or failed, by policy);
//! - near the deadline no new object starts; unstarted ones are failures;
//! - a panic while converting one object fails that object only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::{GetOptions, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};
use protoland_schema::Schema;
use protoland_stream::{Compression, ConvertError, ConvertOptions, Converter, Progress};
use protoland_transcode::Plan;
use serde_json::Value;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use protoland_pipeline_core::{
    BadObjectPolicy, BatchInvocation, BatchItemFailure, BatchOperationsResponse, BatchStats,
    BatchTaskResult, ConfigError, DirectResponse, Invocation, KeyInputs, Location, MissingPolicy,
    ObjectOutcome, ObjectRef, Occupant, OutputCompression, QueueMessage, Record, Response,
    SchemaSource, Settings, SourceId, SourceKind, SourceRecord, SqsBatchResponse, digest,
    find_route, printable, vars,
};

use crate::memory;
use crate::provenance;
use crate::storage::{LandingWriter, ObjectReader, StorageError, Stores, object_path};

/// The pipeline, ready to handle invocations. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    stores: Stores,
    landing: Arc<dyn ObjectStore>,
    /// The quarantine store, under the quarantine policy only.
    quarantine: Option<Arc<dyn ObjectStore>>,
    default_route: Option<Arc<Route>>,
    routes: Vec<Arc<Route>>,
    mode: &'static str,
    /// Landing keys being written now, and for which source: two objects
    /// of one process never write one key at the same time (between
    /// processes, the source record on the landing object decides).
    claims: Mutex<HashMap<String, SourceId>>,
}

/// A compiled route: the converter for one message type.
#[derive(Debug)]
struct Route {
    message: String,
    converter: Converter,
}

/// Why one attempt at an object failed.
#[derive(Debug, thiserror::Error)]
enum ObjectError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    // The conversion error with its causes: this text is all that logs,
    // quarantine reports and direct responses show ("message 2 at byte 98
    // does not decode" alone would not say why).
    #[error("converting {source_url}: {}", with_causes(error))]
    Convert {
        source_url: String,
        error: ConvertError,
    },
    #[error(
        "no route matches key `{}` and PROTOLAND_MESSAGE is not set",
        printable(key)
    )]
    NoRoute { key: String },
    #[error("converting {source_url} panicked: {message}")]
    Panic { source_url: String, message: String },
    /// Another source's output, or an object protoland did not write, is at
    /// the landing key: never overwritten.
    #[error(
        "landing {source_url}: {landing} {occupant}; not overwriting it (two sources map to one landing key: give PROTOLAND_KEY_TEMPLATE more of the source key, such as {{key}})"
    )]
    LandingTaken {
        source_url: String,
        landing: String,
        occupant: String,
        /// The other source, when the occupant has a record.
        other: Option<SourceId>,
    },
    /// The landing key is the source object itself.
    #[error(
        "landing {source_url}: the landing key is the source object itself; not overwriting it (change the landing location or PROTOLAND_KEY_TEMPLATE)"
    )]
    LandingIsSource { source_url: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorClass {
    /// Worth another attempt.
    Transient,
    /// The object's own fault: quarantine applies.
    BadObject,
    /// Neither (access denied, a panic): fail without quarantine.
    Failure,
}

impl ObjectError {
    fn class(&self) -> ErrorClass {
        match self {
            ObjectError::Storage(e) if e.is_transient() => ErrorClass::Transient,
            ObjectError::Storage(StorageError::UnsupportedKey { .. }) => ErrorClass::BadObject,
            ObjectError::Storage(_) => ErrorClass::Failure,
            ObjectError::Convert { error, .. } if error.is_transient() => ErrorClass::Transient,
            ObjectError::Convert { .. }
            | ObjectError::NoRoute { .. }
            | ObjectError::LandingTaken { .. }
            | ObjectError::LandingIsSource { .. } => ErrorClass::BadObject,
            ObjectError::Panic { .. } => ErrorClass::Failure,
        }
    }

    fn is_not_found(&self) -> bool {
        matches!(self, ObjectError::Storage(e) if e.is_not_found())
    }
}

/// An object in a store other than an S3 bucket named by an event (a local
/// directory being backfilled).
#[derive(Debug, Clone)]
pub struct SourceStore {
    pub store: Arc<dyn ObjectStore>,
    pub location: Location,
}

impl Pipeline {
    /// Loads every schema, compiles every route and opens the landing and
    /// quarantine stores. `mode` names the runner in metrics (`lambda`,
    /// `worker`, `backfill`).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the variable whose value does not work: an
    /// unreadable or invalid schema, an unknown message type, an unusable
    /// landing location.
    pub async fn start(settings: Settings, mode: &'static str) -> Result<Pipeline, ConfigError> {
        settings.validate()?;
        if let Some(warning) = settings.key_template.collision_warning() {
            tracing::warn!("{}: {warning}", vars::KEY_TEMPLATE);
        }
        let mut settings = settings;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        // Objects at once that fit in the memory the process may use, at
        // the worst case of the limits (see `memory`).
        if let Some(memory) = settings.memory_limit {
            let fit = memory::fit(&settings, memory, cores)?;
            if let Some(warning) = fit.warning() {
                tracing::warn!(
                    configured = settings.concurrency,
                    concurrency = fit.concurrency,
                    per_object_bytes = fit.per_object,
                    "{warning}"
                );
                settings.concurrency = fit.concurrency;
            }
        }
        let stores = Stores::new(settings.storage.clone());
        let landing = stores
            .open(&settings.landing)
            .map_err(|e| invalid(vars::LANDING, e))?;
        // Opened under the quarantine policy only: a local landing directory
        // gets no empty `_quarantine/` when reports are never written.
        let quarantine = match settings.on_bad_object {
            BadObjectPolicy::Quarantine => Some(
                stores
                    .open(&settings.quarantine)
                    .map_err(|e| invalid(vars::QUARANTINE, e))?,
            ),
            BadObjectPolicy::Fail => None,
        };

        let mut schemas: HashMap<String, Schema> = HashMap::new();
        let options = ConvertOptions {
            compression: settings.compression,
            framing: settings.framing,
            limits: settings.limits,
            ..ConvertOptions::default()
        };
        // Objects already convert in parallel (`PROTOLAND_CONCURRENCY`):
        // share the cores between them rather than giving each object a
        // transcoding thread per core, so memory (each thread holds a batch
        // of input and its JSON) grows with the cores, not cores x objects.
        let threads = memory::transcoding_threads(cores, settings.concurrency);
        // `vars`: the variables to blame for a schema that does not load and
        // for a message type it does not have.
        let mut compile =
            async |source: &SchemaSource, message: &str, vars: (&'static str, &'static str)| {
                let (schema_var, message_var) = vars;
                let key = source.to_string();
                if !schemas.contains_key(&key) {
                    let schema = load_schema(source, &settings.includes, &stores)
                        .await
                        .map_err(|message| invalid(schema_var, message))?;
                    schemas.insert(key.clone(), schema);
                }
                let schema = &schemas[&key];
                let descriptor = schema
                    .message(message)
                    .map_err(|e| invalid(message_var, format!("{e} (schema {source})")))?;
                let plan = Plan::new(&descriptor, settings.json);
                Ok::<_, ConfigError>(Arc::new(Route {
                    message: message.to_owned(),
                    converter: Converter::new(plan, options).with_threads(threads),
                }))
            };

        let default_route = match (&settings.message, &settings.schema) {
            (Some(message), Some(schema)) => {
                Some(compile(schema, message, (vars::SCHEMA, vars::MESSAGE)).await?)
            }
            _ => None,
        };
        let mut routes = Vec::with_capacity(settings.routes.len());
        for route in &settings.routes {
            let schema = match &route.schema {
                Some(s) => SchemaSource::parse(s),
                None => settings.schema.clone().ok_or(ConfigError::Missing {
                    var: vars::SCHEMA,
                    hint: "a route names no schema of its own",
                })?,
            };
            routes.push(compile(&schema, &route.message, (vars::ROUTES, vars::ROUTES)).await?);
        }
        Ok(Pipeline {
            inner: Arc::new(Inner {
                settings,
                stores,
                landing,
                quarantine,
                default_route,
                routes,
                mode,
                claims: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The object store clients (shared with the worker and backfill).
    pub fn stores(&self) -> &Stores {
        &self.inner.stores
    }

    /// The landing key for a source object (see [`KeyTemplate`](protoland_pipeline_core::KeyTemplate)).
    pub fn landing_key(&self, bucket: &str, key: &str, time: Option<DateTime<Utc>>) -> String {
        let s = &self.inner.settings;
        s.key_template.render(&KeyInputs {
            prefix: s.landing.prefix(),
            bucket,
            key,
            time,
            output: s.output_compression,
        })
    }

    /// The landing store.
    pub fn landing_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.landing
    }

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
    /// object gets an outcome, a panic included.
    async fn run_objects(
        &self,
        objects: &[ObjectRef],
        deadline: Option<Instant>,
        stats: &mut BatchStats,
    ) -> HashMap<ObjectId, ObjectOutcome> {
        let permits = Arc::new(Semaphore::new(self.inner.settings.concurrency));
        let mut tasks = Vec::with_capacity(objects.len());
        for object in objects {
            let pipeline = self.clone();
            let object = object.clone();
            let permits = Arc::clone(&permits);
            tasks.push(tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
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

    /// Converts one object: route, read, convert, write, with retries for
    /// transient failures and the bad-object and missing-object policies.
    /// `source` overrides the S3 bucket store (a local directory). Stops
    /// before starting when the deadline is within the margin.
    pub async fn process(
        &self,
        object: &ObjectRef,
        source: Option<&SourceStore>,
        deadline: Option<Instant>,
    ) -> ObjectOutcome {
        let settings = &self.inner.settings;
        let source_url = match source {
            Some(s) => s.location.display_key(&object.key),
            None => object.url(),
        };
        let mut attempt = 1u32;
        loop {
            if let Some(deadline) = deadline {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining < settings.deadline_margin {
                    let remaining_ms = u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX);
                    tracing::warn!(source = %source_url, remaining_ms, attempt, "deadline near: not starting");
                    return ObjectOutcome::NotStarted { remaining_ms };
                }
            }
            let attempt_result = match deadline {
                // In-flight work stops a moment before the deadline so the
                // response still goes out; what was cut is a failure.
                Some(deadline) => {
                    let cut = deadline
                        .checked_sub(CUT_BEFORE_DEADLINE)
                        .unwrap_or(deadline);
                    match tokio::time::timeout_at(
                        cut,
                        self.convert_once(object, source, &source_url),
                    )
                    .await
                    {
                        Ok(result) => result,
                        Err(_) => {
                            tracing::error!(source = %source_url, "deadline reached while converting; upload aborted");
                            return ObjectOutcome::Failed {
                                error: format!(
                                    "{source_url}: the invocation deadline was reached while converting"
                                ),
                                transient: true,
                            };
                        }
                    }
                }
                None => self.convert_once(object, source, &source_url).await,
            };
            let error = match attempt_result {
                Ok(outcome) => return outcome,
                Err(e) => e,
            };
            if error.is_not_found() {
                tracing::warn!(source = %source_url, "object not found (deleted after the notification?)");
                return ObjectOutcome::Missing;
            }
            let class = error.class();
            if class == ErrorClass::Transient && attempt < settings.max_attempts {
                let backoff = settings
                    .retry_backoff
                    .saturating_mul(1 << (attempt - 1).min(16));
                tracing::warn!(source = %source_url, attempt, error = %error, backoff_ms = backoff.as_millis() as u64, "transient failure; retrying");
                tokio::time::sleep(backoff).await;
                attempt += 1;
                continue;
            }
            let text = error.to_string();
            if class == ErrorClass::BadObject
                && let Some(store) = &self.inner.quarantine
            {
                return match quarantine(
                    settings,
                    store,
                    object,
                    self.source_id(object, source),
                    source.is_some(),
                    &source_url,
                    &error,
                )
                .await
                {
                    Ok(report) => {
                        tracing::warn!(source = %source_url, report = %report, error = %text, "bad object quarantined");
                        ObjectOutcome::Quarantined {
                            report,
                            error: text,
                        }
                    }
                    Err(e) => {
                        tracing::error!(source = %source_url, error = %text, quarantine_error = %e, "bad object; writing its quarantine report failed");
                        ObjectOutcome::Failed {
                            error: format!("{text}; writing the quarantine report failed: {e}"),
                            transient: true,
                        }
                    }
                };
            }
            tracing::error!(source = %source_url, error = %text, attempts = attempt, "object failed");
            return ObjectOutcome::Failed {
                error: text,
                transient: class == ErrorClass::Transient,
            };
        }
    }

    /// The identity recorded on what `object` lands as.
    pub fn source_id(&self, object: &ObjectRef, source: Option<&SourceStore>) -> SourceId {
        match source.map(|s| &s.location) {
            Some(Location::Local { root }) => SourceId::local(&root.join(&object.key)),
            Some(Location::S3 { bucket, .. }) => SourceId::s3(bucket, &object.key),
            None => SourceId::s3(&object.bucket, &object.key),
        }
    }

    /// What the landing object at `landing_key` holds now, for `source`.
    ///
    /// # Errors
    ///
    /// [`StorageError`] when the landing store cannot be asked.
    pub async fn landing_occupant(
        &self,
        landing_key: &str,
        source: &SourceId,
    ) -> Result<Occupant, StorageError> {
        let path = object_path(landing_key)?;
        let head = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        match self.inner.landing.get_opts(&path, head).await {
            Ok(existing) => Ok(provenance::occupant(&existing.attributes, source)),
            Err(object_store::Error::NotFound { .. }) => Ok(Occupant::Empty),
            Err(error) => Err(StorageError::Store {
                action: "reading the source record of",
                target: self.inner.settings.landing.display_key(landing_key),
                error,
            }),
        }
    }

    /// Whether the landing key names the source object itself (a key
    /// template of `{key}` with the landing location at the source's).
    fn lands_on_itself(
        &self,
        object: &ObjectRef,
        source: Option<&SourceStore>,
        landing_key: &str,
    ) -> bool {
        let canonical = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
        match (&self.inner.settings.landing, source.map(|s| &s.location)) {
            (Location::S3 { bucket, .. }, None) => {
                *bucket == object.bucket && landing_key == object.key
            }
            (Location::S3 { bucket, .. }, Some(Location::S3 { bucket: from, .. })) => {
                bucket == from && landing_key == object.key
            }
            (Location::Local { root }, Some(Location::Local { root: from })) => {
                canonical(root).join(landing_key) == canonical(from).join(&object.key)
            }
            _ => false,
        }
    }

    /// Claims `landing_key` for `source` while it is written; the claim
    /// ends when the guard drops. Another version of the same source waits
    /// for its turn (both are the same source's output); another source is
    /// refused.
    async fn claim(
        &self,
        landing_key: &str,
        source: &SourceId,
        source_url: &str,
        destination: &str,
    ) -> Result<Claim<'_>, ObjectError> {
        loop {
            {
                let mut claims = self.inner.claims.lock().unwrap_or_else(|e| e.into_inner());
                match claims.get(landing_key) {
                    Some(holder) if holder != source => {
                        return Err(ObjectError::LandingTaken {
                            source_url: source_url.to_owned(),
                            landing: destination.to_owned(),
                            occupant: format!("is being written from {holder} right now"),
                            other: Some(holder.clone()),
                        });
                    }
                    Some(_) => {}
                    None => {
                        claims.insert(landing_key.to_owned(), source.clone());
                        return Ok(Claim {
                            claims: &self.inner.claims,
                            key: landing_key.to_owned(),
                        });
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn route_for(&self, key: &str) -> Option<Arc<Route>> {
        let inner = &self.inner;
        match find_route(&inner.settings.routes, key) {
            Some(i) => inner.routes.get(i).cloned(),
            None => inner.default_route.clone(),
        }
    }

    async fn convert_once(
        &self,
        object: &ObjectRef,
        source: Option<&SourceStore>,
        source_url: &str,
    ) -> Result<ObjectOutcome, ObjectError> {
        let settings = &self.inner.settings;
        let route = self
            .route_for(&object.key)
            .ok_or_else(|| ObjectError::NoRoute {
                key: object.key.clone(),
            })?;
        let store = match source {
            Some(s) => Arc::clone(&s.store),
            None => self.inner.stores.bucket(&object.bucket)?,
        };
        let path = object_path(&object.key)?;
        let got =
            crate::storage::get(&store, &path, object.version_id.as_deref(), source_url).await?;
        if let Some(record) = provenance::record_of(&got.attributes) {
            // Converting it would write another object here, which would be
            // notified in turn: the loop stops at its first turn.
            let kind = match record.kind {
                SourceKind::Landing => "landing object",
                SourceKind::Report => "quarantine report",
            };
            tracing::warn!(source = %source_url, of = %record.source, kind, "skipping an object protoland wrote: the landing or quarantine location is inside the notified one");
            return Ok(ObjectOutcome::OwnOutput { kind });
        }
        let source_id = self.source_id(object, source);
        let time = object.event_time.or(Some(got.meta.last_modified));
        let landing_key = self.landing_key(&object.bucket, &object.key, time);
        let destination = settings.landing.display_key(&landing_key);
        let landing_path = object_path(&landing_key)?;
        if self.lands_on_itself(object, source, &landing_key) {
            return Err(ObjectError::LandingIsSource {
                source_url: source_url.to_owned(),
            });
        }
        let _claim = self
            .claim(&landing_key, &source_id, source_url, &destination)
            .await?;
        match self.landing_occupant(&landing_key, &source_id).await? {
            Occupant::Empty | Occupant::Same => {}
            Occupant::Other(other) => {
                return Err(ObjectError::LandingTaken {
                    source_url: source_url.to_owned(),
                    landing: destination,
                    occupant: format!("holds the output of {other}"),
                    other: Some(other),
                });
            }
            Occupant::Foreign => {
                return Err(ObjectError::LandingTaken {
                    source_url: source_url.to_owned(),
                    landing: destination,
                    occupant: "exists and has no source record (protoland did not write it)"
                        .to_owned(),
                    other: None,
                });
            }
        }
        let record = SourceRecord {
            kind: SourceKind::Landing,
            source: source_id,
            version: object
                .version_id
                .clone()
                .or_else(|| got.meta.version.clone()),
            etag: got.meta.e_tag.clone(),
        };

        let runtime = Handle::current();
        let (writer, upload_task) = LandingWriter::new(
            Arc::clone(&self.inner.landing),
            landing_path,
            provenance::attributes(&record),
            settings.part_size,
            destination.clone(),
            &runtime,
        );
        // If this future is dropped (the deadline cut it), the blocking
        // conversion below fails at its next read, and the upload aborts
        // instead of completing, even when the conversion is already done:
        // nothing lands after the message was reported failed.
        let cancel = CancelOnDrop(writer.cancel_flag());
        let reader = CancellableReader {
            inner: ObjectReader::new(got, &runtime),
            cancelled: Arc::clone(&cancel.0),
        };
        let output = output_compression(settings.output_compression);
        let conversion_route = Arc::clone(&route);
        let progress = Arc::new(Progress::default());
        let task_progress = Arc::clone(&progress);
        let url = source_url.to_owned();
        let converted = tokio::task::spawn_blocking(move || {
            let mut compressed = protoland_stream::compress_writer(writer, output);
            let report = conversion_route
                .converter
                .convert(reader, &mut compressed, &task_progress)
                .map_err(|error| ObjectError::Convert {
                    source_url: url.clone(),
                    error,
                })?;
            // A panic here, with the output written and its upload under
            // way, for the tests that prove a panic is confined to its
            // object (no real input is known to panic).
            #[cfg(feature = "test-support")]
            crate::testing::panic_hook(&url);
            let write_error = |e: std::io::Error| ObjectError::Convert {
                source_url: url.clone(),
                error: ConvertError::Write(e),
            };
            let writer = compressed.finish().map_err(write_error)?;
            let bytes_out = writer.bytes_written();
            let upload = writer.finish().map_err(write_error)?;
            Ok::<_, ObjectError>((report, bytes_out, upload))
        })
        .await;
        // Wait for the upload to complete or abort: nothing is left behind
        // when this returns.
        let _ = upload_task.await;
        let (report, bytes_out, upload) = match converted {
            Ok(result) => result?,
            Err(e) => {
                return Err(ObjectError::Panic {
                    source_url: source_url.to_owned(),
                    message: panic_message(e),
                });
            }
        };
        tracing::info!(
            source = %source_url,
            destination = %destination,
            message_type = %route.message,
            messages = report.messages,
            bytes_in = report.bytes_in,
            bytes_decompressed = report.bytes_decompressed,
            bytes_out,
            compression = %report.compression,
            framing = %report.framing,
            upload = ?upload,
            "converted"
        );
        Ok(ObjectOutcome::Converted {
            destination,
            messages: report.messages,
            bytes_in: report.bytes_in,
            bytes_out,
            upload,
        })
    }
}

/// Writes the JSON error report of a bad object into `store` (the
/// quarantine location's); returns where. Reports mirror the sources:
/// `<bucket>/<key>.error.json` for an S3 object, `<key>.error.json` (its
/// path under the directory being backfilled) for a local file, as its
/// landing key is.
async fn quarantine(
    settings: &Settings,
    store: &Arc<dyn ObjectStore>,
    object: &ObjectRef,
    source: SourceId,
    local: bool,
    source_url: &str,
    error: &ObjectError,
) -> Result<String, StorageError> {
    let relative = if local {
        format!("{}.error.json", report_key(&object.key))
    } else {
        format!("{}/{}.error.json", object.bucket, report_key(&object.key))
    };
    let key = match settings.quarantine.prefix() {
        "" => relative,
        prefix => format!("{prefix}/{relative}"),
    };
    let target = settings.quarantine.display_key(&key);
    let (index, offset, field_path) = match error {
        ObjectError::Convert { error, .. } => (
            error.message_index(),
            error.offset(),
            error.field_path().map(str::to_owned),
        ),
        _ => (None, None, None),
    };
    let (landing, conflicts_with) = match error {
        ObjectError::LandingTaken { landing, other, .. } => (
            Some(landing.clone()),
            other.as_ref().map(|o| o.as_str().to_owned()),
        ),
        _ => (None, None),
    };
    let mut report = serde_json::json!({
        "source": source_url,
        "bucket": object.bucket,
        "key": object.key,
        "versionId": object.version_id,
        "error": error.to_string(),
        "messageIndex": index,
        "byteOffset": offset,
        "fieldPath": field_path,
        "eventTime": object.event_time.map(|t| t.to_rfc3339()),
        "time": Utc::now().to_rfc3339(),
    });
    if let Some(map) = report.as_object_mut()
        && landing.is_some()
    {
        map.insert("landing".to_owned(), landing.into());
        map.insert("landingHoldsOutputOf".to_owned(), conflicts_with.into());
    }
    let mut body = serde_json::to_vec_pretty(&report).unwrap_or_default();
    body.push(b'\n');
    let path = object_path(&key)?;
    // Marked as protoland's: a report landing where notifications come
    // from is skipped, not converted (and reported on, and so on).
    let record = SourceRecord {
        kind: SourceKind::Report,
        source,
        version: object.version_id.clone(),
        etag: None,
    };
    let options = PutOptions {
        attributes: provenance::attributes(&record),
        ..PutOptions::default()
    };
    store
        .put_opts(&path, PutPayload::from(body), options)
        .await
        .map_err(|error| StorageError::Store {
            action: "writing the quarantine report",
            target: target.clone(),
            error,
        })?;
    Ok(target)
}

/// A source key as part of its report's key: every key gets its own
/// report key, one that the object store can address and that fits in S3's
/// 1024 bytes. `%` and control characters are percent-encoded, as is a `/`
/// that would start an empty segment and a `.` or `..` segment; a key
/// still too long is cut and followed by a hash of the whole.
fn report_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, segment) in key.split('/').enumerate() {
        if i > 0 {
            out.push_str(if segment.is_empty() || out.is_empty() {
                "%2F"
            } else {
                "/"
            });
        }
        match segment {
            "." => out.push_str("%2E"),
            ".." => out.push_str("%2E%2E"),
            _ => {
                for c in segment.chars() {
                    if c == '%' || c.is_control() {
                        let mut utf8 = [0u8; 4];
                        for b in c.encode_utf8(&mut utf8).bytes() {
                            out.push_str(&format!("%{b:02X}"));
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }
    // Room for the bucket, the prefix and `.error.json`.
    const MAX: usize = 768;
    if out.len() > MAX {
        let mut cut = MAX - 40;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('#');
        out.push_str(&digest(key.as_bytes()));
    }
    out
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

/// How long before the deadline in-flight objects are cut.
const CUT_BEFORE_DEADLINE: Duration = Duration::from_millis(500);

fn output_compression(output: OutputCompression) -> Compression {
    match output {
        OutputCompression::None => Compression::None,
        OutputCompression::Gzip => Compression::Gzip,
        OutputCompression::Zstd => Compression::Zstd,
    }
}

/// Why a conversion cut by the deadline stops (seen in logs only: the
/// outcome was decided when it was cut).
const DEADLINE_STOP: &str = "stopped: the invocation deadline was reached";

/// A landing key claimed by one source (see `Pipeline::claim`), released
/// when dropped.
struct Claim<'a> {
    claims: &'a Mutex<HashMap<String, SourceId>>,
    key: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

/// Sets its flag when dropped: see [`CancellableReader`] and
/// [`LandingWriter::cancel_flag`].
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A reader that fails once `cancelled` is set.
struct CancellableReader<R> {
    inner: R,
    cancelled: Arc<AtomicBool>,
}

impl<R: std::io::Read> std::io::Read for CancellableReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(std::io::Error::other(DEADLINE_STOP));
        }
        self.inner.read(buf)
    }
}

/// An error's text followed by its causes', `: `-separated; a cause whose
/// text is already there (errors that print their source and also return it
/// from `source()`, as `object_store`'s do) is not repeated.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = e.source();
    }
    text
}

/// A task's end for an error text: `panic: <message>` or why it stopped.
fn join_error_text(e: tokio::task::JoinError) -> String {
    if e.is_panic() {
        format!("panic: {}", panic_message(e))
    } else {
        e.to_string()
    }
}

/// The panic message of a task that panicked (for another end, why it
/// stopped).
fn panic_message(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return e.to_string();
    }
    let payload = e.into_panic();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

fn invalid(var: &'static str, message: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        var,
        message: message.to_string(),
    }
}

async fn load_schema(
    source: &SchemaSource,
    includes: &[std::path::PathBuf],
    stores: &Stores,
) -> Result<Schema, String> {
    match source {
        SchemaSource::Path(path) => {
            if !path.exists() {
                return Err(format!("schema file {} does not exist", path.display()));
            }
            Schema::load([path], includes).map_err(|e| e.to_string())
        }
        SchemaSource::Bytes { name, bytes } => {
            Schema::from_bytes(name, bytes).map_err(|e| e.to_string())
        }
        SchemaSource::S3(url) => {
            let Ok(Location::S3 {
                bucket,
                prefix: key,
            }) = Location::parse(url)
            else {
                return Err(format!("`{url}` is not an s3://bucket/key URL"));
            };
            let store = stores.bucket(&bucket).map_err(|e| e.to_string())?;
            let path = object_path(&key).map_err(|e| e.to_string())?;
            let got = store
                .get(&path)
                .await
                .map_err(|e| format!("reading schema {url}: {e}"))?;
            let bytes = got
                .bytes()
                .await
                .map_err(|e| format!("reading schema {url}: {e}"))?;
            let name = key.rsplit('/').next().unwrap_or(&key);
            Schema::from_bytes(name, &bytes).map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_names_each_cause_once() {
        // A transcoding error: its cause is only behind `source()`.
        let transcode = ObjectError::Convert {
            source_url: "s3://raw/a.pb".into(),
            error: ConvertError::Transcode {
                index: 2,
                offset: 98,
                source: protoland_transcode::TranscodeError::new(
                    protoland_transcode::ErrorKind::InvalidUtf8,
                    4,
                    "url",
                ),
            },
        };
        assert_eq!(
            transcode.to_string(),
            "converting s3://raw/a.pb: message 2 at byte 98 does not decode: invalid UTF-8 in a string field at byte 4 in field `url`"
        );
        // A read error whose cause prints its own source and returns it.
        let store = object_store::Error::Generic {
            store: "S3",
            source: "connection reset".into(),
        };
        let read = ObjectError::Convert {
            source_url: "s3://raw/a.pb".into(),
            error: ConvertError::Read(std::io::Error::other(store)),
        };
        assert_eq!(
            read.to_string(),
            "converting s3://raw/a.pb: reading the input failed: Generic S3 error: connection reset"
        );
    }

    /// `Pipeline::start`'s configuration error for these variables (a local
    /// landing directory; nothing else is read).
    fn start_error(vars: &[(&str, &str)]) -> ConfigError {
        let landing = std::env::temp_dir().join("protoland-start-error-test");
        let landing = landing.to_string_lossy().into_owned();
        let lookup = |var: &str| {
            if var == vars::LANDING {
                return Some(landing.clone());
            }
            vars.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        };
        let settings = Settings::from_lookup(lookup, None).expect("valid settings");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        match runtime.block_on(Pipeline::start(settings, "test")) {
            Ok(_) => panic!("{vars:?} started"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_schema_that_does_not_load_is_blamed_on_the_schema_variable() {
        let err = start_error(&[
            (vars::SCHEMA, "no/such/schema.proto"),
            (vars::MESSAGE, "acme.Click"),
        ]);
        assert_eq!(err.var(), vars::SCHEMA, "{err}");
    }

    #[test]
    fn an_unknown_message_type_is_blamed_on_the_message_variable() {
        let schema = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/schema/acme/clicks.proto"
        );
        let err = start_error(&[(vars::SCHEMA, schema), (vars::MESSAGE, "acme.clicks.Clik")]);
        assert_eq!(err.var(), vars::MESSAGE, "{err}");
        assert!(err.to_string().contains("acme.clicks.Click"), "{err}");
    }
}
