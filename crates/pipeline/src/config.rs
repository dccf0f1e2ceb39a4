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
use crate::routes::{RouteSpec, parse_routes};
use crate::storage::{Location, StorageOptions};

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
    /// `PROTOLAND_KEY_TEMPLATE`, default `{prefix}/{stem}{ext}`.
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
    /// [`crate::memory`]).
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
        let landing = Location::parse(&landing).map_err(|message| ConfigError::Invalid {
            var: vars::LANDING,
            message,
        })?;
        let mut s = Settings::new(landing);
        s.schema = get(vars::SCHEMA)
            .map(|v| SchemaSource::parse(&v))
            .or(default_schema);
        if let Some(v) = get(vars::INCLUDE) {
            s.includes = v.split(',').map(|p| PathBuf::from(p.trim())).collect();
        }
        s.message = get(vars::MESSAGE);
        if let Some(v) = get(vars::ROUTES) {
            s.routes = parse_routes(&v).map_err(|e| invalid(vars::ROUTES, e))?;
        }
        if let Some(v) = get(vars::FRAMING) {
            s.framing = v.parse().map_err(|e| invalid(vars::FRAMING, e))?;
        }
        if let Some(v) = get(vars::COMPRESSION) {
            s.compression = v.parse().map_err(|e| invalid(vars::COMPRESSION, e))?;
        }
        if let Some(v) = get(vars::OUTPUT_COMPRESSION) {
            s.output_compression = v
                .parse()
                .map_err(|e: String| invalid(vars::OUTPUT_COMPRESSION, e))?;
        }
        if let Some(v) = get(vars::PROTO_NAMES) {
            s.json.proto_names = parse_bool(vars::PROTO_NAMES, &v)?;
        }
        if let Some(v) = get(vars::EMIT_DEFAULTS) {
            s.json.emit_defaults = parse_bool(vars::EMIT_DEFAULTS, &v)?;
        }
        if let Some(v) = get(vars::ENUM_NUMBERS) {
            s.json.enum_numbers = parse_bool(vars::ENUM_NUMBERS, &v)?;
        }
        if let Some(v) = get(vars::KEY_TEMPLATE) {
            s.key_template = KeyTemplate::parse(&v).map_err(|e| invalid(vars::KEY_TEMPLATE, e))?;
        }
        if let Some(v) = get(vars::ON_BAD_OBJECT) {
            s.on_bad_object = match v.to_ascii_lowercase().as_str() {
                "fail" => BadObjectPolicy::Fail,
                "quarantine" => BadObjectPolicy::Quarantine,
                _ => {
                    return Err(invalid(
                        vars::ON_BAD_OBJECT,
                        format!("`{v}` is not fail or quarantine"),
                    ));
                }
            };
        }
        if let Some(v) = get(vars::QUARANTINE) {
            s.quarantine = Location::parse(&v).map_err(|e| invalid(vars::QUARANTINE, e))?;
        }
        if let Some(v) = get(vars::ON_MISSING_OBJECT) {
            s.on_missing_object = match v.to_ascii_lowercase().as_str() {
                "acknowledge" | "ack" => MissingPolicy::Acknowledge,
                "fail" => MissingPolicy::Fail,
                _ => {
                    return Err(invalid(
                        vars::ON_MISSING_OBJECT,
                        format!("`{v}` is not acknowledge or fail"),
                    ));
                }
            };
        }
        if let Some(v) = get(vars::CONCURRENCY) {
            s.concurrency = parse_count(vars::CONCURRENCY, &v)?;
        }
        if let Some(v) = get(vars::MAX_FRAME_BYTES) {
            s.limits.max_frame_bytes =
                parse_size(&v).map_err(|e| invalid(vars::MAX_FRAME_BYTES, e))?;
        }
        if let Some(v) = get(vars::MAX_DECOMPRESSED_BYTES) {
            s.limits.max_decompressed_bytes =
                parse_size(&v).map_err(|e| invalid(vars::MAX_DECOMPRESSED_BYTES, e))?;
        }
        // ---- Limits of one message and of decompression, and the memory
        // they are checked against (crate::memory) ----
        if let Some(v) = get(vars::MAX_LINE_BYTES) {
            s.limits.max_line_bytes =
                parse_size(&v).map_err(|e| invalid(vars::MAX_LINE_BYTES, e))?;
        }
        if let Some(v) = get(vars::MAX_ZSTD_WINDOW) {
            s.limits.max_zstd_window =
                parse_size(&v).map_err(|e| invalid(vars::MAX_ZSTD_WINDOW, e))?;
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
            let size = parse_size(&v).map_err(|e| invalid(vars::PART_SIZE, e))?;
            s.part_size = usize::try_from(size)
                .map_err(|_| invalid(vars::PART_SIZE, format!("{size} bytes is too large")))?;
        }
        if let Some(v) = get(vars::DEADLINE_MARGIN) {
            s.deadline_margin =
                parse_duration(&v).map_err(|e| invalid(vars::DEADLINE_MARGIN, e))?;
        }
        if let Some(v) = get(vars::MAX_ATTEMPTS) {
            let n = parse_count(vars::MAX_ATTEMPTS, &v)?;
            s.max_attempts = u32::try_from(n)
                .map_err(|_| invalid(vars::MAX_ATTEMPTS, format!("{n} is too large")))?;
        }
        if let Some(v) = get(vars::RETRY_BACKOFF) {
            s.retry_backoff = parse_duration(&v).map_err(|e| invalid(vars::RETRY_BACKOFF, e))?;
        }
        if let Some(v) = get(vars::METRICS) {
            s.metrics.enabled = match v.to_ascii_lowercase().as_str() {
                "emf" | "on" | "true" => true,
                "off" | "none" | "false" => false,
                _ => return Err(invalid(vars::METRICS, format!("`{v}` is not emf or off"))),
            };
        }
        if let Some(v) = get(vars::METRICS_NAMESPACE) {
            s.metrics.namespace = v;
        }
        s.validate()?;
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
                    "{} bytes is under S3's 5 MiB minimum part size",
                    self.part_size
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
        // ---- limits (see the parsing above) ----
        if self.limits.max_line_bytes == 0 {
            return Err(invalid(vars::MAX_LINE_BYTES, "must be at least 1 byte"));
        }
        let window = self.limits.max_zstd_window;
        if !window.is_power_of_two() || !(1 << 10..=2 << 30).contains(&window) {
            return Err(invalid(
                vars::MAX_ZSTD_WINDOW,
                format!("{window} bytes is not a power of two from 1KiB to 2GiB (e.g. 8MiB)"),
            ));
        }
        Ok(())
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
    // ---- limits ----
    pub const MAX_LINE_BYTES: &str = "PROTOLAND_MAX_LINE_BYTES";
    pub const MAX_ZSTD_WINDOW: &str = "PROTOLAND_MAX_ZSTD_WINDOW";
    pub const MAX_COMPRESSION_RATIO: &str = "PROTOLAND_MAX_COMPRESSION_RATIO";
    /// Set by the Lambda runtime: the function's memory in MB.
    pub const LAMBDA_MEMORY_SIZE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
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
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
}

