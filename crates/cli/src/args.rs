//! Flags shared by several subcommands, and what they turn into.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{ArgAction, Args};
use protoland_pipeline::{parse_bool, parse_size, parse_window};
use protoland_schema::Schema;
use protoland_stream::{
    Compression, ConvertOptions, Converter, Framing, Limits, OutputFormat, PageCompression,
    ParquetOptions, TimestampMode,
};
use protoland_transcode::{JsonOptions, Plan};

/// The schema and the message type (convert, table).
#[derive(Debug, Clone, Args)]
pub(crate) struct SchemaArgs {
    /// A .proto file or a binary FileDescriptorSet (repeatable).
    #[arg(short = 's', long = "schema", value_name = "PATH", required = true)]
    pub(crate) schema: Vec<PathBuf>,

    /// An import directory for .proto files, like protoc -I (repeatable).
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    pub(crate) include: Vec<PathBuf>,

    /// The fully-qualified message type of every message, e.g. acme.Click.
    #[arg(short = 'm', long, value_name = "NAME")]
    pub(crate) message: String,
}

/// How the input is read: layout, compression and caps.
#[derive(Debug, Clone, Args)]
pub(crate) struct StreamArgs {
    /// How messages are laid out: one message, or messages prefixed by their
    /// length as a varint or as 4 big-endian bytes. `auto` picks the layout
    /// that parses cleanly to the last byte.
    #[arg(short = 'f', long, value_enum, default_value_t = Framing::Auto)]
    pub(crate) framing: Framing,

    /// How the input is compressed. `auto` decides by the first bytes, never
    /// by the file name.
    #[arg(short = 'c', long, value_enum, default_value_t = Compression::Auto)]
    pub(crate) compression: Compression,

    /// Longest message accepted (a longer frame is an error, or skipped with
    /// --skip-invalid). Sizes: bytes, or KB, MB, GB, TB (powers of 1000) or
    /// KiB, MiB, GiB, TiB (powers of 1024; K, M, G, T alone too).
    // One name per setting: the worker's and PROTOLAND_MAX_FRAME_BYTES's;
    // the name this flag had first stays as a hidden alias.
    #[arg(
        long,
        alias = "max-frame-size",
        value_name = "SIZE",
        default_value = "64MiB",
        value_parser = parse_size
    )]
    pub(crate) max_frame_bytes: u64,

    /// Most decompressed bytes one input may produce: stops decompression
    /// bombs.
    #[arg(
        long,
        alias = "max-decompressed-size",
        value_name = "SIZE",
        default_value = "64GiB",
        value_parser = parse_size
    )]
    pub(crate) max_decompressed_bytes: u64,

    // ---- limits of one message and of decompression ----
    /// Longest JSON line (one message): a message that prints longer is an
    /// error (or skipped with --skip-invalid), stopped while it is written.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub(crate) max_line_bytes: u64,

    /// Largest zstd window accepted (a power of two, 1KiB to 2GiB): frames
    /// written with `zstd --long` or `--ultra` levels need more than the
    /// default.
    #[arg(long, value_name = "SIZE", default_value = "8MiB", value_parser = parse_window)]
    pub(crate) max_zstd_window: u64,

    /// Most decompressed bytes per compressed byte, checked past 256 MiB
    /// decompressed (stops decompression bombs); 0 turns it off.
    #[arg(long, value_name = "RATIO", default_value_t = 200)]
    pub(crate) max_compression_ratio: u64,
    // ---- end of the limits ----
}

impl StreamArgs {
    pub(crate) fn options(&self, skip_invalid: bool) -> ConvertOptions {
        ConvertOptions {
            compression: self.compression,
            framing: self.framing,
            limits: Limits {
                max_decompressed_bytes: self.max_decompressed_bytes,
                max_frame_bytes: self.max_frame_bytes,
                max_line_bytes: self.max_line_bytes,
                max_zstd_window: self.max_zstd_window,
                max_compression_ratio: self.max_compression_ratio,
            },
            skip_invalid,
        }
    }
}

/// What `convert` writes: NDJSON, or Parquet and how.
#[derive(Debug, Clone, Args)]
pub(crate) struct FormatArgs {
    /// What to write: one ProtoJSON line per message, or one Parquet file
    /// (one row per message, typed from the schema; see docs/parquet.md).
    #[arg(long, value_enum, default_value_t = OutputFormat::Ndjson)]
    pub(crate) output_format: OutputFormat,

    /// Parquet page compression: zstd, snappy, gzip or none. A Parquet
    /// file is never compressed as a whole.
    #[arg(long, value_name = "NAME", default_value = "zstd")]
    pub(crate) parquet_compression: PageCompression,

