//! Writes the seed corpora under `fuzz/corpus/<target>/` (run by
//! `fuzz/run --seeds`; the files are committed). Inputs found by fuzzing
//! and kept (`regress-*`: crashes; `found-*`: from `fuzz/run --merge`) are
//! left alone.
//!
//! - transcode: messages of every corpus type from the differential
//!   generator (`testdata/differential/generate.py`, Google's `protobuf`
//!   package): up to 5 that Google prints and 1 that it rejects per type,
//!   each under one of the 8 option sets in turn.
//! - framing: valid messages of the converter's types framed as varint,
//!   fixed32 and single, plain, gzip (one and two members) and zstd, under
//!   several caps and read splits.
//! - events: every `testdata/events/*.json` as JSON text, the SQS bodies in
//!   them as bodies, and a few value recipes.
//! - schema: every file of `testdata/schemas` as a descriptor set (with the
//!   files it imports, without source info), the editions files as
//!   `grpc_tools.protoc` writes them, the self-contained sources as
//!   `.proto` text, and a few sources with custom options, aggregate
//!   values and a MessageSet.
//!
//! Needs the Python of `scripts/test` (`PROTOLAND_PYTHON`, or `.venv`).
//! `PROTOLAND_FUZZ_KEEP_SET=FILE` also writes the corpus's descriptor set to
//! FILE, for `testdata/differential/oracle.py`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use protoland_fuzz::framing::{CONVERTER_TYPES, Config, compress};
use protoland_fuzz::schemas::{self, workspace};
use protoland_fuzz::transcode;
use protoland_stream::{Compression, Framing, Limits};
use serde_json::Value;

const PER_TYPE_OK: usize = 5;
const PER_TYPE_ERR: usize = 1;
const MAX_SEED: usize = 4096;

fn python() -> PathBuf {
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

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("generator writes hex"))
        .collect()
}

/// Records of the differential generator: (type, wire, Google accepts).
fn generated() -> Vec<(String, Vec<u8>, bool)> {
    let corpus = schemas::corpus();
    let dir = std::env::temp_dir().join(format!("protoland-fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating a temporary directory");
    let set = dir.join("corpus.binpb");
    let list = dir.join("types.txt");
    let out = dir.join("records.jsonl");
    std::fs::write(&set, corpus.schema.encode_descriptor_set()).expect("writing");
    if let Some(keep) = std::env::var_os("PROTOLAND_FUZZ_KEEP_SET") {
        // For testdata/differential/oracle.py: what Google prints for an input.
        std::fs::copy(&set, keep).expect("writing PROTOLAND_FUZZ_KEEP_SET");
    }
    std::fs::write(&list, corpus.types.join("\n")).expect("writing");
    let script = workspace().join("testdata/differential/generate.py");
    let status = Command::new(python())
        .arg(&script)
        .args(["--descriptor-set".as_ref(), set.as_os_str()])
        .args(["--types".as_ref(), list.as_os_str()])
        .args(["--seed", "fuzz-seeds", "--count", "1500", "--out"])
        .arg(&out)
        .status()
        .expect("running generate.py");
    assert!(status.success(), "{} failed", script.display());
    let text = std::fs::read_to_string(&out).expect("reading the records");
    let _ = std::fs::remove_dir_all(&dir);
    text.lines()
        .skip(1)
        .map(|line| {
            let r: Value = serde_json::from_str(line).expect("generator writes JSON");
            let ok = r["parse_error"].is_null() && r["json"][0].get("ok").is_some();
            (
                r["type"].as_str().expect("type").to_owned(),
                hex_decode(r["wire"].as_str().expect("wire")),
                ok,
            )
        })
        .collect()
}

/// Replaces the generated files of `target` with `seeds` (name → bytes).
fn write(target: &str, seeds: &BTreeMap<String, Vec<u8>>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("creating the corpus directory");
    for entry in std::fs::read_dir(&dir).expect("reading the corpus directory") {
        let path = entry.expect("directory entry").path();
        let keep = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("regress-") || n.starts_with("found-"));
        if !keep {
            std::fs::remove_file(&path).expect("removing an old seed");
        }
    }
    let mut total = 0;
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).expect("writing a seed");
        total += bytes.len();
    }
    eprintln!("{target}: {} seeds, {total} bytes", seeds.len());
}

fn short_name(full: &str) -> String {
    full.strip_prefix("protoland.test.")
        .unwrap_or(full)
        .replace("google.protobuf.", "wkt-")
}

fn main() {
    // `fuzz/run --seeds [TARGET...]`: every target, or the ones named.
    let only: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |target: &str| only.is_empty() || only.iter().any(|t| t == target);
    let corpus = schemas::corpus();
    if wanted("transcode") || wanted("framing") {
        transcode_and_framing(corpus);
    }
    if wanted("events") {
        events();
    }
    if wanted("schema") {
        write("schema", &schema_seeds(corpus));
    }
}

