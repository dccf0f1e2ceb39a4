//! The one parser for sizes, durations and booleans, used by every flag and
//! every `PROTOLAND_*` variable (the CLI's clap value parsers call these
//! functions too), and their rendering in messages.
//!
//! Pure text to values: no I/O, no dependency on the rest of the crate, so
//! it can move to a core crate as it is.
//!
//! - **Sizes**: a whole number and an optional unit, with or without a space
//!   between them. `B` (or no unit) is bytes; `KB`, `MB`, `GB`, `TB` are
//!   powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` are powers of 1024; the bare
//!   letters `K`, `M`, `G`, `T` are powers of 1024 too, because that is what
//!   `--part-size 5M` means to whoever types it (S3's 5 MiB minimum part).
//!   Units ignore case (`mib`, `MIB` and `MiB` are one unit; `b` is bytes,
//!   never bits).
//! - **Durations**: a whole number and a unit, `ms`, `s`, `m` (minutes) or
//!   `h`, ignoring case; a plain number is seconds (as the worker's
//!   `--visibility-timeout 300` always took them).
//! - **Booleans**: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`,
//!   ignoring case.
//!
//! Surrounding whitespace is ignored. Messages do not repeat the value: the
//! caller names the flag or variable and the value (clap does it for
//! flags; `ConfigError` for variables).

use std::time::Duration;

/// Why a text is not a size, duration or boolean.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnitError {
    #[error("not a size: a whole number of bytes with an optional unit ({SIZE_UNITS})")]
    NotASize,
    #[error("unknown size unit `{0}` ({SIZE_UNITS})")]
    SizeUnit(String),
    #[error("not a duration: a whole number with a unit ({DURATION_UNITS})")]
    NotADuration,
    #[error("unknown duration unit `{0}` ({DURATION_UNITS})")]
    DurationUnit(String),
    #[error("not a whole number: fractions are not accepted, use a smaller unit")]
    Fraction,
    #[error("too large: over {0}")]
    TooLarge(&'static str),
    #[error("not a boolean: true/false, 1/0, yes/no or on/off")]
    NotABool,
    #[error("{0} is not a power of two from 1KiB to 2GiB (e.g. 8MiB, 128MiB)")]
    NotAWindow(String),
}

const SIZE_UNITS: &str =
    "B; KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB and K, M, G, T powers of 1024";
const DURATION_UNITS: &str = "ms, s, m, h; a plain number is seconds";

/// Why [`split_number`] found no number.
enum NoNumber {
    Missing,
    Fraction,
    Overflow,
}

/// Splits `text` (trimmed) into its leading whole number and the unit after
/// it (trimmed).
fn split_number(text: &str) -> Result<(u64, &str), NoNumber> {
    let text = text.trim();
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(end);
    if digits.is_empty() {
        return Err(NoNumber::Missing);
    }
    if unit.starts_with(['.', ',']) && unit[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return Err(NoNumber::Fraction);
    }
    // Digits only, so the one failure left is overflow.
    let number = digits.parse::<u64>().map_err(|_| NoNumber::Overflow)?;
    Ok((number, unit.trim()))
}

/// Parses a size in bytes (see the module docs for the units).
///
/// ```
/// use protoland_pipeline_core::parse_size;
/// assert_eq!(parse_size("5M"), Ok(5 << 20));
/// assert_eq!(parse_size("5 MiB"), Ok(5 << 20));
/// assert_eq!(parse_size("5MB"), Ok(5_000_000));
/// assert_eq!(parse_size("1TiB"), Ok(1 << 40));
/// ```
///
/// # Errors
///
/// [`UnitError`] when the text is not a whole number with a known unit, or
/// the size does not fit in 64 bits.
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let too_large = UnitError::TooLarge("16 EiB");
    let (number, unit) = split_number(text).map_err(|e| match e {
        NoNumber::Missing => UnitError::NotASize,
        NoNumber::Fraction => UnitError::Fraction,
        NoNumber::Overflow => too_large.clone(),
    })?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        _ => return Err(UnitError::SizeUnit(unit.to_owned())),
    };
    number.checked_mul(factor).ok_or(too_large)
}

/// Parses a zstd window limit: a size (as [`parse_size`]) that is a power
/// of two from 1 KiB to 2 GiB, what libzstd's decoder takes.
///
/// ```
/// use protoland_pipeline_core::parse_window;
/// assert_eq!(parse_window("8MiB"), Ok(8 << 20));
/// assert!(parse_window("3MiB").is_err());
/// ```
///
/// # Errors
///
/// [`UnitError`] when the text is not a size, or the size is not such a
/// power of two.
pub fn parse_window(text: &str) -> Result<u64, UnitError> {
    let size = parse_size(text)?;
    check_window(size)?;
    Ok(size)
}

/// Checks that `size` is a power of two from 1 KiB to 2 GiB.
///
/// # Errors
///
/// [`UnitError::NotAWindow`] otherwise.
pub(crate) fn check_window(size: u64) -> Result<(), UnitError> {
    if size.is_power_of_two() && (1 << 10..=2 << 30).contains(&size) {
        Ok(())
    } else {
        Err(UnitError::NotAWindow(format_size(size)))
    }
}

/// Parses a duration (see the module docs for the units).
///
/// ```
/// use std::time::Duration;
/// use protoland_pipeline_core::parse_duration;
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
/// assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
/// ```
///
/// # Errors
///
/// [`UnitError`] when the text is not a whole number with a known unit, or
/// the duration does not fit in 64 bits of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let too_large = UnitError::TooLarge("2^64 seconds");
    let (number, unit) = split_number(text).map_err(|e| match e {
        NoNumber::Missing => UnitError::NotADuration,
        NoNumber::Fraction => UnitError::Fraction,
        NoNumber::Overflow => too_large.clone(),
    })?;
    match unit.to_ascii_lowercase().as_str() {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(
            number.checked_mul(60).ok_or(too_large)?,
        )),
        "h" => Ok(Duration::from_secs(
            number.checked_mul(3600).ok_or(too_large)?,
        )),
        _ => Err(UnitError::DurationUnit(unit.to_owned())),
    }
}

