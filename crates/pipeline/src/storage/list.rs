//! Listing the objects under a location, every key exactly as stored.
//!
//! `object_store`'s listing turns each key into its `Path`, which cannot
//! hold every key S3 can: a control character or an empty or `.` segment
//! fails the whole page ("Encountered object with invalid path"), and a
//! leading or trailing `/` is silently dropped (a different key). A
//! backfill must convert every other object and report those, so:
//!
//! - S3 is listed here, with ListObjectsV2 and `encoding-type=url` (keys
//!   percent-encoded in the XML, so any byte survives), signed by
//!   `object_store`'s own SigV4 authorizer and sent through its HTTP
//!   client (same endpoint, TLS and credentials as every other request);
//! - a local directory is listed by `object_store`, and an entry it cannot
//!   name becomes a [`Listed`] with that name instead of an error.
//!
//! An object whose key `object_store` cannot address is then a bad object
//! of its own (reported, quarantined under that policy), and the others
//! convert.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use object_store::aws::{AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::{BackoffConfig, ObjectStore};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;

use super::{Location, StorageError, Stores};

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    /// The key as stored (for a local directory, the path below it).
    pub key: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// Lists every object under `location` (see the module docs), in key
/// order for S3.
///
/// # Errors
///
/// [`StorageError`] when the store cannot be configured; errors while
/// listing (after retries) are items of the stream, and end it.
pub(crate) fn list(
    stores: &Stores,
    location: &Location,
) -> Result<BoxStream<'static, Result<Listed, StorageError>>, StorageError> {
    match location {
        Location::S3 { bucket, prefix } => {
            let lister = stores.s3_lister(bucket)?;
            Ok(lister.list(prefix.clone()))
        }
        Location::Local { root } => {
            let store = stores.open(location)?;
            let root_text = root
                .canonicalize()
                .unwrap_or_else(|_| root.clone())
                .to_string_lossy()
                .into_owned();
            let target = location.to_string();
            Ok(store
                .list(None)
                .map(move |item| match item {
                    Ok(meta) => Ok(Listed {
                        key: meta.location.to_string(),
                        size: meta.size,
                        last_modified: meta.last_modified,
                    }),
                    // An entry `object_store` cannot name: listed under its
                    // own name, so that it is reported, not the listing.
                    Err(object_store::Error::InvalidPath {
                        source:
                            object_store::path::Error::BadSegment { path, .. }
                            | object_store::path::Error::EmptySegment { path },
                    }) => Ok(Listed {
                        key: path
                            .strip_prefix(&root_text)
                            .map_or(path.as_str(), |p| p.trim_start_matches('/'))
                            .to_owned(),
                        size: 0,
                        last_modified: Utc::now(),
                    }),
                    Err(error) => Err(StorageError::Store {
                        action: "listing",
                        target: target.clone(),
                        error,
                    }),
                })
                .boxed())
        }
    }
}

/// Lists one S3 bucket with raw keys (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct S3Lister {
    pub(crate) store: std::sync::Arc<object_store::aws::AmazonS3>,
    pub(crate) client: HttpClient,
    /// `https://s3.<region>.amazonaws.com/<bucket>`, an endpoint with the
    /// bucket as its first path segment, or the bucket's virtual host.
    pub(crate) bucket_url: String,
    pub(crate) region: String,
    pub(crate) bucket: String,
    pub(crate) backoff: BackoffConfig,
    pub(crate) max_retries: usize,
}

/// Query values: everything but SigV4's unreserved characters is encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<Contents>,
    #[serde(default)]
    is_truncated: bool,
    next_continuation_token: Option<String>,
    encoding_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contents {
    key: String,
    last_modified: String,
    #[serde(default)]
    size: u64,
}

/// State of a listing between pages.
enum Page {
    Next(Option<String>),
    Done,
}

impl S3Lister {
    pub(crate) fn connector(
        options: &object_store::ClientOptions,
    ) -> object_store::Result<HttpClient> {
        ReqwestConnector::default().connect(options)
    }

    fn list(self, prefix: String) -> BoxStream<'static, Result<Listed, StorageError>> {
        let lister = std::sync::Arc::new(self);
        stream::unfold(Page::Next(None), move |state| {
            let lister = std::sync::Arc::clone(&lister);
            let prefix = prefix.clone();
            async move {
                let Page::Next(token) = state else {
                    return None;
                };
                match lister.page(&prefix, token.as_deref()).await {
                    Ok((objects, next)) => {
                        let next = match next {
                            Some(token) => Page::Next(Some(token)),
                            None => Page::Done,
                        };
                        Some((stream::iter(objects.into_iter().map(Ok)).boxed(), next))
                    }
                    Err(e) => Some((stream::iter([Err(e)]).boxed(), Page::Done)),
                }
            }
        })
        .flatten()
        .boxed()
    }

    fn target(&self, prefix: &str) -> String {
        if prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{prefix}", self.bucket)
        }
    }

    /// One page of ListObjectsV2, retried on transient failures.
    async fn page(
        &self,
        prefix: &str,
        token: Option<&str>,
    ) -> Result<(Vec<Listed>, Option<String>), StorageError> {
        let mut query = String::from("list-type=2&encoding-type=url");
        if !prefix.is_empty() {
            // Listing `p` would also list `p2/…`: a location's prefix is a
            // folder.
            let folder = format!("{prefix}/");
            query.push_str("&prefix=");
            query.extend(utf8_percent_encode(&folder, QUERY_VALUE));
        }
        if let Some(token) = token {
            query.push_str("&continuation-token=");
            query.extend(utf8_percent_encode(token, QUERY_VALUE));
        }
        let url = format!("{}?{query}", self.bucket_url);
        let target = self.target(prefix);
        let mut delay = self.backoff.init_backoff;
        let mut attempt = 0;
        loop {
            match self.request(&url).await {
                Ok(body) => return parse_page(&body, &target),
                Err((message, transient)) if transient && attempt < self.max_retries => {
                    tracing::warn!(target = %target, error = %message, attempt, "listing failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = Duration::from_secs_f64(
                        (delay.as_secs_f64() * self.backoff.base)
                            .min(self.backoff.max_backoff.as_secs_f64()),
                    );
                    attempt += 1;
                }
                Err((message, _)) => {
                    return Err(StorageError::Listing { target, message });
                }
            }
        }
    }

    /// One signed GET; the error says whether it is worth retrying.
    async fn request(&self, url: &str) -> Result<bytes::Bytes, (String, bool)> {
        let credential = self
            .store
            .credentials()
            .get_credential()
            .await
            .map_err(|e| (format!("getting credentials: {e}"), false))?;
        let mut request = http::Request::builder()
            .method(http::Method::GET)
            .uri(url)
            .body(HttpRequestBody::empty())
            .map_err(|e| (format!("building the request: {e}"), false))?;
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|e| (format!("signing the request: {e}"), false))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| (e.to_string(), true))?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| (e.to_string(), true))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let transient = status.is_server_error() || status.as_u16() == 429;
            return Err((format!("HTTP {status}: {}", text.trim()), transient));
        }
        Ok(body)
    }
}

