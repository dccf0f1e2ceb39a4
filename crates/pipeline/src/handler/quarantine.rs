//! Quarantine: a bad object's JSON error report, written where the
//! quarantine location mirrors the sources.

use std::sync::Arc;

use chrono::Utc;
use object_store::{ObjectStore, PutOptions, PutPayload};
use protoland_pipeline_core::{ObjectRef, Settings, SourceId, SourceKind, SourceRecord, digest};

use super::error::ObjectError;
use crate::provenance;
use crate::storage::{StorageError, object_path};

/// Writes the JSON error report of a bad object into `store` (the
/// quarantine location's); returns where. Reports mirror the sources:
/// `<bucket>/<key>.error.json` for an S3 object, `<key>.error.json` (its
/// path under the directory being backfilled) for a local file, as its
/// landing key is.
pub(super) async fn quarantine(
    settings: &Settings,
    store: &Arc<dyn ObjectStore>,
    object: &ObjectRef,
    source: SourceId,
    local: bool,
    source_url: &str,
    error: &ObjectError,
) -> Result<String, StorageError> {
    let relative = if local {
        format!("{}.error.json", report_key(&object.key))
    } else {
        format!("{}/{}.error.json", object.bucket, report_key(&object.key))
    };
    let key = match settings.quarantine.prefix() {
        "" => relative,
        prefix => format!("{prefix}/{relative}"),
    };
    let target = settings.quarantine.display_key(&key);
    let (index, offset, field_path) = match error {
        ObjectError::Convert { error, .. } => (
            error.message_index(),
            error.offset(),
            error.field_path().map(str::to_owned),
        ),
        _ => (None, None, None),
    };
    let (landing, conflicts_with) = match error {
        ObjectError::LandingTaken { landing, other, .. } => (
            Some(landing.clone()),
            other.as_ref().map(|o| o.as_str().to_owned()),
        ),
        _ => (None, None),
    };
    let mut report = serde_json::json!({
        "source": source_url,
        "bucket": object.bucket,
        "key": object.key,
        "versionId": object.version_id,
        "error": error.to_string(),
        "messageIndex": index,
        "byteOffset": offset,
        "fieldPath": field_path,
        "eventTime": object.event_time.map(|t| t.to_rfc3339()),
        "time": Utc::now().to_rfc3339(),
    });
    if let Some(map) = report.as_object_mut()
        && landing.is_some()
    {
        map.insert("landing".to_owned(), landing.into());
        map.insert("landingHoldsOutputOf".to_owned(), conflicts_with.into());
    }
    let mut body = serde_json::to_vec_pretty(&report).unwrap_or_default();
    body.push(b'\n');
    let path = object_path(&key)?;
    // Marked as protoland's: a report landing where notifications come
    // from is skipped, not converted (and reported on, and so on).
    let record = SourceRecord {
        kind: SourceKind::Report,
        source,
        version: object.version_id.clone(),
        etag: None,
    };
    let options = PutOptions {
        attributes: provenance::attributes(&record),
        ..PutOptions::default()
    };
    store
        .put_opts(&path, PutPayload::from(body), options)
        .await
        .map_err(|error| StorageError::Store {
            action: "writing the quarantine report",
            target: target.clone(),
            error,
        })?;
    Ok(target)
}

/// A source key as part of its report's key: every key gets its own
/// report key, one that the object store can address and that fits in S3's
/// 1024 bytes. `%` and control characters are percent-encoded, as is a `/`
/// that would start an empty segment and a `.` or `..` segment; a key
/// still too long is cut and followed by a hash of the whole.
fn report_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, segment) in key.split('/').enumerate() {
        if i > 0 {
            out.push_str(if segment.is_empty() || out.is_empty() {
                "%2F"
            } else {
                "/"
            });
        }
        match segment {
            "." => out.push_str("%2E"),
            ".." => out.push_str("%2E%2E"),
            _ => {
                for c in segment.chars() {
                    if c == '%' || c.is_control() {
                        let mut utf8 = [0u8; 4];
                        for b in c.encode_utf8(&mut utf8).bytes() {
                            out.push_str(&format!("%{b:02X}"));
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }
    // Room for the bucket, the prefix and `.error.json`.
    const MAX: usize = 768;
    if out.len() > MAX {
        let mut cut = MAX - 40;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('#');
        out.push_str(&digest(key.as_bytes()));
    }
    out
}
