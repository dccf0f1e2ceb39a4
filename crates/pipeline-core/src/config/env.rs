//! Reading the `PROTOLAND_*` variables into [`Settings`], each with the
//! one parser of its kind.

use std::path::PathBuf;

use super::error::{ConfigError, bad};
use super::settings::{BadObjectPolicy, MissingPolicy, SchemaSource, Settings};
use super::vars;
use crate::landing::{KeyTemplate, OutputCompression};
use crate::location::Location;
use crate::routes::parse_routes;
use crate::units::{parse_bool, parse_duration, parse_size, parse_window};

impl Settings {
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
        if let Some(v) = get(vars::OUTPUT_LEVEL) {
            let level = parse_count(vars::OUTPUT_LEVEL, &v)?;
            // Checked against the compression in `validate`.
            s.output_level = Some(u32::try_from(level).unwrap_or(u32::MAX));
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
        // ---- output format ----
        if let Some(v) = get(vars::OUTPUT_FORMAT) {
            s.output_format = v.parse().map_err(|e| bad(vars::OUTPUT_FORMAT, &v, e))?;
        }
        if let Some(v) = get(vars::PARQUET_COMPRESSION) {
            s.parquet.compression = v
                .parse()
                .map_err(|e| bad(vars::PARQUET_COMPRESSION, &v, e))?;
        }
        if let Some(v) = get(vars::PARQUET_LEVEL) {
            let level = parse_count(vars::PARQUET_LEVEL, &v)?;
            // Checked against the page compression in `validate`.
            s.parquet.level = Some(u32::try_from(level).unwrap_or(u32::MAX));
        }
        if let Some(v) = get(vars::PARQUET_ROW_GROUP_BYTES) {
            let size = parse_size(&v).map_err(|e| bad(vars::PARQUET_ROW_GROUP_BYTES, &v, e))?;
            s.parquet.row_group_bytes = usize::try_from(size).unwrap_or(usize::MAX);
        }
        if let Some(v) = get(vars::PARQUET_MAX_DEPTH) {
            s.parquet.max_depth = parse_count(vars::PARQUET_MAX_DEPTH, &v)?;
        }
        if let Some(v) = get(vars::PARQUET_TIMESTAMPS) {
            s.parquet.timestamps = v
                .parse()
                .map_err(|e| bad(vars::PARQUET_TIMESTAMPS, &v, e))?;
        }
        // Output compression applies to NDJSON only (a Parquet file's
        // pages are compressed inside it): asked for when nothing is
        // NDJSON, it would be silently ignored.
        if let Some(v) = get(vars::OUTPUT_COMPRESSION)
            && s.output_compression != OutputCompression::None
            && !s.writes_ndjson()
        {
            return Err(bad(
                vars::OUTPUT_COMPRESSION,
                &v,
                format!(
                    "every object is written as Parquet ({}), which is never compressed as a whole (its pages are compressed inside the file); set none or leave it unset",
                    vars::OUTPUT_FORMAT
                ),
            ));
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
        | vars::PART_SIZE
        | vars::PARQUET_ROW_GROUP_BYTES => ValueKind::Size,
        vars::DEADLINE_MARGIN | vars::RETRY_BACKOFF => ValueKind::Duration,
        vars::PROTO_NAMES | vars::EMIT_DEFAULTS | vars::ENUM_NUMBERS => ValueKind::Bool,
        _ => ValueKind::Other,
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use protoland_stream::{Compression, Framing, OutputFormat, PageCompression, TimestampMode};

    use super::*;
    use crate::landing::OutputCompression;

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

    /// The level is checked against the compression it goes with, whatever
    /// order the variables come in, and the error names the variable.
    #[test]
    fn output_level_is_checked_per_compression() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut vars = BASE.to_vec();
            vars.extend_from_slice(pairs);
            settings(&vars)
        };
        assert_eq!(with(&[]).expect("valid").output_level, None);
        let s = with(&[("PROTOLAND_OUTPUT_LEVEL", "9")]).expect("gzip 9");
        assert_eq!(s.output_level, Some(9));
        let s = with(&[
            ("PROTOLAND_OUTPUT_LEVEL", "19"),
            ("PROTOLAND_OUTPUT_COMPRESSION", "zstd"),
        ])
        .expect("zstd 19");
        assert_eq!(s.output_level, Some(19));
        let e = with(&[("PROTOLAND_OUTPUT_LEVEL", "19")]).expect_err("not gzip");
        assert_eq!(
            e.to_string(),
            "PROTOLAND_OUTPUT_LEVEL: 19 is not a gzip level: expected 1 to 9 (got \"19\")"
        );
        let e = with(&[
            ("PROTOLAND_OUTPUT_LEVEL", "0"),
            ("PROTOLAND_OUTPUT_COMPRESSION", "zstd"),
        ])
        .expect_err("not zstd");
        assert_eq!(e.var(), "PROTOLAND_OUTPUT_LEVEL");
        let e = with(&[
            ("PROTOLAND_OUTPUT_LEVEL", "3"),
            ("PROTOLAND_OUTPUT_COMPRESSION", "none"),
        ])
        .expect_err("no level without compression");
        assert!(
            e.to_string().contains("uncompressed output has no level"),
            "{e}"
        );
    }

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
    fn names_the_variable_that_is_missing() {
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
        // Invalid ones: every_variable_with_a_bad_value_names_itself_and_the_value.
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

    /// Parquet settings, and the output compression that applies to NDJSON
    /// only: asked for while every object is Parquet, it is refused
    /// instead of being ignored.
    #[test]
    fn parquet_settings_and_the_output_compression_they_refuse() {
        let mut vars = BASE.to_vec();
        vars.extend([
            ("PROTOLAND_OUTPUT_FORMAT", "parquet"),
            ("PROTOLAND_PARQUET_COMPRESSION", "gzip"),
            ("PROTOLAND_PARQUET_LEVEL", "9"),
            ("PROTOLAND_PARQUET_ROW_GROUP_BYTES", "16MiB"),
            ("PROTOLAND_PARQUET_MAX_DEPTH", "5"),
            ("PROTOLAND_PARQUET_TIMESTAMPS", "text"),
        ]);
        let s = settings(&vars).expect("valid");
        assert_eq!(s.output_format, OutputFormat::Parquet);
        assert_eq!(s.parquet.compression, PageCompression::Gzip);
        assert_eq!(s.parquet.level, Some(9));
        assert_eq!(s.parquet.row_group_bytes, 16 << 20);
        assert_eq!(s.parquet.max_depth, 5);
        assert_eq!(s.parquet.timestamps, TimestampMode::Text);
        let mut explicit = vars.clone();
        explicit.push(("PROTOLAND_OUTPUT_COMPRESSION", "gzip"));
        assert_eq!(
            settings(&explicit).unwrap_err().to_string(),
            "PROTOLAND_OUTPUT_COMPRESSION: every object is written as Parquet (PROTOLAND_OUTPUT_FORMAT), which is never compressed as a whole (its pages are compressed inside the file); set none or leave it unset (got \"gzip\")"
        );
        let mut none = vars.clone();
        none.push(("PROTOLAND_OUTPUT_COMPRESSION", "none"));
        assert!(settings(&none).is_ok());
        // A route that writes NDJSON is what the compression is for.
        explicit.push(("PROTOLAND_ROUTES", "json/=acme.Click as ndjson"));
        let s = settings(&explicit).expect("valid");
        assert_eq!(s.format_of(Some(0)), OutputFormat::Ndjson);
        assert_eq!(s.format_of(None), OutputFormat::Parquet);
        assert_eq!(s.output_compression, OutputCompression::Gzip);
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
        const NOT_A_BOOLEAN: &str = "not a boolean: true/false, 1/0, yes/no or on/off";
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
                "PROTOLAND_OUTPUT_LEVEL",
                "12",
                "12 is not a gzip level: expected 1 to 9",
            ),
            (
                "PROTOLAND_OUTPUT_FORMAT",
                "csv",
                "unknown output format `csv`; expected ndjson or parquet",
            ),
            (
                "PROTOLAND_PARQUET_COMPRESSION",
                "lz4",
                "unknown Parquet compression `lz4` (expected zstd, snappy, gzip or none)",
            ),
            (
                "PROTOLAND_PARQUET_LEVEL",
                "22",
                "22 is not a Parquet zstd level: expected 1 to 19",
            ),
            (
                "PROTOLAND_PARQUET_ROW_GROUP_BYTES",
                "64KiB",
                "must be at least 1 MiB: smaller row groups make every reader slower",
            ),
            ("PROTOLAND_PARQUET_MAX_DEPTH", "deep", "not a whole number"),
            (
                "PROTOLAND_PARQUET_MAX_DEPTH",
                "0",
                "0 is not from 1 to 16: how many times a message type may nest in itself before the rest is stored as ProtoJSON text",
            ),
            (
                "PROTOLAND_PARQUET_TIMESTAMPS",
                "nanos",
                "unknown timestamp mode `nanos` (expected micros or text)",
            ),
            ("PROTOLAND_PROTO_NAMES", "maybe", NOT_A_BOOLEAN),
            ("PROTOLAND_EMIT_DEFAULTS", "2", NOT_A_BOOLEAN),
            ("PROTOLAND_ENUM_NUMBERS", "y", NOT_A_BOOLEAN),
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
            ("PROTOLAND_MAX_COMPRESSION_RATIO", "lots", "*"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1.5GB", "*"),
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
        // Four billion attempts: the waits are added up in closed form, at
        // once (`Settings::retry_waits`), and blamed on the backoff.
        let mut vars = BASE.to_vec();
        vars.push(("PROTOLAND_MAX_ATTEMPTS", "4294967295"));
        let started = std::time::Instant::now();
        assert_eq!(
            settings(&vars).unwrap_err().var(),
            "PROTOLAND_RETRY_BACKOFF"
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        // A too-many-attempts setting is blamed on the waits it makes.
        let mut vars = BASE.to_vec();
        vars.push(("PROTOLAND_MAX_ATTEMPTS", "40"));
        assert_eq!(
            settings(&vars).unwrap_err().to_string(),
            "PROTOLAND_RETRY_BACKOFF: 200ms doubling between 40 attempts (PROTOLAND_MAX_ATTEMPTS) waits 87.4h in all, over the 12h SQS keeps a message invisible at most"
        );

        // Every variable `vars` names has a case above.
        let source = include_str!("vars.rs");
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
}
