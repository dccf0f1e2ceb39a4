//! Settings for the pipeline, from `PROTOLAND_*` environment variables (the
//! Lambda) or from flags (the CLI modes fill [`Settings`] themselves).
//!
//! Everything is checked here, at start-up: a missing or invalid setting is a
//! [`ConfigError`] naming the variable, never a failure at the first event.
//! `docs/configuration.md` lists every variable with its default.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use protoland_stream::{Compression, Framing, Limits};
use protoland_transcode::JsonOptions;

use crate::landing::{KeyTemplate, OutputCompression};
use crate::location::{Location, StorageOptions};
use crate::routes::{RouteSpec, parse_routes};
use crate::units::{check_window, format_duration, format_size, parse_window};
use crate::units::{parse_bool, parse_duration, parse_size};

/// Where a schema comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaSource {
    /// A `.proto` file or descriptor set on the local file system (in a
    /// Lambda: in the deployment package, under `/var/task`).
    Path(PathBuf),
    /// An `s3://bucket/key` URL, read once at start-up.
    S3(String),
    /// Bytes already in memory (a schema embedded in the binary).
    Bytes { name: String, bytes: Arc<[u8]> },
}

impl SchemaSource {
    /// `s3://…` is S3; anything else is a local path.
    pub fn parse(value: &str) -> SchemaSource {
        if value.starts_with("s3://") {
            SchemaSource::S3(value.to_owned())
        } else {
            SchemaSource::Path(PathBuf::from(value))
        }
    }
}

impl std::fmt::Display for SchemaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaSource::Path(p) => write!(f, "{}", p.display()),
            SchemaSource::S3(url) => f.write_str(url),
            SchemaSource::Bytes { name, .. } => write!(f, "embedded {name}"),
        }
    }
}

/// What to do with an object whose data is bad (corrupt, wrong schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadObjectPolicy {
    /// Report the message as failed: the queue redelivers it and finally
    /// moves it to the dead-letter queue. The default, because nothing is
    /// acknowledged that was not converted.
    #[default]
    Fail,
    /// Write a JSON error report under the quarantine location and
    /// acknowledge the message.
    Quarantine,
}

/// What to do when the object named by an event no longer exists (deleted
/// between the notification and the read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingPolicy {
    /// Log it, count it as `missing`, acknowledge. The default: a
    /// redelivery would find it missing again, so failing only fills the
    /// dead-letter queue.
    #[default]
    Acknowledge,
    /// Report the message as failed.
    Fail,
}

/// CloudWatch Embedded Metric Format output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// Print one EMF line per batch to stdout. Default: on.
    pub enabled: bool,
    /// Default: `protoland`.
    pub namespace: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            enabled: true,
            namespace: "protoland".to_owned(),
        }
    }
}

/// Every setting of the pipeline, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The default schema (`PROTOLAND_SCHEMA`); routes may name their own.
    pub schema: Option<SchemaSource>,
    /// Import directories for `.proto` schemas (`PROTOLAND_INCLUDE`).
    pub includes: Vec<PathBuf>,
    /// The default message type (`PROTOLAND_MESSAGE`).
    pub message: Option<String>,
    /// Message types by key (`PROTOLAND_ROUTES`).
    pub routes: Vec<RouteSpec>,
    /// Where converted objects go (`PROTOLAND_LANDING`).
    pub landing: Location,
    /// Input framing (`PROTOLAND_FRAMING`, default `auto`).
    pub framing: Framing,
    /// Input compression (`PROTOLAND_COMPRESSION`, default `auto`).
    pub compression: Compression,
    /// Landing object compression (`PROTOLAND_OUTPUT_COMPRESSION`, default `gzip`).
    pub output_compression: OutputCompression,
    /// `PROTOLAND_PROTO_NAMES`, `PROTOLAND_EMIT_DEFAULTS`, `PROTOLAND_ENUM_NUMBERS`.
    pub json: JsonOptions,
    /// `PROTOLAND_KEY_TEMPLATE`, default `{prefix}/{key}{ext}`.
    pub key_template: KeyTemplate,
    /// `PROTOLAND_ON_BAD_OBJECT`, default `fail`.
    pub on_bad_object: BadObjectPolicy,
    /// `PROTOLAND_QUARANTINE`, default `<landing>/_quarantine`.
    pub quarantine: Location,
    /// `PROTOLAND_ON_MISSING_OBJECT`, default `acknowledge`.
    pub on_missing_object: MissingPolicy,
    /// Objects converted at once (`PROTOLAND_CONCURRENCY`, default 4).
    pub concurrency: usize,
    /// `PROTOLAND_MAX_FRAME_BYTES` (64 MiB), `PROTOLAND_MAX_DECOMPRESSED_BYTES` (64 GiB),
    /// `PROTOLAND_MAX_LINE_BYTES` (64 MiB), `PROTOLAND_MAX_ZSTD_WINDOW` (8 MiB),
    /// `PROTOLAND_MAX_COMPRESSION_RATIO` (200).
    pub limits: Limits,
    /// The memory the process may use, in bytes: in a Lambda, its memory
    /// size (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB), else unknown. At
    /// start-up the concurrency is lowered to what fits (see
    /// `protoland-pipeline`'s `memory`).
    pub memory_limit: Option<u64>,
    /// Output up to this size is one PUT; above it, a multipart upload with
    /// parts of this size (`PROTOLAND_PART_SIZE`, default 8 MiB, at least 5 MiB).
    pub part_size: usize,
    /// Stop starting objects when less time than this remains before the
    /// invocation's deadline (`PROTOLAND_DEADLINE_MARGIN`, default 10s).
    pub deadline_margin: Duration,
    /// Attempts per object for transient failures (`PROTOLAND_MAX_ATTEMPTS`, default 3).
    pub max_attempts: u32,
    /// First backoff between attempts, doubled each time (`PROTOLAND_RETRY_BACKOFF`, default 200ms).
    pub retry_backoff: Duration,
    /// `PROTOLAND_METRICS` (`emf` | `off`), `PROTOLAND_METRICS_NAMESPACE`.
    pub metrics: MetricsSettings,
    /// How object stores are reached (endpoint, retries).
    pub storage: StorageOptions,
}

