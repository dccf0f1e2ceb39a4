//! Transcoding throughput on a clickstream-like schema, against the two
//! numbers protoland targets, measured on the same bytes in the same run:
//!
//! - prost-reflect (`DynamicMessage::decode` + serde_json), the obvious
//!   design: protoland must be at least 8 times as fast;
//! - inflating the same messages gzip'd with flate2's zlib-rs backend
//!   (`MultiGzDecoder`): transcoding must be at least as fast, so that in
//!   the pipeline decompression, not JSON, is the limit;
//! - Google's Python implementation (the `protobuf` package's upb backend,
//!   `ParseFromString` + `json_format.MessageToJson`), in a child process
//!   running `bench/python/slices.py`, timing itself on the same slices:
//!   protoland must be at least 60 times as fast. It runs on every
//!   `PROTOLAND_BENCH_PYTHON_EVERY`th slice (default 4; 0 leaves it out),
//!   and its ratio compares protoland on those same slices. The Python is
//!   `PROTOLAND_PYTHON` or the workspace's `.venv/bin/python` (which
//!   `scripts/test` creates); without one the bench says so and goes on.
//!
//! Run with `cargo bench -p protoland-transcode --bench throughput`.
//! Environment: `PROTOLAND_BENCH_MB` (protobuf input per round, default 50),
//! `PROTOLAND_BENCH_ROUNDS` (default 7), `PROTOLAND_BENCH_SEED` (default 1),
//! `PROTOLAND_BENCH_ONLY` (comma-separated subset of `protoland`,
//! `prost-reflect`, `inflate`, `python`, or `none`: for profiling one of
//! them, e.g. under `valgrind --tool=callgrind`; default all four),
//! `PROTOLAND_BENCH_DUMP=FILE` (also write the messages, varint-delimited,
//! and `FILE.binpb`, the schema, to time other implementations).
//! `PROTOLAND_BENCH_FILE=PATH` with `PROTOLAND_BENCH_SCHEMA=PROTO` and
//! `PROTOLAND_BENCH_MESSAGE=NAME`: the messages of a varint-delimited file
//! (gzip'd or not; e.g. one of `bench/out/data`, up to
//! `PROTOLAND_BENCH_MB`) instead of generated ones, to measure or profile
//! another schema (`perf record` works on the bench profile's binary).
//! One thread. Each round runs the three on the same bytes, taking turns
//! every ~128 KB (who goes first rotates), timed by the wall clock. Reported:
//! every round's figures, their medians, and — the headline, the steadiest
//! figure on a shared machine, since other processes only ever add time —
//! the sum over slices of each contender's fastest round.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MapKey, MessageDescriptor, Value};
use protoland_schema::Schema;
use protoland_transcode::{JsonOptions, Plan};

/// The converter's default line limit (`protoland_stream::Limits`).
const LINE_LIMIT: usize = 64 << 20;

/// Bytes of messages per slice (see `main`).
const SLICE: usize = 128_000;

const SCHEMA: &str = r#"
syntax = "proto3";
package bench;

import "google/protobuf/timestamp.proto";

enum EventType {
  EVENT_TYPE_UNSPECIFIED = 0;
  PAGE_VIEW = 1;
  CLICK = 2;
  ADD_TO_CART = 3;
  PURCHASE = 4;
}

enum DeviceType {
  DEVICE_TYPE_UNSPECIFIED = 0;
  DESKTOP = 1;
  MOBILE = 2;
  TABLET = 3;
}

message Client {
  string ip = 1;
  string user_agent = 2;
  DeviceType device = 3;
  string locale = 4;
  string app_version = 5;
}

message Page {
  string url = 1;
  string referrer = 2;
  string title = 3;
}

message Item {
  string sku = 1;
  int32 quantity = 2;
  int64 price_micros = 3;
  string category = 4;
}

message ClickEvent {
  string event_id = 1;
  google.protobuf.Timestamp event_time = 2;
  EventType type = 3;
  string user_id = 4;
  string session_id = 5;
  Client client = 6;
  Page page = 7;
  repeated Item items = 8;
  map<string, string> attributes = 9;
  double value = 10;
  google.protobuf.Timestamp received_at = 11;
  int64 sequence = 12;
  bool is_bot = 13;
}
"#;

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.99 Mobile Safari/537.36",
];
const CATEGORIES: [&str; 5] = [
    "shoes",
    "outdoor/tents",
    "kitchen",
    "books/fiction",
    "garden",
];
const WORDS: [&str; 8] = [
    "summer",
    "sale",
    "running",
    "waterproof",
    "jacket",
    "trail",
    "coffee",
    "lamp",
];
const ATTRIBUTE_KEYS: [&str; 6] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "experiment",
    "ab_bucket",
    "consent",
];

