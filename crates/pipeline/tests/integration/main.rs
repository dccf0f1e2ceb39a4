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

/// Runs a test's future on a runtime of its own.
fn runtime_test(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f);
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