fn transcode_and_framing(corpus: &schemas::Corpus) {
    let records = generated();

    // transcode
    let mut seeds = BTreeMap::new();
    let mut valid: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut counts: BTreeMap<(String, bool), usize> = BTreeMap::new();
    for (ty, wire, ok) in &records {
        if wire.len() > MAX_SEED {
            continue;
        }
        let n = counts.entry((ty.clone(), *ok)).or_default();
        if *n >= if *ok { PER_TYPE_OK } else { PER_TYPE_ERR } {
            continue;
        }
        let index = corpus
            .types
            .iter()
            .position(|t| t == ty)
            .expect("listed type");
        let bits = (seeds.len() % 8) as u8;
        let name = format!("{}-{}{n}", short_name(ty), if *ok { "" } else { "bad" });
        seeds.insert(name, transcode::input(index, bits, wire));
        if *ok {
            valid.entry(ty.clone()).or_default().push(wire.clone());
        }
        *n += 1;
    }
    write("transcode", &seeds);

    // framing
    let mut seeds = BTreeMap::new();
    for (t, ty) in CONVERTER_TYPES.iter().enumerate() {
        let messages = valid.get(*ty).cloned().unwrap_or_default();
        let mut varint = Vec::new();
        let mut fixed32 = Vec::new();
        for m in &messages {
            let mut n = m.len() as u64;
            while n >= 0x80 {
                varint.push((n as u8) | 0x80);
                n >>= 7;
            }
            varint.push(n as u8);
            varint.extend_from_slice(m);
            fixed32.extend_from_slice(&(m.len() as u32).to_be_bytes());
            fixed32.extend_from_slice(m);
        }
        let single = messages.first().cloned().unwrap_or_default();
        let layouts = [
            ("varint", Framing::Varint, &varint),
            ("fixed32", Framing::Fixed32, &fixed32),
            ("single", Framing::Single, &single),
            ("auto", Framing::Auto, &varint),
        ];
        for (l, (lname, framing, stream)) in layouts.iter().enumerate() {
            for (c, (cname, how)) in [
                ("plain", Compression::None),
                ("gzip", Compression::Gzip),
                ("zstd", Compression::Zstd),
            ]
            .iter()
            .enumerate()
            {
                let config = Config {
                    framing: *framing,
                    compression: Compression::Auto,
                    precompress: Compression::None,
                    limits: Limits {
                        max_decompressed_bytes: 64 << 10,
                        max_frame_bytes: [256, 4096, 65536][(l + c) % 3],
                        ..Limits::default()
                    },
                    skip_invalid: (l + c + t) % 2 == 1,
                    converter_type: t,
                    splits: match (l + c) % 3 {
                        0 => vec![],
                        1 => vec![1],
                        _ => vec![7, 1, 64],
                    },
                };
                let mut data = config.encode();
                data.extend(compress(stream, *how));
                seeds.insert(format!("{}-{lname}-{cname}", short_name(ty)), data);
            }
        }
        // Two gzip members; the target compressing the stream itself.
        let mut two = compress(&varint, Compression::Gzip);
        two.extend(compress(&varint, Compression::Gzip));
        let mut config = Config {
            framing: Framing::Varint,
            compression: Compression::Gzip,
            precompress: Compression::None,
            limits: Limits {
                max_decompressed_bytes: 128 << 10,
                max_frame_bytes: 4096,
                ..Limits::default()
            },
            skip_invalid: false,
            converter_type: t,
            splits: vec![3],
        };
        let mut data = config.encode();
        data.extend(two);
        seeds.insert(format!("{}-varint-gzip2", short_name(ty)), data);
        config.precompress = Compression::Zstd;
        config.compression = Compression::Auto;
        let mut data = config.encode();
        data.extend(&varint);
        seeds.insert(format!("{}-varint-prezstd", short_name(ty)), data);
    }
    write("framing", &seeds);
}

fn events() {
    let mut seeds = BTreeMap::new();
    let dir = workspace().join("testdata/events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("reading testdata/events")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read(&path).expect("reading an event");
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name");
        let mut data = vec![0];
        data.extend_from_slice(&text);
        seeds.insert(format!("{stem}-json"), data);
        let value: Value = serde_json::from_slice(&text).expect("events are JSON");
        if let Some(records) = value.get("Records").and_then(Value::as_array) {
            for (i, r) in records.iter().enumerate() {
                if let Some(body) = r.get("body").and_then(Value::as_str) {
                    let mut data = vec![2];
                    data.extend_from_slice(body.as_bytes());
                    seeds.insert(format!("{stem}-body{i}"), data);
                }
            }
        }
    }
    // Recipes: an S3 record (Records → [ {eventVersion, eventName, s3 …} ]).
    for (i, recipe) in [
        &[5u8, 1, 0, 4, 1, 5, 3, 1, 0, 0, 2, 3, 0, 7][..],
        &[6, 2, 26, 3, 0, 20, 28, 4, 2, 5, 1, 29, 3, 0, 15][..],
        &[7, 3, 21, 3, 0, 12, 22, 5, 2, 6, 5, 1, 3, 0, 15, 9, 3, 0, 17][..],
    ]
    .iter()
    .enumerate()
    {
        let mut data = vec![1];
        data.extend_from_slice(recipe);
        seeds.insert(format!("recipe-{i}"), data);
    }
    write("events", &seeds);
}

