//! The JSON forms of the well-known types that are strings: Timestamp,
//! Duration and FieldMask, with the validity rules of Google's Python
//! `json_format` (`internal/well_known_types.py`, `internal/field_mask.py`).

/// Which well-known type a message is, when its JSON form is not the
/// regular object of its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wkt {
    /// A regular message (google.protobuf.Empty included: it prints `{}`
    /// like any message without fields).
    None,
    Any,
    Timestamp,
    Duration,
    FieldMask,
    /// `Struct`, `ListValue`, `Value` and the nine wrappers print their one
    /// field (or the member of their oneof) bare: the plan gives those
    /// fields an empty key, and [`Wkt::Bare`] holds what to print when the
    /// message is empty.
    Bare(BareEmpty),
}

/// What a [`Wkt::Bare`] message prints when none of its fields is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BareEmpty {
    /// `Struct`: `{}`.
    Object,
    /// `ListValue`: `[]`.
    Array,
    /// `Value` without a kind: `null`.
    Null,
    /// A wrapper: the default of its `value` field.
    FieldDefault,
}

impl Wkt {
    pub(crate) fn of(full_name: &str) -> Wkt {
        match full_name {
            "google.protobuf.Any" => Wkt::Any,
            "google.protobuf.Timestamp" => Wkt::Timestamp,
            "google.protobuf.Duration" => Wkt::Duration,
            "google.protobuf.FieldMask" => Wkt::FieldMask,
            "google.protobuf.Struct" => Wkt::Bare(BareEmpty::Object),
            "google.protobuf.ListValue" => Wkt::Bare(BareEmpty::Array),
            "google.protobuf.Value" => Wkt::Bare(BareEmpty::Null),
            "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue" => Wkt::Bare(BareEmpty::FieldDefault),
            _ => Wkt::None,
        }
    }
}

/// Whether `full_name` is one of the nine wrapper types (`Int64Value`,
/// `StringValue`, …), which ProtoJSON prints as their bare `value`.
pub fn is_wrapper(full_name: &str) -> bool {
    Wkt::of(full_name) == Wkt::Bare(BareEmpty::FieldDefault)
}

const TIMESTAMP_SECONDS_MIN: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
const TIMESTAMP_SECONDS_MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
const DURATION_SECONDS_MAX: i64 = 315_576_000_000; // 10000 years
const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Checks a Timestamp's fields as Google's printer does (years 1 to 9999,
/// nanos in `0..1e9`): the rule behind `timestamp`'s errors, for
/// decoders that store Timestamps as numbers (the columnar crate).
///
/// # Errors
///
/// [`ErrorKind::InvalidWellKnown`](crate::ErrorKind::InvalidWellKnown) with
/// the reason Python gives.
pub fn check_timestamp(seconds: i64, nanos: i32) -> Result<(), crate::ErrorKind> {
    timestamp(&mut Vec::new(), seconds, nanos, &mut DateCache::default()).map_err(|reason| {
        crate::ErrorKind::InvalidWellKnown {
            type_name: "google.protobuf.Timestamp",
            reason,
        }
    })
}

/// The last date formatted (days since 0001-01-01 and `YYYY-MM-DD`):
/// timestamps in a stream of events cluster, so the calendar arithmetic is
/// mostly skipped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DateCache {
    days: u64,
    text: [u8; 10],
}

impl Default for DateCache {
    fn default() -> DateCache {
        DateCache {
            days: u64::MAX,
            text: [0; 10],
        }
    }
}

