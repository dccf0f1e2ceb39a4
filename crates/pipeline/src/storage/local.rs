//! Local directories as object stores, with object attributes.
//!
//! `object_store`'s `LocalFileSystem` refuses writes that carry attributes
//! (user metadata), and protoland records every landing object's source in
//! its attributes (see `provenance`). [`LocalStore`] keeps them as extended
//! attributes of the file, `user.<name>` for `Attribute::Metadata(name)`,
//! written on the staging file *before* it is renamed into place: a file
//! under its final name always carries its record, even after a crash.
//! Everything else is `LocalFileSystem`'s.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, CopyOptions, GetOptions, GetResult, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, UploadPart,
};
use tempfile::NamedTempFile;

/// A local directory; see the module docs.
#[derive(Debug)]
pub(crate) struct LocalStore {
    fs: LocalFileSystem,
}

impl LocalStore {
    pub(crate) fn new(fs: LocalFileSystem) -> LocalStore {
        LocalStore { fs }
    }
}

impl std::fmt::Display for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.fs.fmt(f)
    }
}

/// The extended attribute that holds `Attribute::Metadata(name)`.
const XATTR_PREFIX: &str = "user.";

fn io_error(path: &std::path::Path, action: &str, e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalStore",
        source: format!("{action} {}: {e}", path.display()).into(),
    }
}

/// Writes `attributes` (user metadata only: the one kind a file can keep)
/// as extended attributes of `file`.
fn set_attributes(
    file: &File,
    path: &std::path::Path,
    attributes: &Attributes,
) -> object_store::Result<()> {
    for (attribute, value) in attributes {
        let Attribute::Metadata(name) = attribute else {
            return Err(object_store::Error::NotImplemented {
                operation: format!("writing the attribute {attribute:?} to a local file"),
                implementer: "LocalStore".to_owned(),
            });
        };
        let xattr = format!("{XATTR_PREFIX}{name}");
        rustix::fs::fsetxattr(
            file,
            xattr.as_str(),
            value.as_ref().as_bytes(),
            rustix::fs::XattrFlags::empty(),
        )
        .map_err(|e| {
            io_error(
                path,
                "recording the source in an extended attribute of (the file system must support user extended attributes)",
                e.into(),
            )
        })?;
    }
    Ok(())
}

/// The `user.` extended attributes of the file at `path`, as metadata.
fn get_attributes(path: &std::path::Path) -> Attributes {
    let mut attributes = Attributes::new();
    let mut names = vec![0u8; 64 * 1024];
    let Ok(len) = rustix::fs::listxattr(path, &mut names[..]) else {
        return attributes;
    };
    let mut value = vec![0u8; 64 * 1024];
    for name in names[..len].split(|&b| b == 0) {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        let Some(short) = name.strip_prefix(XATTR_PREFIX) else {
            continue;
        };
        if let Ok(n) = rustix::fs::getxattr(path, name, &mut value[..])
            && let Ok(text) = std::str::from_utf8(&value[..n])
        {
            attributes.insert(
                Attribute::Metadata(short.to_owned().into()),
                AttributeValue::from(text.to_owned()),
            );
        }
    }
    attributes
}

/// A hidden staging file next to `dest`, created with its directory.
fn staging_file(dest: &std::path::Path) -> object_store::Result<NamedTempFile> {
    let dir = dest.parent().unwrap_or_else(|| std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "creating", e))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io_error(dir, "creating a staging file in", e))
}

