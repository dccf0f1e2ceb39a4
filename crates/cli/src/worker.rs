//! `protoland worker`: long-poll an SQS queue of S3 notifications and
//! convert what it names, with the same handler as the Lambda function.
//! Also the pipeline settings shared with `protoland backfill`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use protoland_pipeline::parse_duration;
use protoland_pipeline::{ConfigError, Pipeline, Settings};
use protoland_pipeline::{WorkerOptions, run_worker, sqs_client_from_env};
use protoland_pipeline::{check_retry_delay, check_visibility_timeout, check_wait_time, vars};

/// The pipeline settings, as flags; each also reads its `PROTOLAND_*`
/// variable (see docs/configuration.md).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct PipelineArgs {
    /// Schema: a .proto file or descriptor set (path or s3:// URL)
    #[arg(short = 's', long, env = "PROTOLAND_SCHEMA")]
    schema: Option<String>,
    /// Import directory for .proto schemas (repeatable, or comma-separated)
    #[arg(
        short = 'I',
        long = "include",
        env = "PROTOLAND_INCLUDE",
        value_delimiter = ','
    )]
    includes: Vec<String>,
    /// Fully-qualified message type of every object (e.g. acme.clicks.Click)
    #[arg(short = 'm', long, env = "PROTOLAND_MESSAGE")]
    message: Option<String>,
    /// Message types by key: `PATTERN=MESSAGE[@SCHEMA];...`
    #[arg(long, env = "PROTOLAND_ROUTES")]
    routes: Option<String>,
    /// Where NDJSON objects land: s3://bucket/prefix or a local directory
    #[arg(long, env = "PROTOLAND_LANDING")]
    landing: Option<String>,
    /// Input framing [auto, single, varint, fixed32; default auto]
    #[arg(short = 'f', long, env = "PROTOLAND_FRAMING")]
    framing: Option<String>,
    /// Input compression [auto, none, gzip, zstd; default auto]
    #[arg(short = 'c', long, env = "PROTOLAND_COMPRESSION")]
    compression: Option<String>,
    /// Landing object compression [none, gzip, zstd; default gzip]
    #[arg(long, env = "PROTOLAND_OUTPUT_COMPRESSION")]
    output_compression: Option<String>,
    /// Landing object compression level [gzip 1-9, zstd 1-19; default gzip 6, zstd 1]
    #[arg(long, env = "PROTOLAND_OUTPUT_LEVEL", value_name = "LEVEL")]
    output_level: Option<String>,
    /// Keep .proto field names instead of lowerCamelCase JSON names [true/false, 1/0, yes/no, on/off;
    /// the flag alone is true]
    #[arg(
        long,
        env = "PROTOLAND_PROTO_NAMES",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    proto_names: Option<String>,
    /// Print fields that hold their default value [true/false, 1/0, yes/no, on/off;
    /// the flag alone is true]
    #[arg(
        long,
        env = "PROTOLAND_EMIT_DEFAULTS",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    emit_defaults: Option<String>,
    /// Print enum values as numbers [true/false, 1/0, yes/no, on/off;
    /// the flag alone is true]
    #[arg(
        long,
        env = "PROTOLAND_ENUM_NUMBERS",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    enum_numbers: Option<String>,
    /// Landing key template [default {prefix}/{key}{ext}]
    #[arg(long, env = "PROTOLAND_KEY_TEMPLATE")]
    key_template: Option<String>,
    /// What a corrupt object does [fail, quarantine; default fail]
    #[arg(long, env = "PROTOLAND_ON_BAD_OBJECT")]
    on_bad_object: Option<String>,
    /// Where quarantine reports go [default <landing>/_quarantine]
    #[arg(long, env = "PROTOLAND_QUARANTINE")]
    quarantine: Option<String>,
    /// What an object deleted before it is read does [acknowledge, fail; default acknowledge]
    #[arg(long, env = "PROTOLAND_ON_MISSING_OBJECT")]
    on_missing_object: Option<String>,
    /// Objects converted at once [default 4]
    #[arg(long, env = "PROTOLAND_CONCURRENCY")]
    concurrency: Option<String>,
    /// Longest message accepted [default 64MiB]
    #[arg(long, env = "PROTOLAND_MAX_FRAME_BYTES", value_name = "SIZE")]
    max_frame_bytes: Option<String>,
    /// Most decompressed bytes per object [default 64GiB]
    #[arg(long, env = "PROTOLAND_MAX_DECOMPRESSED_BYTES", value_name = "SIZE")]
    max_decompressed_bytes: Option<String>,
    /// Longest JSON line (one message) [default 64MiB]
    #[arg(long, env = "PROTOLAND_MAX_LINE_BYTES", value_name = "SIZE")]
    max_line_bytes: Option<String>,
    /// Largest zstd window, a power of two [default 8MiB]
    #[arg(long, env = "PROTOLAND_MAX_ZSTD_WINDOW", value_name = "SIZE")]
    max_zstd_window: Option<String>,
    /// Most decompressed bytes per compressed byte past 256 MiB, 0 for no limit [default 200]
    #[arg(long, env = "PROTOLAND_MAX_COMPRESSION_RATIO", value_name = "RATIO")]
    max_compression_ratio: Option<String>,
    /// Multipart threshold and part size [default 8MiB, at least 5MiB]
    #[arg(long, env = "PROTOLAND_PART_SIZE", value_name = "SIZE")]
    part_size: Option<String>,
    /// Attempts per object for transient failures [default 3]
    #[arg(long, env = "PROTOLAND_MAX_ATTEMPTS")]
    max_attempts: Option<String>,
    /// CloudWatch EMF metrics lines on stdout [emf, off]
    #[arg(long, env = "PROTOLAND_METRICS")]
    metrics: Option<String>,
    // ---- output format ----
    /// What landing objects hold [ndjson, parquet; default ndjson]
    #[arg(long, env = "PROTOLAND_OUTPUT_FORMAT")]
    output_format: Option<String>,
    /// Parquet page compression [zstd, snappy, gzip, none; default zstd]
    #[arg(long, env = "PROTOLAND_PARQUET_COMPRESSION", value_name = "NAME")]
    parquet_compression: Option<String>,
    /// Parquet page compression level [zstd 1-19, gzip 1-9; default zstd
    /// 1, gzip 6]
    #[arg(long, env = "PROTOLAND_PARQUET_LEVEL", value_name = "LEVEL")]
    parquet_level: Option<String>,
    /// Parquet row group size [default 64MiB, at least 1MiB]
    #[arg(long, env = "PROTOLAND_PARQUET_ROW_GROUP_BYTES", value_name = "SIZE")]
    parquet_row_group_bytes: Option<String>,
    /// How deep a message type may nest in itself as Parquet columns; the
    /// level below is ProtoJSON text [default 3, 1 to 16]
    #[arg(long, env = "PROTOLAND_PARQUET_MAX_DEPTH", value_name = "N")]
    parquet_max_depth: Option<String>,
    /// Parquet Timestamp columns [micros, text; default micros]
    #[arg(long, env = "PROTOLAND_PARQUET_TIMESTAMPS", value_name = "MODE")]
    parquet_timestamps: Option<String>,
}

