//! `protoland table` read by real tools: its DDL parsed by sqlglot (Hive and
//! Athena dialects), its Glue `TableInput` checked by botocore's validator
//! against the Glue service model, and the table queried by Spark over
//! what `protoland backfill` landed, against the answer computed from
//! Google's json_format output of the same messages. The Python side is
//! tests/table/check.py and tests/table/spark_query.py.

// Test helpers outside `#[test]` functions: a failed setup should panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use protoland_test_kit::{
    click_files, convert_click_files, expected_click_rows, gzip_members, python, require_tools,
    workspace_root,
};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_protoland");
const CLICK: &str = "acme.clicks.Click";

fn root() -> PathBuf {
    workspace_root().canonicalize().unwrap()
}

fn clicks_proto() -> PathBuf {
    root().join("examples/schema/acme/clicks.proto")
}

/// `protoland table ARGS`: its stdout, or its stderr as the error.
fn table(args: &[&str]) -> Result<String, String> {
    let out = Command::new(BINARY)
        .arg("table")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8(out.stderr).unwrap())
    }
}

/// tests/table/check.py's answers for `texts`, each written to a file (one
/// Python start for them all).
fn check(mode: &str, texts: &[String]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let file = dir.path().join(i.to_string());
            std::fs::write(&file, text).unwrap();
            file
        })
        .collect();
    let out = succeeds(
        Command::new(python())
            .arg(root().join("crates/cli/tests/table/check.py"))
            .arg(mode)
            .args(&files),
    );
    let answers: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(answers.len(), texts.len());
    answers
}

/// Whether the test Python has a module; when not, the test is skipped
/// (or fails under PROTOLAND_REQUIRE_TOOLS=1), as a missing tool is.
fn python_has(module: &str) -> bool {
    let ok = Command::new(python())
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var(protoland_test_kit::REQUIRE_TOOLS).as_deref() != Ok("1"),
            "the test Python has no `{module}` and {}=1: run scripts/test, which installs it",
            protoland_test_kit::REQUIRE_TOOLS
        );
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: the test Python has no `{module}` (scripts/test installs it)"
        );
    }
    ok
}

/// The schemas the DDL is checked on: the example and the test corpus
/// (every scalar, well-known types, maps, names, proto2, editions).
fn cases() -> Vec<(PathBuf, &'static str)> {
    let schemas = root().join("testdata/schemas");
    vec![
        (clicks_proto(), CLICK),
        (
            schemas.join("proto3.proto"),
            "protoland.test.proto3.Scalars",
        ),
        (
            schemas.join("proto3.proto"),
            "protoland.test.proto3.Repeateds",
        ),
        (schemas.join("proto3.proto"), "protoland.test.proto3.Oneofs"),
        (schemas.join("proto3.proto"), "protoland.test.proto3.Outer"),
        (schemas.join("proto3.proto"), "protoland.test.proto3.Tree"),
        (
            schemas.join("proto2.proto"),
            "protoland.test.proto2.Defaults",
        ),
        (schemas.join("proto2.proto"), "protoland.test.proto2.Groups"),
        (schemas.join("wkt.proto"), "protoland.test.wkt.Singular"),
        (schemas.join("wkt.proto"), "protoland.test.wkt.Repeated"),
        (schemas.join("wkt.proto"), "protoland.test.wkt.MapValues"),
        (schemas.join("maps.proto"), "protoland.test.maps.Values"),
        (schemas.join("maps.proto"), "protoland.test.maps.Mixed"),
        (schemas.join("names.proto"), "protoland.test.names.Names"),
    ]
}