/// The smallest multipart part S3 accepts (except the last).
pub const MIN_PART_SIZE: usize = 5 << 20;
/// The largest multipart part S3 accepts.
pub const MAX_PART_SIZE: usize = 5 << 30;
/// The longest SQS keeps a received message invisible: a visibility
/// timeout, a retry delay, and the time one message may be held (the
/// heartbeat cannot extend it past 12 hours from its receive).
pub const SQS_MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 3600);
/// The longest long-poll wait SQS accepts.
pub const SQS_MAX_WAIT_TIME: Duration = Duration::from_secs(20);
/// The longest timeout a Lambda function can have.
pub const LAMBDA_MAX_TIMEOUT: Duration = Duration::from_secs(15 * 60);

impl Settings {
    /// Settings with defaults for everything but what has none.
    pub fn new(landing: Location) -> Settings {
        let quarantine = landing.join("_quarantine");
        Settings {
            schema: None,
            includes: Vec::new(),
            message: None,
            routes: Vec::new(),
            landing,
            framing: Framing::Auto,
            compression: Compression::Auto,
            output_compression: OutputCompression::Gzip,
            json: JsonOptions::default(),
            key_template: KeyTemplate::default(),
            on_bad_object: BadObjectPolicy::Fail,
            quarantine,
            on_missing_object: MissingPolicy::Acknowledge,
            concurrency: 4,
            limits: Limits::default(),
            memory_limit: None,
            part_size: 8 << 20,
            deadline_margin: Duration::from_secs(10),
            max_attempts: 3,
            retry_backoff: Duration::from_millis(200),
            metrics: MetricsSettings::default(),
            storage: StorageOptions::default(),
        }
    }