/// Parses a boolean: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`,
/// ignoring case.
///
/// # Errors
///
/// [`UnitError::NotABool`] for anything else.
pub fn parse_bool(text: &str) -> Result<bool, UnitError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(UnitError::NotABool),
    }
}

/// A size as people read it: the largest binary unit that divides it
/// exactly (`5 MiB`), else bytes (`5000000 bytes`).
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes != 0 && bytes.trailing_zeros() >= shift {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    if bytes == 1 {
        "1 byte".to_owned()
    } else {
        format!("{bytes} bytes")
    }
}

/// A duration in the largest unit that [`parse_duration`] takes and that
/// divides it exactly (`12h`, `90s`, `1500ms`); what is below a
/// millisecond is left out.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms != 0 && ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms != 0 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_units_are_powers_of_1000_and_binary_units_powers_of_1024() {
        for (text, bytes) in [
            ("0", 0),
            ("1234", 1234),
            ("7B", 7),
            ("1KB", 1_000),
            ("8MB", 8_000_000),
            ("2GB", 2_000_000_000),
            ("3TB", 3_000_000_000_000),
            ("1KiB", 1 << 10),
            ("8MiB", 8 << 20),
            ("64GiB", 64 << 30),
            ("1TiB", 1 << 40),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    /// `--part-size 5M` was refused as under S3's 5 MiB minimum when `M`
    /// meant 10^6 bytes in one parser and 2^20 in the other.
    #[test]
    fn bare_letters_are_binary_units() {
        assert_eq!(parse_size("5M"), Ok(5 << 20));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
    }

    #[test]
    fn size_units_ignore_case_and_spaces() {
        for text in [
            "64MiB", "64mib", "64MIB", "64 MiB", " 64 MiB ", "64m", "64 M",
        ] {
            assert_eq!(parse_size(text), Ok(64 << 20), "{text}");
        }
        assert_eq!(parse_size("8mb"), Ok(8_000_000));
        assert_eq!(parse_size("8 b"), Ok(8));
    }

    #[test]
    fn rejects_what_is_not_a_size() {
        assert_eq!(parse_size(""), Err(UnitError::NotASize));
        assert_eq!(parse_size("MiB"), Err(UnitError::NotASize));
        assert_eq!(parse_size("-1"), Err(UnitError::NotASize));
        assert_eq!(
            parse_size("12 parsecs"),
            Err(UnitError::SizeUnit("parsecs".into()))
        );
        assert_eq!(parse_size("1.5GiB"), Err(UnitError::Fraction));
        assert_eq!(parse_size("1PiB"), Err(UnitError::SizeUnit("PiB".into())));
        assert_eq!(
            parse_size("16777216TiB"),
            Err(UnitError::TooLarge("16 EiB"))
        );
        assert_eq!(
            parse_size("99999999999999999999"),
            Err(UnitError::TooLarge("16 EiB"))
        );
        assert_eq!(
            parse_size("12 parsecs").map_err(|e| e.to_string()),
            Err("unknown size unit `parsecs` (B; KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB and K, M, G, T powers of 1024)".into())
        );
    }

    #[test]
    fn durations_take_ms_s_m_h_and_plain_seconds() {
        for (text, duration) in [
            ("250ms", Duration::from_millis(250)),
            ("3", Duration::from_secs(3)),
            ("10s", Duration::from_secs(10)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("12H", Duration::from_secs(43_200)),
            (" 500 MS ", Duration::from_millis(500)),
        ] {
            assert_eq!(parse_duration(text), Ok(duration), "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        assert_eq!(parse_duration("soon"), Err(UnitError::NotADuration));
        assert_eq!(parse_duration(""), Err(UnitError::NotADuration));
        assert_eq!(
            parse_duration("1d"),
            Err(UnitError::DurationUnit("d".into()))
        );
        assert_eq!(parse_duration("1.5s"), Err(UnitError::Fraction));
        assert!(matches!(
            parse_duration("18446744073709551615h"),
            Err(UnitError::TooLarge(_))
        ));
    }

    #[test]
    fn booleans_take_four_spellings_each_ignoring_case() {
        for text in ["true", "TRUE", "1", "yes", "Yes", "on", "ON", " on "] {
            assert_eq!(parse_bool(text), Ok(true), "{text}");
        }
        for text in ["false", "False", "0", "no", "NO", "off", "Off"] {
            assert_eq!(parse_bool(text), Ok(false), "{text}");
        }
        for text in ["", "maybe", "y", "n", "2", "enabled"] {
            assert_eq!(parse_bool(text), Err(UnitError::NotABool), "{text}");
        }
    }

    #[test]
    fn formats_what_it_parses() {
        for bytes in [0, 1, 5 << 20, 5_000_000, 1 << 40, 3 << 30, 1536] {
            assert_eq!(
                parse_size(
                    &format_size(bytes)
                        .replace(" bytes", "")
                        .replace(" byte", "")
                ),
                Ok(bytes)
            );
        }
        assert_eq!(format_size(5 << 20), "5 MiB");
        assert_eq!(format_size(5_000_000), "5000000 bytes");
        for ms in [0, 1, 1500, 90_000, 43_200_000, 120_000] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(Duration::from_secs(43_200)), "12h");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }
}
