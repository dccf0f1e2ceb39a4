//! Writing landing objects: a blocking [`Write`] whose object becomes
//! visible only when complete.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use object_store::path::Path;
use object_store::{
    Attributes, MultipartUpload, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    PutResult,
};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use protoland_pipeline_core::UploadKind;

use super::StorageError;

enum UploadMsg {
    Part(Bytes),
    Finish(Bytes),
}

/// A blocking [`Write`] that uploads a landing object (see the module docs).
///
/// Call [`LandingWriter::finish`] to make the object visible; dropping the
/// writer unfinished aborts the upload. The upload itself runs on the
/// runtime; [`UploadTask`] (from [`LandingWriter::new`]) resolves once the
/// object is complete or the upload is aborted, so a caller can wait until
/// nothing is left behind.
#[derive(Debug)]
pub(crate) struct LandingWriter {
    buf: Vec<u8>,
    part_size: usize,
    tx: Option<mpsc::Sender<UploadMsgDebug>>,
    done: Option<oneshot::Receiver<Result<UploadKind, StorageError>>>,
    target: String,
    bytes: u64,
    cancelled: Arc<AtomicBool>,
}

struct UploadMsgDebug(UploadMsg);

impl std::fmt::Debug for UploadMsgDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            UploadMsg::Part(b) => write!(f, "Part({} bytes)", b.len()),
            UploadMsg::Finish(b) => write!(f, "Finish({} bytes)", b.len()),
        }
    }
}

/// The background half of a [`LandingWriter`].
pub(super) type UploadTask = tokio::task::JoinHandle<()>;

impl LandingWriter {
    /// Starts an upload of `path` in `store`; `part_size` is both the
    /// single-PUT threshold and the multipart part size. `attributes` (the
    /// source record) are written with the object, never after it.
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        path: Path,
        attributes: Attributes,
        part_size: usize,
        target: String,
        runtime: &Handle,
    ) -> (LandingWriter, UploadTask) {
        // At most three parts of memory per object: one filling here, one
        // queued, one uploading.
        let (tx, rx) = mpsc::channel(1);
        let (done_tx, done_rx) = oneshot::channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let task = runtime.spawn(upload(
            store,
            path,
            attributes,
            rx,
            done_tx,
            target.clone(),
            Arc::clone(&cancelled),
        ));
        let writer = LandingWriter {
            buf: Vec::with_capacity(part_size.min(1 << 20)),
            part_size,
            tx: Some(tx),
            done: Some(done_rx),
            target,
            bytes: 0,
            cancelled,
        };
        (writer, task)
    }

    /// A flag that, once set, makes the upload abort instead of completing
    /// (checked before the single PUT and before completing a multipart
    /// upload): for a caller that gave up on this object (the invocation's
    /// deadline) while the writer is busy on another thread.
    pub(crate) fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancelled)
    }

    /// Bytes written so far.
    pub(crate) fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// The upload's own error, once its task has stopped.
    fn task_error(&mut self) -> io::Error {
        self.tx = None;
        match self.done.take().map(|rx| rx.blocking_recv()) {
            Some(Ok(Err(e))) => io::Error::other(e),
            _ => io::Error::other(StorageError::UploadLost {
                target: self.target.clone(),
            }),
        }
    }

    fn send(&mut self, msg: UploadMsg) -> io::Result<()> {
        let Some(tx) = &self.tx else {
            return Err(io::Error::other("landing writer already finished"));
        };
        if tx.blocking_send(UploadMsgDebug(msg)).is_err() {
            return Err(self.task_error());
        }
        Ok(())
    }

    /// Uploads what is left and waits until the object is complete.
    ///
    /// # Errors
    ///
    /// The upload's error (the upload is then aborted).
    pub(crate) fn finish(mut self) -> io::Result<UploadKind> {
        let rest = Bytes::from(std::mem::take(&mut self.buf));
        self.send(UploadMsg::Finish(rest))?;
        self.tx = None;
        match self.done.take().map(|rx| rx.blocking_recv()) {
            Some(Ok(Ok(kind))) => Ok(kind),
            Some(Ok(Err(e))) => Err(io::Error::other(e)),
            _ => Err(io::Error::other(StorageError::UploadLost {
                target: self.target.clone(),
            })),
        }
    }
}

impl Write for LandingWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.part_size - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        self.bytes += n as u64;
        if self.buf.len() == self.part_size {
            let part = std::mem::replace(&mut self.buf, Vec::with_capacity(self.part_size));
            self.send(UploadMsg::Part(Bytes::from(part)))?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Parts are sent when full; a flush never forces a short part (S3
        // rejects parts under 5 MiB except the last).
        Ok(())
    }
}

/// Parts uploading at once per object. One keeps up with the converter (a
/// part uploads faster than the next one is produced) and bounds memory.
const MAX_PARTS_IN_FLIGHT: usize = 1;