/// Appends a Timestamp as an RFC 3339 string in UTC with 0, 3, 6 or 9
/// fractional digits (`"2023-11-14T22:13:20.123Z"`).
///
/// Errors (the reason) when seconds fall outside years 1–9999 or nanos
/// outside `0..1e9`, as Python does.
pub(crate) fn timestamp(
    out: &mut Vec<u8>,
    seconds: i64,
    nanos: i32,
    cache: &mut DateCache,
) -> Result<(), String> {
    if !(TIMESTAMP_SECONDS_MIN..=TIMESTAMP_SECONDS_MAX).contains(&seconds) {
        return Err(format!(
            "seconds {seconds} outside [{TIMESTAMP_SECONDS_MIN}, {TIMESTAMP_SECONDS_MAX}] (years 1 to 9999)"
        ));
    }
    if !(0..NANOS_PER_SECOND).contains(&i64::from(nanos)) {
        return Err(format!("nanos {nanos} outside [0, 999999999]"));
    }
    // Counted from 0001-01-01T00:00:00Z, everything is unsigned (cheaper
    // divisions by constants).
    let since_year_1 = (seconds - TIMESTAMP_SECONDS_MIN) as u64;
    let secs_of_day = (since_year_1 % 86_400) as usize;
    let days = since_year_1 / 86_400;
    if days != cache.days {
        let (year, month, day) = civil_from_days(days);
        let mut text = *b"0000-00-00";
        pair(&mut text, 0, year / 100);
        pair(&mut text, 2, year % 100);
        pair(&mut text, 5, month);
        pair(&mut text, 8, day);
        *cache = DateCache { days, text };
    }
    // `"YYYY-MM-DDTHH:MM:SS.fffffffffZ"`, built in place, written at once.
    let mut b = *b"\"0000-00-00T00:00:00.000000000Z\"";
    b[1..11].copy_from_slice(&cache.text);
    let minutes = secs_of_day / 60;
    pair(&mut b, 12, minutes / 60);
    pair(&mut b, 15, minutes % 60);
    pair(&mut b, 18, secs_of_day % 60);
    let n = fraction(&mut b, 20, nanos as u32);
    b[n] = b'Z';
    b[n + 1] = b'"';
    crate::write::put(out, b, n + 2);
    Ok(())
}

/// Writes `v` (below 100) as two digits at `b[at..at + 2]`.
#[inline(always)]
fn pair(b: &mut [u8], at: usize, v: usize) {
    let v = v.min(99);
    b[at] = crate::write::PAIRS[2 * v];
    b[at + 1] = crate::write::PAIRS[2 * v + 1];
}

/// Writes `.fff`, `.ffffff` or `.fffffffff` (the fewest of 3, 6 or 9
/// digits that hold `nanos` exactly), or nothing for a whole second, at
/// `b[at..]`; returns where it ends.
fn fraction(b: &mut [u8], at: usize, nanos: u32) -> usize {
    if nanos == 0 {
        return at;
    }
    let (mut v, digits) = if nanos.is_multiple_of(1_000_000) {
        (nanos / 1_000_000, 3)
    } else if nanos.is_multiple_of(1_000) {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    b[at] = b'.';
    let mut k = at + digits; // the last digit
    while k > at + 1 {
        pair(b, k - 1, (v % 100) as usize);
        v /= 100;
        k -= 2;
    }
    if k == at + 1 {
        b[k] = b'0' + (v % 10) as u8;
    }
    at + 1 + digits
}

/// Days since 0001-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`, shifted to start at year
/// 1 so that it works on unsigned numbers).
fn civil_from_days(days_since_year_1: u64) -> (usize, usize, usize) {
    // Days since 0000-03-01, the start of Hinnant's eras.
    let z = days_since_year_1 + 306;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year as usize, month as usize, day as usize)
}

