//! How the Parquet is written: [`ParquetOptions`] and its parts.

use std::fmt;
use std::str::FromStr;

/// An option chosen by name: `NAMES` (every name, in the variants'
/// order), `Display` (the name) and `FromStr` (the name in any ASCII
/// case, else `$error` holding what was given), from one table of
/// variants and names.
macro_rules! named {
    ($type:ident, $error:ident, $($variant:ident = $name:literal),+ $(,)?) => {
        impl $type {
            /// The names [`FromStr`] accepts and [`Display`](fmt::Display) prints.
            pub const NAMES: [&'static str; [$($name),+].len()] = [$($name),+];
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    $($type::$variant => $name,)+
                })
            }
        }

        impl FromStr for $type {
            type Err = $error;

            /// Parses one of the names, ignoring ASCII case.
            fn from_str(s: &str) -> Result<$type, $error> {
                $(if s.eq_ignore_ascii_case($name) {
                    return Ok($type::$variant);
                })+
                Err($error(s.to_owned()))
            }
        }
    };
}

/// How Parquet data pages are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PageCompression {
    /// zstd at level 3 (the zstd CLI's default): close to gzip's ratio at
    /// several times its speed; Athena, Spark, DuckDB and pyarrow read it.
    #[default]
    Zstd,
    /// Snappy: faster, larger files.
    Snappy,
    /// gzip (zlib level 6): for readers without zstd.
    Gzip,
    /// Uncompressed pages.
    None,
}

impl PageCompression {
    /// The zstd level of [`PageCompression::Zstd`].
    pub const ZSTD_LEVEL: i32 = 3;
}

/// A compression name that is not one of [`PageCompression::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Parquet compression `{0}` (expected zstd, snappy, gzip or none)")]
pub struct UnknownCompression(pub String);

named! {
    PageCompression, UnknownCompression,
    Zstd = "zstd",
    Snappy = "snappy",
    Gzip = "gzip",
    None = "none",
}

/// How a `google.protobuf.Timestamp` becomes a column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TimestampMode {
    /// `Timestamp(Microsecond, "UTC")` (Parquet `TIMESTAMP(MICROS, true)`,
    /// Athena `timestamp`): queryable as time; nanoseconds below the
    /// microsecond are truncated.
    #[default]
    Micros,
    /// Its ProtoJSON string (`"2024-05-01T12:00:00.123456789Z"`), exact.
    Text,
}

/// A timestamp mode that is not one of [`TimestampMode::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timestamp mode `{0}` (expected micros or text)")]
pub struct UnknownTimestampMode(pub String);

named! {
    TimestampMode, UnknownTimestampMode,
    Micros = "micros",
    Text = "text",
}

/// How [`Columns`](crate::Columns) are typed and
/// [`ParquetFile`](crate::ParquetFile)s written. The defaults are the
/// documented mapping (`docs/parquet.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParquetOptions {
    /// Page compression. Default: zstd level 3.
    pub compression: PageCompression,
    /// A row group is closed once its estimated encoded size (or the
    /// writer's memory for it) reaches this many bytes. Default 64 MiB:
    /// big enough for readers to skip and scan efficiently (Athena reads
    /// row groups in parallel splits), small enough that a 1769 MB Lambda
    /// function converting several objects at once holds a few of them
    /// beside its input buffers.
    pub row_group_bytes: usize,
    /// How many times a message type may appear on one column's path
    /// (the top-level type counts): recursive types are expanded this deep
    /// and the next level is a `Utf8` column holding its ProtoJSON text.
    /// Default 3. At least 1, at most [`ParquetOptions::MAX_MAX_DEPTH`].
    pub max_depth: usize,
    /// Timestamps as time (default) or as their ProtoJSON text.
    pub timestamps: TimestampMode,
}

impl ParquetOptions {
    /// The default of [`ParquetOptions::row_group_bytes`].
    pub const DEFAULT_ROW_GROUP_BYTES: usize = 64 << 20;
    /// The default of [`ParquetOptions::max_depth`].
    pub const DEFAULT_MAX_DEPTH: usize = 3;
    /// The largest [`ParquetOptions::max_depth`] settings accept: each
    /// level multiplies a recursive type's columns, and past this no
    /// reader wants the struct (the text column below holds the rest).
    pub const MAX_MAX_DEPTH: usize = 16;
    /// The most leaf columns one message type may expand to; past it the
    /// schema is refused at start-up, naming the depth to lower.
    pub const MAX_COLUMNS: usize = 10_000;

    /// `depth` when it is a [`ParquetOptions::max_depth`] settings accept
    /// (1 to [`ParquetOptions::MAX_MAX_DEPTH`]): the one check behind the
    /// command line's flag and the environment's variable.
    ///
    /// # Errors
    ///
    /// [`BadMaxDepth`] for 0 and anything over the maximum.
    pub fn check_max_depth(depth: usize) -> Result<usize, BadMaxDepth> {
        if (1..=ParquetOptions::MAX_MAX_DEPTH).contains(&depth) {
            Ok(depth)
        } else {
            Err(BadMaxDepth(depth))
        }
    }
}

/// A [`ParquetOptions::max_depth`] out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0} is not from 1 to {max}: how many times a message type may nest in itself before the rest is stored as ProtoJSON text",
    max = ParquetOptions::MAX_MAX_DEPTH
)]
pub struct BadMaxDepth(pub usize);

impl Default for ParquetOptions {
    fn default() -> ParquetOptions {
        ParquetOptions {
            compression: PageCompression::default(),
            row_group_bytes: ParquetOptions::DEFAULT_ROW_GROUP_BYTES,
            max_depth: ParquetOptions::DEFAULT_MAX_DEPTH,
            timestamps: TimestampMode::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_names_round_trip() {
        for name in PageCompression::NAMES {
            let c: PageCompression = name.parse().expect("a known name");
            assert_eq!(c.to_string(), name);
        }
        assert_eq!("ZSTD".parse(), Ok(PageCompression::Zstd));
        assert_eq!(
            "lz4".parse::<PageCompression>().map_err(|e| e.to_string()),
            Err("unknown Parquet compression `lz4` (expected zstd, snappy, gzip or none)".into())
        );
    }

    #[test]
    fn max_depth_is_checked_in_one_place() {
        assert_eq!(ParquetOptions::check_max_depth(1), Ok(1));
        assert_eq!(ParquetOptions::check_max_depth(16), Ok(16));
        assert_eq!(ParquetOptions::check_max_depth(0), Err(BadMaxDepth(0)));
        assert_eq!(
            ParquetOptions::check_max_depth(17).map_err(|e| e.to_string()),
            Err("17 is not from 1 to 16: how many times a message type may nest in itself before the rest is stored as ProtoJSON text".into())
        );
    }

    #[test]
    fn timestamp_mode_names_round_trip() {
        for name in TimestampMode::NAMES {
            let m: TimestampMode = name.parse().expect("a known name");
            assert_eq!(m.to_string(), name);
        }
        assert_eq!("Text".parse(), Ok(TimestampMode::Text));
        assert_eq!(
            "nanos".parse::<TimestampMode>().map_err(|e| e.to_string()),
            Err("unknown timestamp mode `nanos` (expected micros or text)".into())
        );
    }
}
