//! Reading objects: a GET, and its byte stream as a blocking [`Read`].

use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::StreamExt;
use object_store::path::Path;
use object_store::{GetOptions, GetResult, GetResultPayload, ObjectStore};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::{Location, StorageError, StorageOptions, Stores, object_path};

/// Starts a GET (of a version, when given).
///
/// # Errors
///
/// [`StorageError`]; [`StorageError::is_not_found`] when the object is gone.
pub(crate) async fn get(
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
pub(crate) struct ObjectReader {
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
    pub(crate) fn new(result: GetResult, runtime: &Handle) -> ObjectReader {
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

#[cfg(test)]
mod tests {
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
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
