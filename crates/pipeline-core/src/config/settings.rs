//! The checked settings of the pipeline, their defaults, and the checks no
//! single setting can make on its own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use protoland_stream::{Compression, Framing, Limits, OutputFormat, ParquetOptions};
use protoland_transcode::JsonOptions;

use super::error::{ConfigError, invalid};
use super::limits::{
    LAMBDA_MAX_TIMEOUT, MAX_PART_SIZE, MIN_PART_SIZE, SQS_MAX_VISIBILITY_TIMEOUT,
    check_metrics_namespace,
};
use super::vars;
use crate::landing::{KeyTemplate, OutputCompression};
use crate::location::{Location, StorageOptions};
use crate::routes::RouteSpec;
use crate::units::{check_window, format_duration, format_size};

/// The smallest Parquet row group size accepted.
const MIN_ROW_GROUP_BYTES: usize = 1 << 20;

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
    /// Its level (`PROTOLAND_OUTPUT_LEVEL`: gzip 1 to 9, zstd 1 to 19);
    /// `None` for the format's default (gzip 6, zstd 1).
    pub output_level: Option<u32>,
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
    /// What landing objects hold (`PROTOLAND_OUTPUT_FORMAT`, default
    /// `ndjson`); a route may choose its own (` as FORMAT`).
    pub output_format: OutputFormat,
    /// How Parquet objects are written: page compression
    /// (`PROTOLAND_PARQUET_COMPRESSION`, default `zstd`) and its level
    /// (`PROTOLAND_PARQUET_LEVEL`, default zstd 1, gzip 6), row group size
    /// (`PROTOLAND_PARQUET_ROW_GROUP_BYTES`, default 64 MiB), recursion
    /// depth (`PROTOLAND_PARQUET_MAX_DEPTH`, default 3) and timestamps
    /// (`PROTOLAND_PARQUET_TIMESTAMPS`, `micros` or `text`).
    pub parquet: ParquetOptions,
}

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
            output_level: None,
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
            output_format: OutputFormat::Ndjson,
            parquet: ParquetOptions::default(),
        }
    }

    /// The output format of the objects `route` (an index into
    /// [`Settings::routes`]; `None` for the default route) converts.
    pub fn format_of(&self, route: Option<usize>) -> OutputFormat {
        route
            .and_then(|i| self.routes.get(i))
            .and_then(|r| r.format)
            .unwrap_or(self.output_format)
    }

    /// Whether any route (or the default) writes NDJSON: the only output
    /// that [`Settings::output_compression`] applies to.
    pub fn writes_ndjson(&self) -> bool {
        let default = (self.message.is_some() || self.routes.iter().any(|r| r.format.is_none()))
            && self.output_format == OutputFormat::Ndjson;
        default
            || self
                .routes
                .iter()
                .any(|r| r.format == Some(OutputFormat::Ndjson))
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
        if let Some(level) = self.output_level {
            protoland_stream::check_level(self.output_compression.compression(), level)
                .map_err(|e| invalid(vars::OUTPUT_LEVEL, e))?;
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
        // ---- limits (read with the others in `env`) ----
        if self.limits.max_line_bytes == 0 {
            return Err(invalid(vars::MAX_LINE_BYTES, "must be at least 1 byte"));
        }
        check_window(self.limits.max_zstd_window).map_err(|e| invalid(vars::MAX_ZSTD_WINDOW, e))?;
        // ---- output format ----
        if self.parquet.row_group_bytes < MIN_ROW_GROUP_BYTES {
            return Err(invalid(
                vars::PARQUET_ROW_GROUP_BYTES,
                "must be at least 1 MiB: smaller row groups make every reader slower",
            ));
        }
        ParquetOptions::check_max_depth(self.parquet.max_depth)
            .map_err(|e| invalid(vars::PARQUET_MAX_DEPTH, e))?;
        if let Some(level) = self.parquet.level {
            self.parquet
                .compression
                .check_level(level)
                .map_err(|e| invalid(vars::PARQUET_LEVEL, e))?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The waits add up as the handler makes them: the backoff doubling 16
    /// times, then 2^16 × the backoff each.
    #[test]
    fn retry_waits_double_then_stay_at_two_to_the_sixteen() {
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
    }
}