    /// Reads the `PROTOLAND_*` variables of this process.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first missing or invalid variable.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| std::env::var(name).ok(), None)
    }

    /// Reads settings through `lookup` (a variable name → its value); empty
    /// values count as unset. `default_schema` is used when
    /// `PROTOLAND_SCHEMA` is unset (a schema embedded in the binary).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first missing or invalid variable.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        default_schema: Option<SchemaSource>,
    ) -> Result<Settings, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let landing = get(vars::LANDING).ok_or(ConfigError::Missing {
            var: vars::LANDING,
            hint: "an s3://bucket/prefix URL or a local directory for the NDJSON output",
        })?;
        let landing = Location::parse(&landing).map_err(|e| bad(vars::LANDING, &landing, e))?;
        let mut s = Settings::new(landing);
        s.schema = get(vars::SCHEMA)
            .map(|v| SchemaSource::parse(&v))
            .or(default_schema);
        if let Some(v) = get(vars::INCLUDE) {
            s.includes = parse_includes(&v).map_err(|e| bad(vars::INCLUDE, &v, e))?;
        }
        s.message = get(vars::MESSAGE);
        if let Some(v) = get(vars::ROUTES) {
            s.routes = parse_routes(&v).map_err(|e| bad(vars::ROUTES, &v, e))?;
        }
        if let Some(v) = get(vars::FRAMING) {
            s.framing = v.parse().map_err(|e| bad(vars::FRAMING, &v, e))?;
        }
        if let Some(v) = get(vars::COMPRESSION) {
            s.compression = v.parse().map_err(|e| bad(vars::COMPRESSION, &v, e))?;
        }
        if let Some(v) = get(vars::OUTPUT_COMPRESSION) {
            s.output_compression = v
                .parse()
                .map_err(|e: String| bad(vars::OUTPUT_COMPRESSION, &v, e))?;
        }
        if let Some(v) = get(vars::PROTO_NAMES) {
            s.json.proto_names = parse_bool(&v).map_err(|e| bad(vars::PROTO_NAMES, &v, e))?;
        }
        if let Some(v) = get(vars::EMIT_DEFAULTS) {
            s.json.emit_defaults = parse_bool(&v).map_err(|e| bad(vars::EMIT_DEFAULTS, &v, e))?;
        }
        if let Some(v) = get(vars::ENUM_NUMBERS) {
            s.json.enum_numbers = parse_bool(&v).map_err(|e| bad(vars::ENUM_NUMBERS, &v, e))?;
        }
        if let Some(v) = get(vars::KEY_TEMPLATE) {
            s.key_template = KeyTemplate::parse(&v).map_err(|e| bad(vars::KEY_TEMPLATE, &v, e))?;
        }
        if let Some(v) = get(vars::ON_BAD_OBJECT) {
            s.on_bad_object = match v.to_ascii_lowercase().as_str() {
                "fail" => BadObjectPolicy::Fail,
                "quarantine" => BadObjectPolicy::Quarantine,
                _ => return Err(bad(vars::ON_BAD_OBJECT, &v, "not fail or quarantine")),
            };
        }
        if let Some(v) = get(vars::QUARANTINE) {
            s.quarantine = Location::parse(&v).map_err(|e| bad(vars::QUARANTINE, &v, e))?;
        }
        if let Some(v) = get(vars::ON_MISSING_OBJECT) {
            s.on_missing_object = match v.to_ascii_lowercase().as_str() {
                "acknowledge" | "ack" => MissingPolicy::Acknowledge,
                "fail" => MissingPolicy::Fail,
                _ => return Err(bad(vars::ON_MISSING_OBJECT, &v, "not acknowledge or fail")),
            };
        }
        if let Some(v) = get(vars::CONCURRENCY) {
            s.concurrency = parse_count(vars::CONCURRENCY, &v)?;
        }
        if let Some(v) = get(vars::MAX_FRAME_BYTES) {
            s.limits.max_frame_bytes =
                parse_size(&v).map_err(|e| bad(vars::MAX_FRAME_BYTES, &v, e))?;
        }
        if let Some(v) = get(vars::MAX_DECOMPRESSED_BYTES) {
            s.limits.max_decompressed_bytes =
                parse_size(&v).map_err(|e| bad(vars::MAX_DECOMPRESSED_BYTES, &v, e))?;
        }
        // ---- Limits of one message and of decompression, and the memory
        // they are checked against (`protoland-pipeline`'s `memory`) ----
        if let Some(v) = get(vars::MAX_LINE_BYTES) {
            s.limits.max_line_bytes =
                parse_size(&v).map_err(|e| bad(vars::MAX_LINE_BYTES, &v, e))?;
        }
        if let Some(v) = get(vars::MAX_ZSTD_WINDOW) {
            s.limits.max_zstd_window =
                parse_window(&v).map_err(|e| bad(vars::MAX_ZSTD_WINDOW, &v, e))?;
        }
        if let Some(v) = get(vars::MAX_COMPRESSION_RATIO) {
            s.limits.max_compression_ratio = parse_count(vars::MAX_COMPRESSION_RATIO, &v)? as u64;
        }
        if let Some(v) = get(vars::LAMBDA_MEMORY_SIZE) {
            let mb = parse_count(vars::LAMBDA_MEMORY_SIZE, &v)? as u64;
            s.memory_limit = Some(mb.saturating_mul(1 << 20));
        }
        // ---- end of the limits ----
        if let Some(v) = get(vars::PART_SIZE) {
            let size = parse_size(&v).map_err(|e| bad(vars::PART_SIZE, &v, e))?;
            // Beyond usize: over S3's maximum part size anyway.
            s.part_size = usize::try_from(size).unwrap_or(usize::MAX);
        }
        if let Some(v) = get(vars::DEADLINE_MARGIN) {
            s.deadline_margin =
                parse_duration(&v).map_err(|e| bad(vars::DEADLINE_MARGIN, &v, e))?;
        }
        if let Some(v) = get(vars::MAX_ATTEMPTS) {
            let n = parse_count(vars::MAX_ATTEMPTS, &v)?;
            s.max_attempts = u32::try_from(n)
                .map_err(|_| bad(vars::MAX_ATTEMPTS, &v, "too large: over 4294967295"))?;
        }
        if let Some(v) = get(vars::RETRY_BACKOFF) {
            s.retry_backoff = parse_duration(&v).map_err(|e| bad(vars::RETRY_BACKOFF, &v, e))?;
        }
        if let Some(v) = get(vars::METRICS) {
            s.metrics.enabled = match v.to_ascii_lowercase().as_str() {
                "emf" => true,
                "none" => false,
                // `on`, `off` and the other spellings of a boolean.
                _ => parse_bool(&v).map_err(|_| bad(vars::METRICS, &v, "not emf or off"))?,
            };
        }
        if let Some(v) = get(vars::METRICS_NAMESPACE) {
            s.metrics.namespace = v;
        }
        // A value that breaks a limit is named with the text it came from.
        s.validate().map_err(|e| match e {
            ConfigError::Invalid { var, message } => match get(var) {
                Some(value) => ConfigError::Value {
                    var,
                    value,
                    message,
                },
                None => ConfigError::Invalid { var, message },
            },
            e => e,
        })?;
        Ok(s)
    }

    /// Checks what no single setting can: that every object can be routed to
    /// a message type and schema, and that sizes make sense.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the variable to set or fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.message.is_none() && self.routes.is_empty() {
            return Err(ConfigError::Missing {
                var: vars::MESSAGE,
                hint: "the fully-qualified message type (e.g. acme.clicks.Click), or set PROTOLAND_ROUTES",
            });
        }
        if self.schema.is_none() {
            let needs_default =
                self.message.is_some() || self.routes.iter().any(|r| r.schema.is_none());
            if needs_default {
                return Err(ConfigError::Missing {
                    var: vars::SCHEMA,
                    hint: "a .proto file or descriptor set: a path in the package or an s3:// URL",
                });
            }
        }
        if self.part_size < MIN_PART_SIZE {
            return Err(invalid(
                vars::PART_SIZE,
                format!(
                    "{} is under S3's minimum part size, 5 MiB",
                    format_size(self.part_size as u64)
                ),
            ));
        }
        if self.part_size > MAX_PART_SIZE {
            return Err(invalid(
                vars::PART_SIZE,
                format!(
                    "{} is over S3's maximum part size, 5 GiB",
                    format_size(self.part_size as u64)
                ),
            ));
        }
        if self.concurrency == 0 {
            return Err(invalid(vars::CONCURRENCY, "must be at least 1"));
        }
        if self.max_attempts == 0 {
            return Err(invalid(vars::MAX_ATTEMPTS, "must be at least 1"));
        }
        if self.limits.max_frame_bytes == 0 {
            return Err(invalid(vars::MAX_FRAME_BYTES, "must be at least 1 byte"));
        }
        if self.deadline_margin >= LAMBDA_MAX_TIMEOUT {
            return Err(invalid(
                vars::DEADLINE_MARGIN,
                format!(
                    "{} is not under 15m, Lambda's longest timeout: no object would ever start",
                    format_duration(self.deadline_margin)
                ),
            ));
        }
        let waits = self.retry_waits();
        if waits > SQS_MAX_VISIBILITY_TIMEOUT {
            return Err(invalid(
                vars::RETRY_BACKOFF,
                format!(
                    "{} doubling between {} attempts ({}) waits {:.1}h in all, over the 12h SQS keeps a message invisible at most",
                    format_duration(self.retry_backoff),
                    self.max_attempts,
                    vars::MAX_ATTEMPTS,
                    waits.as_secs_f64() / 3600.0
                ),
            ));
        }
        check_metrics_namespace(&self.metrics.namespace)
            .map_err(|message| invalid(vars::METRICS_NAMESPACE, message))?;
        // ---- limits (see the parsing above) ----
        if self.limits.max_line_bytes == 0 {
            return Err(invalid(vars::MAX_LINE_BYTES, "must be at least 1 byte"));
        }
        check_window(self.limits.max_zstd_window).map_err(|e| invalid(vars::MAX_ZSTD_WINDOW, e))?;
        Ok(())
    }

    /// The longest an object can spend waiting between its attempts: the
    /// backoff, doubled after each attempt (as the handler does, the
    /// doubling stops at 2^16).
    fn retry_waits(&self) -> Duration {
        // In closed form (a loop would take seconds for 4 billion
        // attempts): the first 17 waits double, the rest are 2^16 × backoff.
        let waits = u128::from(self.max_attempts.saturating_sub(1));
        let doubling = waits.min(17);
        let factor = ((1u128 << doubling) - 1).saturating_add((waits - doubling) << 16);
        let nanos = self.retry_backoff.as_nanos().saturating_mul(factor);
        let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
        // Below a second, so it fits.
        Duration::new(secs, (nanos % 1_000_000_000) as u32)
    }
}

