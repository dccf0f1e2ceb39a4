//! One attempt at one object: route, read, check the landing key, convert
//! on a blocking thread, upload; nothing partial is left behind.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::GetOptions;
use protoland_pipeline_core::{
    Location, ObjectOutcome, ObjectRef, Occupant, SourceId, SourceKind, SourceRecord,
};
use protoland_stream::{ConvertError, OutputFormat, Progress};
use tokio::runtime::Handle;

use super::error::{ObjectError, panic_message};
use super::{Pipeline, SourceStore};
use crate::provenance;
use crate::storage::{LandingWriter, ObjectReader, StorageError, object_path};

impl Pipeline {
    /// The identity recorded on what `object` lands as.
    pub fn source_id(&self, object: &ObjectRef, source: Option<&SourceStore>) -> SourceId {
        match source.map(|s| &s.location) {
            Some(Location::Local { root }) => SourceId::local(&root.join(&object.key)),
            Some(Location::S3 { bucket, .. }) => SourceId::s3(bucket, &object.key),
            None => SourceId::s3(&object.bucket, &object.key),
        }
    }

    /// What the landing object at `landing_key` holds now, for `source`.
    ///
    /// # Errors
    ///
    /// [`StorageError`] when the landing store cannot be asked.
    pub async fn landing_occupant(
        &self,
        landing_key: &str,
        source: &SourceId,
    ) -> Result<Occupant, StorageError> {
        let path = object_path(landing_key)?;
        let head = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        match self.inner.landing.get_opts(&path, head).await {
            Ok(existing) => Ok(provenance::occupant(&existing.attributes, source)),
            Err(object_store::Error::NotFound { .. }) => Ok(Occupant::Empty),
            Err(error) => Err(StorageError::Store {
                action: "reading the source record of",
                target: self.inner.settings.landing.display_key(landing_key),
                error,
            }),
        }
    }

    /// Whether the landing key names the source object itself (a key
    /// template of `{key}` with the landing location at the source's).
    fn lands_on_itself(
        &self,
        object: &ObjectRef,
        source: Option<&SourceStore>,
        landing_key: &str,
    ) -> bool {
        let canonical = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
        match (&self.inner.settings.landing, source.map(|s| &s.location)) {
            (Location::S3 { bucket, .. }, None) => {
                *bucket == object.bucket && landing_key == object.key
            }
            (Location::S3 { bucket, .. }, Some(Location::S3 { bucket: from, .. })) => {
                bucket == from && landing_key == object.key
            }
            (Location::Local { root }, Some(Location::Local { root: from })) => {
                canonical(root).join(landing_key) == canonical(from).join(&object.key)
            }
            _ => false,
        }
    }

