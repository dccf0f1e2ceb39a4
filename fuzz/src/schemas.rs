//! The schemas the targets fuzz against: the differential corpus in
//! `testdata/schemas/` (proto2 with groups, extensions and closed enums;
//! proto3 with maps, oneofs and recursion; every well-known type; `Any`
//! envelopes), compiled once per process with protoland's own loader.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use protoland_schema::Schema;

/// The well-known types, fuzzed as top-level types too.
pub const WELL_KNOWN: [&str; 17] = [
    "google.protobuf.Any",
    "google.protobuf.BoolValue",
    "google.protobuf.BytesValue",
    "google.protobuf.DoubleValue",
    "google.protobuf.Duration",
    "google.protobuf.Empty",
    "google.protobuf.FieldMask",
    "google.protobuf.FloatValue",
    "google.protobuf.Int32Value",
    "google.protobuf.Int64Value",
    "google.protobuf.ListValue",
    "google.protobuf.StringValue",
    "google.protobuf.Struct",
    "google.protobuf.Timestamp",
    "google.protobuf.UInt32Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.Value",
];

/// The repository root (this crate lives in `fuzz/`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The compiled corpus and its message types: every user message (sorted
/// by name; map entries are not messages a user picks) and then the
/// well-known types. An
/// input's first byte picks one by index, so the list order is part of the
/// seed format (`tests/corpus.rs` regenerates the seeds when it changes).
pub struct Corpus {
    pub schema: Schema,
    pub types: Vec<String>,
}

/// The corpus, compiled on first use.
///
/// # Panics
///
/// When `testdata/schemas` is missing or does not compile: the targets are
/// useless without it.
pub fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = workspace().join("testdata/schemas");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "proto"))
            .collect();
        files.sort();
        let schema = Schema::load(&files, [&dir]).expect("testdata/schemas compiles");
        let mut types: Vec<String> = schema
            .user_messages()
            .map(|m| m.full_name().to_owned())
            .collect();
        types.sort();
        types.extend(WELL_KNOWN.iter().map(|s| (*s).to_owned()));
        Corpus { schema, types }
    })
}