/// xorshift64*: deterministic data from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

fn msg(desc: &MessageDescriptor, fields: Vec<(&str, Value)>) -> Value {
    let mut m = DynamicMessage::new(desc.clone());
    for (name, value) in fields {
        m.set_field_by_name(name, value);
    }
    Value::Message(m)
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn event(schema: &Schema, rng: &mut Rng, sequence: i64) -> DynamicMessage {
    let d = |name: &str| schema.message(name).unwrap();
    let ts = d("google.protobuf.Timestamp");
    let seconds = 1_700_000_000 + rng.below(30_000_000) as i64;
    let millis = rng.below(1000) as i32;
    let search: Vec<&str> = (0..1 + rng.below(3)).map(|_| rng.pick(&WORDS)).collect();
    let url = format!(
        "https://shop.example.com/{}/{}-{}?q={}&page={}",
        rng.pick(&CATEGORIES),
        rng.pick(&WORDS),
        rng.below(100_000),
        search.join("+"),
        1 + rng.below(20)
    );
    let items: Vec<Value> = (0..rng.below(4))
        .map(|_| {
            msg(
                &d("bench.Item"),
                vec![
                    ("sku", s(format!("SKU-{:08}", rng.below(100_000_000)))),
                    ("quantity", Value::I32(1 + rng.below(5) as i32)),
                    ("price_micros", Value::I64(rng.below(500_000_000) as i64)),
                    ("category", s(rng.pick(&CATEGORIES))),
                ],
            )
        })
        .collect();
    let attributes = (0..2 + rng.below(3))
        .map(|_| {
            (
                MapKey::String(rng.pick(&ATTRIBUTE_KEYS).to_owned()),
                s(format!("{}-{}", rng.pick(&WORDS), rng.below(1000))),
            )
        })
        .collect();
    let fields = vec![
        (
            "event_id",
            s(format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                rng.next() as u32,
                rng.below(0x10000),
                rng.below(0x1000),
                rng.below(0x1000),
                rng.next() & 0xffff_ffff_ffff
            )),
        ),
        (
            "event_time",
            msg(
                &ts,
                vec![
                    ("seconds", Value::I64(seconds)),
                    ("nanos", Value::I32(millis * 1_000_000)),
                ],
            ),
        ),
        ("type", Value::EnumNumber(1 + rng.below(4) as i32)),
        ("user_id", s(format!("u-{}", rng.below(10_000_000)))),
        ("session_id", s(format!("s-{:016x}", rng.next()))),
        (
            "client",
            msg(
                &d("bench.Client"),
                vec![
                    (
                        "ip",
                        s(format!("203.0.{}.{}", rng.below(256), rng.below(256))),
                    ),
                    ("user_agent", s(rng.pick(&USER_AGENTS))),
                    ("device", Value::EnumNumber(1 + rng.below(3) as i32)),
                    ("locale", s(rng.pick(&["en-US", "de-DE", "fr-FR", "ja-JP"]))),
                    (
                        "app_version",
                        s(format!("5.{}.{}", rng.below(20), rng.below(10))),
                    ),
                ],
            ),
        ),
        (
            "page",
            msg(
                &d("bench.Page"),
                vec![
                    ("url", s(url)),
                    ("referrer", s("https://www.example.org/search?q=shop")),
                    ("title", s(format!("{} — Example Shop", search.join(" ")))),
                ],
            ),
        ),
        ("items", Value::List(items)),
        ("attributes", Value::Map(attributes)),
        ("value", Value::F64(rng.below(1_000_000) as f64 / 100.0)),
        (
            "received_at",
            msg(
                &ts,
                vec![
                    ("seconds", Value::I64(seconds + 1)),
                    ("nanos", Value::I32(rng.below(1_000_000_000) as i32)),
                ],
            ),
        ),
        ("sequence", Value::I64(sequence)),
        ("is_bot", Value::Bool(rng.below(50) == 0)),
    ];
    let Value::Message(m) = msg(&d("bench.ClickEvent"), fields) else {
        unreachable!()
    };
    m
}