/// (flag, variable) pairs, to name flags in configuration errors.
pub(crate) const FLAGS: [(&str, &str); 31] = [
    ("--schema", vars::SCHEMA),
    ("--include", vars::INCLUDE),
    ("--message", vars::MESSAGE),
    ("--routes", vars::ROUTES),
    ("--landing", vars::LANDING),
    ("--framing", vars::FRAMING),
    ("--compression", vars::COMPRESSION),
    ("--output-compression", vars::OUTPUT_COMPRESSION),
    ("--output-level", vars::OUTPUT_LEVEL),
    ("--proto-names", vars::PROTO_NAMES),
    ("--emit-defaults", vars::EMIT_DEFAULTS),
    ("--enum-numbers", vars::ENUM_NUMBERS),
    ("--key-template", vars::KEY_TEMPLATE),
    ("--on-bad-object", vars::ON_BAD_OBJECT),
    ("--quarantine", vars::QUARANTINE),
    ("--on-missing-object", vars::ON_MISSING_OBJECT),
    ("--concurrency", vars::CONCURRENCY),
    ("--max-frame-bytes", vars::MAX_FRAME_BYTES),
    ("--max-decompressed-bytes", vars::MAX_DECOMPRESSED_BYTES),
    ("--max-line-bytes", vars::MAX_LINE_BYTES),
    ("--max-zstd-window", vars::MAX_ZSTD_WINDOW),
    ("--max-compression-ratio", vars::MAX_COMPRESSION_RATIO),
    ("--part-size", vars::PART_SIZE),
    ("--max-attempts", vars::MAX_ATTEMPTS),
    ("--metrics", vars::METRICS),
    ("--output-format", vars::OUTPUT_FORMAT),
    ("--parquet-compression", vars::PARQUET_COMPRESSION),
    ("--parquet-level", vars::PARQUET_LEVEL),
    ("--parquet-row-group-bytes", vars::PARQUET_ROW_GROUP_BYTES),
    ("--parquet-max-depth", vars::PARQUET_MAX_DEPTH),
    ("--parquet-timestamps", vars::PARQUET_TIMESTAMPS),
];

