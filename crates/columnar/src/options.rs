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
    /// zstd, level [`PageCompression::DEFAULT_ZSTD_LEVEL`] unless chosen:
    /// close to gzip's ratio at several times its speed; Athena, Spark,
    /// DuckDB and pyarrow read it.
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
    /// The zstd level of [`PageCompression::Zstd`] unless one is chosen.
    /// 1, not the zstd CLI's 3: on the benchmark's data, level 3's files
    /// are 1.9% (clickstream) and 0.3% (telemetry) smaller for 8% and 6%
    /// more CPU in the whole conversion (`bench/run`, medians of the same
    /// run); levels past 3 take off at most 3% more for up to 1.5 times
    /// the CPU (docs/parquet.md, "How small the files get").
    pub const DEFAULT_ZSTD_LEVEL: u32 = 1;
    /// The gzip level of [`PageCompression::Gzip`] unless one is chosen
    /// (zlib's default).
    pub const DEFAULT_GZIP_LEVEL: u32 = 6;

    /// The levels this compression takes: zstd 1 to 19 (past 19 the
    /// window outgrows what readers accept by default), gzip 1 to 9;
    /// `None` for snappy and uncompressed pages, which have none.
    pub fn levels(self) -> Option<std::ops::RangeInclusive<u32>> {
        match self {
            PageCompression::Zstd => Some(1..=19),
            PageCompression::Gzip => Some(1..=9),
            PageCompression::Snappy | PageCompression::None => None,
        }
    }

    /// `level` when this compression takes it (see
    /// [`PageCompression::levels`]): the one check behind the command
    /// line's flag and the environment's variable.
    ///
    /// # Errors
    ///
    /// [`BadLevel`] naming the range, or saying that this compression has
    /// no levels.
    pub fn check_level(self, level: u32) -> Result<u32, BadLevel> {
        match self.levels() {
            Some(range) if range.contains(&level) => Ok(level),
            range => Err(BadLevel {
                compression: self,
                level,
                range,
            }),
        }
    }

    /// The level pages are compressed at: `level`, or this compression's
    /// default; `None` for snappy and uncompressed pages.
    pub fn effective_level(self, level: Option<u32>) -> Option<u32> {
        match self {
            PageCompression::Zstd => Some(level.unwrap_or(PageCompression::DEFAULT_ZSTD_LEVEL)),
            PageCompression::Gzip => Some(level.unwrap_or(PageCompression::DEFAULT_GZIP_LEVEL)),
            PageCompression::Snappy | PageCompression::None => None,
        }
    }
}

/// A page compression level that [`PageCompression::check_level`]
/// refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct BadLevel {
    /// The page compression.
    pub compression: PageCompression,
    /// The level asked for.
    pub level: u32,
    /// The levels the compression takes, if any.
    pub range: Option<std::ops::RangeInclusive<u32>>,
}

impl fmt::Display for BadLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.range {
            Some(range) => write!(
                f,
                "{} is not a Parquet {} level: expected {} to {}",
                self.level,
                self.compression,
                range.start(),
                range.end()
            ),
            None => write!(
                f,
                "Parquet {} pages have no level: unset it, or choose zstd or gzip",
                self.compression
            ),
        }
    }
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
    /// Page compression. Default: zstd.
    pub compression: PageCompression,
    /// Its level (see [`PageCompression::check_level`]); `None` for the
    /// compression's default ([`PageCompression::effective_level`]).
    pub level: Option<u32>,
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
            level: None,
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
    fn levels_are_checked_per_compression() {
        assert_eq!(PageCompression::Zstd.check_level(19), Ok(19));
        assert_eq!(PageCompression::Gzip.check_level(1), Ok(1));
        let err = |c: PageCompression, level| c.check_level(level).map_err(|e| e.to_string());
        assert_eq!(
            err(PageCompression::Zstd, 20),
            Err("20 is not a Parquet zstd level: expected 1 to 19".into())
        );
        assert_eq!(
            err(PageCompression::Gzip, 0),
            Err("0 is not a Parquet gzip level: expected 1 to 9".into())
        );
        assert_eq!(
            err(PageCompression::Snappy, 1),
            Err("Parquet snappy pages have no level: unset it, or choose zstd or gzip".into())
        );
        assert_eq!(PageCompression::Zstd.effective_level(None), Some(1));
        assert_eq!(PageCompression::Gzip.effective_level(None), Some(6));
        assert_eq!(PageCompression::Zstd.effective_level(Some(9)), Some(9));
        assert_eq!(PageCompression::None.effective_level(None), None);
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