/// Appends a Duration as seconds with 0, 3, 6 or 9 fractional digits and an
/// `s` (`"1.000340012s"`, `"-0.500s"`).
///
/// Errors (the reason) when seconds exceed ±315576000000 (10000 years),
/// nanos exceed ±999999999 or the two have different signs, as Python does.
pub(crate) fn duration(out: &mut Vec<u8>, seconds: i64, nanos: i32) -> Result<(), String> {
    if !(-DURATION_SECONDS_MAX..=DURATION_SECONDS_MAX).contains(&seconds) {
        return Err(format!(
            "seconds {seconds} outside [-{DURATION_SECONDS_MAX}, {DURATION_SECONDS_MAX}]"
        ));
    }
    if i64::from(nanos).abs() >= NANOS_PER_SECOND {
        return Err(format!("nanos {nanos} outside [-999999999, 999999999]"));
    }
    if (seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0) {
        return Err(format!(
            "seconds {seconds} and nanos {nanos} have different signs"
        ));
    }
    out.push(b'"');
    if seconds < 0 || nanos < 0 {
        out.push(b'-');
    }
    crate::write::int(out, seconds.unsigned_abs());
    let mut b = [0u8; 10];
    let n = fraction(&mut b, 0, nanos.unsigned_abs());
    out.extend_from_slice(&b[..n]);
    out.extend_from_slice(b"s\"");
    Ok(())
}

