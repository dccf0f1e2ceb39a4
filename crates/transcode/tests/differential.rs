//! Differential test: protoland's transcoder against Google's `json_format`.
//!
//! The corpus in `testdata/schemas` is compiled with protoland's schema
//! loader (the editions files in `testdata/schemas/editions` first with
//! `grpc_tools.protoc`, since protox cannot parse them, and loaded as a
//! descriptor set); its descriptor set goes to `testdata/differential/generate.py`,
//! which uses Google's `protobuf` package (upb) to build random messages,
//! wire-level variants and invalid inputs, and records for each what
//! `json_format` prints with every combination of the three JSON options, or
//! the error Google raises. Every record is then transcoded here and the
//! values compared (see `differential/compare.rs`): where Google prints,
//! protoland must print the same values; where Google fails, protoland must
//! fail. There is no list of tolerated differences.
//!
//! Environment:
//! - `PROTOLAND_PYTHON`: the interpreter with Google's `protobuf` installed
//!   (default `<workspace>/.venv/bin/python`, created by `scripts/test`).
//! - `PROTOLAND_DIFF_SEED` (default `protoland`) and `PROTOLAND_DIFF_COUNT`
//!   (default 3000): the seeded records; a failure prints both to replay it.
//! - `PROTOLAND_DIFF_KEEP=FILE`: also copy the generated records to FILE and
//!   the corpus's descriptor set to `FILE.binpb` (for
//!   `testdata/differential/oracle.py`, which prints Google's output for one
//!   message).

#[path = "differential/compare.rs"]
mod compare;
#[path = "differential/json.rs"]
mod json;
#[path = "differential/setup.rs"]
mod setup;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use protoland_schema::Schema;
use protoland_transcode::Plan;

use compare::{Comparer, Diff};
use setup::{corpus_files, options, python, workspace};

const DEFAULT_SEED: &str = "protoland";
const DEFAULT_COUNT: usize = 3000;

