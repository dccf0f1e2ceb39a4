//! Object store I/O: where objects are, streaming reads as a blocking
//! [`Read`], and landing objects written through a blocking [`Write`] that
//! becomes visible only when complete.
//!
//! - [`Location`]: `s3://bucket/prefix` or a local directory.
//! - [`Stores`]: one `object_store` client per bucket, built once, with the
//!   endpoint from `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` (plain `http://`
//!   allowed for S3-compatible servers such as MinIO or moto), path-style
//!   requests unless `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true`.
//! - [`ObjectReader`]: the async byte stream of a GET bridged to `Read`
//!   through a bounded channel, so a slow converter applies back-pressure to
//!   the network instead of buffering the object.
//! - [`LandingWriter`]: output up to the part size is one PUT; beyond it,
//!   a multipart upload fed part by part (one part uploading while the next
//!   fills: at most three parts in memory per object). The
//!   object appears only on PUT or CompleteMultipartUpload; on any error or
//!   when dropped unfinished the upload is aborted, so nothing partial is
//!   ever visible. Local directories get the same guarantee from
//!   `LocalFileSystem` (staging file, then rename).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetResult, GetResultPayload, MultipartUpload,
    ObjectStore, ObjectStoreExt, PutPayload, PutResult, RetryConfig,
};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

/// A bucket and prefix, on S3 or on the local file system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// `s3://bucket/prefix`; the prefix has no leading or trailing `/`.
    S3 { bucket: String, prefix: String },
    /// A local directory; object keys are paths below it.
    Local { root: PathBuf },
}

impl Location {
    /// Parses `s3://bucket[/prefix]` or a local directory (`file://` optional).
    ///
    /// # Errors
    ///
    /// A message when an `s3://` URL names no bucket.
    pub fn parse(value: &str) -> Result<Location, String> {
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!(
                    "`{value}` names no bucket (expected s3://bucket/prefix)"
                ));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        if value.contains("://") && !value.starts_with("file://") {
            return Err(format!(
                "`{value}` is neither an s3:// URL nor a local directory"
            ));
        }
        let path = value.strip_prefix("file://").unwrap_or(value);
        if path.is_empty() {
            return Err("the location is empty".to_owned());
        }
        Ok(Location::Local {
            root: PathBuf::from(path),
        })
    }

    /// A location below this one (`s3://b/p` + `q` → `s3://b/p/q`).
    pub fn join(&self, sub: &str) -> Location {
        let sub = sub.trim_matches('/');
        match self {
            Location::S3 { bucket, prefix } => Location::S3 {
                bucket: bucket.clone(),
                prefix: if prefix.is_empty() {
                    sub.to_owned()
                } else {
                    format!("{prefix}/{sub}")
                },
            },
            Location::Local { root } => Location::Local {
                root: root.join(sub),
            },
        }
    }

    /// The key prefix inside the store (empty for local directories, whose
    /// root is the store itself).
    pub fn prefix(&self) -> &str {
        match self {
            Location::S3 { prefix, .. } => prefix,
            Location::Local { .. } => "",
        }
    }

    /// How an object at `key` in this location's store is shown in logs:
    /// `s3://bucket/key` or the file path.
    pub fn display_key(&self, key: &str) -> String {
        match self {
            Location::S3 { bucket, .. } => format!("s3://{bucket}/{key}"),
            Location::Local { root } => root.join(key).display().to_string(),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Location::Local { root } => write!(f, "{}", root.display()),
        }
    }
}

/// How object stores are reached.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// Read the standard `AWS_*` variables (credentials, region, endpoint).
    /// Default: yes. Tests turn it off and pass everything in `s3_config`.
    pub read_env: bool,
    /// `object_store` S3 settings applied after the environment, as
    /// (key, value): `aws_endpoint`, `aws_region`, `aws_access_key_id`, ….
    pub s3_config: Vec<(String, String)>,
    /// Retries of single requests inside `object_store` (throttling, 5xx,
    /// timeouts, connection resets; a GET interrupted mid-body resumes with
    /// a range request). Default: 4 retries, 100 ms doubling to 5 s, at most
    /// 60 s in total; on top of it the handler retries a whole object.
    pub retry: RetryConfig,
    /// Longest wait for the next bytes of a response. Default: 60 s. (There
    /// is no overall request timeout: a GET of a large object lasts as long
    /// as its conversion.)
    pub read_timeout: Duration,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            read_env: true,
            s3_config: Vec::new(),
            retry: RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: 4,
                retry_timeout: Duration::from_secs(60),
            },
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// An object store failure, with what was being done to which object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error("{action} {target}: {error}")]
    Store {
        action: &'static str,
        target: String,
        error: object_store::Error,
    },
    /// A key `object_store` cannot address unchanged (empty segments,
    /// `.`/`..` segments, control characters, leading or trailing `/`).
    #[error("key `{key}` cannot be addressed: {reason}")]
    UnsupportedKey { key: String, reason: String },
    #[error("configuring the object store for {target}: {error}")]
    Configure {
        target: String,
        error: object_store::Error,
    },
    #[error("creating {path}: {error}")]
    CreateDir { path: PathBuf, error: io::Error },
    #[error("starting the async runtime: {error}")]
    Runtime { error: io::Error },
    /// The upload task stopped without reporting (its runtime shut down).
    #[error("upload of {target} ended without completing")]
    UploadLost { target: String },
    /// The upload was given up (see [`LandingWriter::cancel_flag`]) and aborted.
    #[error("upload of {target} cancelled")]
    Cancelled { target: String },
}