/// A descriptor set of `file` and the files it imports (not the
/// well-known types, which every schema holds), without source info.
fn file_set(schema: &protoland_schema::Schema, file: &str) -> Vec<u8> {
    use prost::Message;
    let pool = schema.pool();
    let mut order = Vec::new();
    let mut todo = vec![pool.get_file_by_name(file).expect("corpus file")];
    while let Some(f) = todo.pop() {
        if f.name().starts_with("google/protobuf/") || order.iter().any(|o: &prost_reflect::FileDescriptor| o.name() == f.name()) {
            continue;
        }
        todo.extend(f.dependencies());
        order.push(f);
    }
    order.reverse();
    let files = order
        .iter()
        .map(|f| {
            let mut proto = f.file_descriptor_proto().clone();
            proto.source_code_info = None;
            proto
        })
        .collect();
    prost_types::FileDescriptorSet { file: files }.encode_to_vec()
}

fn schema_seeds(corpus: &schemas::Corpus) -> BTreeMap<String, Vec<u8>> {
    use protoland_fuzz::schema::input;
    let mut seeds = BTreeMap::new();
    let dir = workspace().join("testdata/schemas");
    let mut files: Vec<String> = corpus
        .schema
        .pool()
        .files()
        .map(|f| f.name().to_owned())
        .filter(|n| !n.starts_with("google/protobuf/"))
        .collect();
    files.sort();
    for (i, name) in files.iter().enumerate() {
        let stem = name.trim_end_matches(".proto").replace('/', "-");
        let set = file_set(&corpus.schema, name);
        seeds.insert(format!("set-{stem}"), input(false, i as u8, &set));
        let source = std::fs::read(dir.join(name)).expect("reading a corpus file");
        let text = String::from_utf8_lossy(&source);
        if !text.lines().any(|l| l.starts_with("import \"") && !l.contains("google/protobuf/")) {
            seeds.insert(format!("proto-{stem}"), input(true, i as u8, &source));
        }
    }
    // The editions files, as protoc writes them.
    let out = std::env::temp_dir().join(format!("protoland-fuzz-editions-{}.binpb", std::process::id()));
    let status = Command::new(python())
        .args(["-m", "grpc_tools.protoc", "--include_imports"])
        .arg(format!("--proto_path={}", dir.display()))
        .arg(format!("--descriptor_set_out={}", out.display()))
        .args(["editions/defaults.proto", "editions/overrides.proto", "editions/edition2024.proto"])
        .status()
        .expect("running grpc_tools.protoc");
    assert!(status.success(), "grpc_tools.protoc failed");
    let set = std::fs::read(&out).expect("reading the editions set");
    let _ = std::fs::remove_file(&out);
    seeds.insert("set-editions".to_owned(), input(false, 3, &set));
    for (i, (name, source)) in SCHEMA_SOURCES.iter().enumerate() {
        seeds.insert(format!("proto-{name}"), input(true, i as u8, source.as_bytes()));
    }
    seeds
}

/// Hand-written sources for the schema target: what the corpus lacks.
const SCHEMA_SOURCES: [(&str, &str); 3] = [
    (
        "custom-options",
        r#"syntax = "proto2";
package opt;
import "google/protobuf/descriptor.proto";
message Inner { optional int32 a = 1; repeated Inner inner = 2; map<string, Inner> byName = 3; }
extend google.protobuf.MessageOptions { optional Inner shape = 50000; repeated int32 tags = 50001; }
extend google.protobuf.FieldOptions { optional string label = 50002; }
message M {
  option (shape) = { a: 1 inner { a: 2 inner < a: 3 > } inner: [ { a: 4 }, { } ] byName { key: "k" value { a: 5 } } };
  option (tags) = 7;
  optional int32 x = 1 [(label) = "x", default = 3, json_name = "ex"];
  oneof choice { string s = 2; Inner i = 3; }
  map<int64, M> children = 4;
  reserved 10 to 20;
  reserved "gone";
  extensions 100 to max;
}
extend M { optional M more = 100; }
enum E { option allow_alias = true; E0 = 0; E1 = 1; ALIAS = 1; }
service S { rpc Call(M) returns (stream M) { option deprecated = true; } }
"#,
    ),
    (
        "message-set",
        r#"syntax = "proto2";
package ms;
message Set { option message_set_wire_format = true; extensions 4 to max; }
message Item { optional string name = 1; extend Set { optional Item item = 1000; } }
message Holder { optional Set set = 1; repeated Set sets = 2; }
"#,
    ),
    (
        "nested",
        r#"syntax = "proto3";
package nest;
message A { message B { message C { message D { int32 d = 1; D self = 2; } C c = 1; } B b = 1; } A a = 1; B.C.D d = 2;
  oneof o { A x = 3; B y = 4; } optional group_like g = 5; message group_like { repeated A a = 1; } }
"#,
    ),
];