fn publish(staged: NamedTempFile, dest: &std::path::Path) -> object_store::Result<()> {
    staged
        .persist(dest)
        .map(drop)
        .map_err(|e| io_error(dest, "renaming the staging file to", e.error))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> object_store::Result<T> + Send + 'static,
) -> object_store::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| object_store::Error::JoinError { source: e })?
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if opts.attributes.is_empty() || !matches!(opts.mode, PutMode::Overwrite) {
            return self.fs.put_opts(location, payload, opts).await;
        }
        let dest = self.fs.path_to_filesystem(location)?;
        blocking(move || {
            let mut staged = staging_file(&dest)?;
            set_attributes(staged.as_file(), staged.path(), &opts.attributes)?;
            for chunk in &payload {
                staged
                    .write_all(chunk)
                    .map_err(|e| io_error(staged.path(), "writing", e))?;
            }
            publish(staged, &dest)?;
            Ok(PutResult {
                e_tag: None,
                version: None,
                extensions: Default::default(),
            })
        })
        .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        if opts.attributes.is_empty() {
            return self.fs.put_multipart_opts(location, opts).await;
        }
        let dest = self.fs.path_to_filesystem(location)?;
        let staged = blocking({
            let dest = dest.clone();
            move || {
                let staged = staging_file(&dest)?;
                // Recorded first: even a half-written staging file says
                // whose it is (a backfill listing the directory skips it).
                set_attributes(staged.as_file(), staged.path(), &opts.attributes)?;
                Ok(staged)
            }
        })
        .await?;
        Ok(Box::new(LocalUpload {
            staged: Some(Arc::new(staged)),
            dest,
            offset: 0,
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let mut result = self.fs.get_opts(location, options).await?;
        let path = self.fs.path_to_filesystem(location)?;
        result.attributes = blocking(move || Ok(get_attributes(&path))).await?;
        Ok(result)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.fs.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.fs.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.fs.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.fs.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.fs.copy_opts(from, to, options).await
    }
}

/// A multipart upload into a staging file: parts are written at their
/// offsets as they come, the file is renamed into place on completion and
/// deleted on abort (or when dropped).
#[derive(Debug)]
struct LocalUpload {
    staged: Option<Arc<NamedTempFile>>,
    dest: PathBuf,
    offset: u64,
}

#[async_trait]
impl MultipartUpload for LocalUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let at = self.offset;
        self.offset += data.content_length() as u64;
        let staged = self.staged.clone();
        Box::pin(blocking(move || {
            let Some(staged) = staged else {
                return Err(object_store::Error::Generic {
                    store: "LocalStore",
                    source: "a part after the upload ended".into(),
                });
            };
            let mut at = at;
            for chunk in &data {
                staged
                    .as_file()
                    .write_all_at(chunk, at)
                    .map_err(|e| io_error(staged.path(), "writing", e))?;
                at += chunk.len() as u64;
            }
            Ok(())
        }))
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let staged = self.staged.take().and_then(|s| Arc::try_unwrap(s).ok());
        let Some(staged) = staged else {
            return Err(object_store::Error::Generic {
                store: "LocalStore",
                source: "completing an upload that ended, or with parts still being written".into(),
            });
        };
        let dest = self.dest.clone();
        blocking(move || {
            publish(staged, &dest)?;
            Ok(PutResult {
                e_tag: None,
                version: None,
                extensions: Default::default(),
            })
        })
        .await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        // Dropping the staging file deletes it.
        self.staged = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use object_store::ObjectStoreExt;

    use super::*;

    fn record() -> Attributes {
        let mut attributes = Attributes::new();
        attributes.insert(
            Attribute::Metadata("protoland-source".into()),
            AttributeValue::from("s3://raw/a%01.pb"),
        );
        attributes
    }

    fn store_in(dir: &tempfile::TempDir) -> LocalStore {
        LocalStore::new(LocalFileSystem::new_with_prefix(dir.path()).expect("fs"))
    }

    /// A multipart upload to `path` carrying the source record.
    async fn start_upload(store: &LocalStore, path: &str) -> Box<dyn MultipartUpload> {
        store
            .put_multipart_opts(
                &Path::from(path),
                PutMultipartOptions {
                    attributes: record(),
                    ..PutMultipartOptions::default()
                },
            )
            .await
            .expect("start")
    }

    #[tokio::test]
    async fn keeps_metadata_in_extended_attributes_of_single_and_multipart_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_in(&dir);
        let one = Path::from("out/one.ndjson");
        store
            .put_opts(
                &one,
                PutPayload::from_static(b"{}\n"),
                PutOptions {
                    attributes: record(),
                    ..PutOptions::default()
                },
            )
            .await
            .expect("put");
        let got = store.get(&one).await.expect("get");
        assert_eq!(got.attributes, record());
        assert_eq!(got.bytes().await.expect("body").as_ref(), b"{}\n");

        let two = Path::from("out/two.ndjson");
        let mut upload = start_upload(&store, "out/two.ndjson").await;
        upload
            .put_part(PutPayload::from_static(b"abc"))
            .await
            .expect("part 1");
        upload
            .put_part(PutPayload::from_static(b"defg"))
            .await
            .expect("part 2");
        assert!(
            !dir.path().join("out/two.ndjson").exists(),
            "visible before completion"
        );
        upload.complete().await.expect("complete");
        let got = store.get(&two).await.expect("get");
        assert_eq!(got.attributes, record());
        assert_eq!(got.bytes().await.expect("body").as_ref(), b"abcdefg");
    }

    #[tokio::test]
    async fn an_aborted_upload_leaves_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_in(&dir);
        let mut upload = start_upload(&store, "x/y.ndjson").await;
        upload
            .put_part(PutPayload::from_static(b"abc"))
            .await
            .expect("part");
        upload.abort().await.expect("abort");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("x"))
            .expect("dir")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
