//! The pipeline's integration tests, one binary (the AWS stack is linked
//! once): against moto's S3 and SQS (started from `.venv`, see
//! `protoland_test_kit`), local directories, and a fault-injecting proxy.

// Test code: a failed unwrap is a failed test, and progress goes to stderr.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The soak measures the memory of the whole process, so it runs alone:
/// every other test holds this shared, the soak holds it exclusively.
static ALONE: RwLock<()> = RwLock::new(());

/// Held by a test that may run beside others.
fn shared() -> RwLockReadGuard<'static, ()> {
    ALONE.read().unwrap_or_else(|e| e.into_inner())
}

/// Held by the soak.
fn alone() -> RwLockWriteGuard<'static, ()> {
    ALONE.write().unwrap_or_else(|e| e.into_inner())
}

/// Settings converting the test kit's `Click` messages to `landing`,
/// without metrics lines.
fn click_settings(landing: protoland_pipeline::Location) -> protoland_pipeline::Settings {
    let mut s = protoland_pipeline::Settings::new(landing);
    s.schema = Some(protoland_test_kit::click_schema_source());
    s.message = Some(protoland_test_kit::CLICK_MESSAGE.into());
    s.metrics.enabled = false;
    s
}

/// A runtime of a test's own.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs a test's future on a runtime of its own.
fn runtime_test(f: impl std::future::Future<Output = ()>) {
    runtime().block_on(f);
}

/// A handler's response as the JSON it answers (panics on a direct
/// invocation's error).
fn response_json(response: &protoland_pipeline::Response) -> serde_json::Value {
    response.clone().into_result().unwrap()
}

/// An SQS batch response without failures.
fn no_failures() -> serde_json::Value {
    serde_json::json!({"batchItemFailures": []})
}

/// An SQS batch response failing the messages `ids`.
fn failed(ids: &[&str]) -> serde_json::Value {
    let items: Vec<_> = ids
        .iter()
        .map(|id| serde_json::json!({"itemIdentifier": id}))
        .collect();
    serde_json::json!({"batchItemFailures": items})
}

/// Starts a test that needs moto: skipped without the test tools under
/// plain `cargo test`, failed under `PROTOLAND_REQUIRE_TOOLS=1`.
macro_rules! needs_moto {
    () => {
        protoland_test_kit::require_tools!("moto_server", "python");
        let _shared = crate::shared();
    };
}

mod backfill;
mod faults;
mod moto;
mod parquet;
mod soak;