impl StorageError {
    fn store(
        action: &'static str,
        target: impl Into<String>,
        error: object_store::Error,
    ) -> StorageError {
        StorageError::Store {
            action,
            target: target.into(),
            error,
        }
    }

    /// The object (or bucket) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            StorageError::Store {
                error: object_store::Error::NotFound { .. },
                ..
            }
        )
    }

    /// Whether trying again later may succeed: network errors, throttling,
    /// server errors (after `object_store`'s own retries). Missing objects,
    /// denied access and bad keys are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            StorageError::Store { error, .. } => matches!(
                error,
                object_store::Error::Generic { .. } | object_store::Error::JoinError { .. }
            ),
            StorageError::UploadLost { .. } => true,
            _ => false,
        }
    }
}

/// Turns an S3 key into an `object_store` path without changing it.
///
/// # Errors
///
/// [`StorageError::UnsupportedKey`] for keys `object_store` would alter or
/// reject.
pub fn object_path(key: &str) -> Result<Path, StorageError> {
    let unsupported = |reason: String| StorageError::UnsupportedKey {
        key: key.to_owned(),
        reason,
    };
    let path = Path::parse(key).map_err(|e| unsupported(e.to_string()))?;
    if path.as_ref() != key {
        return Err(unsupported(
            "a leading or trailing `/` would be dropped".to_owned(),
        ));
    }
    if key.is_empty() {
        return Err(unsupported("the key is empty".to_owned()));
    }
    Ok(path)
}

/// Object store clients, one per bucket (or local directory), built on first
/// use and then shared.
#[derive(Debug)]
pub struct Stores {
    options: StorageOptions,
    cache: Mutex<HashMap<Location, Arc<dyn ObjectStore>>>,
}