fn pairs(columns: &Value) -> Vec<(String, String)> {
    columns
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let c = c.as_array().map_or_else(
                || (c["Name"].clone(), c["Type"].clone()),
                |c| (c[0].clone(), c[1].clone()),
            );
            (
                c.0.as_str().unwrap().to_owned(),
                c.1.as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The DDL parses as Hive (and Athena) DDL, and what sqlglot reads back —
/// names, types, partitions, location, properties — is the Glue
/// `TableInput` of the same command; the `TableInput` passes botocore's
/// validation of `glue create-table` and has what Athena needs.
#[test]
fn ddl_and_glue_table_input_read_back_alike() {
    require_tools!("python");
    if !python_has("sqlglot") || !python_has("botocore") {
        return;
    }
    let templates = [
        "{prefix}/{key}{ext}",
        "{prefix}/dt={date}/hour={hour}/{key}{ext}",
    ];
    // (what, DDL, TableInput) for every case that makes a table.
    let mut tables: Vec<(String, String, Value)> = Vec::new();
    for ((schema, message), format) in cases()
        .into_iter()
        .flat_map(|case| [(case.clone(), "ndjson"), (case, "parquet")])
    {
        assert!(schema.is_file(), "no schema {}", schema.display());
        for (proto_names, template) in [(false, templates[0]), (true, templates[1])] {
            let location = format!("s3://landing/{format}");
            let mut args = vec![
                "-s",
                schema.to_str().unwrap(),
                "-m",
                message,
                "--format",
                format,
                "--location",
                &location,
                "--key-template",
                template,
            ];
            if proto_names {
                args.push("--proto-names");
            }
            let ddl = match table(&args) {
                Ok(ddl) => ddl,
                // `int32 _ = 15;` has the JSON name "", which no column
                // can have; its .proto name is fine.
                Err(e) if message.ends_with(".Names") && !proto_names && format == "ndjson" => {
                    assert_eq!(
                        e,
                        "error: table names has a field with an empty name, which no Athena column can have\n"
                    );
                    continue;
                }
                Err(e) if message.ends_with(".Names") && !proto_names => {
                    assert!(e.contains("its JSON name is empty"), "{e}");
                    continue;
                }
                Err(e) => panic!("{message}: {e}"),
            };
            args.push("--glue");
            let glue: Value = serde_json::from_str(&table(&args).unwrap()).unwrap();
            tables.push((format!("{message} ({format}, {template})"), ddl, glue));
        }
    }
    assert!(
        tables.len() >= 2 * cases().len(),
        "only {} tables",
        tables.len()
    );

    let ddls: Vec<String> = tables.iter().map(|(_, ddl, _)| ddl.clone()).collect();
    let inputs: Vec<String> = tables
        .iter()
        .map(|(_, _, glue)| serde_json::to_string(glue).unwrap())
        .collect();
    let reads = check("ddl", &ddls);
    let validations = check("glue", &inputs);
    for (((what, _, glue), read), valid) in tables.iter().zip(&reads).zip(&validations) {
        let dialects = read.as_object().unwrap();
        assert!(dialects.contains_key("hive"), "{read}");
        let sd = &glue["StorageDescriptor"];
        for (dialect, read) in dialects {
            let at = format!("{what}, {dialect}");
            assert_eq!(read["table"], glue["Name"], "{at}");
            assert_eq!(pairs(&read["columns"]), pairs(&sd["Columns"]), "{at}");
            assert_eq!(
                pairs(&read["partitions"]),
                pairs(&glue["PartitionKeys"]),
                "{at}"
            );
            assert_eq!(read["location"], sd["Location"], "{at}");
            assert_eq!(
                read["serde"], sd["SerdeInfo"]["SerializationLibrary"],
                "{at}"
            );
            let mut parameters = glue["Parameters"].as_object().unwrap().clone();
            parameters.remove("EXTERNAL");
            assert_eq!(read["properties"], Value::Object(parameters), "{at}");
        }

        assert_eq!(valid["problems"], Value::Array(vec![]), "{what}: {glue}");
        // What `aws glue create-table` needs for an Athena table, beyond
        // the model's one required member (Name).
        for member in [
            "Name",
            "StorageDescriptor",
            "PartitionKeys",
            "TableType",
            "Parameters",
        ] {
            assert!(glue.get(member).is_some(), "{what}: no {member}");
        }
        for member in [
            "Columns",
            "Location",
            "InputFormat",
            "OutputFormat",
            "SerdeInfo",
        ] {
            assert!(sd.get(member).is_some(), "{what}: no {member}");
        }
        assert_eq!(glue["TableType"], "EXTERNAL_TABLE", "{what}");
    }
}

/// The top-level names are the ones Google's protobuf gives the fields
/// (json_name, or the .proto name with --proto-names), in field order.
#[test]
fn column_names_are_the_protojson_keys() {
    require_tools!("python");
    let script = r#"
import json, os, subprocess, sys, tempfile
from google.protobuf import descriptor_pb2, descriptor_pool
proto_dir, proto, message = sys.argv[1:]
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, 's.binpb')
    subprocess.run([sys.executable, '-m', 'grpc_tools.protoc', '-I', proto_dir, '--include_imports',
                    '--descriptor_set_out=' + out, proto], check=True)
    files = descriptor_pb2.FileDescriptorSet.FromString(open(out, 'rb').read())
pool = descriptor_pool.DescriptorPool()
for f in files.file:
    pool.Add(f)
fields = pool.FindMessageTypeByName(message).fields
print(json.dumps({'json': [f.json_name for f in fields], 'proto': [f.name for f in fields]}))
"#;
    let out = succeeds(
        Command::new(python())
            .args(["-c", script])
            .arg(root().join("examples/schema"))
            .arg("acme/clicks.proto")
            .arg(CLICK),
    );
    let google: Value = serde_json::from_slice(&out).unwrap();
    for (flag, key) in [(None, "json"), (Some("--proto-names"), "proto")] {
        let mut args = vec![
            "-s",
            "examples/schema/acme/clicks.proto",
            "-m",
            CLICK,
            "--format",
            "ndjson",
            "--location",
            "s3://b/p/",
            "--glue",
        ];
        args.extend(flag);
        let glue: Value = serde_json::from_str(&table(&args).unwrap()).unwrap();
        let names: Vec<Value> = glue["StorageDescriptor"]["Columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Name"].clone())
            .collect();
        assert_eq!(Value::Array(names), google[key], "{key}");
    }
}

