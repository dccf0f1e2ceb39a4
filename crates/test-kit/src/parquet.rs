//! Parquet read back by a real reader (pyarrow, in the test tools' Python),
//! and the rows a stream of `acme.test.Click` messages gives through the
//! documented mapping (`docs/parquet.md`).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::encode::expected_ndjson;
use crate::tools::python;

/// What pyarrow reads in a Parquet file.
#[derive(Debug)]
pub struct ParquetRead {
    /// The rows, as pyarrow's `Table.to_pylist()` gives them.
    pub rows: Vec<Value>,
    /// The row groups of the file.
    pub row_groups: usize,
}

/// Reads a Parquet file's bytes with pyarrow (panics when pyarrow refuses
/// them).
pub fn pyarrow_read(file: &[u8]) -> ParquetRead {
    let script = r#"
import io, json, sys
import pyarrow.parquet as pq
f = pq.ParquetFile(io.BytesIO(sys.stdin.buffer.read()))
print(json.dumps({"rows": f.read().to_pylist(), "row_groups": f.num_row_groups}))
"#;
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    // Written from a thread: pyarrow reads all of stdin before it writes.
    let mut stdin = child.stdin.take().expect("piped");
    let file = file.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&file));
    let out = child.wait_with_output().expect("python runs");
    writer.join().expect("writer").expect("python reads stdin");
    assert!(
        out.status.success(),
        "pyarrow cannot read the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).expect("pyarrow's JSON");
    ParquetRead {
        rows: read["rows"].as_array().cloned().unwrap_or_default(),
        row_groups: read["row_groups"].as_u64().unwrap_or(0) as usize,
    }
}

/// The rows of `acme.test.Click` `messages`: each message's NDJSON line
/// (the transcoder's) through the mapping. Fields without presence hold
/// their default when the line leaves them out, a repeated field is an
/// empty list, int64 (a JSON string) is a number, an enum is its name.
pub fn expected_click_rows(messages: &[Vec<u8>]) -> Vec<Value> {
    let ndjson = expected_ndjson(messages);
    ndjson
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let line: Value = serde_json::from_slice(line).expect("a JSON line");
            let user_id = line["userId"]
                .as_str()
                .map_or(0, |s| s.parse::<i64>().expect("an int64"));
            json!({
                "url": line.get("url").cloned().unwrap_or(json!("")),
                "userId": user_id,
                "tags": line.get("tags").cloned().unwrap_or(json!([])),
                "score": line.get("score").and_then(Value::as_f64).unwrap_or(0.0),
                "kind": line.get("kind").cloned().unwrap_or(json!("KIND_UNSPECIFIED")),
            })
        })
        .collect()
}