/// The environment variable names.
pub mod vars {
    pub const SCHEMA: &str = "PROTOLAND_SCHEMA";
    pub const INCLUDE: &str = "PROTOLAND_INCLUDE";
    pub const MESSAGE: &str = "PROTOLAND_MESSAGE";
    pub const ROUTES: &str = "PROTOLAND_ROUTES";
    pub const LANDING: &str = "PROTOLAND_LANDING";
    pub const FRAMING: &str = "PROTOLAND_FRAMING";
    pub const COMPRESSION: &str = "PROTOLAND_COMPRESSION";
    pub const OUTPUT_COMPRESSION: &str = "PROTOLAND_OUTPUT_COMPRESSION";
    pub const PROTO_NAMES: &str = "PROTOLAND_PROTO_NAMES";
    pub const EMIT_DEFAULTS: &str = "PROTOLAND_EMIT_DEFAULTS";
    pub const ENUM_NUMBERS: &str = "PROTOLAND_ENUM_NUMBERS";
    pub const KEY_TEMPLATE: &str = "PROTOLAND_KEY_TEMPLATE";
    pub const ON_BAD_OBJECT: &str = "PROTOLAND_ON_BAD_OBJECT";
    pub const QUARANTINE: &str = "PROTOLAND_QUARANTINE";
    pub const ON_MISSING_OBJECT: &str = "PROTOLAND_ON_MISSING_OBJECT";
    pub const CONCURRENCY: &str = "PROTOLAND_CONCURRENCY";
    pub const MAX_FRAME_BYTES: &str = "PROTOLAND_MAX_FRAME_BYTES";
    pub const MAX_DECOMPRESSED_BYTES: &str = "PROTOLAND_MAX_DECOMPRESSED_BYTES";
    pub const PART_SIZE: &str = "PROTOLAND_PART_SIZE";
    pub const DEADLINE_MARGIN: &str = "PROTOLAND_DEADLINE_MARGIN";
    pub const MAX_ATTEMPTS: &str = "PROTOLAND_MAX_ATTEMPTS";
    pub const RETRY_BACKOFF: &str = "PROTOLAND_RETRY_BACKOFF";
    pub const METRICS: &str = "PROTOLAND_METRICS";
    pub const METRICS_NAMESPACE: &str = "PROTOLAND_METRICS_NAMESPACE";
    // Read by the CLI only (`worker`, `backfill`).
    pub const QUEUE_URL: &str = "PROTOLAND_QUEUE_URL";
    pub const LOG_FORMAT: &str = "PROTOLAND_LOG_FORMAT";
    // ---- limits ----
    pub const MAX_LINE_BYTES: &str = "PROTOLAND_MAX_LINE_BYTES";
    pub const MAX_ZSTD_WINDOW: &str = "PROTOLAND_MAX_ZSTD_WINDOW";
    pub const MAX_COMPRESSION_RATIO: &str = "PROTOLAND_MAX_COMPRESSION_RATIO";
    /// Set by the Lambda runtime: the function's memory in MB.
    pub const LAMBDA_MEMORY_SIZE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
}

/// The kind of value a variable takes: the parser that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueKind {
    /// [`parse_size`].
    Size,
    /// [`parse_duration`].
    Duration,
    /// [`parse_bool`].
    Bool,
    /// Anything else (names, URLs, counts, choices).
    Other,
}

/// The kind of value `var` takes (for checks over every setting, such as
/// the documentation's examples).
pub fn value_kind(var: &str) -> ValueKind {
    match var {
        vars::MAX_FRAME_BYTES
        | vars::MAX_DECOMPRESSED_BYTES
        | vars::MAX_LINE_BYTES
        | vars::MAX_ZSTD_WINDOW
        | vars::PART_SIZE => ValueKind::Size,
        vars::DEADLINE_MARGIN | vars::RETRY_BACKOFF => ValueKind::Duration,
        vars::PROTO_NAMES | vars::EMIT_DEFAULTS | vars::ENUM_NUMBERS => ValueKind::Bool,
        _ => ValueKind::Other,
    }
}

