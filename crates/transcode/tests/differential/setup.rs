//! What the tests against Google's `json_format` share (`differential.rs`
//! and `fuzz_regressions.rs`): where the workspace, its Python and the
//! schema corpus are, and the 8 JSON option sets.

use std::path::{Path, PathBuf};

use protoland_transcode::JsonOptions;

/// The repository root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python with Google's `protobuf` (`PROTOLAND_PYTHON`, else the
/// workspace's `.venv`, made by `scripts/test`).
pub(crate) fn python() -> PathBuf {
    let path = std::env::var_os("PROTOLAND_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "no Python with Google's protobuf at {} (set PROTOLAND_PYTHON, or run scripts/test to create .venv)",
        path.display()
    );
    path
}

/// `testdata/schemas` and its `.proto` files (not those of its
/// subdirectories), sorted.
pub(crate) fn corpus_files() -> (PathBuf, Vec<PathBuf>) {
    let dir = workspace().join("testdata/schemas");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    files.sort();
    (dir, files)
}

/// Option set `bits`, as the oracle numbers them: bit 0
/// `preserving_proto_field_name`, bit 1
/// `always_print_fields_with_no_presence`, bit 2 `use_integers_for_enums`.
pub(crate) fn options(bits: usize) -> JsonOptions {
    JsonOptions {
        proto_names: bits & 1 != 0,
        emit_defaults: bits & 2 != 0,
        enum_numbers: bits & 4 != 0,
    }
}