impl PipelineArgs {
    /// Checked settings; `metrics_default` applies when `--metrics` is unset.
    pub(crate) fn settings(&self, metrics_default: &str) -> anyhow::Result<Settings> {
        let mut map: HashMap<&'static str, String> = HashMap::new();
        let mut set = |var: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                map.insert(var, v.clone());
            }
        };
        set(vars::SCHEMA, &self.schema);
        set(vars::MESSAGE, &self.message);
        set(vars::ROUTES, &self.routes);
        set(vars::LANDING, &self.landing);
        set(vars::FRAMING, &self.framing);
        set(vars::COMPRESSION, &self.compression);
        set(vars::OUTPUT_COMPRESSION, &self.output_compression);
        set(vars::OUTPUT_LEVEL, &self.output_level);
        set(vars::KEY_TEMPLATE, &self.key_template);
        set(vars::ON_BAD_OBJECT, &self.on_bad_object);
        set(vars::QUARANTINE, &self.quarantine);
        set(vars::ON_MISSING_OBJECT, &self.on_missing_object);
        set(vars::CONCURRENCY, &self.concurrency);
        set(vars::MAX_FRAME_BYTES, &self.max_frame_bytes);
        set(vars::MAX_DECOMPRESSED_BYTES, &self.max_decompressed_bytes);
        set(vars::MAX_LINE_BYTES, &self.max_line_bytes);
        set(vars::MAX_ZSTD_WINDOW, &self.max_zstd_window);
        set(vars::MAX_COMPRESSION_RATIO, &self.max_compression_ratio);
        set(vars::PART_SIZE, &self.part_size);
        set(vars::MAX_ATTEMPTS, &self.max_attempts);
        set(vars::PROTO_NAMES, &self.proto_names);
        set(vars::EMIT_DEFAULTS, &self.emit_defaults);
        set(vars::ENUM_NUMBERS, &self.enum_numbers);
        set(vars::OUTPUT_FORMAT, &self.output_format);
        set(vars::PARQUET_COMPRESSION, &self.parquet_compression);
        set(vars::PARQUET_LEVEL, &self.parquet_level);
        set(vars::PARQUET_ROW_GROUP_BYTES, &self.parquet_row_group_bytes);
        set(vars::PARQUET_MAX_DEPTH, &self.parquet_max_depth);
        set(vars::PARQUET_TIMESTAMPS, &self.parquet_timestamps);
        set(
            vars::METRICS,
            &Some(
                self.metrics
                    .clone()
                    .unwrap_or_else(|| metrics_default.to_owned()),
            ),
        );
        if !self.includes.is_empty() {
            map.insert(vars::INCLUDE, self.includes.join(","));
        }
        // Settings without a flag (PROTOLAND_RETRY_BACKOFF, …) come from the environment.
        let lookup = |var: &str| map.get(var).cloned().or_else(|| std::env::var(var).ok());
        Settings::from_lookup(lookup, None).map_err(|e| config_error(&e))
    }
}

/// A configuration error naming the flag too when the setting has one:
/// `--part-size / PROTOLAND_PART_SIZE: … (got "1MiB")`.
pub(crate) fn config_error(e: &ConfigError) -> anyhow::Error {
    match FLAGS.iter().find(|(_, var)| *var == e.var()) {
        Some((flag, _)) => anyhow::anyhow!("{flag} / {e}"),
        None => anyhow::anyhow!("{e}"),
    }
}