    /// Claims `landing_key` for `source` while it is written; the claim
    /// ends when the guard drops. Another version of the same source waits
    /// for its turn (both are the same source's output); another source is
    /// refused.
    async fn claim(
        &self,
        landing_key: &str,
        source: &SourceId,
        source_url: &str,
        destination: &str,
    ) -> Result<Claim<'_>, ObjectError> {
        loop {
            {
                let mut claims = self.inner.claims.lock().unwrap_or_else(|e| e.into_inner());
                match claims.get(landing_key) {
                    Some(holder) if holder != source => {
                        return Err(ObjectError::LandingTaken {
                            source_url: source_url.to_owned(),
                            landing: destination.to_owned(),
                            occupant: format!("is being written from {holder} right now"),
                            other: Some(holder.clone()),
                        });
                    }
                    Some(_) => {}
                    None => {
                        claims.insert(landing_key.to_owned(), source.clone());
                        return Ok(Claim {
                            claims: &self.inner.claims,
                            key: landing_key.to_owned(),
                        });
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(super) async fn convert_once(
        &self,
        object: &ObjectRef,
        source: Option<&SourceStore>,
        source_url: &str,
    ) -> Result<ObjectOutcome, ObjectError> {
        let settings = &self.inner.settings;
        let route = self
            .route_for(&object.key)
            .ok_or_else(|| ObjectError::NoRoute {
                key: object.key.clone(),
            })?;
        let store = match source {
            Some(s) => Arc::clone(&s.store),
            None => self.inner.stores.bucket(&object.bucket)?,
        };
        let path = object_path(&object.key)?;
        let got =
            crate::storage::get(&store, &path, object.version_id.as_deref(), source_url).await?;
        if let Some(record) = provenance::record_of(&got.attributes) {
            // Converting it would write another object here, which would be
            // notified in turn: the loop stops at its first turn.
            let kind = match record.kind {
                SourceKind::Landing => "landing object",
                SourceKind::Report => "quarantine report",
            };
            tracing::warn!(source = %source_url, of = %record.source, kind, "skipping an object protoland wrote: the landing or quarantine location is inside the notified one");
            return Ok(ObjectOutcome::OwnOutput { kind });
        }
        let source_id = self.source_id(object, source);
        let time = object.event_time.or(Some(got.meta.last_modified));
        let landing_key = self.landing_key(&object.bucket, &object.key, time);
        let destination = settings.landing.display_key(&landing_key);
        let landing_path = object_path(&landing_key)?;
        if self.lands_on_itself(object, source, &landing_key) {
            return Err(ObjectError::LandingIsSource {
                source_url: source_url.to_owned(),
            });
        }
        let _claim = self
            .claim(&landing_key, &source_id, source_url, &destination)
            .await?;
        match self.landing_occupant(&landing_key, &source_id).await? {
            Occupant::Empty | Occupant::Same => {}
            Occupant::Other(other) => {
                return Err(ObjectError::LandingTaken {
                    source_url: source_url.to_owned(),
                    landing: destination,
                    occupant: format!("holds the output of {other}"),
                    other: Some(other),
                });
            }
            Occupant::Foreign => {
                return Err(ObjectError::LandingTaken {
                    source_url: source_url.to_owned(),
                    landing: destination,
                    occupant: "exists and has no source record (protoland did not write it)"
                        .to_owned(),
                    other: None,
                });
            }
        }
        let record = SourceRecord {
            kind: SourceKind::Landing,
            source: source_id,
            version: object
                .version_id
                .clone()
                .or_else(|| got.meta.version.clone()),
            etag: got.meta.e_tag.clone(),
        };

        let runtime = Handle::current();
        let (writer, upload_task) = LandingWriter::new(
            Arc::clone(&self.inner.landing),
            landing_path,
            provenance::attributes(&record),
            settings.part_size,
            destination.clone(),
            &runtime,
        );
        // If this future is dropped (the deadline cut it), the blocking
        // conversion below fails at its next read, and the upload aborts
        // instead of completing, even when the conversion is already done:
        // nothing lands after the message was reported failed.
        let cancel = CancelOnDrop(writer.cancel_flag());
        let reader = CancellableReader {
            inner: ObjectReader::new(got, &runtime),
            cancelled: Arc::clone(&cancel.0),
        };
        let output = self.inner.output;
        let conversion_route = Arc::clone(&route);
        let progress = Arc::new(Progress::default());
        let task_progress = Arc::clone(&progress);
        let url = source_url.to_owned();
        let converted = tokio::task::spawn_blocking(move || {
            let converter = &conversion_route.converter;
            let convert_error = |error| ObjectError::Convert {
                source_url: url.clone(),
                error,
            };
            let write_error = |e: std::io::Error| convert_error(ConvertError::Write(e));
            let (report, writer) = match converter.format() {
                OutputFormat::Ndjson => {
                    let mut compressed = protoland_stream::compress_writer(writer, output);
                    let report = converter
                        .convert(reader, &mut compressed, &task_progress)
                        .map_err(convert_error)?;
                    (report, compressed.finish().map_err(write_error)?)
                }
                // Parquet compresses its pages inside the file: never the
                // file as a whole.
                OutputFormat::Parquet => {
                    let mut writer = writer;
                    let report = converter
                        .convert(reader, &mut writer, &task_progress)
                        .map_err(convert_error)?;
                    (report, writer)
                }
            };
            let bytes_out = writer.bytes_written();
            let upload = writer.finish().map_err(write_error)?;
            Ok::<_, ObjectError>((report, bytes_out, upload))
        })
        .await;
        // Wait for the upload to complete or abort: nothing is left behind
        // when this returns.
        let _ = upload_task.await;
        let (report, bytes_out, upload) = match converted {
            Ok(result) => result?,
            Err(e) => {
                return Err(ObjectError::Panic {
                    source_url: source_url.to_owned(),
                    message: panic_message(e),
                });
            }
        };
        tracing::info!(
            source = %source_url,
            destination = %destination,
            message_type = %route.message,
            messages = report.messages,
            bytes_in = report.bytes_in,
            bytes_decompressed = report.bytes_decompressed,
            bytes_out,
            compression = %report.compression,
            framing = %report.framing,
            upload = ?upload,
            "converted"
        );
        Ok(ObjectOutcome::Converted {
            destination,
            messages: report.messages,
            bytes_in: report.bytes_in,
            bytes_out,
            upload,
        })
    }
}

/// Why a conversion cut by the deadline stops (seen in logs only: the
/// outcome was decided when it was cut).
const DEADLINE_STOP: &str = "stopped: the invocation deadline was reached";

/// A landing key claimed by one source (see `Pipeline::claim`), released
/// when dropped.
struct Claim<'a> {
    claims: &'a Mutex<HashMap<String, SourceId>>,
    key: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

/// Sets its flag when dropped: see [`CancellableReader`] and
/// [`LandingWriter::cancel_flag`].
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A reader that fails once `cancelled` is set.
struct CancellableReader<R> {
    inner: R,
    cancelled: Arc<AtomicBool>,
}

impl<R: std::io::Read> std::io::Read for CancellableReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(std::io::Error::other(DEADLINE_STOP));
        }
        self.inner.read(buf)
    }
}
