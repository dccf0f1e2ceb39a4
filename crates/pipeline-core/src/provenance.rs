//! Which source an object protoland wrote came from, recorded on the object
//! itself: S3 user metadata (`x-amz-meta-protoland-*`), extended attributes
//! (`user.protoland-*`) on local files.
//!
//! The record does two jobs:
//!
//! - **Two sources never share a landing object.** Before a landing object
//!   is written, the record of whatever already holds its key is read: the
//!   same source (a redelivery, a re-run) is overwritten with the same
//!   bytes; another source's output, or an object without a record (not
//!   written by protoland), is never overwritten: the later object fails
//!   (or is quarantined) with an error naming both.
//! - **protoland never converts its own output.** A landing object or
//!   quarantine report that lands where notifications come from (the
//!   landing location inside the notified bucket and prefix) triggers an
//!   event like any other object; its record identifies it, so it is
//!   acknowledged and skipped instead of converted, and a loop of reports
//!   about reports cannot start. The record, not the name, decides: a key
//!   ending in `.ndjson.gz` may be a source too.
//!
//! Here the record as named text fields; the I/O crate reads and writes them
//! as object attributes.

use std::path::Path;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// What the object is: `landing` or `report`. Its presence marks an object
/// protoland wrote.
pub(crate) const KIND: &str = "protoland-kind";
/// The source, as [`SourceId`] text.
pub(crate) const SOURCE: &str = "protoland-source";
/// The source's version id, when the bucket is versioned.
pub(crate) const SOURCE_VERSION: &str = "protoland-source-version";
/// The source's ETag as read.
pub(crate) const SOURCE_ETAG: &str = "protoland-source-etag";

/// What kind of object protoland wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Converted output.
    Landing,
    /// A bad object's error report.
    Report,
}

impl SourceKind {
    fn as_str(self) -> &'static str {
        match self {
            SourceKind::Landing => "landing",
            SourceKind::Report => "report",
        }
    }
}

/// A source object's identity as recorded: its bucket and key (or file
/// path), not its version, so that a new version of the same key replaces
/// its own landing object. Text that fits an HTTP header:
/// `s3://bucket/key` or `file:///path`, with control characters, spaces,
/// `%` and non-ASCII characters percent-encoded (so distinct keys stay
/// distinct), and a key too long for S3's 2 KB of user metadata cut short
/// and followed by a 128-bit hash of the whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceId(String);

/// Escaped in [`SourceId`] text: what a header value cannot hold or would
/// trim, and `%` itself.
const ESCAPED: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'"');

/// The longest [`SourceId`] text kept whole.
const MAX_SOURCE_TEXT: usize = 1024;

impl SourceId {
    /// An S3 object.
    pub fn s3(bucket: &str, key: &str) -> SourceId {
        SourceId::from_text(format!(
            "s3://{bucket}/{}",
            utf8_percent_encode(key, ESCAPED)
        ))
    }

    /// A local file (its path as given: callers pass an absolute, canonical
    /// path so that runs from different directories agree).
    pub fn local(path: &Path) -> SourceId {
        let text = path.to_string_lossy();
        SourceId::from_text(format!("file://{}", utf8_percent_encode(&text, ESCAPED)))
    }

    fn from_text(text: String) -> SourceId {
        if text.len() <= MAX_SOURCE_TEXT {
            return SourceId(text);
        }
        // The text is ASCII (escaped), so any index is a char boundary.
        SourceId(format!(
            "{}…#{}",
            &text[..MAX_SOURCE_TEXT - 40],
            digest(text.as_bytes())
        ))
    }

    /// The recorded text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name-sized digest of `bytes`: FNV-1a, 128 bits, in hex. Stable across
/// releases and platforms (records are compared with records written by
/// earlier runs); no dependency.
pub fn digest(bytes: &[u8]) -> String {
    format!("{:032x}", fnv1a_128(bytes))
}

fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |hash, &b| {
        (hash ^ u128::from(b)).wrapping_mul(PRIME)
    })
}

/// The record written on an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    pub kind: SourceKind,
    pub source: SourceId,
    pub version: Option<String>,
    pub etag: Option<String>,
}