/// The well-known types, also transcoded as top-level types.
const WELL_KNOWN: [&str; 17] = [
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

/// What the output buffer holds before each transcode, to check that
/// transcode appends and leaves the buffer alone on error.
const SENTINEL: &[u8] = b"<before>";

fn corpus() -> (Schema, Vec<String>) {
    let (dir, mut files) = corpus_files();
    // Editions files go through a descriptor set built by protoc, as users
    // load them (protox cannot parse editions).
    let build = TempDir::new();
    files.push(editions_descriptor_set(&dir, &build.0));
    // MessageSet types, compiled by protox like the top-level files.
    files.push(dir.join("messageset/messageset.proto"));
    let schema = Schema::load(&files, [&dir]).expect("the corpus compiles");
    let mut types: Vec<String> = schema
        .user_messages()
        .map(|m| m.full_name().to_owned())
        .collect();
    types.extend(WELL_KNOWN.iter().map(|s| (*s).to_owned()));
    (schema, types)
}

/// Compiles `testdata/schemas/editions/*.proto` with the protoc of
/// `grpcio-tools` (installed by `scripts/test`) into `out/editions.binpb`.
fn editions_descriptor_set(schemas: &Path, out: &Path) -> PathBuf {
    let mut protos: Vec<String> = std::fs::read_dir(schemas.join("editions"))
        .expect("reading testdata/schemas/editions")
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| format!("editions/{}", name.to_string_lossy()))
        .filter(|name| name.ends_with(".proto"))
        .collect();
    protos.sort();
    let set = out.join("editions.binpb");
    let output = Command::new(python())
        .args(["-m", "grpc_tools.protoc", "--include_imports"])
        .arg(format!("--proto_path={}", schemas.display()))
        .arg(format!("--descriptor_set_out={}", set.display()))
        .args(&protos)
        .output()
        .unwrap_or_else(|e| panic!("running grpc_tools.protoc: {e} (run scripts/test)"));
    assert!(
        output.status.success(),
        "grpc_tools.protoc failed ({}) on {protos:?} (if grpcio-tools is missing, run scripts/test):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    set
}

fn option_names(bits: usize) -> String {
    let names: Vec<&str> = [
        (1, "proto_names"),
        (2, "emit_defaults"),
        (4, "enum_numbers"),
    ]
    .into_iter()
    .filter(|(bit, _)| bits & bit != 0)
    .map(|(_, name)| name)
    .collect();
    if names.is_empty() {
        "default".to_owned()
    } else {
        names.join("+")
    }
}

/// What Google did with one record under one option set.
enum Expected {
    Json(String),
    ParseError(String),
    PrintError(String),
}

struct Mismatch {
    type_name: String,
    case: String,
    wire: String,
    options: Vec<usize>,
    expected: String,
    actual: String,
    diff: Diff,
    /// The whole message failed (an error on one side), as opposed to a
    /// difference at a path inside the JSON.
    whole: bool,
}

impl Mismatch {
    /// Groups mismatches that are one problem: the same kind of difference
    /// in the same field (by its full name, whatever the message around it
    /// and whatever the options call it).
    /// Failures of the whole message are grouped by type and by the error
    /// message (digits and positions dropped).
    fn class(&self) -> String {
        if !self.whole {
            return format!("{}: {}", self.diff.reason, self.diff.field);
        }
        let error = [&self.expected, &self.actual]
            .into_iter()
            .find(|text| text.starts_with("error"))
            .map_or("", |text| text.as_str());
        let error = error.split(" at byte ").next().unwrap_or_default();
        let mut message = String::new();
        for c in error.chars().take(90) {
            if c.is_ascii_digit() {
                if !message.ends_with('N') {
                    message.push('N');
                }
            } else {
                message.push(c);
            }
        }
        format!("{}: {} {message}", self.diff.reason, self.diff.field)
    }
}

/// The reasons `top_diff` gives: the whole message differs.
const WHOLE_MESSAGE: [&str; 7] = [
    "check accepts invalid bytes",
    "check rejects valid bytes",
    "buffer changed on error",
    "output not appended",
    "protoland accepts invalid bytes",
    "protoland prints what Google refuses",
    "protoland fails where Google prints",
];

fn top_diff(type_name: &str, reason: &'static str, what: impl Into<String>) -> Diff {
    Diff {
        path: "$".to_owned(),
        field: type_name.to_owned(),
        reason,
        what: what.into(),
    }
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("generator writes hex"))
        .collect()
}

fn run_generator(schema: &Schema, types: &[String], seed: &str, count: usize) -> String {
    let dir = TempDir::new();
    let set = dir.0.join("corpus.binpb");
    let list = dir.0.join("types.txt");
    let out = dir.0.join("records.jsonl");
    std::fs::write(&set, schema.encode_descriptor_set()).expect("writing the descriptor set");
    std::fs::write(&list, types.join("\n")).expect("writing the type list");
    let script = workspace().join("testdata/differential/generate.py");
    let output = Command::new(python())
        .arg(&script)
        .arg("--descriptor-set")
        .arg(&set)
        .arg("--types")
        .arg(&list)
        .arg("--seed")
        .arg(seed)
        .arg("--count")
        .arg(count.to_string())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e} (run scripts/test)", script.display()));
    assert!(
        output.status.success(),
        "{} failed ({}) with seed {seed} and count {count} (if Google's protobuf is missing, run scripts/test):\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let records = std::fs::read_to_string(&out).expect("reading the generated records");
    if let Some(keep) = std::env::var_os("PROTOLAND_DIFF_KEEP") {
        std::fs::write(&keep, &records).expect("writing PROTOLAND_DIFF_KEEP");
        let mut set_copy = keep;
        set_copy.push(".binpb");
        std::fs::copy(&set, &set_copy).expect("writing PROTOLAND_DIFF_KEEP.binpb");
    }
    records
}

/// A directory for the generator's input and output, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "protoland-differential-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("creating a temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Stats {
    records: usize,
    comparisons: usize,
    google_errors: usize,
}