impl ConfigError {
    /// The variable at fault.
    pub fn var(&self) -> &'static str {
        match self {
            ConfigError::Missing { var, .. } | ConfigError::Invalid { var, .. } => var,
        }
    }
}

fn invalid(var: &'static str, message: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        var,
        message: message.to_string(),
    }
}

fn parse_bool(var: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(var, format!("`{v}` is not true or false"))),
    }
}

fn parse_count(var: &'static str, v: &str) -> Result<usize, ConfigError> {
    v.parse::<usize>()
        .map_err(|_| invalid(var, format!("`{v}` is not a whole number")))
}

/// Parses a size: bytes, or a number with `KB` `MB` `GB` (powers of 1000) or
/// `KiB` `MiB` `GiB` (powers of 1024).
///
/// # Errors
///
/// A message naming the value when it is not a size.
pub fn parse_size(v: &str) -> Result<u64, String> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{v}` is not a size (e.g. 67108864, 64MiB, 8MB)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{v}` has an unknown unit (B, KB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("`{v}` is too large"))
}

/// Parses a duration: `500ms`, `10s`, `2m`, or plain seconds.
///
/// # Errors
///
/// A message naming the value when it is not a duration.
pub fn parse_duration(v: &str) -> Result<Duration, String> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{v}` is not a duration (e.g. 500ms, 10s, 2m)"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number.saturating_mul(60))),
        _ => Err(format!("`{v}` has an unknown unit (ms, s, m)")),
    }
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

    #[test]
    fn parses_sizes_and_durations() {
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("8 MB"), Ok(8_000_000));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert!(parse_size("MiB").is_err());
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("1h").is_err());
    }
}