    /// Parquet page compression level: zstd 1 to 19, gzip 1 to 9
    /// [default: zstd 1, gzip 6]
    #[arg(long, value_name = "LEVEL")]
    pub(crate) parquet_level: Option<u32>,

    /// Parquet row group size: a row group is written out once it holds
    /// this much (at least 1MiB).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub(crate) parquet_row_group_bytes: u64,

    #[command(flatten)]
    pub(crate) shape: ParquetShapeArgs,
}

/// What shapes Parquet columns beyond the JSON options: shared by
/// `convert` and `table`, so a table is defined as its files are written.
#[derive(Debug, Clone, Args)]
pub(crate) struct ParquetShapeArgs {
    /// How many times a message type may nest in itself as Parquet
    /// columns (1 to 16); the level below is a string column holding its
    /// ProtoJSON text.
    #[arg(long, value_name = "N", default_value_t = ParquetOptions::DEFAULT_MAX_DEPTH,
        value_parser = parse_max_depth)]
    pub(crate) parquet_max_depth: usize,

    /// Parquet Timestamp columns: micros (TIMESTAMP, UTC, nanoseconds
    /// truncated) or text (the exact ProtoJSON string).
    #[arg(long, value_name = "MODE", default_value = "micros")]
    pub(crate) parquet_timestamps: TimestampMode,
}

/// A recursion depth for Parquet columns, as
/// [`ParquetOptions::check_max_depth`] accepts it.
fn parse_max_depth(s: &str) -> Result<usize, String> {
    let n = s.parse::<usize>().map_err(|_| {
        format!(
            "not a whole number from 1 to {}",
            ParquetOptions::MAX_MAX_DEPTH
        )
    })?;
    ParquetOptions::check_max_depth(n).map_err(|e| e.to_string())
}

impl ParquetShapeArgs {
    /// Default Parquet options with this shape.
    pub(crate) fn options(&self) -> ParquetOptions {
        ParquetOptions {
            max_depth: self.parquet_max_depth,
            timestamps: self.parquet_timestamps,
            ..ParquetOptions::default()
        }
    }
}

impl FormatArgs {
    /// A converter of `plan`'s messages that writes this format.
    pub(crate) fn converter(&self, plan: Plan, options: ConvertOptions) -> Result<Converter> {
        let converter = Converter::new(plan, options);
        if self.output_format == OutputFormat::Ndjson {
            return Ok(converter);
        }
        if self.parquet_row_group_bytes < 1 << 20 {
            bail!(
                "--parquet-row-group-bytes: must be at least 1MiB (got {})",
                self.parquet_row_group_bytes
            );
        }
        if let Some(level) = self.parquet_level {
            self.parquet_compression
                .check_level(level)
                .map_err(|e| anyhow::anyhow!("--parquet-level: {e}"))?;
        }
        let parquet = ParquetOptions {
            compression: self.parquet_compression,
            level: self.parquet_level,
            row_group_bytes: usize::try_from(self.parquet_row_group_bytes).unwrap_or(usize::MAX),
            ..self.shape.options()
        };
        Ok(converter.with_parquet(parquet)?)
    }
}

/// JSON output options. Each flag alone means true; with a value it takes
/// any boolean spelling after `=` (`--proto-names=off`), as the worker's do.
#[derive(Debug, Clone, Args)]
pub(crate) struct JsonArgs {
    /// Use the .proto field names (user_id) instead of the JSON names
    /// (userId).
    #[arg(long, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_value = "false", default_missing_value = "true",
        value_parser = parse_bool)]
    pub(crate) proto_names: bool,

    /// Print fields without presence even when they hold their default
    /// value (0, "", false, empty lists).
    #[arg(long, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_value = "false", default_missing_value = "true",
        value_parser = parse_bool)]
    pub(crate) emit_defaults: bool,

    /// Print enum values as numbers instead of names.
    #[arg(long, value_name = "BOOL", action = ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_value = "false", default_missing_value = "true",
        value_parser = parse_bool)]
    pub(crate) enum_numbers: bool,
}

impl JsonArgs {
    pub(crate) fn options(&self) -> JsonOptions {
        JsonOptions {
            proto_names: self.proto_names,
            emit_defaults: self.emit_defaults,
            enum_numbers: self.enum_numbers,
        }
    }
}

/// Loads the schema and compiles the plan for `message`.
pub(crate) fn load_plan(
    schemas: &[PathBuf],
    includes: &[PathBuf],
    message: &str,
    json: JsonOptions,
) -> Result<Plan> {
    let schema = Schema::load(schemas, includes)?;
    let descriptor = schema.message(message)?;
    Ok(Plan::new(&descriptor, json))
}