/// `--visibility-timeout`: a duration SQS takes as a visibility timeout.
fn visibility_timeout(text: &str) -> Result<Duration, String> {
    check_visibility_timeout(parse_duration(text).map_err(|e| e.to_string())?)
}

/// `--retry-delay`: a duration SQS takes as a visibility timeout, or 0.
fn retry_delay(text: &str) -> Result<Duration, String> {
    check_retry_delay(parse_duration(text).map_err(|e| e.to_string())?)
}

/// `--wait-seconds`: a long-poll wait SQS takes.
fn wait_time(text: &str) -> Result<Duration, String> {
    check_wait_time(parse_duration(text).map_err(|e| e.to_string())?)
}

/// `--queue-url`: an `http://` or `https://` URL (SQS queue URLs are
/// `https://sqs.<region>.amazonaws.com/<account>/<name>`).
fn queue_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(rest) if rest.contains('/') && !rest.starts_with('/') => Ok(text.to_owned()),
        _ => Err(format!(
            "not a queue URL ({}): expected https://sqs.<region>.amazonaws.com/<account>/<queue>",
            vars::QUEUE_URL
        )),
    }
}

/// Long-poll an SQS queue and convert the objects its S3 notifications name
#[derive(Debug, clap::Args)]
pub(crate) struct WorkerArgs {
    /// The queue's URL
    #[arg(long, env = "PROTOLAND_QUEUE_URL", value_parser = queue_url)]
    queue_url: String,
    /// Exit once a receive finds the queue empty; the exit code is then 1
    /// when any message failed during the run
    #[arg(long)]
    until_empty: bool,
    /// Long-poll wait per receive: a duration, plain numbers are seconds
    /// (0 to 20s, SQS's limits)
    #[arg(long, value_name = "DURATION", default_value = "20", value_parser = wait_time)]
    wait_seconds: Duration,
    /// Visibility timeout to keep extending in-progress messages to: a
    /// duration, plain numbers are seconds (1s to 12h, SQS's limits)
    /// [default: the queue's]
    #[arg(long, value_name = "DURATION", value_parser = visibility_timeout)]
    visibility_timeout: Option<Duration>,
    /// Make failed messages visible again after this long instead of after
    /// the visibility timeout: a duration, plain numbers are seconds (0 to
    /// 12h, SQS's limits)
    #[arg(long, value_name = "DURATION", value_parser = retry_delay)]
    retry_delay: Option<Duration>,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// Logs on stderr: text, or JSON with `PROTOLAND_LOG_FORMAT=json`; level by
/// `RUST_LOG` (default info). Keeps an already installed subscriber.
///
/// # Errors
///
/// When `PROTOLAND_LOG_FORMAT` is neither `text` nor `json`.
pub(crate) fn init_logging() -> anyhow::Result<()> {
    let json = match std::env::var(vars::LOG_FORMAT) {
        Err(_) => false,
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "" | "text" => false,
            "json" => true,
            _ => anyhow::bail!("{}: not text or json (got {v:?})", vars::LOG_FORMAT),
        },
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    Ok(())
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub(crate) fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    init_logging()?;
    let settings = args.pipeline.settings("emf")?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let pipeline = Pipeline::start(settings, "worker")
            .await
            .map_err(|e| config_error(&e))?;
        let client = sqs_client_from_env().await;
        let mut options = WorkerOptions::new(args.queue_url.clone());
        options.until_empty = args.until_empty;
        options.wait_time = args.wait_seconds;
        options.visibility_timeout = args.visibility_timeout;
        options.retry_delay = args.retry_delay;
        // The worker logs its own summary ("worker stopped").
        let summary = run_worker(&pipeline, &client, &options, shutdown_signal())
            .await
            .with_context(|| format!("polling {}", args.queue_url))?;
        // A drain that left failures behind did not do its job, as a
        // backfill with failures did not: a script or a CI job must see it.
        // A long-running worker stopped by a signal did what it was asked.
        if args.until_empty && summary.failed > 0 {
            let noun = if summary.failed == 1 { "message" } else { "messages" };
            crate::eprint_line(format_args!(
                "error: {} {noun} failed, left on the queue for redelivery (see the `object failed` lines)",
                summary.failed
            ));
            return Ok(ExitCode::FAILURE);
        }
        Ok(ExitCode::SUCCESS)
    })
}
