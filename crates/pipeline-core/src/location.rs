//! Where objects are read from and written to, and how stores are
//! reached: the [`Location`] of a setting (`s3://bucket/prefix` or a local
//! directory) and the [`StorageOptions`] the object store clients are built
//! with (the I/O crate turns them into `object_store`'s own).

use std::path::PathBuf;
use std::time::Duration;

use crate::events::printable;

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
    /// `s3://bucket/key` or the file path, control characters escaped.
    pub fn display_key(&self, key: &str) -> String {
        match self {
            Location::S3 { bucket, .. } => format!("s3://{bucket}/{}", printable(key)),
            Location::Local { root } => {
                printable(&root.join(key).display().to_string()).into_owned()
            }
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
    pub retry: RequestRetry,
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
            retry: RequestRetry {
                backoff: Backoff {
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

/// Retries of single requests inside the object store client (throttling,
/// 5xx, timeouts, connection resets), with the meaning of `object_store`'s
/// `RetryConfig`, which the I/O crate builds from it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRetry {
    /// The wait between attempts.
    pub backoff: Backoff,
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// No retry starts this long after the first attempt.
    pub retry_timeout: Duration,
}

/// An exponential backoff: `init_backoff`, multiplied by `base` after
/// each attempt, at most `max_backoff`.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    pub init_backoff: Duration,
    pub max_backoff: Duration,
    pub base: f64,
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
}
