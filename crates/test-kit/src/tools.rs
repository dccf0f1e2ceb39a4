//! The workspace and its test tools: moto, cargo-lambda and a Python with
//! boto3 and Google's protobuf, all installed into `.venv` by
//! `scripts/test`.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A tool from PATH or the workspace's `.venv/bin`; panics naming
/// `scripts/test` when absent.
pub fn venv_tool(name: &str) -> PathBuf {
    let venv = workspace_root().join(".venv/bin").join(name);
    if venv.is_file() {
        return venv;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "`{name}` is not installed (not in .venv/bin nor on PATH): run scripts/test, which installs the test tools"
    );
}

/// The Python with boto3 (`PROTOLAND_PYTHON`, else `.venv/bin/python`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PROTOLAND_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/bin/python");
    if venv.is_file() {
        return venv;
    }
    panic!("no Python with boto3 (PROTOLAND_PYTHON unset, no .venv/bin/python): run scripts/test");
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

/// Waits until something accepts connections on `port`.
pub fn wait_for_port(port: u16, what: &str, timeout: Duration) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < timeout,
            "{what} did not start listening on port {port} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Set by `scripts/test`: a missing tool fails the suite instead of
/// skipping it.
pub const REQUIRE_TOOLS: &str = "PROTOLAND_REQUIRE_TOOLS";

/// Whether a tool is installed: `python` is [`python`]'s, anything else a
/// program in `.venv/bin` or on PATH.
fn installed(tool: &str) -> bool {
    if tool == "python" {
        return std::env::var_os("PROTOLAND_PYTHON").is_some()
            || workspace_root().join(".venv/bin/python").is_file();
    }
    workspace_root().join(".venv/bin").join(tool).is_file()
        || std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// Whether every tool a test needs is installed. When one is missing,
/// plain `cargo test` skips the test (the caller returns), saying so once
/// per test binary; with `PROTOLAND_REQUIRE_TOOLS=1` (as `scripts/test`
/// sets it) this panics instead, so a missing tool is never a silent skip.
/// See [`require_tools!`](crate::require_tools).
pub fn tools_installed(tools: &[&str]) -> bool {
    let Some(missing) = tools.iter().find(|tool| !installed(tool)) else {
        return true;
    };
    if std::env::var(REQUIRE_TOOLS).is_ok_and(|v| v == "1") {
        panic!(
            "`{missing}` is not installed and {REQUIRE_TOOLS}=1: run scripts/test, which installs the test tools"
        );
    }
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        eprintln!(
            "skipping the tests that need `{missing}`, which is not installed: run scripts/test"
        );
    }
    false
}

/// Returns from the calling test unless every named tool is installed
/// (see [`tools_installed`]).
#[macro_export]
macro_rules! require_tools {
    ($($tool:expr),+ $(,)?) => {
        if !$crate::tools_installed(&[$($tool),+]) {
            return;
        }
    };
}