impl SourceRecord {
    /// The record as named fields (user metadata names, header-safe
    /// values).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            (KIND, self.kind.as_str().to_owned()),
            (SOURCE, self.source.0.clone()),
        ];
        if let Some(version) = &self.version {
            fields.push((SOURCE_VERSION, header_safe(version)));
        }
        if let Some(etag) = &self.etag {
            fields.push((SOURCE_ETAG, header_safe(etag)));
        }
        fields
    }

    /// The record whose fields `get` returns by name, or `None` when there
    /// is none (an object not written by protoland, or by a version before
    /// records).
    pub fn from_fields(get: impl Fn(&'static str) -> Option<String>) -> Option<SourceRecord> {
        let kind = match get(KIND)?.as_str() {
            "report" => SourceKind::Report,
            // Any other value is still protoland's mark.
            _ => SourceKind::Landing,
        };
        Some(SourceRecord {
            kind,
            source: SourceId(get(SOURCE).unwrap_or_default()),
            version: get(SOURCE_VERSION),
            etag: get(SOURCE_ETAG),
        })
    }
}

fn header_safe(value: &str) -> String {
    utf8_percent_encode(value.trim_matches('"'), ESCAPED).to_string()
}

/// What a landing key holds, seen from the source about to land there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occupant {
    /// Nothing: write.
    Empty,
    /// This source's own output (a redelivery, a re-run): overwrite it.
    Same,
    /// Another source's output: do not overwrite.
    Other(SourceId),
    /// An object without a record, which protoland did not write (or wrote
    /// before it recorded sources): do not overwrite.
    Foreign,
}

impl Occupant {
    /// Judges an existing object's record (`None`: it has none) against
    /// `source`.
    pub fn of(record: Option<SourceRecord>, source: &SourceId) -> Occupant {
        match record {
            Some(record) if record.kind == SourceKind::Landing && &record.source == source => {
                Occupant::Same
            }
            Some(record) => Occupant::Other(record.source),
            None => Occupant::Foreign,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_get_distinct_source_ids() {
        let keys = [
            "a.pb",
            "a.pb.gz",
            "a.bin",
            "A.PB",
            "a b.pb",
            "a%20b.pb",
            "a\u{1}.pb",
            "a%01.pb",
            "café.pb",
            "caf%C3%A9.pb",
        ];
        let ids: std::collections::HashSet<_> =
            keys.iter().map(|k| SourceId::s3("raw", k)).collect();
        assert_eq!(ids.len(), keys.len());
        assert_eq!(SourceId::s3("raw", "a b.pb").as_str(), "s3://raw/a%20b.pb");
        assert_eq!(
            SourceId::s3("raw", "x/ctrl\u{1}\n.pb").as_str(),
            "s3://raw/x/ctrl%01%0A.pb"
        );
    }

    #[test]
    fn long_keys_are_cut_with_a_hash_of_the_whole() {
        let a = "k".repeat(2000);
        let mut b = a.clone();
        b.push('x');
        let (ia, ib) = (SourceId::s3("raw", &a), SourceId::s3("raw", &b));
        assert!(
            ia.as_str().len() <= MAX_SOURCE_TEXT + 8,
            "{}",
            ia.as_str().len()
        );
        assert_ne!(ia, ib);
        assert_eq!(ia, SourceId::s3("raw", &a));
    }

    #[test]
    fn records_round_trip_through_their_fields() {
        let record = SourceRecord {
            kind: SourceKind::Landing,
            source: SourceId::s3("raw", "clicks/a b.pb.gz"),
            version: Some("v1".to_owned()),
            etag: Some("\"abc\"".to_owned()),
        };
        let fields: std::collections::HashMap<_, _> = record.fields().into_iter().collect();
        let back = SourceRecord::from_fields(|name| fields.get(name).cloned());
        let back = back.expect("a record");
        assert_eq!(back.source, record.source);
        assert_eq!(back.etag.as_deref(), Some("abc"));
        assert_eq!(
            Occupant::of(Some(back.clone()), &record.source),
            Occupant::Same
        );
        let other = SourceId::s3("raw", "clicks/a b.bin");
        assert_eq!(
            Occupant::of(Some(back), &other),
            Occupant::Other(record.source.clone())
        );
        assert_eq!(SourceRecord::from_fields(|_| None), None);
        assert_eq!(Occupant::of(None, &other), Occupant::Foreign);
    }

    #[test]
    fn a_report_is_never_the_same_source_as_a_landing_object() {
        let source = SourceId::s3("raw", "a.pb");
        let report = SourceRecord {
            kind: SourceKind::Report,
            source: source.clone(),
            version: None,
            etag: None,
        };
        assert_eq!(Occupant::of(Some(report), &source), Occupant::Other(source));
    }
}