// The three measured loops, each its own function so that a profiler can
// single them out (`valgrind --tool=callgrind --toggle-collect=throughput::run_protoland`).

/// Transcodes every message; returns the JSON bytes written.
#[inline(never)]
fn run_protoland(plan: &Plan, data: &[u8], spans: &[(usize, usize)], out: &mut Vec<u8>) -> usize {
    let mut json_bytes = 0;
    for &(s, e) in spans {
        out.clear();
        // With a line limit, as the converter transcodes (its default,
        // 64 MiB): the checks of the limit are part of the cost.
        plan.transcode_limited(&data[s..e], out, LINE_LIMIT)
            .unwrap();
        json_bytes += out.len();
    }
    json_bytes
}

#[inline(never)]
fn run_prost_reflect(
    desc: &MessageDescriptor,
    data: &[u8],
    spans: &[(usize, usize)],
    out: &mut Vec<u8>,
) {
    for &(s, e) in spans {
        out.clear();
        let m = DynamicMessage::decode(desc.clone(), &data[s..e]).unwrap();
        serde_json::to_writer(&mut *out, &m).unwrap();
    }
}

/// Inflates the next `buffer.len()` bytes of the stream.
#[inline(never)]
fn run_inflate(gunzip: &mut MultiGzDecoder<&[u8]>, buffer: &mut [u8]) {
    gunzip.read_exact(buffer).unwrap();
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let target = env("PROTOLAND_BENCH_MB", 50usize) * 1_000_000;
    let rounds = env("PROTOLAND_BENCH_ROUNDS", 7usize);
    let seed = env("PROTOLAND_BENCH_SEED", 1u64);
    let only = env(
        "PROTOLAND_BENCH_ONLY",
        String::from("protoland,prost-reflect,inflate,python"),
    );
    let run = |name: &str| only.split(',').any(|o| o == name);

    let file = std::env::var("PROTOLAND_BENCH_FILE").ok();
    let (schema, desc, data, spans) = match &file {
        Some(path) => messages_of_file(path, target),
        None => generated(seed, target),
    };
    let plan = Plan::new(&desc, JsonOptions::default());
    if let Ok(path) = std::env::var("PROTOLAND_BENCH_DUMP") {
        // For timing other implementations on the same bytes.
        dump(&schema, &data, &spans, &PathBuf::from(&path));
        println!("wrote {path} and {path}.binpb");
    }
    let python_every = env("PROTOLAND_BENCH_PYTHON_EVERY", 4usize);
    let mut python = if run("python") && python_every > 0 {
        Python::start(&schema, desc.full_name(), &data, &spans)
    } else {
        None
    };

    // The three take turns slice by slice (~128 KB of messages, a few
    // milliseconds of work at most: short enough that a slice often runs
    // without another process taking the core), rotating who goes first.
    // Inflate reads the slices' bytes from one gzip stream of all messages.
    let slices = chunk(&spans, SLICE);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&data).unwrap();
    let gz = gz.finish().unwrap();
    println!(
        "{} {} messages, {:.1} MB of protobuf ({} bytes each on average), {:.1} MB gzip'd; \
         {} slices of ~{} KB, {rounds} rounds",
        spans.len(),
        desc.full_name(),
        data.len() as f64 / 1e6,
        data.len() / spans.len(),
        gz.len() as f64 / 1e6,
        slices.len(),
        SLICE / 1000
    );

    let mut out = Vec::with_capacity(1 << 16);
    let mut inflated = vec![0u8; 2 * SLICE];
    let mut medians: [Vec<f64>; 5] = Default::default();
    // Per slice and contender, the fastest of the rounds: other processes
    // only ever add time, so the minimum is the closest to an idle core.
    let mut best = vec![[Duration::MAX; 4]; slices.len()];
    let python_slice = |i: usize| python_every > 0 && i.is_multiple_of(python_every);
    // The protobuf bytes of those slices.
    let python_bytes: usize = (0..slices.len())
        .filter(|&i| python_slice(i))
        .map(|i| spans[slices[i].end - 1].1 - spans[slices[i].start].0)
        .sum();
    let mut python_ratios = Vec::new();
    let mut json_bytes = 0;
    for round in 0..rounds {
        let mut t = [Duration::ZERO; 3];
        // protoland and Python on Python's slices.
        let mut on_python_slices = [Duration::ZERO; 2];
        json_bytes = 0;
        let mut gunzip = MultiGzDecoder::new(gz.as_slice());
        for (i, range) in slices.iter().enumerate() {
            let c = &spans[range.clone()];
            let len = c[c.len() - 1].1 - c[0].0;
            for k in 0..3 {
                let which = (i + k) % 3;
                let start = Instant::now();
                match which {
                    0 if run("protoland") => {
                        json_bytes += run_protoland(&plan, &data, c, &mut out);
                    }
                    1 if run("prost-reflect") => run_prost_reflect(&desc, &data, c, &mut out),
                    2 if run("inflate") => run_inflate(&mut gunzip, &mut inflated[..len]),
                    _ => continue,
                }
                let elapsed = start.elapsed();
                t[which] += elapsed;
                best[i][which] = best[i][which].min(elapsed);
                if which == 0 && python_slice(i) {
                    on_python_slices[0] += elapsed;
                }
            }
            if let Some(py) = python.as_mut().filter(|_| python_slice(i)) {
                let elapsed = py.transcode(range.clone());
                on_python_slices[1] += elapsed;
                best[i][3] = best[i][3].min(elapsed);
            }
        }
        let [a, b, c] = t.map(|t| mbps(data.len(), t));
        println!(
            "round {round}: protoland {a:6.1} MB/s   prost-reflect+serde_json {b:5.1} MB/s   \
             zlib-rs inflate {c:6.1} MB/s   ratios {:5.2}x, {:4.2}x",
            a / b,
            a / c
        );
        if python.is_some() {
            let ratio = on_python_slices[1].as_secs_f64() / on_python_slices[0].as_secs_f64();
            println!(
                "round {round}: Python upb json_format, on every {python_every}th slice: {:.1} MB/s; protoland {ratio:.1}x as fast there",
                mbps(python_bytes, on_python_slices[1])
            );
            python_ratios.push(ratio);
        }
        for (m, v) in medians.iter_mut().zip([a, b, c, a / b, a / c]) {
            m.push(v);
        }
    }
    let [ours, prost, inflate, vs_prost, vs_inflate] = medians.map(median);
    println!(
        "median of {rounds} rounds: protoland {ours:.1} MB/s, prost-reflect+serde_json {prost:.1} MB/s, \
         zlib-rs inflate {inflate:.1} MB/s; ratios {vs_prost:.2}x, {vs_inflate:.2}x"
    );
    let [a, b, c] = [0, 1, 2].map(|k| {
        // (Contenders left out keep Duration::MAX: count them as zero.)
        let total = best
            .iter()
            .map(|b| b[k])
            .filter(|&d| d != Duration::MAX)
            .sum();
        mbps(data.len(), total)
    });
    println!(
        "best of {rounds} per slice: protoland {a:.1} MB/s of protobuf in ({:.1} MB/s of JSON out), \
         prost-reflect+serde_json {b:.1} MB/s, zlib-rs inflate {c:.1} MB/s",
        a * json_bytes as f64 / data.len() as f64,
    );
    println!(
        "ratios (best per slice): {:.2}x prost-reflect+serde_json (target >= 8), \
         {:.2}x zlib-rs inflate (target >= 1)",
        a / b,
        a / c
    );
    if python.is_some() {
        let [ours, py] = [0, 3].map(|k| {
            (0..slices.len())
                .filter(|&i| python_slice(i))
                .map(|i| best[i][k])
                .sum::<Duration>()
        });
        println!(
            "Python upb json_format on every {python_every}th slice ({:.1} MB): best per slice {:.1} MB/s, \
             protoland there {:.1} MB/s; ratio {:.1}x (target >= 60), median of rounds {:.1}x",
            python_bytes as f64 / 1e6,
            mbps(python_bytes, py),
            mbps(python_bytes, ours),
            py.as_secs_f64() / ours.as_secs_f64(),
            median(python_ratios)
        );
    }

    // Plan::check (framing detection), for reference: the best of 3 passes.
    if run("protoland") {
        let mut fastest = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for &(s, e) in &spans {
                std::hint::black_box(plan.check(&data[s..e]).unwrap());
            }
            fastest = fastest.min(start.elapsed());
        }
        println!("Plan::check: {:.1} MB/s", mbps(data.len(), fastest));
    }
}