#[test]
fn transcoder_matches_google_json_format() {
    let seed = std::env::var("PROTOLAND_DIFF_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_owned());
    let count = std::env::var("PROTOLAND_DIFF_COUNT").map_or(DEFAULT_COUNT, |c| {
        c.parse().expect("PROTOLAND_DIFF_COUNT is a number")
    });
    let (schema, types) = corpus();
    let records = run_generator(&schema, &types, &seed, count);

    let mut plans: HashMap<String, Vec<Plan>> = HashMap::new();
    for name in &types {
        let message = schema.message(name).expect("listed types exist");
        plans.insert(
            name.clone(),
            (0..8)
                .map(|bits| Plan::new(&message, options(bits)))
                .collect(),
        );
    }

    let mut mismatches = Vec::new();
    let mut stats = Stats {
        records: 0,
        comparisons: 0,
        google_errors: 0,
    };
    let mut lines = records.lines();
    let header = lines.next().expect("a header line");
    for line in lines {
        let record: serde_json::Value = serde_json::from_str(line).expect("generator writes JSON");
        stats.records += 1;
        check_record(&schema, &plans, &record, &mut stats, &mut mismatches);
    }
    assert!(stats.records > 0, "the generator wrote no records");

    if !mismatches.is_empty() {
        panic!("{}", report(&mismatches, &stats, header, &seed, count));
    }
}

fn check_record(
    schema: &Schema,
    plans: &HashMap<String, Vec<Plan>>,
    record: &serde_json::Value,
    stats: &mut Stats,
    mismatches: &mut Vec<Mismatch>,
) {
    let type_name = record["type"].as_str().expect("type");
    let case = record["case"].as_str().expect("case");
    let wire_hex = record["wire"].as_str().expect("wire");
    let wire = hex_decode(wire_hex);
    let plans = &plans[type_name];
    let message = plans[0].message().clone();

    // Collected per record, then merged across option sets that fail alike.
    let mut found: Vec<Mismatch> = Vec::new();
    let mut push = |options: usize, expected: String, actual: String, diff: Diff| {
        if let Some(m) = found
            .iter_mut()
            .find(|m| m.expected == expected && m.actual == actual && m.diff == diff)
        {
            m.options.push(options);
        } else {
            found.push(Mismatch {
                type_name: type_name.to_owned(),
                case: case.to_owned(),
                wire: wire_hex.to_owned(),
                options: vec![options],
                expected,
                actual,
                whole: WHOLE_MESSAGE.contains(&diff.reason),
                diff,
            });
        }
    };

    let parse_error = record["parse_error"].as_str();
    let checked = plans[0].check(&wire);
    match (parse_error, &checked) {
        (Some(google), Ok(_)) => push(
            0,
            format!("error: {google}"),
            "check() accepted the bytes".to_owned(),
            top_diff(
                type_name,
                "check accepts invalid bytes",
                "Google rejects the bytes, Plan::check accepts them",
            ),
        ),
        (None, Err(e)) => push(
            0,
            "bytes that parse".to_owned(),
            format!("error from check(): {e}"),
            top_diff(
                type_name,
                "check rejects valid bytes",
                "Google parses the bytes, Plan::check rejects them",
            ),
        ),
        _ => {}
    }

    for (bits, plan) in plans.iter().enumerate() {
        let expected = match parse_error {
            Some(e) => Expected::ParseError(e.to_owned()),
            None => {
                let entry = &record["json"][bits];
                match (entry["ok"].as_str(), entry["error"].as_str()) {
                    (Some(text), _) => Expected::Json(text.to_owned()),
                    (None, Some(e)) => Expected::PrintError(e.to_owned()),
                    _ => panic!("malformed record: {record}"),
                }
            }
        };
        let mut out = SENTINEL.to_vec();
        let result = plan.transcode(&wire, &mut out);
        stats.comparisons += 1;
        let actual_text =
            String::from_utf8_lossy(&out[SENTINEL.len().min(out.len())..]).into_owned();
        if result.is_err() && out != SENTINEL {
            push(
                bits,
                "output buffer unchanged on error".to_owned(),
                format!("buffer changed to {:?}", String::from_utf8_lossy(&out)),
                top_diff(
                    type_name,
                    "buffer changed on error",
                    "transcode wrote to the buffer and then failed",
                ),
            );
        }
        if result.is_ok() && !out.starts_with(SENTINEL) {
            push(
                bits,
                "output appended after the existing bytes".to_owned(),
                format!("{:?}", String::from_utf8_lossy(&out)),
                top_diff(type_name, "output not appended", "transcode did not append"),
            );
            continue;
        }
        match (expected, result) {
            (Expected::ParseError(google), Ok(())) => push(
                bits,
                format!("error (parse): {google}"),
                actual_text,
                top_diff(
                    type_name,
                    "protoland accepts invalid bytes",
                    "Google rejects the bytes, protoland prints them",
                ),
            ),
            (Expected::PrintError(google), Ok(())) => push(
                bits,
                format!("error (print): {google}"),
                actual_text,
                top_diff(
                    type_name,
                    "protoland prints what Google refuses",
                    "Google refuses to print, protoland prints",
                ),
            ),
            (Expected::ParseError(_) | Expected::PrintError(_), Err(_)) => {
                stats.google_errors += 1;
            }
            (Expected::Json(text), Err(e)) => push(
                bits,
                text,
                format!("error: {e}"),
                top_diff(
                    type_name,
                    "protoland fails where Google prints",
                    "Google prints, protoland fails",
                ),
            ),
            (Expected::Json(text), Ok(())) => {
                let expected = json::parse(text.as_bytes())
                    .unwrap_or_else(|e| panic!("Google's JSON does not parse ({e}): {text}"));
                let comparer = Comparer {
                    pool: schema.pool(),
                    proto_names: bits & 1 != 0,
                };
                let outcome = match json::parse(&out[SENTINEL.len()..]) {
                    Err(e) => Err(top_diff(
                        type_name,
                        "invalid JSON",
                        format!("protoland's output is not valid JSON: {e}"),
                    )),
                    Ok(actual) => comparer.top(&message, &expected, &actual),
                };
                if let Err(diff) = outcome {
                    push(bits, text, actual_text, diff);
                }
            }
        }
    }
    mismatches.extend(found);
}

fn report(
    mismatches: &[Mismatch],
    stats: &Stats,
    header: &str,
    seed: &str,
    count: usize,
) -> String {
    let mut classes: BTreeMap<String, Vec<&Mismatch>> = BTreeMap::new();
    for m in mismatches {
        classes.entry(m.class()).or_default().push(m);
    }
    let total: usize = mismatches.iter().map(|m| m.options.len()).sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "protoland differs from Google's json_format: {total} (record, option set) pairs in {} records, {} classes",
        mismatches.len(),
        classes.len()
    );
    let _ = writeln!(
        out,
        "checked {} records, {} transcodes ({} expected errors matched); generator: {header}",
        stats.records, stats.comparisons, stats.google_errors
    );
    let _ = writeln!(
        out,
        "replay: PROTOLAND_DIFF_SEED={seed} PROTOLAND_DIFF_COUNT={count} cargo test -p protoland-transcode --test differential\n"
    );
    let _ = writeln!(out, "classes (records, class):");
    for (class, members) in &classes {
        let _ = writeln!(out, "  {:>5}  {class}", members.len());
    }
    const SHOWN: usize = 3;
    for (class, members) in &classes {
        let _ = writeln!(out, "\n=== {class} ({} records)", members.len());
        for m in members.iter().take(SHOWN) {
            let options: Vec<String> = m.options.iter().map(|&b| option_names(b)).collect();
            let _ = writeln!(out, "  type:     {}", m.type_name);
            let _ = writeln!(out, "  case:     {}", m.case);
            let _ = writeln!(out, "  options:  {}", options.join(", "));
            let _ = writeln!(out, "  wire:     {}", clip(&m.wire, 400));
            let _ = writeln!(out, "  at:       {}: {}", m.diff.path, m.diff.what);
            let _ = writeln!(out, "  google:   {}", clip(&m.expected, 600));
            let _ = writeln!(out, "  protoland:{}", clip(&m.actual, 600));
            let _ = writeln!(out);
        }
    }
    out
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}... ({} chars)", text.chars().count())
    }
}
