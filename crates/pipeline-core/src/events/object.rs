//! The object an event names: its bucket checked against S3's rules, its
//! key decoded as S3 encodes it, and both printable in a log line.

use chrono::{DateTime, Utc};
use percent_encoding::percent_decode;

use super::error::EventError;

/// One object to convert, as named by an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub bucket: String,
    /// The key, decoded (`a b+c.pb`, not `a+b%2Bc.pb`).
    pub key: String,
    /// The object version, when the bucket is versioned and the event says.
    pub version_id: Option<String>,
    /// The size the event reports, if it does (informational only).
    pub size: Option<u64>,
    /// When the event happened; the key template's date placeholders use it.
    pub event_time: Option<DateTime<Utc>>,
}

impl ObjectRef {
    /// A reference with only bucket and key (backfills, tests).
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> ObjectRef {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            version_id: None,
            size: None,
            event_time: None,
        }
    }

    /// `s3://bucket/key` (with `?versionId=` when versioned), for logs and
    /// errors: control characters escaped (see [`printable`]).
    pub fn url(&self) -> String {
        let (bucket, key) = (printable(&self.bucket), printable(&self.key));
        match &self.version_id {
            Some(v) => format!("s3://{bucket}/{key}?versionId={}", printable(v)),
            None => format!("s3://{bucket}/{key}"),
        }
    }
}

/// Text from an event (a key, a bucket) made safe for a log line or an
/// error message: control characters (a newline, an escape sequence) and
/// Unicode's line and paragraph separators as `\u{…}`, so that a key can
/// neither break a text log line nor forge one. Everything else, and text
/// without such characters, is unchanged.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Checks a bucket name against S3's naming rules: 3 to 63 characters,
/// lowercase letters, digits, `.` and `-`, a letter or digit at each end,
/// no `..`, not an IP address. (The prefixes and suffixes AWS reserves for
/// its own buckets, such as directory buckets' `--x-s3`, are real names and
/// pass.) A notification naming anything else is not from S3.
///
/// # Errors
///
/// [`EventError::InvalidBucket`] with the rule the name breaks.
pub fn check_bucket(bucket: &str) -> Result<(), EventError> {
    let fail = |reason: String| {
        Err(EventError::InvalidBucket {
            bucket: bucket.to_owned(),
            reason,
        })
    };
    if let Some(c) = bucket
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-')))
    {
        return fail(format!(
            "it contains {c:?}; bucket names hold only lowercase letters, digits, `.` and `-`"
        ));
    }
    let length = bucket.len();
    if !(3..=63).contains(&length) {
        return fail(format!(
            "it has {length} characters; bucket names have 3 to 63"
        ));
    }
    let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alphanumeric(bucket.chars().next()) || !alphanumeric(bucket.chars().last()) {
        return fail("it must begin and end with a letter or digit".to_owned());
    }
    if bucket.contains("..") {
        return fail("it contains `..`".to_owned());
    }
    let parts: Vec<&str> = bucket.split('.').collect();
    if parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return fail("it is formatted as an IP address".to_owned());
    }
    Ok(())
}

/// Decodes a key as S3 notifications encode it: `+` is a space, then
/// percent-decoding, as UTF-8.
///
/// # Errors
///
/// [`EventError::KeyEncoding`] when the decoded bytes are not UTF-8.
pub fn form_decode(raw: &str) -> Result<String, EventError> {
    let plus_decoded = raw.replace('+', " ");
    percent_decode(plus_decoded.as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| EventError::KeyEncoding {
            key: raw.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_keys_as_s3_form_encodes_them() {
        assert_eq!(form_decode("a+b%2Bc.pb").as_deref(), Ok("a b+c.pb"));
        assert_eq!(
            form_decode("caf%C3%A9%2F%E2%9C%93.pb").as_deref(),
            Ok("café/✓.pb")
        );
        assert_eq!(form_decode("plain/key.pb").as_deref(), Ok("plain/key.pb"));
        assert_eq!(
            form_decode("bad%FF"),
            Err(EventError::KeyEncoding {
                key: "bad%FF".into()
            })
        );
    }

    #[test]
    fn checks_bucket_names_against_s3_rules() {
        let (longest, too_long) = ("a".repeat(63), "a".repeat(64));
        for ok in [
            "raw",
            "raw-bucket",
            "logs.example.com",
            "a1b2",
            "123",
            "my-bucket--x-s3",
            longest.as_str(),
        ] {
            assert_eq!(check_bucket(ok), Ok(()), "{ok}");
        }
        for (bad, reason) in [
            (
                "../etc",
                "it contains '/'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "raw/clicks",
                "it contains '/'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "Raw",
                "it contains 'R'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "raw_bucket",
                "it contains '_'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "raw bucket",
                "it contains ' '; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            (
                "héllo",
                "it contains 'é'; bucket names hold only lowercase letters, digits, `.` and `-`",
            ),
            ("", "it has 0 characters; bucket names have 3 to 63"),
            ("ab", "it has 2 characters; bucket names have 3 to 63"),
            (
                too_long.as_str(),
                "it has 64 characters; bucket names have 3 to 63",
            ),
            ("-raw", "it must begin and end with a letter or digit"),
            ("raw.", "it must begin and end with a letter or digit"),
            ("..", "it has 2 characters; bucket names have 3 to 63"),
            ("a..b", "it contains `..`"),
            ("192.168.5.4", "it is formatted as an IP address"),
        ] {
            assert_eq!(
                check_bucket(bad),
                Err(EventError::InvalidBucket {
                    bucket: bad.to_owned(),
                    reason: reason.to_owned()
                }),
                "{bad}"
            );
        }
    }
}