impl Stores {
    pub fn new(options: StorageOptions) -> Stores {
        Stores {
            options,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The store for an S3 bucket.
    ///
    /// # Errors
    ///
    /// [`StorageError::Configure`] when the S3 settings are unusable.
    pub fn bucket(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, StorageError> {
        self.open(&Location::S3 {
            bucket: bucket.to_owned(),
            prefix: String::new(),
        })
    }

    /// The store holding a location (its bucket, or its local directory,
    /// created if missing).
    ///
    /// # Errors
    ///
    /// [`StorageError`] when the store cannot be configured or the directory
    /// cannot be created.
    pub fn open(&self, location: &Location) -> Result<Arc<dyn ObjectStore>, StorageError> {
        let key = match location {
            Location::S3 { bucket, .. } => Location::S3 {
                bucket: bucket.clone(),
                prefix: String::new(),
            },
            local => local.clone(),
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = cache.get(&key) {
            return Ok(Arc::clone(store));
        }
        let store: Arc<dyn ObjectStore> = match &key {
            Location::S3 { bucket, .. } => Arc::new(self.build_s3(bucket)?),
            Location::Local { root } => {
                std::fs::create_dir_all(root).map_err(|error| StorageError::CreateDir {
                    path: root.clone(),
                    error,
                })?;
                let fs = LocalFileSystem::new_with_prefix(root).map_err(|error| {
                    StorageError::Configure {
                        target: root.display().to_string(),
                        error,
                    }
                })?;
                Arc::new(fs)
            }
        };
        cache.insert(key, Arc::clone(&store));
        Ok(store)
    }

    fn build_s3(&self, bucket: &str) -> Result<object_store::aws::AmazonS3, StorageError> {
        let configure = |error| StorageError::Configure {
            target: format!("s3://{bucket}"),
            error,
        };
        let mut builder = if self.options.read_env {
            AmazonS3Builder::from_env()
        } else {
            AmazonS3Builder::new()
        };
        for (key, value) in &self.options.s3_config {
            let key: AmazonS3ConfigKey = key.parse().map_err(configure)?;
            builder = builder.with_config(key, value);
        }
        // Plain HTTP is allowed only when the endpoint itself says so (a
        // local S3-compatible server); AWS endpoints stay HTTPS-only.
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
            .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
        let allow_http = endpoint.is_some_and(|e| e.starts_with("http://"));
        let client = ClientOptions::new()
            .with_allow_http(allow_http)
            .with_timeout_disabled()
            .with_read_timeout(self.options.read_timeout);
        builder
            .with_bucket_name(bucket)
            .with_client_options(client)
            .with_retry(self.options.retry.clone())
            .build()
            .map_err(configure)
    }
}

/// Starts a GET (of a version, when given).
///
/// # Errors
///
/// [`StorageError`]; [`StorageError::is_not_found`] when the object is gone.
pub async fn get(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    version: Option<&str>,
    target: &str,
) -> Result<GetResult, StorageError> {
    let options = GetOptions {
        version: version.map(str::to_owned),
        ..GetOptions::default()
    };
    store
        .get_opts(path, options)
        .await
        .map_err(|e| StorageError::store("reading", target, e))
}

/// How many body chunks (typically 8–64 KiB each) wait between the network
/// and the converter: enough to keep both busy, small enough to stay flat.
const READ_CHANNEL_CHUNKS: usize = 32;

enum Chunk {
    Data(Bytes),
    End,
    Failed(io::Error),
}

/// A blocking [`Read`] over an object's bytes.
///
/// Network bodies are pumped by a task on the runtime into a bounded
/// channel; local files are read directly. A stream that stops without its
/// end marker, or that ends short of the object's size, is an error, never
/// a silently shorter object.
#[derive(Debug)]
pub struct ObjectReader {
    inner: ReaderInner,
}

#[derive(Debug)]
enum ReaderInner {
    File(std::fs::File),
    Channel {
        rx: mpsc::Receiver<ChunkDebug>,
        current: Bytes,
        remaining: u64,
        done: bool,
    },
}

/// `Chunk` with a Debug impl that does not print data.
struct ChunkDebug(Chunk);

impl std::fmt::Debug for ChunkDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Chunk::Data(b) => write!(f, "Data({} bytes)", b.len()),
            Chunk::End => f.write_str("End"),
            Chunk::Failed(e) => write!(f, "Failed({e})"),
        }
    }
}

impl ObjectReader {
    /// Bridges a GET result to `Read`; the pump runs on `runtime`.
    pub fn new(result: GetResult, runtime: &Handle) -> ObjectReader {
        let expected = result.range.end.saturating_sub(result.range.start);
        let GetResult {
            payload,
            meta,
            range,
            attributes,
            extensions,
        } = result;
        let stream = match payload {
            GetResultPayload::File(file, _) if range.start == 0 => {
                return ObjectReader {
                    inner: ReaderInner::File(file),
                };
            }
            payload => GetResult {
                payload,
                meta,
                range,
                attributes,
                extensions,
            }
            .into_stream(),
        };
        let (tx, rx) = mpsc::channel(READ_CHANNEL_CHUNKS);
        runtime.spawn(async move {
            let mut stream = stream;
            while let Some(item) = stream.next().await {
                let chunk = match item {
                    Ok(bytes) => Chunk::Data(bytes),
                    Err(e) => Chunk::Failed(io::Error::other(e)),
                };
                let failed = matches!(chunk, Chunk::Failed(_));
                if tx.send(ChunkDebug(chunk)).await.is_err() || failed {
                    return;
                }
            }
            let _ = tx.send(ChunkDebug(Chunk::End)).await;
        });
        ObjectReader {
            inner: ReaderInner::Channel {
                rx,
                current: Bytes::new(),
                remaining: expected,
                done: false,
            },
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            ReaderInner::File(file) => file.read(buf),
            ReaderInner::Channel {
                rx,
                current,
                remaining,
                done,
            } => {
                if buf.is_empty() {
                    return Ok(0);
                }
                while current.is_empty() {
                    if *done {
                        return Ok(0);
                    }
                    match rx.blocking_recv().map(|c| c.0) {
                        Some(Chunk::Data(bytes)) => *current = bytes,
                        Some(Chunk::End) => {
                            if *remaining != 0 {
                                return Err(io::Error::other(format!(
                                    "object body ended {remaining} bytes short of its length"
                                )));
                            }
                            *done = true;
                        }
                        Some(Chunk::Failed(e)) => return Err(e),
                        None => {
                            return Err(io::Error::other("object stream stopped before its end"));
                        }
                    }
                }
                let n = buf.len().min(current.len());
                buf[..n].copy_from_slice(&current.split_to(n));
                *remaining = remaining.saturating_sub(n as u64);
                Ok(n)
            }
        }
    }
}

/// A blocking reader over one `s3://bucket/key` object, for callers without
/// an async runtime (the CLI's `convert` and `inspect`): it owns a small
/// runtime that streams the object.
#[derive(Debug)]
pub struct UrlReader {
    // Declared first: dropped before the runtime its pump runs on.
    reader: ObjectReader,
    size: u64,
    _runtime: tokio::runtime::Runtime,
}

impl UrlReader {
    /// Opens `s3://bucket/key` with the standard AWS environment.
    ///
    /// # Errors
    ///
    /// [`StorageError`] when the URL is not an object URL, the client cannot
    /// be configured, or the GET fails (e.g. not found, access denied).
    pub fn open(url: &str, options: StorageOptions) -> Result<UrlReader, StorageError> {
        let (bucket, key) = match Location::parse(url) {
            Ok(Location::S3 { bucket, prefix }) if !prefix.is_empty() => (bucket, prefix),
            _ => {
                return Err(StorageError::UnsupportedKey {
                    key: url.to_owned(),
                    reason: "expected s3://bucket/key".to_owned(),
                });
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|error| StorageError::Runtime { error })?;
        let store = Stores::new(options).bucket(&bucket)?;
        let path = object_path(&key)?;
        let result = runtime.block_on(get(&store, &path, None, url))?;
        let size = result.meta.size;
        let reader = ObjectReader::new(result, runtime.handle());
        Ok(UrlReader {
            reader,
            size,
            _runtime: runtime,
        })
    }

    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Read for UrlReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

enum UploadMsg {
    Part(Bytes),
    Finish(Bytes),
}

/// How a landing object was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    Put,
    Multipart { parts: usize },
}

/// A blocking [`Write`] that uploads a landing object (see the module docs).
///
/// Call [`LandingWriter::finish`] to make the object visible; dropping the
/// writer unfinished aborts the upload. The upload itself runs on the
/// runtime; [`UploadTask`] (from [`LandingWriter::new`]) resolves once the
/// object is complete or the upload is aborted, so a caller can wait until
/// nothing is left behind.
#[derive(Debug)]
pub struct LandingWriter {
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
pub type UploadTask = tokio::task::JoinHandle<()>;

impl LandingWriter {
    /// Starts an upload of `path` in `store`; `part_size` is both the
    /// single-PUT threshold and the multipart part size.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        path: Path,
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
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancelled)
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
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
    pub fn finish(mut self) -> io::Result<UploadKind> {
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
                        let upload = store.put_multipart(&path).await.map_err(|e| {
                            StorageError::store("starting a multipart upload of", &target, e)
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
                        let _: PutResult = store
                            .put(&path, PutPayload::from(bytes))
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
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(
            Location::parse("s3://b/p/q/"),
            Ok(Location::S3 {
                bucket: "b".into(),
                prefix: "p/q".into()
            })
        );
        assert_eq!(
            Location::parse("s3://b"),
            Ok(Location::S3 {
                bucket: "b".into(),
                prefix: String::new()
            })
        );
        assert_eq!(
            Location::parse("./out"),
            Ok(Location::Local {
                root: "./out".into()
            })
        );
        assert_eq!(
            Location::parse("file:///tmp/x"),
            Ok(Location::Local {
                root: "/tmp/x".into()
            })
        );
        assert!(Location::parse("s3:///x").is_err());
        assert!(Location::parse("gs://b/x").is_err());
        assert_eq!(
            Location::parse("s3://b").map(|l| l.join("_q").to_string()),
            Ok("s3://b/_q".to_owned())
        );
    }

    #[test]
    fn keeps_keys_unchanged_or_refuses_them() {
        for key in ["a b+c/café ✓.pb", "x%2Fy.pb", "weird{}[]^.pb", "a/b/c"] {
            assert_eq!(
                object_path(key).map(|p| p.to_string()).ok().as_deref(),
                Some(key)
            );
        }
        for key in ["/lead", "trail/", "a//b", "a/../b", "", "ctl\u{7}"] {
            assert!(object_path(key).is_err(), "{key:?}");
        }
    }

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

    #[test]
    fn reads_objects_through_the_channel_bridge() {
        let rt = runtime();
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let path = object_path("in/x.pb").expect("key");
        rt.block_on(store.put(&path, PutPayload::from(data.clone())))
            .expect("put");
        let result = rt
            .block_on(get(&store, &path, None, "in/x.pb"))
            .expect("get");
        let mut reader = ObjectReader::new(result, rt.handle());
        let read = std::thread::spawn(move || {
            let mut out = Vec::new();
            reader.read_to_end(&mut out).map(|_| out)
        })
        .join()
        .expect("reader thread")
        .expect("reads");
        assert_eq!(read, data);

        let missing = rt.block_on(get(
            &store,
            &object_path("in/nope").expect("key"),
            None,
            "in/nope",
        ));
        assert!(missing.is_err_and(|e| e.is_not_found()));
    }
}
