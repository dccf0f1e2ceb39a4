//! The batch handler: for every object an event names, route → read →
//! convert → write, and an outcome per message.
//!
//! [`Pipeline::start`] loads the schemas and compiles the plans once;
//! [`Pipeline::handle`] then serves any number of invocations. Objects of a
//! batch run concurrently (bounded by `concurrency`), each on the runtime
//! for network I/O and on a blocking thread for decompression, framing,
//! transcoding and compression.
//!
//! Outcomes:
//!
//! - transient failures (throttling, 5xx, timeouts, resets) are retried
//!   with backoff within the invocation, then reported as failed;
//! - a bad object (corrupt data, wrong schema, no route) fails by default,
//!   or with the quarantine policy gets a JSON error report and is
//!   acknowledged;
//! - an object deleted before it is read is acknowledged and counted as
//!   missing (or failed, by policy);
//! - near the deadline no new object starts; unstarted ones are failures;
//! - a panic while converting one object fails that object only.

mod convert;
mod dispatch;
mod error;
mod quarantine;
mod retry;
mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use object_store::ObjectStore;
use protoland_pipeline_core::{
    BadObjectPolicy, ConfigError, KeyInputs, Location, Settings, SourceId, find_route, vars,
};
use protoland_stream::CompressOptions;

use self::error::invalid;
use self::schema::{Route, compile_routes};
use crate::memory;
use crate::storage::Stores;

/// The pipeline, ready to handle invocations. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    /// How landing objects are compressed (format, level, threads).
    output: CompressOptions,
    stores: Stores,
    landing: Arc<dyn ObjectStore>,
    /// The quarantine store, under the quarantine policy only.
    quarantine: Option<Arc<dyn ObjectStore>>,
    default_route: Option<Arc<Route>>,
    routes: Vec<Arc<Route>>,
    mode: &'static str,
    /// Landing keys being written now, and for which source: two objects
    /// of one process never write one key at the same time (between
    /// processes, the source record on the landing object decides).
    claims: Mutex<HashMap<String, SourceId>>,
}

/// An object in a store other than an S3 bucket named by an event (a local
/// directory being backfilled).
#[derive(Debug, Clone)]
pub struct SourceStore {
    pub store: Arc<dyn ObjectStore>,
    pub location: Location,
}

impl Pipeline {
    /// Loads every schema, compiles every route and opens the landing and
    /// quarantine stores. `mode` names the runner in metrics (`lambda`,
    /// `worker`, `backfill`).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the variable whose value does not work: an
    /// unreadable or invalid schema, an unknown message type, an unusable
    /// landing location.
    pub async fn start(settings: Settings, mode: &'static str) -> Result<Pipeline, ConfigError> {
        settings.validate()?;
        if let Some(warning) = settings.key_template.collision_warning() {
            tracing::warn!("{}: {warning}", vars::KEY_TEMPLATE);
        }
        let mut settings = settings;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        // Objects at once that fit in the memory the process may use, at
        // the worst case of the limits (see `memory`).
        if let Some(memory) = settings.memory_limit {
            let fit = memory::fit(&settings, memory, cores)?;
            if let Some(warning) = fit.warning() {
                tracing::warn!(
                    configured = settings.concurrency,
                    concurrency = fit.concurrency,
                    per_object_bytes = fit.per_object,
                    "{warning}"
                );
                settings.concurrency = fit.concurrency;
            }
        }
        let stores = Stores::new(settings.storage.clone());
        let landing = stores
            .open(&settings.landing)
            .map_err(|e| invalid(vars::LANDING, e))?;
        // Opened under the quarantine policy only: a local landing directory
        // gets no empty `_quarantine/` when reports are never written.
        let quarantine = match settings.on_bad_object {
            BadObjectPolicy::Quarantine => Some(
                stores
                    .open(&settings.quarantine)
                    .map_err(|e| invalid(vars::QUARANTINE, e))?,
            ),
            BadObjectPolicy::Fail => None,
        };

        // Objects already convert in parallel (`PROTOLAND_CONCURRENCY`):
        // share the cores between them rather than giving each object a
        // transcoding thread per core, so memory (each thread holds a batch
        // of input and its JSON) grows with the cores, not cores x objects.
        let threads = memory::transcoding_threads(cores, settings.concurrency);
        let (default_route, routes) = compile_routes(&settings, &stores, threads).await?;
        let output = memory::compress_options(&settings, cores);
        Ok(Pipeline {
            inner: Arc::new(Inner {
                output,
                settings,
                stores,
                landing,
                quarantine,
                default_route,
                routes,
                mode,
                claims: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The object store clients (shared with the worker and backfill).
    pub fn stores(&self) -> &Stores {
        &self.inner.stores
    }

    /// The landing key for a source object (see [`KeyTemplate`](protoland_pipeline_core::KeyTemplate)).
    pub fn landing_key(&self, bucket: &str, key: &str, time: Option<DateTime<Utc>>) -> String {
        let s = &self.inner.settings;
        s.key_template.render(&KeyInputs {
            prefix: s.landing.prefix(),
            bucket,
            key,
            time,
            output: s.output_compression,
            format: s.format_of(find_route(&s.routes, key)),
        })
    }

    /// The landing store.
    pub fn landing_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.landing
    }

    fn route_for(&self, key: &str) -> Option<Arc<Route>> {
        let inner = &self.inner;
        match find_route(&inner.settings.routes, key) {
            Some(i) => inner.routes.get(i).cloned(),
            None => inner.default_route.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Pipeline::start`'s configuration error for these variables (a local
    /// landing directory; nothing else is read).
    fn start_error(vars: &[(&str, &str)]) -> ConfigError {
        let landing = std::env::temp_dir().join("protoland-start-error-test");
        let landing = landing.to_string_lossy().into_owned();
        let lookup = |var: &str| {
            if var == vars::LANDING {
                return Some(landing.clone());
            }
            vars.iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| (*v).to_owned())
        };
        let settings = Settings::from_lookup(lookup, None).expect("valid settings");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        match runtime.block_on(Pipeline::start(settings, "test")) {
            Ok(_) => panic!("{vars:?} started"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_schema_that_does_not_load_is_blamed_on_the_schema_variable() {
        let err = start_error(&[
            (vars::SCHEMA, "no/such/schema.proto"),
            (vars::MESSAGE, "acme.Click"),
        ]);
        assert_eq!(err.var(), vars::SCHEMA, "{err}");
    }

    #[test]
    fn an_unknown_message_type_is_blamed_on_the_message_variable() {
        let schema = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/schema/acme/clicks.proto"
        );
        let err = start_error(&[(vars::SCHEMA, schema), (vars::MESSAGE, "acme.clicks.Clik")]);
        assert_eq!(err.var(), vars::MESSAGE, "{err}");
        assert!(err.to_string().contains("acme.clicks.Click"), "{err}");
    }
}
