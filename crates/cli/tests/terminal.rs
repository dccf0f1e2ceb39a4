//! The progress bar: drawn on stderr when it is a terminal, absent
//! otherwise. The terminal is a real pseudo-terminal from util-linux's
//! `script`, which copies everything written to it to its own stdout.

// Test helpers outside `#[test]` functions: a failed setup should panic.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn convert_args(output: &std::path::Path) -> Vec<String> {
    let root = workspace_root();
    vec![
        "convert".into(),
        "-s".into(),
        root.join("examples/schema/acme/clicks.proto")
            .display()
            .to_string(),
        "-m".into(),
        "acme.clicks.Click".into(),
        "-o".into(),
        output.display().to_string(),
        root.join("examples/raw/clicks-0001.pb.gz")
            .display()
            .to_string(),
    ]
}

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[test]
fn convert_draws_a_progress_bar_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.ndjson");
    let command = std::iter::once(env!("CARGO_BIN_EXE_protoland").to_owned())
        .chain(convert_args(&output))
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let run = Command::new("script")
        .args([
            "--quiet",
            "--return",
            "--flush",
            "--command",
            &command,
            "/dev/null",
        ])
        .output()
        .expect("running util-linux `script` (apt-get install bsdutils)");
    assert!(run.status.success(), "{run:?}");
    let terminal = String::from_utf8_lossy(&run.stdout);
    let input_size = std::fs::metadata(workspace_root().join("examples/raw/clicks-0001.pb.gz"))
        .unwrap()
        .len();
    // The bar names the input, counts its bytes against its size, and its
    // last frame counts every message written.
    assert!(terminal.contains("clicks-0001.pb.gz ["), "{terminal}");
    assert!(
        terminal.contains(&format!("{:.2} KiB", input_size as f64 / 1024.0)),
        "{terminal}"
    );
    let messages = lines(&output);
    assert!(messages > 0);
    assert!(
        terminal.contains(&format!("{messages} messages (")),
        "{terminal}"
    );
}

#[test]
fn convert_draws_nothing_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.ndjson");
    let run = Command::new(env!("CARGO_BIN_EXE_protoland"))
        .args(convert_args(&output))
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert_eq!(String::from_utf8_lossy(&run.stderr), "");
    assert!(lines(&output) > 0);
}
