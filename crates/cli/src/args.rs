//! Flags shared by several subcommands, and what they turn into.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use protoland_schema::Schema;
use protoland_stream::{Compression, ConvertOptions, Framing, Limits};
use protoland_transcode::{JsonOptions, Plan};

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
    /// --skip-invalid). Units: B, KiB, MiB, GiB (K, M, G also mean binary
    /// units).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub(crate) max_frame_size: u64,

    /// Most decompressed bytes one input may produce: stops decompression
    /// bombs.
    #[arg(long, value_name = "SIZE", default_value = "64GiB", value_parser = parse_size)]
    pub(crate) max_decompressed_size: u64,

    // ---- limits of one message and of decompression ----
    /// Longest JSON line (one message): a message that prints longer is an
    /// error (or skipped with --skip-invalid), stopped while it is written.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub(crate) max_line_size: u64,

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
                max_decompressed_bytes: self.max_decompressed_size,
                max_frame_bytes: self.max_frame_size,
                max_line_bytes: self.max_line_size,
                max_zstd_window: self.max_zstd_window,
                max_compression_ratio: self.max_compression_ratio,
            },
            skip_invalid,
        }
    }
}

/// JSON output options.
#[derive(Debug, Clone, Args)]
pub(crate) struct JsonArgs {
    /// Use the .proto field names (user_id) instead of the JSON names
    /// (userId).
    #[arg(long)]
    pub(crate) proto_names: bool,

    /// Print fields without presence even when they hold their default
    /// value (0, "", false, empty lists).
    #[arg(long)]
    pub(crate) emit_defaults: bool,

    /// Print enum values as numbers instead of names.
    #[arg(long)]
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

/// Parses `64MiB`, `1 GiB`, `512k`, `1000` (bytes); units are binary.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size (examples: 1000, 512KiB, 64MiB, 1GiB)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{text}` (use B, KiB, MiB, GiB or TiB)"
            ));
        }
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// A zstd window limit: a size that is a power of two from 1 KiB to 2 GiB
/// (what libzstd's decoder takes).
pub(crate) fn parse_window(text: &str) -> Result<u64, String> {
    let size = parse_size(text)?;
    if size.is_power_of_two() && (1 << 10..=2 << 30).contains(&size) {
        Ok(size)
    } else {
        Err(format!(
            "`{text}` is not a power of two from 1KiB to 2GiB (e.g. 8MiB, 128MiB)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_in_binary_units() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(
            parse_size("12 parsecs"),
            Err("unknown size unit `parsecs` in `12 parsecs` (use B, KiB, MiB, GiB or TiB)".into())
        );
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }

    #[test]
    fn zstd_windows_are_powers_of_two() {
        assert_eq!(parse_window("8MiB"), Ok(8 << 20));
        assert_eq!(parse_window("2GiB"), Ok(2 << 30));
        assert_eq!(
            parse_window("3MiB"),
            Err("`3MiB` is not a power of two from 1KiB to 2GiB (e.g. 8MiB, 128MiB)".into())
        );
        assert!(parse_window("4GiB").is_err());
        assert!(parse_window("512").is_err());
    }
}