/// A setting that is missing or invalid, named by its variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{var} is not set: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    /// A value that does not work, without the text it came from (a
    /// setting made in code, or a schema that does not load).
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
    /// A value that does not work, with the text it was given as.
    #[error("{var}: {message} (got {value:?})")]
    Value {
        var: &'static str,
        value: String,
        message: String,
    },
}

impl ConfigError {
    /// The variable at fault.
    pub fn var(&self) -> &'static str {
        match self {
            ConfigError::Missing { var, .. }
            | ConfigError::Invalid { var, .. }
            | ConfigError::Value { var, .. } => var,
        }
    }
}

fn invalid(var: &'static str, message: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        var,
        message: message.to_string(),
    }
}

/// `var`'s `value` does not work, because of `message`.
fn bad(var: &'static str, value: &str, message: impl ToString) -> ConfigError {
    ConfigError::Value {
        var,
        value: value.to_owned(),
        message: message.to_string(),
    }
}

fn parse_count(var: &'static str, v: &str) -> Result<usize, ConfigError> {
    v.parse::<usize>()
        .map_err(|_| bad(var, v, "not a whole number"))
}

/// Comma-separated import directories, each of which must exist (a typo
/// would otherwise surface as an import not found at the first schema).
fn parse_includes(v: &str) -> Result<Vec<PathBuf>, String> {
    v.split(',')
        .map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return Err("an empty directory name in the list".to_owned());
            }
            let path = PathBuf::from(p);
            if path.is_dir() {
                Ok(path)
            } else {
                Err(format!("`{p}` is not a directory"))
            }
        })
        .collect()
}

/// CloudWatch's rules for a namespace: 1 to 255 characters of
/// `0-9A-Za-z.-_/#: `, not only spaces, not starting with `AWS/` (reserved).
/// CloudWatch drops EMF lines with any other namespace without a word.
fn check_metrics_namespace(namespace: &str) -> Result<(), String> {
    if namespace.trim().is_empty() {
        return Err("a CloudWatch namespace needs a character other than a space".to_owned());
    }
    if namespace.len() > 255 {
        return Err(format!(
            "{} characters, over CloudWatch's 255 for a namespace",
            namespace.len()
        ));
    }
    if let Some(c) = namespace
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ".-_/#: ".contains(*c)))
    {
        return Err(format!(
            "`{c}` is not allowed in a CloudWatch namespace (letters, digits, `.-_/#:` and spaces)"
        ));
    }
    if namespace.starts_with("AWS/") {
        return Err("namespaces starting with `AWS/` are reserved for AWS".to_owned());
    }
    Ok(())
}

/// Checks a visibility timeout for SQS: whole seconds, 1s to 12h.
///
/// # Errors
///
/// A message saying which limit the duration breaks.
pub fn check_visibility_timeout(timeout: Duration) -> Result<Duration, String> {
    check_sqs_seconds(timeout, Duration::from_secs(1), SQS_MAX_VISIBILITY_TIMEOUT)
        .map_err(|limits| format!("{limits}, the visibility timeouts SQS accepts"))
}

/// Checks a retry delay (a failed message's new visibility timeout): whole
/// seconds, 0s to 12h.
///
/// # Errors
///
/// A message saying which limit the duration breaks.
pub fn check_retry_delay(delay: Duration) -> Result<Duration, String> {
    check_sqs_seconds(delay, Duration::ZERO, SQS_MAX_VISIBILITY_TIMEOUT)
        .map_err(|limits| format!("{limits}, the visibility timeouts SQS accepts"))
}

/// Checks a long-poll wait: whole seconds, 0s to 20s.
///
/// # Errors
///
/// A message saying which limit the duration breaks.
pub fn check_wait_time(wait: Duration) -> Result<Duration, String> {
    check_sqs_seconds(wait, Duration::ZERO, SQS_MAX_WAIT_TIME)
        .map_err(|limits| format!("{limits}, the long-poll waits SQS accepts"))
}

