//! What `--output-compression` writes, read back by the readers users
//! point at landing objects: GNU gzip, the zstd tool, Python's gzip module
//! and `zstandard`, DuckDB's `read_json` and pyarrow's JSON reader. Each
//! must see exactly the uncompressed output: the same bytes, or for the
//! table readers the same table as from the plain `.ndjson`.
//!
//! The output is several MB, so gzip's is many members compressed on a
//! pool (the readers must read past the first) and zstd's several jobs;
//! it is written at two levels each, on the threads the converter picks
//! (every core, up to 4).
//!
//! The same messages as Parquet: pyarrow and DuckDB read back the rows
//! the mapping gives, from columns that outgrew their dictionaries and
//! went on in the delta encodings.

// Test helpers outside `#[test]` functions: a failed setup should panic.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::Path;
use std::process::Command;

use protoland_test_kit::{
    click_files, convert_click_files, expected_click_rows, gzip_members, python, require_tools,
};

/// Messages in the input: about 7 MB of NDJSON.
const MESSAGES: u64 = 40_000;

/// Reads each compressed file with Python's modules, DuckDB and pyarrow
/// and compares it with the plain one; prints one JSON object.
const READ: &str = r#"
import gzip, json, sys
import duckdb, pyarrow.json, zstandard

def read_json(path):
    return pyarrow.json.read_json(path, read_options=pyarrow.json.ReadOptions(block_size=64 << 20))

plain_path, *paths = sys.argv[1:]
plain = open(plain_path, "rb").read()
con = duckdb.connect()
result = {}
for path in paths:
    raw = open(path, "rb").read()
    if path.endswith(".gz"):
        python = gzip.decompress(raw)
    else:
        with zstandard.ZstdDecompressor().stream_reader(raw) as r:
            python = r.read()
    def rows(p):
        return con.execute(f"SELECT count(*) FROM read_json('{p}', format = 'newline_delimited')").fetchone()[0]
    def differ(a, b):
        return con.execute(
            f"SELECT count(*) FROM (SELECT * FROM read_json('{a}', format = 'newline_delimited') "
            f"EXCEPT ALL SELECT * FROM read_json('{b}', format = 'newline_delimited'))"
        ).fetchone()[0]
    # One block for the whole file: pyarrow infers the types per block, so
    # blocks cut at other places could infer other types from the same rows.
    table = read_json(path)
    result[path] = {
        "python_same": python == plain,
        "duckdb_rows": rows(path),
        "duckdb_differ": differ(path, plain_path) + differ(plain_path, path),
        "pyarrow_rows": table.num_rows,
        "pyarrow_same": table.equals(read_json(plain_path)),
    }
print(json.dumps(result))
"#;

/// `protoland convert` of the click files in `dir` to `output`.
fn convert(dir: &Path, extra: &[&str], output: &str) {
    let protoland = Path::new(env!("CARGO_BIN_EXE_protoland"));
    convert_click_files(protoland, dir, Path::new(output), extra);
}