/// Parses a ListObjectsV2 answer.
fn parse_page(body: &[u8], target: &str) -> Result<(Vec<Listed>, Option<String>), StorageError> {
    let bad = |message: String| StorageError::Listing {
        target: target.to_owned(),
        message,
    };
    let text =
        std::str::from_utf8(body).map_err(|e| bad(format!("the answer is not UTF-8: {e}")))?;
    let result: ListBucketResult =
        quick_xml::de::from_str(text).map_err(|e| bad(format!("unreadable answer: {e}")))?;
    let encoded = result
        .encoding_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("url"));
    let mut objects = Vec::with_capacity(result.contents.len());
    for item in result.contents {
        let key = if encoded {
            decode_key(&item.key).map_err(|e| bad(format!("key `{}`: {e}", item.key)))?
        } else {
            item.key
        };
        let last_modified = DateTime::parse_from_rfc3339(&item.last_modified)
            .map_err(|e| bad(format!("LastModified `{}`: {e}", item.last_modified)))?
            .with_timezone(&Utc);
        objects.push(Listed {
            key,
            size: item.size,
            last_modified,
        });
    }
    let next = match (result.is_truncated, result.next_continuation_token) {
        (true, Some(token)) => Some(token),
        (true, None) => return Err(bad("truncated, without a continuation token".to_owned())),
        (false, _) => None,
    };
    Ok((objects, next))
}

/// A key from a listing with `encoding-type=url`: `+` is a space, `%XX` a
/// byte (as S3 writes them, and as botocore's `unquote_plus` reads them).
fn decode_key(encoded: &str) -> Result<String, std::str::Utf8Error> {
    let spaced = encoded.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
}

/// The URL of a bucket, from the S3 settings in effect.
pub(crate) fn bucket_url(
    builder: &object_store::aws::AmazonS3Builder,
    bucket: &str,
    region: &str,
) -> String {
    let endpoint = builder
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
    let virtual_hosted = builder
        .get_config_value(&AmazonS3ConfigKey::VirtualHostedStyleRequest)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let bucket_path = utf8_percent_encode(bucket, QUERY_VALUE).to_string();
    match (endpoint, virtual_hosted) {
        // With virtual-hosted requests an endpoint is the bucket's own URL
        // (as object_store reads it).
        (Some(endpoint), true) => endpoint.trim_end_matches('/').to_owned(),
        (Some(endpoint), false) => format!("{}/{bucket_path}", endpoint.trim_end_matches('/')),
        (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket_path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_keys_as_s3_writes_them() {
        for (encoded, key) in [
            ("a%01.pb", "a\u{1}.pb"),
            ("a+b%2Bc.pb", "a b+c.pb"),
            ("caf%C3%A9/x.pb", "café/x.pb"),
            ("%2Flead//x/", "/lead//x/"),
        ] {
            assert_eq!(decode_key(encoded).ok().as_deref(), Some(key), "{encoded}");
        }
    }

    #[test]
    fn parses_a_page_and_its_continuation() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>raw</Name><Prefix>a%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
  <Contents><Key>a/ctrl%01.pb</Key><LastModified>2024-03-07T21:42:03.000Z</LastModified>
    <ETag>"e1"</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>a/ok.pb</Key><LastModified>2024-03-07T21:42:04.000Z</LastModified>
    <ETag>"e2"</ETag><Size>7</Size><StorageClass>STANDARD</StorageClass></Contents>
  <NextContinuationToken>tok/en+</NextContinuationToken>
</ListBucketResult>"#;
        let (objects, next) = parse_page(body, "s3://raw/a").expect("parses");
        let keys: Vec<_> = objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["a/ctrl\u{1}.pb", "a/ok.pb"]);
        assert_eq!(objects[0].size, 12);
        assert_eq!(next.as_deref(), Some("tok/en+"));

        let empty = br#"<ListBucketResult><Name>raw</Name><KeyCount>0</KeyCount>
            <IsTruncated>false</IsTruncated></ListBucketResult>"#;
        assert_eq!(
            parse_page(empty, "s3://raw").expect("parses"),
            (Vec::new(), None)
        );
        assert!(parse_page(b"<nope", "s3://raw").is_err());
    }
}