/// The Glue column types of `protoland table --format parquet` with `extra`.
fn parquet_types(schema: &str, message: &str, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = vec![
        "-s",
        schema,
        "-m",
        message,
        "--format",
        "parquet",
        "--location",
        "s3://b/p/",
        "--glue",
    ];
    args.extend(extra);
    let glue: Value = serde_json::from_str(&table(&args).unwrap()).unwrap();
    pairs(&glue["StorageDescriptor"]["Columns"])
}

/// The flags that shape Parquet files shape the table the same way:
/// Timestamps as text are strings, and recursion stops at the depth given.
#[test]
fn parquet_shape_flags_change_the_columns_as_they_change_the_files() {
    let clicks = clicks_proto();
    let clicks = clicks.to_str().unwrap();
    let event_time = |extra: &[&str]| {
        parquet_types(clicks, CLICK, extra)
            .into_iter()
            .find(|(name, _)| name == "eventTime")
            .unwrap()
            .1
    };
    assert_eq!(event_time(&[]), "timestamp");
    assert_eq!(event_time(&["--parquet-timestamps", "micros"]), "timestamp");
    assert_eq!(event_time(&["--parquet-timestamps", "text"]), "string");

    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree.proto");
    std::fs::write(
        &tree,
        "syntax = \"proto3\"; package t; message Node { string name = 1; Node child = 2; }",
    )
    .unwrap();
    let tree = tree.to_str().unwrap();
    let child = |depth: &str| {
        parquet_types(tree, "t.Node", &["--parquet-max-depth", depth])
            .into_iter()
            .find(|(name, _)| name == "child")
            .unwrap()
            .1
    };
    assert_eq!(child("1"), "string");
    assert_eq!(child("2"), "struct<name:string,child:string>");
    let err = table(&[
        "-s",
        tree,
        "-m",
        "t.Node",
        "--format",
        "parquet",
        "--location",
        "s3://b/p/",
        "--parquet-max-depth",
        "17",
    ])
    .unwrap_err();
    assert!(err.contains("--parquet-max-depth"), "{err}");
    assert!(err.contains("17 is not from 1 to 16"), "{err}");
}

#[test]
fn fails_naming_what_does_not_fit() {
    let schema = clicks_proto();
    let schema = schema.to_str().unwrap();
    let base = ["-s", schema, "-m", CLICK, "--location", "s3://b/p"];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(extra);
        table(&args).unwrap_err()
    };
    assert_eq!(
        with(&[
            "--format",
            "ndjson",
            "--key-template",
            "{prefix}/dt={key}/{file}"
        ]),
        "error: key template `{prefix}/dt={key}/{file}`: the segment `dt={key}`: `{key}` names the object, not a partition (partition values: {date}, {year}, {month}, {day}, {hour}, {bucket})\n"
    );
    assert_eq!(
        with(&[
            "--format",
            "ndjson",
            "--key-template",
            "{prefix}/userid={date}/{key}"
        ]),
        "error: `userId` and `userid` in table click are one name to Athena, which lower-cases names\n"
    );
    assert_eq!(
        with(&["--format", "ndjson", "--projection-start", "2020-13-01"]),
        "error: `2020-13-01` is not a date (YYYY-MM-DD)\n"
    );
    let mut args = vec!["-s", schema, "-m", CLICK, "--format", "ndjson"];
    args.extend(["--location", "landing/clicks"]);
    assert_eq!(
        table(&args).unwrap_err(),
        "error: the location `landing/clicks` is not an s3:// URL with a bucket (s3://bucket/prefix/)\n"
    );
}