fn check_sqs_seconds(value: Duration, min: Duration, max: Duration) -> Result<Duration, String> {
    let range = format!("{} to {}", format_duration(min), format_duration(max));
    if value.subsec_nanos() != 0 {
        return Err(format!("must be whole seconds from {range}"));
    }
    if value < min || value > max {
        return Err(format!("must be {range}"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned(), None)
    }

    const BASE: [(&str, &str); 3] = [
        ("PROTOLAND_LANDING", "s3://landing/ndjson/"),
        ("PROTOLAND_SCHEMA", "schema/clicks.proto"),
        ("PROTOLAND_MESSAGE", "acme.Click"),
    ];

    #[test]
    fn applies_defaults() {
        let s = settings(&BASE).expect("valid");
        assert_eq!(
            s.landing,
            Location::S3 {
                bucket: "landing".into(),
                prefix: "ndjson".into()
            }
        );
        assert_eq!(
            s.quarantine,
            Location::S3 {
                bucket: "landing".into(),
                prefix: "ndjson/_quarantine".into()
            }
        );
        assert_eq!(s.output_compression, OutputCompression::Gzip);
        assert_eq!(s.framing, Framing::Auto);
        assert_eq!(s.on_bad_object, BadObjectPolicy::Fail);
        assert_eq!(s.part_size, 8 << 20);
        assert_eq!(
            s.schema,
            Some(SchemaSource::Path("schema/clicks.proto".into()))
        );
    }

    #[test]
    fn reads_every_setting() {
        let mut vars = BASE.to_vec();
        vars.extend([
            ("PROTOLAND_SCHEMA", "s3://schemas/all.binpb"),
            ("PROTOLAND_FRAMING", "varint"),
            ("PROTOLAND_COMPRESSION", "zstd"),
            ("PROTOLAND_OUTPUT_COMPRESSION", "none"),
            ("PROTOLAND_PROTO_NAMES", "true"),
            ("PROTOLAND_EMIT_DEFAULTS", "1"),
            ("PROTOLAND_ENUM_NUMBERS", "yes"),
            (
                "PROTOLAND_KEY_TEMPLATE",
                "{prefix}/dt={date}/{file_stem}{ext}",
            ),
            ("PROTOLAND_ON_BAD_OBJECT", "quarantine"),
            ("PROTOLAND_QUARANTINE", "/tmp/q"),
            ("PROTOLAND_ON_MISSING_OBJECT", "fail"),
            ("PROTOLAND_ROUTES", "clicks/=acme.Click"),
            ("PROTOLAND_CONCURRENCY", "8"),
            ("PROTOLAND_MAX_FRAME_BYTES", "1MiB"),
            ("PROTOLAND_MAX_DECOMPRESSED_BYTES", "2GB"),
            ("PROTOLAND_PART_SIZE", "16MiB"),
            ("PROTOLAND_DEADLINE_MARGIN", "1500ms"),
            ("PROTOLAND_MAX_ATTEMPTS", "5"),
            ("PROTOLAND_METRICS", "off"),
            ("PROTOLAND_MAX_LINE_BYTES", "16MiB"),
            ("PROTOLAND_MAX_ZSTD_WINDOW", "128MiB"),
            ("PROTOLAND_MAX_COMPRESSION_RATIO", "1000"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769"),
        ]);
        let s = settings(&vars).expect("valid");
        assert_eq!(s.limits.max_line_bytes, 16 << 20);
        assert_eq!(s.limits.max_zstd_window, 128 << 20);
        assert_eq!(s.limits.max_compression_ratio, 1000);
        assert_eq!(s.memory_limit, Some(1769 << 20));
        assert_eq!(
            s.schema,
            Some(SchemaSource::S3("s3://schemas/all.binpb".into()))
        );
        assert_eq!(s.framing, Framing::Varint);
        assert_eq!(s.compression, Compression::Zstd);
        assert_eq!(s.output_compression, OutputCompression::None);
        assert!(s.json.proto_names && s.json.emit_defaults && s.json.enum_numbers);
        assert_eq!(s.on_bad_object, BadObjectPolicy::Quarantine);
        assert_eq!(
            s.quarantine,
            Location::Local {
                root: "/tmp/q".into()
            }
        );
        assert_eq!(s.on_missing_object, MissingPolicy::Fail);
        assert_eq!(s.routes.len(), 1);
        assert_eq!(s.concurrency, 8);
        assert_eq!(s.limits.max_frame_bytes, 1 << 20);
        assert_eq!(s.limits.max_decompressed_bytes, 2_000_000_000);
        assert_eq!(s.part_size, 16 << 20);
        assert_eq!(s.deadline_margin, Duration::from_millis(1500));
        assert_eq!(s.max_attempts, 5);
        assert!(!s.metrics.enabled);
    }

    #[test]
    fn names_the_variable_that_is_missing_or_invalid() {
        let err = settings(&[]).unwrap_err();
        assert_eq!(err.var(), "PROTOLAND_LANDING");
        let err = settings(&[("PROTOLAND_LANDING", "/tmp/x")]).unwrap_err();
        assert_eq!(err.var(), "PROTOLAND_MESSAGE");
        let err = settings(&[
            ("PROTOLAND_LANDING", "/tmp/x"),
            ("PROTOLAND_MESSAGE", "a.B"),
        ])
        .unwrap_err();
        assert_eq!(err.var(), "PROTOLAND_SCHEMA");

        let cases = [
            ("PROTOLAND_FRAMING", "lines"),
            ("PROTOLAND_COMPRESSION", "brotli"),
            ("PROTOLAND_OUTPUT_COMPRESSION", "auto"),
            ("PROTOLAND_PROTO_NAMES", "maybe"),
            ("PROTOLAND_KEY_TEMPLATE", "{prefix}/{nope}"),
            ("PROTOLAND_ON_BAD_OBJECT", "ignore"),
            ("PROTOLAND_ROUTES", "clicks"),
            ("PROTOLAND_CONCURRENCY", "0"),
            ("PROTOLAND_PART_SIZE", "1MiB"),
            ("PROTOLAND_MAX_FRAME_BYTES", "12 parsecs"),
            ("PROTOLAND_DEADLINE_MARGIN", "soon"),
            ("PROTOLAND_LANDING", "s3://"),
            ("PROTOLAND_MAX_LINE_BYTES", "0"),
            ("PROTOLAND_MAX_ZSTD_WINDOW", "3MiB"),
            ("PROTOLAND_MAX_ZSTD_WINDOW", "4GiB"),
            ("PROTOLAND_MAX_COMPRESSION_RATIO", "lots"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1.5GB"),
        ];
        for (var, value) in cases {
            let mut vars = BASE.to_vec();
            vars.push((var, value));
            let err = settings(&vars).expect_err(var);
            assert_eq!(err.var(), var, "{err}");
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn routes_with_their_own_schemas_need_no_default_schema() {
        let s = settings(&[
            ("PROTOLAND_LANDING", "/tmp/x"),
            ("PROTOLAND_ROUTES", "a/=x.A@a.proto;b/=x.B@s3://s/b.binpb"),
        ])
        .expect("valid");
        assert_eq!(s.routes.len(), 2);
        let err = settings(&[
            ("PROTOLAND_LANDING", "/tmp/x"),
            ("PROTOLAND_ROUTES", "a/=x.A@a.proto;b/=x.B"),
        ])
        .unwrap_err();
        assert_eq!(err.var(), "PROTOLAND_SCHEMA");
    }

    /// The README's own example, `PROTOLAND_MAX_DECOMPRESSED_BYTES=1TiB`,
    /// stopped the function at start-up when this parser knew no `TiB`;
    /// and `5M` meant 5,000,000 bytes here but 5 MiB in the CLI.
    #[test]
    fn sizes_mean_what_the_cli_and_the_readme_say() {
        let mut vars = BASE.to_vec();
        vars.extend([
            ("PROTOLAND_MAX_DECOMPRESSED_BYTES", "1TiB"),
            ("PROTOLAND_PART_SIZE", "5M"),
            ("PROTOLAND_MAX_FRAME_BYTES", "64MB"),
            ("PROTOLAND_RETRY_BACKOFF", "1s"),
            ("PROTOLAND_DEADLINE_MARGIN", "1m"),
        ]);
        let s = settings(&vars).expect("valid");
        assert_eq!(s.limits.max_decompressed_bytes, 1 << 40);
        assert_eq!(s.part_size, 5 << 20);
        assert_eq!(s.limits.max_frame_bytes, 64_000_000);
        assert_eq!(s.retry_backoff, Duration::from_secs(1));
        assert_eq!(s.deadline_margin, Duration::from_secs(60));
    }

    #[test]
    fn booleans_take_every_documented_spelling() {
        for (value, expected) in [
            ("true", true),
            ("YES", true),
            ("on", true),
            ("1", true),
            ("False", false),
            ("no", false),
            ("OFF", false),
            ("0", false),
        ] {
            let mut vars = BASE.to_vec();
            vars.extend([
                ("PROTOLAND_PROTO_NAMES", value),
                ("PROTOLAND_EMIT_DEFAULTS", value),
                ("PROTOLAND_ENUM_NUMBERS", value),
                ("PROTOLAND_METRICS", value),
            ]);
            let s = settings(&vars).expect(value);
            assert_eq!(
                [
                    s.json.proto_names,
                    s.json.emit_defaults,
                    s.json.enum_numbers,
                    s.metrics.enabled
                ],
                [expected; 4],
                "{value}"
            );
        }
    }

    /// Variables whose values only `Pipeline::start` can judge (a schema
    /// that does not load, a message type the schema lacks): its tests
    /// and the CLI's cover them.
    const CHECKED_AT_START: [&str; 2] = ["PROTOLAND_SCHEMA", "PROTOLAND_MESSAGE"];
    /// Variables the CLI reads itself (its tests give them bad values).
    const CLI_ONLY: [&str; 2] = ["PROTOLAND_QUEUE_URL", "PROTOLAND_LOG_FORMAT"];

    /// Every variable with a bad value: the error names the variable, says
    /// what is wrong and quotes the value. A bad `PROTOLAND_RETRY_BACKOFF`
    /// used to reach the CLI as `error:  (`.
    #[test]
    fn every_variable_with_a_bad_value_names_itself_and_the_value() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "PROTOLAND_INCLUDE",
                "/no/such/dir",
                "`/no/such/dir` is not a directory",
            ),
            (
                "PROTOLAND_INCLUDE",
                ".,,.",
                "an empty directory name in the list",
            ),
            ("PROTOLAND_ROUTES", "clicks", "*"),
            ("PROTOLAND_LANDING", "s3://", "*"),
            ("PROTOLAND_FRAMING", "lines", "*"),
            ("PROTOLAND_COMPRESSION", "brotli", "*"),
            ("PROTOLAND_OUTPUT_COMPRESSION", "auto", "*"),
            (
                "PROTOLAND_PROTO_NAMES",
                "maybe",
                "not a boolean: true/false, 1/0, yes/no or on/off",
            ),
            (
                "PROTOLAND_EMIT_DEFAULTS",
                "2",
                "not a boolean: true/false, 1/0, yes/no or on/off",
            ),
            (
                "PROTOLAND_ENUM_NUMBERS",
                "y",
                "not a boolean: true/false, 1/0, yes/no or on/off",
            ),
            ("PROTOLAND_KEY_TEMPLATE", "{prefix}/{nope}", "*"),
            (
                "PROTOLAND_ON_BAD_OBJECT",
                "ignore",
                "not fail or quarantine",
            ),
            ("PROTOLAND_QUARANTINE", "s3://", "*"),
            (
                "PROTOLAND_ON_MISSING_OBJECT",
                "retry",
                "not acknowledge or fail",
            ),
            ("PROTOLAND_CONCURRENCY", "four", "not a whole number"),
            ("PROTOLAND_CONCURRENCY", "0", "must be at least 1"),
            (
                "PROTOLAND_MAX_FRAME_BYTES",
                "12 parsecs",
                "unknown size unit `parsecs` (B; KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB and K, M, G, T powers of 1024)",
            ),
            ("PROTOLAND_MAX_FRAME_BYTES", "0", "must be at least 1 byte"),
            (
                "PROTOLAND_MAX_DECOMPRESSED_BYTES",
                "1.5GiB",
                "not a whole number: fractions are not accepted, use a smaller unit",
            ),
            (
                "PROTOLAND_PART_SIZE",
                "1MiB",
                "1 MiB is under S3's minimum part size, 5 MiB",
            ),
            (
                "PROTOLAND_PART_SIZE",
                "5MB",
                "5000000 bytes is under S3's minimum part size, 5 MiB",
            ),
            (
                "PROTOLAND_PART_SIZE",
                "6GiB",
                "6 GiB is over S3's maximum part size, 5 GiB",
            ),
            (
                "PROTOLAND_DEADLINE_MARGIN",
                "soon",
                "not a duration: a whole number with a unit (ms, s, m, h; a plain number is seconds)",
            ),
            (
                "PROTOLAND_DEADLINE_MARGIN",
                "15m",
                "15m is not under 15m, Lambda's longest timeout: no object would ever start",
            ),
            ("PROTOLAND_MAX_ATTEMPTS", "-1", "not a whole number"),
            ("PROTOLAND_MAX_ATTEMPTS", "0", "must be at least 1"),
            (
                "PROTOLAND_RETRY_BACKOFF",
                "5x",
                "unknown duration unit `x` (ms, s, m, h; a plain number is seconds)",
            ),
            (
                "PROTOLAND_RETRY_BACKOFF",
                "5h",
                "5h doubling between 3 attempts (PROTOLAND_MAX_ATTEMPTS) waits 15.0h in all, over the 12h SQS keeps a message invisible at most",
            ),
            ("PROTOLAND_METRICS", "cloudwatch", "not emf or off"),
            ("PROTOLAND_MAX_LINE_BYTES", "lots", "*"),
            ("PROTOLAND_MAX_LINE_BYTES", "0", "*"),
            (
                "PROTOLAND_MAX_ZSTD_WINDOW",
                "3MiB",
                "3 MiB is not a power of two from 1KiB to 2GiB (e.g. 8MiB, 128MiB)",
            ),
            ("PROTOLAND_MAX_ZSTD_WINDOW", "4GiB", "*"),
            ("PROTOLAND_MAX_COMPRESSION_RATIO", "-5", "*"),
            (
                "PROTOLAND_METRICS_NAMESPACE",
                "AWS/Lambda",
                "namespaces starting with `AWS/` are reserved for AWS",
            ),
            (
                "PROTOLAND_METRICS_NAMESPACE",
                "data{landing}",
                "`{` is not allowed in a CloudWatch namespace (letters, digits, `.-_/#:` and spaces)",
            ),
        ];
        for (var, value, message) in cases {
            let mut vars = BASE.to_vec();
            vars.push((var, value));
            let err = settings(&vars).expect_err(var);
            assert_eq!(err.var(), *var, "{err}");
            let text = err.to_string();
            let tail = format!(" (got {value:?})");
            assert!(text.starts_with(&format!("{var}: ")), "{text}");
            assert!(text.ends_with(&tail), "{text}");
            if *message != "*" {
                assert_eq!(text, format!("{var}: {message}{tail}"));
            }
        }
        // The waits add up as the handler makes them: 200ms doubling 16
        // times, then 2^16 × 200ms each.
        let mut vars = BASE.to_vec();
        vars.push(("PROTOLAND_MAX_ATTEMPTS", "4294967295"));
        let started = std::time::Instant::now();
        assert_eq!(
            settings(&vars).unwrap_err().var(),
            "PROTOLAND_RETRY_BACKOFF"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        let waits = |attempts: u32| {
            let mut s = Settings::new(Location::parse("/tmp/x").expect("local"));
            s.max_attempts = attempts;
            s.retry_waits()
        };
        let ms = Duration::from_millis;
        assert_eq!(waits(1), Duration::ZERO);
        assert_eq!(waits(3), ms(200 + 400));
        assert_eq!(waits(18), ms(200 * ((1 << 17) - 1)));
        assert_eq!(waits(20), ms(200 * ((1 << 17) - 1 + 2 * 65_536)));
        // A too-many-attempts setting is blamed on the waits it makes.
        let mut vars = BASE.to_vec();
        vars.push(("PROTOLAND_MAX_ATTEMPTS", "40"));
        assert_eq!(
            settings(&vars).unwrap_err().to_string(),
            "PROTOLAND_RETRY_BACKOFF: 200ms doubling between 40 attempts (PROTOLAND_MAX_ATTEMPTS) waits 87.4h in all, over the 12h SQS keeps a message invisible at most"
        );

        // Every variable this module defines has a case above.
        let source = include_str!("config.rs");
        let declared: Vec<&str> = source
            .lines()
            .filter_map(|line| line.trim().strip_prefix("pub const "))
            .filter_map(|line| line.split('"').nth(1))
            .filter(|name| name.starts_with("PROTOLAND_"))
            .collect();
        assert!(declared.len() >= 24, "{declared:?}");
        for var in declared {
            assert!(
                CHECKED_AT_START.contains(&var)
                    || CLI_ONLY.contains(&var)
                    || cases.iter().any(|(v, ..)| *v == var),
                "no bad-value case for {var}"
            );
        }
    }

    #[test]
    fn sqs_durations_are_whole_seconds_within_sqs_limits() {
        let s = Duration::from_secs;
        assert_eq!(check_visibility_timeout(s(30)), Ok(s(30)));
        assert_eq!(check_visibility_timeout(s(43_200)), Ok(s(43_200)));
        assert_eq!(
            check_visibility_timeout(s(0)),
            Err("must be 1s to 12h, the visibility timeouts SQS accepts".into())
        );
        assert_eq!(
            check_visibility_timeout(s(43_201)),
            Err("must be 1s to 12h, the visibility timeouts SQS accepts".into())
        );
        assert_eq!(
            check_visibility_timeout(Duration::from_millis(1500)),
            Err("must be whole seconds from 1s to 12h, the visibility timeouts SQS accepts".into())
        );
        assert_eq!(check_retry_delay(s(0)), Ok(s(0)));
        assert!(check_retry_delay(s(13 * 3600)).is_err());
        assert_eq!(check_wait_time(s(20)), Ok(s(20)));
        assert_eq!(
            check_wait_time(s(21)),
            Err("must be 0s to 20s, the long-poll waits SQS accepts".into())
        );
    }
}