/// The generated clickstream messages, back to back, and where each one is.
fn generated(
    seed: u64,
    target: usize,
) -> (Schema, MessageDescriptor, Vec<u8>, Vec<(usize, usize)>) {
    let schema = Schema::from_proto_source("bench/clickstream.proto", SCHEMA).unwrap();
    let desc = schema.message("bench.ClickEvent").unwrap();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut data = Vec::with_capacity(target + 4096);
    let mut spans = Vec::new();
    while data.len() < target {
        let m = event(&schema, &mut rng, spans.len() as i64);
        let start = data.len();
        m.encode(&mut data).unwrap();
        spans.push((start, data.len()));
    }
    (schema, desc, data, spans)
}

/// The messages of a varint-delimited file (gzip'd or not), up to about
/// `target` bytes, back to back, and where each one is.
fn messages_of_file(
    path: &str,
    target: usize,
) -> (Schema, MessageDescriptor, Vec<u8>, Vec<(usize, usize)>) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("PROTOLAND_BENCH_FILE needs {name}"))
    };
    let proto = std::fs::canonicalize(var("PROTOLAND_BENCH_SCHEMA")).unwrap();
    let include = proto.parent().unwrap().to_path_buf();
    let schema = Schema::load([&proto], [include]).unwrap();
    let desc = schema.message(&var("PROTOLAND_BENCH_MESSAGE")).unwrap();
    let raw = std::fs::read(path).unwrap();
    let framed = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut framed = Vec::new();
        MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut framed)
            .unwrap();
        framed
    } else {
        raw
    };
    let mut rest = framed.as_slice();
    let mut data = Vec::with_capacity(target.min(framed.len()));
    let mut spans = Vec::new();
    while !rest.is_empty() && data.len() < target {
        let len = prost::encoding::decode_varint(&mut rest).unwrap() as usize;
        let start = data.len();
        data.extend_from_slice(&rest[..len]);
        rest = &rest[len..];
        spans.push((start, data.len()));
    }
    (schema, desc, data, spans)
}