/// Appends one FieldMask path converted from snake_case to lowerCamelCase,
/// with Python's rules: no uppercase letters, every `_` followed by a
/// lowercase letter (which is uppercased), no trailing `_`.
pub(crate) fn field_mask_path(out: &mut Vec<u8>, path: &str) -> Result<(), String> {
    let mut after_underscore = false;
    let start = out.len();
    let mut buf = [0u8; 4];
    for c in path.chars() {
        if c.is_uppercase() {
            out.truncate(start);
            return Err(format!("path `{path}` contains an uppercase letter"));
        }
        if after_underscore {
            if c.is_lowercase() {
                for u in c.to_uppercase() {
                    out.extend_from_slice(u.encode_utf8(&mut buf).as_bytes());
                }
                after_underscore = false;
            } else {
                out.truncate(start);
                return Err(format!(
                    "path `{path}` has a `_` not followed by a lowercase letter"
                ));
            }
        } else if c == '_' {
            after_underscore = true;
        } else {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    if after_underscore {
        out.truncate(start);
        return Err(format!("path `{path}` ends with `_`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64, nanos: i32) -> Result<String, String> {
        let mut out = Vec::new();
        timestamp(&mut out, seconds, nanos, &mut DateCache::default())
            .map(|()| String::from_utf8(out).expect("ascii"))
    }

    fn du(seconds: i64, nanos: i32) -> Result<String, String> {
        let mut out = Vec::new();
        duration(&mut out, seconds, nanos).map(|()| String::from_utf8(out).expect("ascii"))
    }

    fn fm(path: &str) -> Result<String, String> {
        let mut out = Vec::new();
        field_mask_path(&mut out, path).map(|()| String::from_utf8(out).expect("utf-8"))
    }

    #[test]
    fn formats_timestamps_with_3_6_or_9_fraction_digits() {
        assert_eq!(ts(0, 0).as_deref(), Ok(r#""1970-01-01T00:00:00Z""#));
        assert_eq!(
            ts(1_700_000_000, 123_000_000).as_deref(),
            Ok(r#""2023-11-14T22:13:20.123Z""#)
        );
        assert_eq!(
            ts(1_700_000_000, 123_456_000).as_deref(),
            Ok(r#""2023-11-14T22:13:20.123456Z""#)
        );
        assert_eq!(
            ts(-1, 1).as_deref(),
            Ok(r#""1969-12-31T23:59:59.000000001Z""#)
        );
        assert_eq!(
            ts(951_782_400, 10_000_000).as_deref(),
            Ok(r#""2000-02-29T00:00:00.010Z""#)
        );
    }

    #[test]
    fn date_cache_follows_the_day() {
        let mut cache = DateCache::default();
        let mut text = |s: i64| {
            let mut out = Vec::new();
            timestamp(&mut out, s, 0, &mut cache).expect("valid");
            String::from_utf8(out).expect("ascii")
        };
        assert_eq!(text(86_399), r#""1970-01-01T23:59:59Z""#);
        assert_eq!(text(86_400), r#""1970-01-02T00:00:00Z""#);
        assert_eq!(text(86_399), r#""1970-01-01T23:59:59Z""#);
        assert_eq!(text(-1), r#""1969-12-31T23:59:59Z""#);
    }

    #[test]
    fn accepts_timestamps_from_year_1_to_9999() {
        assert_eq!(
            ts(-62_135_596_800, 0).as_deref(),
            Ok(r#""0001-01-01T00:00:00Z""#)
        );
        assert_eq!(
            ts(253_402_300_799, 999_999_999).as_deref(),
            Ok(r#""9999-12-31T23:59:59.999999999Z""#)
        );
    }

    #[test]
    fn rejects_timestamps_out_of_range() {
        assert!(ts(253_402_300_800, 0).is_err());
        assert!(ts(-62_135_596_801, 0).is_err());
        assert!(ts(0, -1).is_err());
        assert!(ts(0, 1_000_000_000).is_err());
    }

    #[test]
    fn timestamp_calendar_matches_chrono_like_reference_days() {
        // 1600-03-01, 1900-02-28, 2100-03-01 and leap days around them.
        assert_eq!(
            ts(-11_670_912_000, 0).as_deref(),
            Ok(r#""1600-03-01T00:00:00Z""#)
        );
        assert_eq!(
            ts(-2_203_977_600, 0).as_deref(),
            Ok(r#""1900-02-28T00:00:00Z""#)
        );
        assert_eq!(
            ts(-2_203_891_200, 0).as_deref(),
            Ok(r#""1900-03-01T00:00:00Z""#)
        );
        assert_eq!(
            ts(4_107_542_400, 0).as_deref(),
            Ok(r#""2100-03-01T00:00:00Z""#)
        );
        assert_eq!(
            ts(1_709_164_800, 0).as_deref(),
            Ok(r#""2024-02-29T00:00:00Z""#)
        );
    }

    #[test]
    fn calendar_agrees_with_counting_days_from_year_1_to_9999() {
        let leap =
            |y: usize| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
        let month_days = |y: usize, m: usize| match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let (mut y, mut m, mut d) = (1, 1, 1);
        for days in 0..3_652_059u64 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            d += 1;
            if d > month_days(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        assert_eq!((y, m, d), (10000, 1, 1));
    }

    #[test]
    fn formats_durations_with_sign_and_fraction() {
        assert_eq!(du(0, 0).as_deref(), Ok(r#""0s""#));
        assert_eq!(du(1, 340_012).as_deref(), Ok(r#""1.000340012s""#));
        assert_eq!(du(-1, -500_000_000).as_deref(), Ok(r#""-1.500s""#));
        assert_eq!(du(0, -500_000_000).as_deref(), Ok(r#""-0.500s""#));
        assert_eq!(du(0, 1_000).as_deref(), Ok(r#""0.000001s""#));
        assert_eq!(
            du(315_576_000_000, 999_999_999).as_deref(),
            Ok(r#""315576000000.999999999s""#)
        );
        assert_eq!(
            du(-315_576_000_000, -999_999_999).as_deref(),
            Ok(r#""-315576000000.999999999s""#)
        );
    }

    #[test]
    fn rejects_invalid_durations() {
        assert!(du(315_576_000_001, 0).is_err());
        assert!(du(-315_576_000_001, 0).is_err());
        assert!(du(0, 1_000_000_000).is_err());
        assert!(du(0, -1_000_000_000).is_err());
        assert!(du(1, -5).is_err());
        assert!(du(-1, 5).is_err());
    }

    #[test]
    fn camel_cases_field_mask_paths() {
        assert_eq!(fm("foo_bar.baz").as_deref(), Ok("fooBar.baz"));
        assert_eq!(fm("a").as_deref(), Ok("a"));
        assert_eq!(fm("").as_deref(), Ok(""));
        assert_eq!(fm("x_ÿ").as_deref(), Ok("xŸ"));
    }

    #[test]
    fn rejects_field_mask_paths_that_do_not_round_trip() {
        assert!(fm("fooBar").is_err());
        assert!(fm("foo__bar").is_err());
        assert!(fm("foo_").is_err());
        assert!(fm("foo_1").is_err());
    }
}
