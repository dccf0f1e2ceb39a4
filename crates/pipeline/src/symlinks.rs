//! Symlinks in a local backfill source: not followed unless asked.
//!
//! `object_store`'s local listing follows every symlink, so a link in the
//! source directory to `/etc` (or to a directory of someone else's data)
//! would be read and converted as if it were part of the source. By default
//! an object reached through a symlink (the file itself, or a directory on
//! its way) is left out with a warning naming the link and its target; with
//! `follow` every link is followed, as before.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use protoland_pipeline_core::Location;

/// Decides which listed keys of a source are read (see the module docs).
#[derive(Debug)]
pub(crate) struct SymlinkFilter {
    /// The local source directory; `None` when there is nothing to check
    /// (S3, or links followed).
    root: Option<PathBuf>,
    /// Links already warned about: a linked directory warns once, not once
    /// per file under it.
    warned: Mutex<HashSet<PathBuf>>,
}

impl SymlinkFilter {
    pub(crate) fn new(source: &Location, follow: bool) -> SymlinkFilter {
        let root = match source {
            Location::Local { root } if !follow => Some(root.clone()),
            _ => None,
        };
        SymlinkFilter {
            root,
            warned: Mutex::new(HashSet::new()),
        }
    }

    /// Whether the object at `key` (relative to the source, `/`-separated)
    /// is read: not when any part of its path below the source is a
    /// symlink. An entry that cannot be inspected is let through, for the
    /// read to report.
    pub(crate) fn allows(&self, key: &str) -> bool {
        let Some(root) = &self.root else {
            return true;
        };
        match first_symlink(root, key) {
            None => true,
            Some(link) => {
                let first = self
                    .warned
                    .lock()
                    .map(|mut warned| warned.insert(link.clone()))
                    .unwrap_or(true);
                if first {
                    let target = std::fs::read_link(&link).unwrap_or_default();
                    tracing::warn!(
                        link = %link.display(),
                        target = %target.display(),
                        "skipped: a symlink in the source directory (symlinks are not followed unless asked)"
                    );
                }
                false
            }
        }
    }
}

/// The first symlink on the way from `root` to `key`, if any.
fn first_symlink(root: &Path, key: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for segment in key.split('/') {
        path.push(segment);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(path),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn finds_a_linked_file_or_directory_on_the_way_to_a_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("src");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("clicks")).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(root.join("clicks/a.pb"), b"").expect("write");
        std::fs::write(outside.join("secret.pb"), b"").expect("write");
        std::os::unix::fs::symlink(outside.join("secret.pb"), root.join("clicks/s.pb"))
            .expect("symlink");
        std::os::unix::fs::symlink(&outside, root.join("linked")).expect("symlink");

        let source = Location::Local { root: root.clone() };
        let filter = SymlinkFilter::new(&source, false);
        assert!(filter.allows("clicks/a.pb"));
        assert!(!filter.allows("clicks/s.pb"));
        assert!(!filter.allows("linked/secret.pb"));
        assert_eq!(
            first_symlink(&root, "linked/secret.pb"),
            Some(root.join("linked"))
        );

        let following = SymlinkFilter::new(&source, true);
        assert!(following.allows("clicks/s.pb"));
        assert!(following.allows("linked/secret.pb"));
    }
}