/// `protoland backfill` of examples/raw into `landing`, with `extra` flags.
fn backfill(landing: &Path, extra: &[&str]) {
    succeeds(
        Command::new(BINARY)
            .arg("backfill")
            .arg(root().join("examples/raw"))
            .arg("--landing")
            .arg(landing)
            .arg("-s")
            .arg(clicks_proto())
            .args(["-m", CLICK])
            .args(extra)
            .env("RUST_LOG", "warn"),
    );
}

/// Runs `command`; its stdout, or a panic with the command and its stderr.
fn succeeds(command: &mut Command) -> Vec<u8> {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `protoland table` for the example's objects in `format` at
/// s3://landing/{format}/.
fn clicks_table(format: &str, extra: &[&str]) -> String {
    let schema = clicks_proto();
    let location = format!("s3://landing/{format}/");
    let mut args = vec![
        "-s",
        schema.to_str().unwrap(),
        "-m",
        CLICK,
        "--format",
        format,
        "--location",
        &location,
    ];
    args.extend(extra);
    table(&args).unwrap()
}

/// Reads a whole file, decompressed by its extension.
fn decompressed(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => {
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("zst") => out = zstd::decode_all(&bytes[..]).unwrap(),
        _ => out = bytes,
    }
    out
}

/// The example objects converted by `backfill` into gzip'd and zstd'd
/// NDJSON and into Parquet, each queried by Spark through its DDL's column
/// types, give the answer computed from Google's json_format output of the
/// same messages.
#[test]
fn spark_queries_the_landing_prefix_through_the_table() {
    require_tools!("python", "java");
    if !python_has("pyspark") || !python_has("sqlglot") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // gzip'd NDJSON (the default output), zstd's (Spark reads .zst text
    // files since 4.1, Athena engine 3 too), and Parquet.
    let landings = [
        ("ndjson_gzip", "ndjson", ["--output-compression", "gzip"]),
        ("ndjson_zstd", "ndjson", ["--output-compression", "zstd"]),
        ("parquet", "parquet", ["--output-format", "parquet"]),
    ];
    let mut tables = Vec::new();
    for (name, format, options) in landings {
        let landing = dir.path().join(name);
        backfill(&landing, &options);
        let ddl = dir.path().join(format!("{name}.ddl"));
        std::fs::write(&ddl, clicks_table(format, &[])).unwrap();
        tables.push(serde_json::json!({
            "name": name, "format": format, "ddl": ddl, "landing": landing,
        }));
    }

    // The raw objects decompressed, with their framing (examples/README.md).
    let mut raws = Vec::new();
    for (name, framing) in [
        ("clicks-0001.pb.gz", "varint"),
        ("clicks-0002.pb", "single"),
        ("clicks-0003.pb.zst", "fixed32"),
    ] {
        let path = dir.path().join(format!("{name}.raw"));
        std::fs::write(&path, decompressed(&root().join("examples/raw").join(name))).unwrap();
        raws.push(serde_json::json!({"framing": framing, "path": path}));
    }
    // gzip output of several MB is many members: Spark (Hadoop's codec)
    // must read past the first. The same messages as Parquet outgrow
    // their columns' dictionaries: Spark must read the delta encodings.
    let big = Big::write(dir.path());
    assert!(big.members > 5, "{} members", big.members);
    let config = dir.path().join("spark.json");
    let config_json = serde_json::json!({
        "proto_dir": root().join("examples/schema"),
        "proto": "acme/clicks.proto",
        "message": CLICK,
        "raws": raws,
        "tables": tables,
        "texts": [{"path": big.gz, "plain": big.plain}],
        "parquets": [big.parquet],
    });
    std::fs::write(&config, config_json.to_string()).unwrap();
    let out = succeeds(
        Command::new(python())
            .arg(root().join("crates/cli/tests/table/spark_query.py"))
            .arg(&config),
    );
    let answer: Value = serde_json::from_slice(&out).unwrap();
    for (name, format, _) in landings {
        let expected = &answer["expected"][format];
        let rows = expected.as_array().unwrap();
        let events: u64 = rows.iter().map(|r| r["events"].as_u64().unwrap()).sum();
        assert_eq!(events, 501, "{answer}");
        assert_eq!(&answer["spark"][name], expected, "{name}");
    }
    // The formats differ where the mapping says they do: NDJSON leaves
    // out a double at 0 (null in the table), a Parquet column holds 0.
    assert_ne!(answer["expected"]["ndjson"], answer["expected"]["parquet"]);
    let text = &answer["texts"][big.gz.to_str().unwrap()];
    assert_eq!(text["lines"], BIG_MESSAGES, "{text}");
    assert_eq!(text["differ"], 0, "{text}");
    let rows = &answer["parquets"][big.parquet.to_str().unwrap()];
    assert!(
        *rows == Value::Array(expected_click_rows(&big.messages)),
        "Spark reads other rows from {}",
        big.parquet.display()
    );
}

/// Messages in [`Big`]'s input: about 7 MB of NDJSON.
const BIG_MESSAGES: u64 = 40_000;

/// [`BIG_MESSAGES`] test clicks converted by `protoland convert` to gzip'd
/// NDJSON (`gz`, of `members` gzip members), plain NDJSON (`plain`) and
/// Parquet (`parquet`).
struct Big {
    messages: Vec<Vec<u8>>,
    gz: PathBuf,
    plain: PathBuf,
    parquet: PathBuf,
    members: usize,
}

impl Big {
    fn write(dir: &Path) -> Big {
        let messages = click_files(dir, BIG_MESSAGES);
        let big = Big {
            messages,
            gz: dir.join("big.ndjson.gz"),
            plain: dir.join("big.ndjson"),
            parquet: dir.join("big.parquet"),
            members: 0,
        };
        for (output, options) in [
            (&big.gz, ["--output-compression", "gzip"]),
            (&big.plain, ["--output-compression", "none"]),
            (&big.parquet, ["--output-format", "parquet"]),
        ] {
            convert_click_files(Path::new(BINARY), dir, output, &options);
        }
        let members = gzip_members(&std::fs::read(&big.gz).unwrap());
        Big { members, ..big }
    }
}

/// Every file under `dir`, as a path relative to it with `/` separators.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                found.push(relative.to_str().unwrap().replace('\\', "/"));
            }
        }
    }
    found.sort();
    found
}

