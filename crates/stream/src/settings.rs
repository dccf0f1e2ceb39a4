//! The settings a user chooses by name: how the input is compressed and
//! how its messages are laid out, and the error for a name that is neither.
//! Below every other module, so that each can name them.

use std::fmt;
use std::str::FromStr;

/// How the input is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Compression {
    /// Decide by the first bytes: gzip (1f 8b), zstd (28 b5 2f fd, or a
    /// skippable frame), else none. Never by file name.
    #[default]
    Auto,
    /// Not compressed.
    None,
    /// gzip; every member of a multi-member file is read.
    Gzip,
    /// Zstandard; every frame of a multi-frame file is read.
    Zstd,
}

impl Compression {
    /// The lowercase name (`auto`, `none`, `gzip`, `zstd`).
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Auto => "auto",
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The compression the first bytes of a stream announce, or
    /// [`Compression::None`]. `prefix` should hold at least 4 bytes unless
    /// the stream is shorter.
    pub fn sniff(prefix: &[u8]) -> Compression {
        match prefix {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            // Skippable frames (magic 0x184D2A50..=0x184D2A5F, little-endian)
            // may open a zstd file, e.g. for metadata.
            [b, 0x2a, 0x4d, 0x18, ..] if b & 0xf0 == 0x50 => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Compression {
    type Err = ParseSettingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Compression::Auto),
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            _ => Err(ParseSettingError {
                what: "compression",
                value: s.to_owned(),
                expected: "auto, none, gzip or zstd",
            }),
        }
    }
}

/// How messages are laid out in the (decompressed) input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Framing {
    /// Decide by which layout parses cleanly to the last byte (see
    /// `docs/framing.md`).
    #[default]
    Auto,
    /// The whole input is one message.
    Single,
    /// Each message is prefixed by its length as a varint.
    Varint,
    /// Each message is prefixed by its length as 4 big-endian bytes.
    Fixed32,
}

impl Framing {
    /// The lowercase name (`auto`, `single`, `varint`, `fixed32`).
    pub fn as_str(self) -> &'static str {
        match self {
            Framing::Auto => "auto",
            Framing::Single => "single",
            Framing::Varint => "varint",
            Framing::Fixed32 => "fixed32",
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Framing {
    type Err = ParseSettingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Framing::Auto),
            "single" => Ok(Framing::Single),
            "varint" => Ok(Framing::Varint),
            "fixed32" => Ok(Framing::Fixed32),
            _ => Err(ParseSettingError {
                what: "framing",
                value: s.to_owned(),
                expected: "auto, single, varint or fixed32",
            }),
        }
    }
}

/// What a conversion writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OutputFormat {
    /// Newline-delimited JSON: one ProtoJSON object and `\n` per message,
    /// as Google's `json_format` prints it. The default: every reader
    /// takes it, and it is exact.
    #[default]
    Ndjson,
    /// One Parquet file: one row per message, typed from the schema
    /// (see `docs/parquet.md`).
    Parquet,
}

impl OutputFormat {
    /// The lowercase name (`ndjson`, `parquet`).
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Parquet => "parquet",
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputFormat {
    type Err = ParseSettingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ndjson" => Ok(OutputFormat::Ndjson),
            "parquet" => Ok(OutputFormat::Parquet),
            _ => Err(ParseSettingError {
                what: "output format",
                value: s.to_owned(),
                expected: "ndjson or parquet",
            }),
        }
    }
}

/// An unknown value for [`Compression`], [`Framing`] or [`OutputFormat`]
/// in [`std::str::FromStr`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`; expected {expected}")]
pub struct ParseSettingError {
    pub(crate) what: &'static str,
    pub(crate) value: String,
    pub(crate) expected: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes_not_names() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(
            Compression::sniff(&[0x5e, 0x2a, 0x4d, 0x18]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(&[0x0a, 0x03]), Compression::None);
        assert_eq!(Compression::sniff(&[0x1f]), Compression::None);
        assert_eq!(Compression::sniff(&[]), Compression::None);
    }

    #[test]
    fn parses_and_prints_lowercase_names() {
        for c in [
            Compression::Auto,
            Compression::None,
            Compression::Gzip,
            Compression::Zstd,
        ] {
            assert_eq!(c.to_string().parse::<Compression>(), Ok(c));
        }
        assert_eq!(
            "lz4".parse::<Compression>().unwrap_err().to_string(),
            "unknown compression `lz4`; expected auto, none, gzip or zstd"
        );
    }

    #[test]
    fn names_round_trip() {
        for f in [
            Framing::Auto,
            Framing::Single,
            Framing::Varint,
            Framing::Fixed32,
        ] {
            assert_eq!(f.to_string().parse::<Framing>(), Ok(f));
        }
        assert_eq!(
            "delimited".parse::<Framing>().unwrap_err().to_string(),
            "unknown framing `delimited`; expected auto, single, varint or fixed32"
        );
    }

    #[test]
    fn output_formats_round_trip() {
        for f in [OutputFormat::Ndjson, OutputFormat::Parquet] {
            assert_eq!(f.to_string().parse::<OutputFormat>(), Ok(f));
        }
        assert_eq!(
            "csv".parse::<OutputFormat>().unwrap_err().to_string(),
            "unknown output format `csv`; expected ndjson or parquet"
        );
    }
}