/// Runs a tool in `dir`; its stdout, or a panic with its stderr.
fn tool(dir: &Path, program: &str, args: &[&str]) -> Vec<u8> {
    let output = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn compressed_output_reads_back_in_every_reader() {
    require_tools!("python", "gzip");
    let dir = tempfile::tempdir().unwrap();
    click_files(dir.path(), MESSAGES);
    convert(dir.path(), &[], "plain.ndjson");
    let plain = std::fs::read(dir.path().join("plain.ndjson")).unwrap();
    assert!(
        plain.len() > 6 << 20,
        "{} bytes: not several chunks",
        plain.len()
    );

    let outputs = [
        ("gzip", "1", "level1.ndjson.gz"),
        ("gzip", "6", "level6.ndjson.gz"),
        ("zstd", "1", "level1.ndjson.zst"),
        ("zstd", "3", "level3.ndjson.zst"),
    ];
    for (compression, level, name) in outputs {
        convert(
            dir.path(),
            &["--output-compression", compression, "--output-level", level],
            name,
        );
    }

    // The tools, on the files as they are.
    let zstd_tool = protoland_test_kit::tools_installed(&["zstd"]);
    for (compression, _, name) in outputs {
        if compression == "gzip" {
            let members = gzip_members(&std::fs::read(dir.path().join(name)).unwrap());
            assert!(members > 5, "{name}: {members} members");
            tool(dir.path(), "gzip", &["-t", name]);
            assert!(
                tool(dir.path(), "gzip", &["-dc", name]) == plain,
                "gzip -dc {name}"
            );
        } else if zstd_tool {
            tool(dir.path(), "zstd", &["-t", "-q", name]);
            assert!(
                tool(dir.path(), "zstd", &["-dc", "-q", name]) == plain,
                "zstd -dc {name}"
            );
        } else {
            eprintln!("zstd is not installed: {name} not checked with zstd -t");
        }
    }

    // Python's modules, DuckDB and pyarrow.
    let mut args = vec!["-c", READ, "plain.ndjson"];
    args.extend(outputs.iter().map(|(_, _, name)| *name));
    let python = python();
    let report = tool(dir.path(), python.to_str().unwrap(), &args);
    let report: serde_json::Value = serde_json::from_slice(&report).unwrap();
    for (_, _, name) in outputs {
        let r = &report[name];
        assert_eq!(r["python_same"], true, "{name}: {r}");
        assert_eq!(r["duckdb_rows"], MESSAGES, "{name}: {r}");
        assert_eq!(r["duckdb_differ"], 0, "{name}: {r}");
        assert_eq!(r["pyarrow_rows"], MESSAGES, "{name}: {r}");
        assert_eq!(r["pyarrow_same"], true, "{name}: {r}");
    }
}

/// Reads a Parquet file with pyarrow and with DuckDB; prints
/// {"pyarrow": rows, "duckdb": rows, "encodings": [every column chunk's
/// encodings]}, each row an object of column names.
const READ_PARQUET: &str = r#"
import json, sys
import duckdb, pyarrow.parquet as pq

path = sys.argv[1]
f = pq.ParquetFile(path)
con = duckdb.connect()
cursor = con.execute(f"SELECT * FROM read_parquet('{path}')")
names = [d[0] for d in cursor.description]
meta = f.metadata
print(json.dumps({
    "pyarrow": f.read().to_pylist(),
    "duckdb": [dict(zip(names, row)) for row in cursor.fetchall()],
    "encodings": sorted({e for g in range(meta.num_row_groups)
                         for c in range(meta.num_columns)
                         for e in meta.row_group(g).column(c).encodings}),
}))
"#;

#[test]
fn parquet_output_reads_back_in_pyarrow_and_duckdb() {
    require_tools!("python");
    let dir = tempfile::tempdir().unwrap();
    let messages = click_files(dir.path(), MESSAGES);
    convert(
        dir.path(),
        &["--output-format", "parquet"],
        "clicks.parquet",
    );
    let python = python();
    let report = tool(
        dir.path(),
        python.to_str().unwrap(),
        &["-c", READ_PARQUET, "clicks.parquet"],
    );
    let report: serde_json::Value = serde_json::from_slice(&report).unwrap();
    // 40,000 distinct URLs and user IDs outgrow their dictionaries.
    let encodings = report["encodings"].to_string();
    for encoding in ["DELTA_BYTE_ARRAY", "DELTA_BINARY_PACKED", "RLE_DICTIONARY"] {
        assert!(encodings.contains(encoding), "{encoding}: {encodings}");
    }
    let expected = serde_json::Value::Array(expected_click_rows(&messages));
    for reader in ["pyarrow", "duckdb"] {
        assert!(report[reader] == expected, "{reader} reads other rows");
    }
}