/// The partition projection describes the layout the pipeline really
/// writes: every key `backfill` lands with a partitioned template sits
/// under `storage.location.template`, with partition values inside each
/// column's projected range and format.
#[test]
fn projection_covers_the_keys_backfill_writes() {
    let template = "{prefix}/dt={date}/hour={hour}/{key}{ext}";
    let dir = tempfile::tempdir().unwrap();
    let landing = dir.path().join("landing");
    backfill(&landing, &["--key-template", template]);
    let glue: Value = serde_json::from_str(&clicks_table(
        "ndjson",
        &["--key-template", template, "--glue"],
    ))
    .unwrap();
    let parameters = &glue["Parameters"];
    let location = glue["StorageDescriptor"]["Location"].as_str().unwrap();
    let partition_path = parameters["storage.location.template"]
        .as_str()
        .unwrap()
        .strip_prefix(location)
        .unwrap();
    let segments: Vec<&str> = partition_path
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let names: Vec<&str> = glue["PartitionKeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dt", "hour"]);

    let keys = files_under(&landing);
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in &keys {
        let parts: Vec<&str> = key.split('/').collect();
        for (segment, part) in segments.iter().zip(&parts) {
            let (name, placeholder) = segment.split_once('=').unwrap();
            assert_eq!(placeholder, format!("${{{name}}}"), "{segment}");
            let value = part
                .strip_prefix(&format!("{name}="))
                .unwrap_or_else(|| panic!("{key}: `{part}` is not the partition {name}"));
            let projected = |what: &str| {
                parameters[format!("projection.{name}.{what}")]
                    .as_str()
                    .unwrap_or_else(|| panic!("no projection.{name}.{what}"))
                    .to_owned()
            };
            let range = projected("range");
            let (low, high) = range.split_once(',').unwrap();
            match projected("type").as_str() {
                "date" => {
                    assert_eq!(projected("format"), "yyyy-MM-dd");
                    assert_eq!(high, "NOW");
                    let shape: String = value
                        .chars()
                        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
                        .collect();
                    assert_eq!(shape, "dddd-dd-dd", "{key}");
                    assert!(value >= low, "{key}: {value} before {low}");
                }
                "integer" => {
                    let digits: usize = projected("digits").parse().unwrap();
                    assert_eq!(value.len(), digits, "{key}");
                    let n: u32 = value.parse().unwrap();
                    let (low, high): (u32, u32) = (low.parse().unwrap(), high.parse().unwrap());
                    assert!((low..=high).contains(&n), "{key}: {n} outside {range}");
                }
                other => panic!("{name}: unexpected projection {other}"),
            }
        }
    }
}
