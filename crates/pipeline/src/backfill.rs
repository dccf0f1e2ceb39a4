//! `protoland backfill`: convert objects that already exist, through the
//! same handler as events.
//!
//! Objects are listed under an `s3://bucket/prefix` (or a local directory)
//! and converted with bounded concurrency. An object whose landing object
//! already holds its output (by the landing object's source record) is
//! skipped unless `force` is set, so an interrupted backfill resumes where
//! it stopped; a landing object holding another source's output is never
//! taken for "already landed" (that object fails, see
//! `protoland_pipeline_core`'s `provenance`). Objects under the landing or quarantine location
//! are not listed as sources, and any object protoland wrote is skipped by
//! its record. Every key is listed as stored: one that cannot be read
//! fails on its own, the others convert. The event time for key templates
//! is the object's Last-Modified.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};

use protoland_pipeline_core::{BatchStats, Location, ObjectOutcome, ObjectRef, Occupant};

use crate::handler::{Pipeline, SourceStore};
use crate::storage::{Listed, StorageError};

/// How a backfill runs.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// Convert even when the landing object exists. Default: off.
    pub force: bool,
    /// Objects converted at once. Default: the pipeline's concurrency.
    pub concurrency: Option<usize>,
    /// Read objects of a local source reached through symlinks. Default:
    /// off, they are skipped with a warning (see `symlinks`).
    pub follow_symlinks: bool,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillSummary {
    /// Objects found under the prefix and handled (not counting landing or
    /// quarantine objects).
    pub listed: u64,
    /// Skipped because their landing object holds their output.
    pub existing: u64,
    pub stats: BatchStats,
    /// `source: why` for every failed object.
    pub failures: Vec<String>,
}

/// Lists and converts (see the module docs); `on_object` is called after
/// each object (for progress output).
///
/// # Errors
///
/// [`StorageError`] when listing fails; failures of single objects are in
/// the summary.
pub async fn backfill(
    pipeline: &Pipeline,
    source: &Location,
    options: &BackfillOptions,
    on_object: impl Fn(&str, &ObjectOutcomeOrSkip),
) -> Result<BackfillSummary, StorageError> {
    let started = tokio::time::Instant::now();
    let store = pipeline.stores().open(source)?;
    // A local source by its canonical path: a file is the same source
    // (the same record on its landing object) whichever directory the
    // backfill runs from.
    let source = match source {
        Location::Local { root } => Location::Local {
            root: root
                .canonicalize()
                .map_err(|error| StorageError::CreateDir {
                    path: root.clone(),
                    error,
                })?,
        },
        s3 => s3.clone(),
    };
    let bucket = match &source {
        Location::S3 { bucket, .. } => bucket.clone(),
        Location::Local { root } => root.display().to_string(),
    };
    let source_store = match &source {
        Location::Local { .. } => Some(SourceStore {
            store: Arc::clone(&store),
            location: source.clone(),
        }),
        Location::S3 { .. } => None,
    };
    let excluded = Excluded::new(pipeline, &source);
    let links = crate::symlinks::SymlinkFilter::new(&source, options.follow_symlinks);
    let concurrency = options
        .concurrency
        .unwrap_or(pipeline.settings().concurrency)
        .max(1);

    let mut summary = BackfillSummary::default();
    // Listing and converting overlap: the listing is consumed as the
    // conversions take objects, so memory does not grow with the prefix.
    let listing = crate::storage::list(pipeline.stores(), &source)?
        .try_filter(|listed| futures::future::ready(!excluded.contains(&listed.key)))
        .try_filter(|listed| futures::future::ready(links.allows(&listed.key)));
    let results = listing
        .map(|meta| {
            let pipeline = pipeline.clone();
            let bucket = bucket.clone();
            let source_store = source_store.clone();
            let force = options.force;
            async move {
                let listed: Listed = meta?;
                let key = listed.key;
                let mut object = ObjectRef::new(bucket.clone(), key.clone());
                object.event_time = Some(listed.last_modified);
                object.size = Some(listed.size);
                let display = match &source_store {
                    Some(s) => s.location.display_key(&key),
                    None => object.url(),
                };
                if !force {
                    let landing = pipeline.landing_key(&bucket, &key, object.event_time);
                    let source_id = pipeline.source_id(&object, source_store.as_ref());
                    if let Ok(Occupant::Same) =
                        pipeline.landing_occupant(&landing, &source_id).await
                    {
                        return Ok::<_, StorageError>((display, ObjectOutcomeOrSkip::Exists));
                    }
                }
                let outcome = pipeline.process(&object, source_store.as_ref(), None).await;
                Ok((display, ObjectOutcomeOrSkip::Done(outcome)))
            }
        })
        .buffer_unordered(concurrency);
    tokio::pin!(results);
    while let Some(item) = results.next().await {
        let (display, result) = item?;
        summary.listed += 1;
        on_object(&display, &result);
        match &result {
            ObjectOutcomeOrSkip::Exists => summary.existing += 1,
            // Counted as a batch counts it (a backfill has no deadline, so
            // nothing is left unstarted).
            ObjectOutcomeOrSkip::Done(outcome) => {
                outcome.count(&mut summary.stats);
                if let ObjectOutcome::Failed { error, .. } = outcome {
                    summary.failures.push(format!("{display}: {error}"));
                }
            }
        }
    }
    summary.stats.duration = started.elapsed();
    Ok(summary)
}

/// An object's result in a backfill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectOutcomeOrSkip {
    /// Its landing object holds its output (and `force` is off).
    Exists,
    Done(ObjectOutcome),
}

/// Keys of the source store that are the pipeline's own output.
struct Excluded {
    prefixes: Vec<String>,
}

impl Excluded {
    fn new(pipeline: &Pipeline, source: &Location) -> Excluded {
        let settings = pipeline.settings();
        let mut prefixes = Vec::new();
        for output in [&settings.landing, &settings.quarantine] {
            match (source, output) {
                (Location::S3 { bucket: a, .. }, Location::S3 { bucket: b, prefix }) if a == b => {
                    prefixes.push(prefix.clone());
                }
                (Location::Local { root: source_root }, Location::Local { root }) => {
                    let source_root = source_root
                        .canonicalize()
                        .unwrap_or_else(|_| source_root.clone());
                    let root = root.canonicalize().unwrap_or_else(|_| root.clone());
                    if let Ok(relative) = root.strip_prefix(&source_root) {
                        prefixes.push(relative.to_string_lossy().replace('\\', "/"));
                    }
                }
                _ => {}
            }
        }
        Excluded { prefixes }
    }

    /// Whether `key` is under the landing or quarantine location. (Output
    /// at the root of the source is not excluded by name: its source
    /// record makes the handler skip it.)
    fn contains(&self, key: &str) -> bool {
        self.prefixes.iter().any(|p| {
            !p.is_empty()
                && key.starts_with(p.as_str())
                && key.as_bytes().get(p.len()) == Some(&b'/')
        })
    }
}

impl std::fmt::Debug for Excluded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Excluded")
            .field("prefixes", &self.prefixes)
            .finish()
    }
}