/// Splits the messages into runs of about `size` bytes (ranges of
/// `spans`).
fn chunk(spans: &[(usize, usize)], size: usize) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for i in 0..spans.len() {
        if spans[i].1 - spans[start].0 >= size || i + 1 == spans.len() {
            chunks.push(start..i + 1);
            start = i + 1;
        }
    }
    chunks
}

/// Writes the messages, varint-delimited, to `path`, and the schema as a
/// descriptor set to `path.binpb`.
fn dump(schema: &Schema, data: &[u8], spans: &[(usize, usize)], path: &std::path::Path) {
    let mut framed = Vec::with_capacity(data.len() + 3 * spans.len());
    for &(s, e) in spans {
        prost::encoding::encode_varint((e - s) as u64, &mut framed);
        framed.extend_from_slice(&data[s..e]);
    }
    std::fs::write(path, framed).unwrap();
    let mut binpb = path.as_os_str().to_owned();
    binpb.push(".binpb");
    std::fs::write(binpb, schema.encode_descriptor_set()).unwrap();
}

/// Google's Python implementation in a child process (`bench/python/slices.py`),
/// holding every message, transcoding the ones it is asked for.
struct Python {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    _files: tempfile::TempDir,
}

impl Python {
    /// Starts it, or says why not and returns `None`.
    fn start(
        schema: &Schema,
        message: &str,
        data: &[u8],
        spans: &[(usize, usize)],
    ) -> Option<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = std::env::var_os("PROTOLAND_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        if !python.exists() {
            println!(
                "Python contender left out: no {} (set PROTOLAND_PYTHON, or run scripts/test to create .venv)",
                python.display()
            );
            return None;
        }
        let files = tempfile::tempdir().unwrap();
        let framed = files.path().join("messages.pb");
        dump(schema, data, spans, &framed);
        let mut child = Command::new(&python)
            .arg(root.join("bench/python/slices.py"))
            .arg(files.path().join("messages.pb.binpb"))
            .arg(message)
            .arg(&framed)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if line.trim() != format!("ready {}", spans.len()) {
            println!("Python contender left out: slices.py said {line:?}");
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        Some(Python {
            child,
            stdin,
            stdout,
            _files: files,
        })
    }

    /// Has it transcode the messages `range`; returns the time it took
    /// (as it measured it, without the pipe).
    fn transcode(&mut self, range: Range<usize>) -> Duration {
        writeln!(self.stdin, "{} {}", range.start, range.end).unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let nanos: u64 = line
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("slices.py answered {line:?}"));
        Duration::from_nanos(nanos)
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