async fn upload(
    store: Arc<dyn ObjectStore>,
    path: Path,
    attributes: Attributes,
    mut rx: mpsc::Receiver<UploadMsgDebug>,
    done: oneshot::Sender<Result<UploadKind, StorageError>>,
    target: String,
    cancelled: Arc<AtomicBool>,
) {
    let mut multipart: Option<Box<dyn MultipartUpload>> = None;
    let mut in_flight = FuturesUnordered::new();
    let mut parts = 0usize;
    let result: Result<UploadKind, StorageError> = async {
        loop {
            let msg = tokio::select! {
                biased;
                Some(result) = in_flight.next(), if !in_flight.is_empty() => {
                    let result: object_store::Result<()> = result;
                    result.map_err(|e| StorageError::store("uploading a part of", &target, e))?;
                    continue;
                }
                msg = rx.recv(), if in_flight.len() < MAX_PARTS_IN_FLIGHT => msg,
            };
            match msg.map(|m| m.0) {
                Some(UploadMsg::Part(bytes)) => {
                    if multipart.is_none() {
                        let options = PutMultipartOptions {
                            attributes: attributes.clone(),
                            ..PutMultipartOptions::default()
                        };
                        let upload =
                            store
                                .put_multipart_opts(&path, options)
                                .await
                                .map_err(|e| {
                                    StorageError::store(
                                        "starting a multipart upload of",
                                        &target,
                                        e,
                                    )
                                })?;
                        multipart = Some(upload);
                    }
                    if let Some(upload) = multipart.as_mut() {
                        in_flight.push(upload.put_part(PutPayload::from(bytes)));
                        parts += 1;
                    }
                }
                Some(UploadMsg::Finish(_)) if cancelled.load(Ordering::Relaxed) => {
                    return Err(StorageError::Cancelled {
                        target: target.clone(),
                    });
                }
                Some(UploadMsg::Finish(bytes)) => match multipart.as_mut() {
                    None => {
                        let options = PutOptions {
                            attributes: attributes.clone(),
                            ..PutOptions::default()
                        };
                        let _: PutResult = store
                            .put_opts(&path, PutPayload::from(bytes), options)
                            .await
                            .map_err(|e| StorageError::store("writing", &target, e))?;
                        return Ok(UploadKind::Put);
                    }
                    Some(upload) => {
                        if !bytes.is_empty() {
                            in_flight.push(upload.put_part(PutPayload::from(bytes)));
                            parts += 1;
                        }
                        while let Some(result) = in_flight.next().await {
                            result.map_err(|e| {
                                StorageError::store("uploading a part of", &target, e)
                            })?;
                        }
                        if cancelled.load(Ordering::Relaxed) {
                            return Err(StorageError::Cancelled {
                                target: target.clone(),
                            });
                        }
                        upload.complete().await.map_err(|e| {
                            StorageError::store("completing the upload of", &target, e)
                        })?;
                        multipart = None;
                        return Ok(UploadKind::Multipart { parts });
                    }
                },
                // The writer was dropped unfinished: the conversion failed.
                None => {
                    return Err(StorageError::UploadLost {
                        target: target.clone(),
                    });
                }
            }
        }
    }
    .await;
    drop(in_flight);
    if let Some(mut upload) = multipart {
        if let Err(e) = upload.abort().await {
            tracing::warn!(destination = %target, error = %e, "aborting the multipart upload failed; a lifecycle rule for incomplete uploads cleans it up");
        } else {
            tracing::debug!(destination = %target, "multipart upload aborted");
        }
    }
    let _ = done.send(result);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use object_store::local::LocalFileSystem;

    use super::*;
    use crate::storage::object_path;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn write_object(
        rt: &tokio::runtime::Runtime,
        store: Arc<dyn ObjectStore>,
        key: &str,
        data: &[u8],
        fail: bool,
    ) -> io::Result<UploadKind> {
        let (mut writer, task) = LandingWriter::new(
            store,
            object_path(key).expect("key"),
            Attributes::new(),
            MIN_PART,
            key.to_owned(),
            rt.handle(),
        );
        let handle = rt.handle().clone();
        let data = data.to_vec();
        let result = std::thread::spawn(move || {
            for chunk in data.chunks(1000) {
                writer.write_all(chunk)?;
            }
            if fail {
                drop(writer);
                return Err(io::Error::other("conversion failed"));
            }
            writer.finish()
        })
        .join()
        .expect("writer thread");
        handle.block_on(task).expect("upload task");
        result
    }

    const MIN_PART: usize = 5 << 20;

    #[test]
    fn writes_small_objects_with_one_put_and_large_ones_in_parts() {
        let rt = runtime();
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(dir.path()).expect("fs"));
        let small = vec![7u8; 1234];
        assert_eq!(
            write_object(&rt, Arc::clone(&store), "out/small.ndjson", &small, false).ok(),
            Some(UploadKind::Put)
        );
        assert_eq!(
            std::fs::read(dir.path().join("out/small.ndjson")).ok(),
            Some(small)
        );

        let large: Vec<u8> = (0..(MIN_PART * 2 + 100)).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            write_object(&rt, Arc::clone(&store), "out/large.ndjson", &large, false).ok(),
            Some(UploadKind::Multipart { parts: 3 })
        );
        assert_eq!(
            std::fs::read(dir.path().join("out/large.ndjson")).ok(),
            Some(large)
        );
    }

    #[test]
    fn leaves_nothing_behind_when_dropped_unfinished() {
        let rt = runtime();
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(dir.path()).expect("fs"));
        let large = vec![1u8; MIN_PART * 2 + 5];
        assert!(write_object(&rt, store, "out/partial.ndjson", &large, true).is_err());
        let leftovers: Vec<_> = walk(dir.path());
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
