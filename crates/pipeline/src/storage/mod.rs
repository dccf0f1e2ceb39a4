//! Object store I/O: where objects are, streaming reads as a blocking
//! [`Read`](std::io::Read), and landing objects written through a blocking
//! [`Write`](std::io::Write) that
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
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use protoland_pipeline_core::{Backoff, Location, RequestRetry, StorageOptions, printable};

mod list;
mod local;
mod read;
mod write;

pub use list::{Listed, list};
pub use read::UrlReader;
pub(crate) use read::{ObjectReader, get};
pub(crate) use write::LandingWriter;

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
    #[error("key `{}` cannot be addressed: {reason}", printable(key))]
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
    /// Listing a location failed (after retries).
    #[error("listing {target}: {message}")]
    Listing { target: String, message: String },
    /// The upload was given up (the writer's cancel flag was set) and aborted.
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

/// `object_store`'s form of the request retries.
fn retry_config(retry: &RequestRetry) -> RetryConfig {
    RetryConfig {
        backoff: backoff_config(&retry.backoff),
        max_retries: retry.max_retries,
        retry_timeout: retry.retry_timeout,
    }
}

fn backoff_config(backoff: &Backoff) -> BackoffConfig {
    BackoffConfig {
        init_backoff: backoff.init_backoff,
        max_backoff: backoff.max_backoff,
        base: backoff.base,
    }
}

/// Turns an S3 key into an `object_store` path without changing it.
///
/// # Errors
///
/// [`StorageError::UnsupportedKey`] for keys `object_store` would alter or
/// reject.
pub(crate) fn object_path(key: &str) -> Result<Path, StorageError> {
    let unsupported = |reason: String| StorageError::UnsupportedKey {
        key: key.to_owned(),
        reason,
    };
    let path = Path::parse(key).map_err(|e| unsupported(printable(&e.to_string()).into_owned()))?;
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
                Arc::new(local::LocalStore::new(fs))
            }
        };
        cache.insert(key, Arc::clone(&store));
        Ok(store)
    }

    /// The S3 client settings for `bucket`: the environment (unless
    /// turned off), then `s3_config`, then the bucket, the HTTP client and
    /// the retries.
    fn s3_builder(&self, bucket: &str) -> Result<(AmazonS3Builder, ClientOptions), StorageError> {
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
        let builder = builder
            .with_bucket_name(bucket)
            .with_client_options(client.clone())
            .with_retry(retry_config(&self.options.retry));
        Ok((builder, client))
    }

    fn build_s3(&self, bucket: &str) -> Result<object_store::aws::AmazonS3, StorageError> {
        let (builder, _) = self.s3_builder(bucket)?;
        builder.build().map_err(|error| StorageError::Configure {
            target: format!("s3://{bucket}"),
            error,
        })
    }

    /// A lister of `bucket` that sees every key as stored (see [`list`]).
    fn s3_lister(&self, bucket: &str) -> Result<list::S3Lister, StorageError> {
        let configure = |error| StorageError::Configure {
            target: format!("s3://{bucket}"),
            error,
        };
        let (builder, client) = self.s3_builder(bucket)?;
        let region = builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .unwrap_or_else(|| "us-east-1".to_owned());
        let bucket_url = list::bucket_url(&builder, bucket, &region);
        let store = builder.build().map_err(configure)?;
        Ok(list::S3Lister {
            store: Arc::new(store),
            client: list::S3Lister::connector(&client).map_err(configure)?,
            bucket_url,
            region,
            bucket: bucket.to_owned(),
            backoff: backoff_config(&self.options.retry.backoff),
            max_retries: self.options.retry.max_retries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
