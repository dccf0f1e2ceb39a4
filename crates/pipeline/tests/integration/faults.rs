//! The table of bad inputs and faults, end to end: each bad object or
//! fault goes through `Pipeline::handle` against moto's S3 (behind the
//! fault-injecting proxy where the fault is the network's), and each test
//! pins what users get: the partial batch response, the error text (as the
//! direct-invocation response and the quarantine report give it), the
//! landing keys and bytes, and that no multipart upload is left open.
//! docs/hardening.md lists the rows and the test for each.
//!
//! The tests share one moto server (`Moto::shared`), each with its own
//! buckets.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use object_store::{ObjectStore, ObjectStoreExt};
use protoland_pipeline::Invocation;
use protoland_pipeline::KeyTemplate;
use protoland_pipeline::parse_routes;
use protoland_pipeline::{BadObjectPolicy, MissingPolicy, SchemaSource, Settings};
use protoland_pipeline::{Location, StorageOptions};
use protoland_pipeline::{ObjectOutcome, ObjectRef, Pipeline, SourceStore};
use protoland_stream::{Framing, OutputFormat, PageCompression};
use protoland_test_kit::{
    Fault, FaultKind, FaultProxy, Moto, click, expected_click_rows, expected_ndjson, frame, get,
    gunzip, gzip, keys, notification, put, pyarrow_read, sqs_event, store, string_field, varint,
};
use serde_json::{Value, json};

use crate::{failed, no_failures, response_json, runtime_test};

/// `acme.test.Click` exactly as the harness's `CLICK_PROTO` (so
/// `expected_ndjson` applies), plus types for nesting, `Any` and a wrong
/// type.
const SCHEMA: &str = r#"
syntax = "proto3";
package acme.test;
import "google/protobuf/any.proto";
message Click {
  enum Kind { KIND_UNSPECIFIED = 0; VIEW = 1; BUY = 2; }
  string url = 1;
  int64 user_id = 2;
  repeated string tags = 3;
  double score = 4;
  Kind kind = 5;
}
message Node {
  Node child = 1;
  string name = 2;
  google.protobuf.Any payload = 3;
}
// Field 1 has Click's wire type but another meaning.
message Order {
  string order_id = 1;
}
// An empty child is 2 bytes of wire data (`4a 00`).
message Tree {
  string label = 1;
  int64 weight = 2;
  repeated Tree children = 9;
}
"#;

const CLICK: &str = "acme.test.Click";

/// One test's buckets on the shared server.
struct Buckets {
    moto: &'static Moto,
    raw: String,
    landing: String,
    raw_store: Arc<dyn ObjectStore>,
    landing_store: Arc<dyn ObjectStore>,
}

fn buckets(test: &str) -> Buckets {
    let moto = Moto::shared();
    let name = test.replace('_', "-");
    let raw = format!("raw-{name}");
    let landing = format!("landing-{name}");
    moto.create_bucket(&raw);
    moto.create_bucket(&landing);
    Buckets {
        moto,
        raw_store: store(moto, &raw),
        landing_store: store(moto, &landing),
        raw,
        landing,
    }
}

impl Buckets {
    fn settings(&self, message: &str, storage: StorageOptions) -> Settings {
        let mut s =
            Settings::new(Location::parse(&format!("s3://{}/ndjson", self.landing)).unwrap());
        s.schema = Some(SchemaSource::Bytes {
            name: "faults.proto".into(),
            bytes: Arc::from(SCHEMA.as_bytes()),
        });
        s.message = Some(message.into());
        // Keys under `nodes/` hold `acme.test.Node` messages.
        s.routes = parse_routes("nodes/=acme.test.Node").unwrap();
        s.storage = storage;
        s.metrics.enabled = false;
        s.retry_backoff = Duration::from_millis(20);
        s
    }

    fn direct(&self) -> StorageOptions {
        self.moto.storage_options()
    }

    async fn landing_keys(&self) -> Vec<String> {
        keys(&self.landing_store).await
    }

    fn open_uploads(&self) -> Vec<String> {
        self.moto.open_multipart_uploads(&self.landing)
    }

    /// The text a direct S3-event invocation fails with for `key`.
    async fn direct_failure(&self, pipeline: &Pipeline, key: &str) -> String {
        let event: Value = serde_json::from_str(&notification(&self.raw, key)).unwrap();
        let invocation = Invocation::from_value(event).unwrap();
        pipeline
            .handle(invocation, None)
            .await
            .0
            .into_result()
            .unwrap_err()
    }
}

fn clicks(range: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    range.map(|i| click(i, 8)).collect()
}

/// What a bad object must produce; the coordinates it has no value for
/// are null.
#[derive(Default)]
struct Bad<'a> {
    /// Source key in the raw bucket.
    key: &'a str,
    data: Vec<u8>,
    /// The error text after `converting s3://raw-…/key: `.
    error: &'a str,
    message_index: Value,
    byte_offset: Value,
    field_path: Value,
}

/// A bad object, under both policies: with `fail` (the default) its
/// message is the only one in `batchItemFailures`, nothing lands and the
/// direct invocation fails with the error text; with `quarantine` the batch
/// succeeds and the report holds the error and its coordinates. A good
/// object in the same batch lands either way.
async fn assert_bad_object(test: &str, bad: Bad<'_>, tweak: impl Fn(&mut Settings)) {
    let b = buckets(test);
    let good = clicks(0..3);
    put(
        &b.raw_store,
        "clicks/good.pb",
        frame(&good, Framing::Varint),
    )
    .await;
    put(&b.raw_store, bad.key, bad.data.clone()).await;
    let source = format!("s3://{}/{}", b.raw, bad.key);
    let error = format!("converting {source}: {}", bad.error);

    let mut s = b.settings(CLICK, b.direct());
    tweak(&mut s);
    let pipeline = Pipeline::start(s.clone(), "lambda").await.unwrap();
    let (response, stats) = pipeline
        .handle(sqs_event(&b.raw, &["clicks/good.pb", bad.key]), None)
        .await;
    assert_eq!(response_json(&response), failed(&["m1"]), "{test}");
    assert_eq!((stats.objects, stats.failures), (1, 1), "{test}");
    assert_eq!(
        b.landing_keys().await,
        ["ndjson/clicks/good.pb.ndjson.gz"],
        "{test}"
    );
    let direct = b.direct_failure(&pipeline, bad.key).await;
    let expected = format!("1 of 1 objects failed:\n{source}: {error}");
    assert!(
        direct == expected || matches_with_numbers(&expected, &direct),
        "{test}: {direct}\nexpected: {expected}"
    );

    s.on_bad_object = BadObjectPolicy::Quarantine;
    let pipeline = Pipeline::start(s, "lambda").await.unwrap();
    let (response, stats) = pipeline
        .handle(sqs_event(&b.raw, &["clicks/good.pb", bad.key]), None)
        .await;
    assert_eq!(response_json(&response), no_failures(), "{test}");
    assert_eq!((stats.objects, stats.quarantined), (1, 1), "{test}");
    let report_key = format!("ndjson/_quarantine/{}/{}.error.json", b.raw, bad.key);
    assert_eq!(
        b.landing_keys().await,
        [
            report_key.clone(),
            "ndjson/clicks/good.pb.ndjson.gz".to_owned()
        ],
        "{test}"
    );
    let mut report: Value =
        serde_json::from_slice(&get(&b.landing_store, &report_key).await).unwrap();
    assert!(report["time"].is_string(), "{report}");
    report.as_object_mut().unwrap().remove("time");
    // Figures that depend on how the object arrives (`{n}` in the text).
    let error = match report["error"].as_str() {
        Some(got) if error.contains("{n}") && matches_with_numbers(&error, got) => got.to_owned(),
        _ => error,
    };
    assert_eq!(
        report,
        json!({
            "source": source,
            "bucket": b.raw,
            "key": bad.key,
            "versionId": null,
            "error": error,
            "messageIndex": bad.message_index,
            "byteOffset": bad.byte_offset,
            "fieldPath": bad.field_path,
            "eventTime": "2024-03-07T21:42:03+00:00",
        }),
        "{test}"
    );
    assert_eq!(
        gunzip(&get(&b.landing_store, "ndjson/clicks/good.pb.ndjson.gz").await),
        expected_ndjson(&good),
        "{test}"
    );
    assert!(b.open_uploads().is_empty(), "{test}");
}

/// Whether `text` is `pattern` with each `{n}` standing for a number.
fn matches_with_numbers(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split("{n}");
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in parts {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return false;
        }
        match rest[digits..].strip_prefix(part) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// A good object: converted and landed with exactly `expected` (NDJSON).
async fn assert_lands(test: &str, key: &str, data: Vec<u8>, landing_key: &str, expected: &[u8]) {
    let b = buckets(test);
    put(&b.raw_store, key, data).await;
    let pipeline = Pipeline::start(b.settings(CLICK, b.direct()), "lambda")
        .await
        .unwrap();
    let (response, stats) = pipeline.handle(sqs_event(&b.raw, &[key]), None).await;
    assert_eq!(response_json(&response), no_failures(), "{test}");
    assert_eq!(stats.objects, 1, "{test}");
    assert_eq!(b.landing_keys().await, [landing_key], "{test}");
    let got = gunzip(&get(&b.landing_store, landing_key).await);
    assert!(
        got == expected,
        "{test}: landed {:?}, expected {:?}",
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

// ---- Compression ----

#[test]
fn zero_byte_object_lands_as_an_empty_object() {
    needs_moto!();
    runtime_test(assert_lands(
        "zero-byte",
        "clicks/empty.pb",
        Vec::new(),
        "ndjson/clicks/empty.pb.ndjson.gz",
        b"",
    ));
}

#[test]
fn object_named_gz_but_not_gzip_is_read_as_what_it_is() {
    needs_moto!();
    let messages = clicks(0..20);
    runtime_test(assert_lands(
        "not-gzip",
        "clicks/plain.pb.gz",
        frame(&messages, Framing::Varint),
        "ndjson/clicks/plain.pb.gz.ndjson.gz",
        &expected_ndjson(&messages),
    ));
}

#[test]
fn truncated_gzip_is_a_bad_object() {
    needs_moto!();
    let full = gzip(&frame(&clicks(0..200), Framing::Varint));
    let cut = full.len() / 2;
    let data = full[..cut].to_vec();
    runtime_test(assert_bad_object(
        "truncated-gzip",
        Bad {
            key: "clicks/truncated.pb.gz",
            error: &format!(
                "gzip input at byte {cut}: truncated: the input ends inside gzip member 1"
            ),
            data,
            byte_offset: json!(cut),
            ..Bad::default()
        },
        |_| {},
    ));
}

#[test]
fn gzip_with_a_bad_crc_is_a_bad_object() {
    needs_moto!();
    let mut data = gzip(&frame(&clicks(0..50), Framing::Varint));
    let end = data.len();
    data[end - 8] ^= 0xff;
    runtime_test(assert_bad_object(
        "bad-crc",
        Bad {
            key: "clicks/crc.pb.gz",
            error: &format!(
                "gzip input at byte {end}: gzip member 1 fails its CRC-32 or size check"
            ),
            data,
            byte_offset: json!(end),
            ..Bad::default()
        },
        |_| {},
    ));
}

#[test]
fn gzip_with_trailing_garbage_is_a_bad_object() {
    needs_moto!();
    let mut data = gzip(&frame(&clicks(0..50), Framing::Varint));
    let end = data.len();
    data.extend_from_slice(b"garbage after the member");
    runtime_test(assert_bad_object(
        "trailing-garbage",
        Bad {
            key: "clicks/trailing.pb.gz",
            error: &format!(
                "gzip input at byte {end}: data after the end of gzip member 1 is not another member (it starts with 67 61 72 62)"
            ),
            data,
            byte_offset: json!(end),
            ..Bad::default()
        },
        |_| {},
    ));
}

/// A zstd frame that declares more content than it holds: its data in
/// one raw block, then an empty last block. libzstd's streaming decoder
/// took it as a clean end, which would land the messages and lose nothing
/// it could see; protoland checks the declared size and refuses it.
#[test]
fn zstd_frame_shorter_than_its_declared_size_is_a_bad_object() {
    needs_moto!();
    let data = frame(&clicks(0..3), Framing::Varint);
    // (1 MB more: a single-segment frame's content size is also its
    // window, which must be within the 8 MiB window limit.)
    let declared = data.len() as u32 + 1_000_000;
    // Frame header: 4-byte content size, single segment (no window byte).
    let mut zst = vec![0x28, 0xb5, 0x2f, 0xfd, 0xa0];
    zst.extend_from_slice(&declared.to_le_bytes());
    // A raw block (not last) with the data, then an empty raw last block.
    let block = (data.len() as u32) << 3;
    zst.extend_from_slice(&block.to_le_bytes()[..3]);
    zst.extend_from_slice(&data);
    zst.extend_from_slice(&[0x01, 0x00, 0x00]);
    runtime_test(assert_bad_object(
        "zstd-short-frame",
        Bad {
            key: "clicks/short.pb.zst",
            error: &format!(
                "zstd input at byte 0: the frame declares {declared} bytes of content and holds {}",
                data.len()
            ),
            data: zst,
            byte_offset: json!(0),
            ..Bad::default()
        },
        |_| {},
    ));
}

#[test]
fn multi_member_gzip_lands_every_member() {
    needs_moto!();
    let first = clicks(0..30);
    let second = clicks(30..75);
    let mut data = gzip(&frame(&first, Framing::Varint));
    data.extend(gzip(&frame(&second, Framing::Varint)));
    let all: Vec<Vec<u8>> = first.into_iter().chain(second).collect();
    runtime_test(assert_lands(
        "multi-member",
        "clicks/members.pb.gz",
        data,
        "ndjson/clicks/members.pb.gz.ndjson.gz",
        &expected_ndjson(&all),
    ));
}

#[test]
fn gzip_bomb_stops_at_the_decompressed_cap() {
    needs_moto!();
    // 256 MiB in a 256 KiB gzip, against a 16 MiB cap: varint frames of
    // 64 KiB of zeros in an unknown field (an object of zeros only is not
    // detected at all, see `object_of_zeros_is_not_detected_as_empty_messages`;
    // these are detected as varint, as real messages would be).
    let mut message = vec![0x7a];
    varint(64 << 10, &mut message);
    message.extend(vec![0u8; 64 << 10]);
    let framed = frame(&[message], Framing::Varint);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..(256 << 20) / framed.len() {
        e.write_all(&framed).unwrap();
    }
    let data = e.finish().unwrap();
    runtime_test(assert_bad_object(
        "gzip-bomb",
        Bad {
            key: "clicks/bomb.pb.gz",
            error: "decompressed data is over the 16 MiB limit",
            data,
            ..Bad::default()
        },
        |s| s.limits.max_decompressed_bytes = 16 << 20,
    ));
}

/// A gzip of zeros, read with an explicit framing, stops at the ratio
/// limit long before the 64 GiB cap (10 GiB of zeros ran 106 s): past
/// 256 MiB it is over 200 times its compressed size. (Frames of one unknown
/// 16 MiB field each, so that reading them costs nothing: with `auto`,
/// zeros are not detected at all, see below.)
#[test]
fn decompression_bomb_stops_at_the_compression_ratio() {
    needs_moto!();
    let mut message = vec![0x7a];
    varint(16 << 20, &mut message);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut prefix = Vec::new();
    varint((message.len() + (16 << 20)) as u64, &mut prefix);
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..20 {
        e.write_all(&prefix).unwrap();
        e.write_all(&message).unwrap();
        for _ in 0..16 {
            e.write_all(&zeros).unwrap();
        }
    }
    let data = e.finish().unwrap();
    assert!(data.len() < 400_000, "{}", data.len());
    runtime_test(assert_bad_object(
        "ratio-bomb",
        Bad {
            key: "clicks/ratio-bomb.pb.gz",
            error: "decompressed data is over 200 times its compressed size ({n} bytes from {n}), the limit that stops decompression bombs (PROTOLAND_MAX_COMPRESSION_RATIO, --max-compression-ratio)",
            data,
            ..Bad::default()
        },
        |s| s.framing = Framing::Varint,
    ));
}

/// zstd frames declare the window the decoder must hold: `zstd --long`
/// writes 128 MiB (four such 61 KB objects took a worker to 575 MiB;
/// `--long=31` frames failed with libzstd's "frame requires too much
/// memory"). Over `PROTOLAND_MAX_ZSTD_WINDOW` (8 MiB) the object is bad,
/// with the window, the limit and the setting; with the limit raised it
/// converts.
#[test]
fn zstd_frame_needing_a_window_over_the_limit_is_a_bad_object() {
    needs_moto!();
    let messages = clicks(0..200);
    let long = |window_log: u32| {
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        e.long_distance_matching(true).unwrap();
        e.window_log(window_log).unwrap();
        e.write_all(&frame(&messages, Framing::Varint)).unwrap();
        e.finish().unwrap()
    };
    for (log, window) in [(27, "128 MiB"), (31, "2 GiB")] {
        runtime_test(assert_bad_object(
            &format!("zstd-window-{log}"),
            Bad {
                key: "clicks/long.pb.zst",
                error: &format!(
                    "zstd input at byte 0: the frame needs a window of {window} (as `zstd --long` and `--ultra` levels write), over the 8 MiB limit (PROTOLAND_MAX_ZSTD_WINDOW, --max-zstd-window)"
                ),
                data: long(log),
                byte_offset: json!(0),
                ..Bad::default()
            },
            |_| {},
        ));
    }
    runtime_test(async {
        let b = buckets("zstd-window-raised");
        put(&b.raw_store, "clicks/long.pb.zst", long(27)).await;
        let mut s = b.settings(CLICK, b.direct());
        s.limits.max_zstd_window = 128 << 20;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, _) = pipeline
            .handle(sqs_event(&b.raw, &["clicks/long.pb.zst"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(
            gunzip(&get(&b.landing_store, "ndjson/clicks/long.pb.zst.ndjson.gz").await),
            expected_ndjson(&messages)
        );
    });
}

/// With `auto` framing, an object whose first bytes are all zero is not
/// read as empty messages (10 GiB of zeros read as fixed32 printed a `{}`
/// line per 4 bytes): it is a bad object saying so.
#[test]
fn object_of_zeros_is_not_detected_as_empty_messages() {
    needs_moto!();
    runtime_test(assert_bad_object(
        "zeros",
        Bad {
            key: "clicks/zeros.pb.gz",
            error: "no framing fits the input: the input's first 1048576 bytes are all zero, which varint and fixed32 would read as empty messages (give the framing if that is what it holds)",
            data: gzip(&vec![0; 4 << 20]),
            ..Bad::default()
        },
        |_| {},
    ));
}

// ---- Framing ----

#[test]
fn huge_length_prefix_fails_before_allocating() {
    needs_moto!();
    let good = clicks(0..2);
    let mut data = frame(&good, Framing::Varint);
    let at = data.len();
    varint(1 << 62, &mut data);
    data.extend_from_slice(b"\x0a\x01x");
    runtime_test(assert_bad_object(
        "huge-prefix",
        Bad {
            key: "clicks/huge.pb",
            error: &format!(
                "frame 2 at byte {at} is 4611686018427387904 bytes, over the 64 MiB limit"
            ),
            data,
            message_index: json!(2),
            byte_offset: json!(at),
            ..Bad::default()
        },
        |s| s.framing = Framing::Varint,
    ));
}

#[test]
fn truncated_last_frame_is_a_bad_object() {
    needs_moto!();
    let good = clicks(0..3);
    let mut data = frame(&good, Framing::Varint);
    let at = data.len();
    let last = click(3, 8);
    varint(last.len() as u64, &mut data);
    data.extend_from_slice(&last[..10]);
    runtime_test(assert_bad_object(
        "truncated-frame",
        Bad {
            key: "clicks/cut.pb",
            error: &format!(
                "frame 3 at byte {at} is truncated: its prefix says {} bytes but the input ends after 10",
                last.len()
            ),
            data,
            message_index: json!(3),
            byte_offset: json!(at),
            ..Bad::default()
        },
        |s| s.framing = Framing::Varint,
    ));
}

#[test]
fn zero_length_frame_is_an_empty_message() {
    needs_moto!();
    let messages = vec![click(0, 8), Vec::new(), click(1, 8)];
    let data = frame(&messages, Framing::Varint);
    let expected = expected_ndjson(&messages);
    assert!(
        String::from_utf8_lossy(&expected).lines().nth(1) == Some("{}"),
        "the empty message prints as {{}}"
    );
    runtime_test(assert_lands(
        "zero-length-frame",
        "clicks/zero.pb",
        data,
        "ndjson/clicks/zero.pb.ndjson.gz",
        &expected,
    ));
}

// ---- Messages ----

/// A `Node` nested `depth` levels (the top-level message is level 1).
fn nested(depth: usize) -> Vec<u8> {
    let mut node = Vec::new();
    string_field(2, "leaf", &mut node);
    for _ in 1..depth {
        let mut outer = Vec::new();
        varint(1 << 3 | 2, &mut outer);
        varint(node.len() as u64, &mut outer);
        outer.extend(node);
        node = outer;
    }
    node
}

#[test]
fn nesting_over_100_levels_is_a_bad_object() {
    needs_moto!();
    let data = frame(&[nested(100), nested(102)], Framing::Varint);
    // Message 1 starts after message 0 and the two 2-byte length prefixes;
    // the error is where its innermost message (level 102) starts.
    let at = nested(100).len() + 2 + 2;
    let path = vec!["child"; 101].join(".");
    runtime_test(assert_bad_object(
        "too-deep",
        Bad {
            key: "nodes/deep.pb",
            error: &format!(
                "message 1 at byte {at} does not decode: messages nested deeper than 100 levels at byte {} in field `{path}`",
                nested(102).len() - nested(1).len()
            ),
            data,
            message_index: json!(1),
            byte_offset: json!(at),
            field_path: json!(path),
        },
        |s| s.framing = Framing::Varint,
    ));
}

/// One message within every default limit whose JSON balloons: empty
/// children (`4a 00`), 60 KB gzipped, made one 2.28 GB line (2,249 MiB of
/// RSS) printed with emit_defaults. Here 60 MB of them (260 KB gzipped)
/// print `{}` each, 90 MB of JSON. The line limit (64 MiB) stops it while it is written.
/// The fast path hands it to the slow path (a later field might have
/// shortened it), which gathers the fields at 24 bytes each (12, doubled
/// for growth) against the same limit: the limit is reached at the
/// ⌈64 MiB / 24⌉th child.
#[test]
fn message_whose_json_line_is_over_the_limit_is_a_bad_object() {
    needs_moto!();
    let children = 30_000_000;
    let data = gzip(&frame(&[[0x4a, 0x00].repeat(children)], Framing::Varint));
    assert!(data.len() < 300_000, "{}", data.len());
    let gathered = (64usize << 20).div_ceil(24);
    runtime_test(assert_bad_object(
        "line-too-long",
        Bad {
            key: "trees/balloon.pb.gz",
            error: &format!(
                "message 0 at byte 4 makes a JSON line over the 64 MiB limit (PROTOLAND_MAX_LINE_BYTES, --max-line-bytes), at byte {}",
                2 * (gathered - 1)
            ),
            data,
            message_index: json!(0),
            byte_offset: json!(4),
            ..Bad::default()
        },
        |s| s.routes = parse_routes("trees/=acme.test.Tree").unwrap(),
    ));
}

#[test]
fn invalid_utf8_in_a_string_field_is_a_bad_object() {
    needs_moto!();
    let mut bad = Vec::new();
    varint(1 << 3 | 2, &mut bad);
    varint(4, &mut bad);
    bad.extend_from_slice(b"/a\xff\xfe");
    let good = clicks(0..2);
    // Message 2 starts after the good ones and its 1-byte prefix.
    let at = frame(&good, Framing::Varint).len() + 1;
    let data = frame(&[good[0].clone(), good[1].clone(), bad], Framing::Varint);
    runtime_test(assert_bad_object(
        "invalid-utf8",
        Bad {
            key: "clicks/utf8.pb",
            error: &format!(
                "message 2 at byte {at} does not decode: invalid UTF-8 in a string field at byte 4 in field `url`"
            ),
            data,
            message_index: json!(2),
            byte_offset: json!(at),
            field_path: json!("url"),
        },
        |s| s.framing = Framing::Varint,
    ));
}

#[test]
fn unknown_enum_value_prints_as_its_number() {
    needs_moto!();
    let mut message = click(5, 8);
    varint(5 << 3, &mut message);
    varint(7, &mut message);
    let messages = vec![click(4, 8), message];
    let expected = expected_ndjson(&messages);
    assert!(
        String::from_utf8_lossy(&expected).contains(r#""kind":7"#),
        "{}",
        String::from_utf8_lossy(&expected)
    );
    runtime_test(assert_lands(
        "unknown-enum",
        "clicks/enum.pb",
        frame(&messages, Framing::Varint),
        "ndjson/clicks/enum.pb.ndjson.gz",
        &expected,
    ));
}

#[test]
fn unresolvable_any_is_a_bad_object() {
    needs_moto!();
    let mut any = Vec::new();
    string_field(1, "type.googleapis.com/acme.Missing", &mut any);
    string_field(2, "\x08\x01", &mut any);
    let mut node = Vec::new();
    string_field(2, "with any", &mut node);
    varint(3 << 3 | 2, &mut node);
    varint(any.len() as u64, &mut node);
    node.extend(any);
    let data = frame(&[node], Framing::Varint);
    runtime_test(assert_bad_object(
        "unresolvable-any",
        Bad {
            key: "nodes/any.pb",
            error: "message 0 at byte 1 does not decode: Any type URL `type.googleapis.com/acme.Missing` does not name a message type in the schema at byte 12 in field `payload`",
            data,
            message_index: json!(0),
            byte_offset: json!(1),
            field_path: json!("payload"),
        },
        |s| s.framing = Framing::Varint,
    ));
}

#[test]
fn wrong_message_type_fails_when_the_bytes_do_not_parse() {
    needs_moto!();
    // Click's field 1 (a string such as "/page/0/…") read as Node's field
    // 1, a nested message: `/` is the tag of field 5 with wire type 7.
    let data = frame(&clicks(0..3), Framing::Varint);
    runtime_test(assert_bad_object(
        "wrong-type",
        Bad {
            key: "nodes/a-click.pb",
            error: "message 0 at byte 1 does not decode: invalid wire type 7 at byte 2 in field `child`",
            data,
            message_index: json!(0),
            byte_offset: json!(1),
            field_path: json!("child"),
        },
        |s| s.framing = Framing::Varint,
    ));
}

#[test]
fn wrong_message_type_converts_silently_when_the_bytes_parse() {
    needs_moto!();
    // Protobuf bytes do not name their type: Clicks read as `Order` keep
    // field 1 (a string either way) as `orderId`; Click's other fields are
    // unknown to Order and, as in Google's printer, left out.
    let messages = clicks(0..3);
    let schema = protoland_schema::Schema::from_proto_source("faults.proto", SCHEMA).unwrap();
    let plan = protoland_transcode::Plan::new(
        &schema.message("acme.test.Order").unwrap(),
        protoland_transcode::JsonOptions::default(),
    );
    let mut expected = Vec::new();
    for m in &messages {
        plan.transcode(m, &mut expected).unwrap();
        expected.push(b'\n');
    }
    assert!(
        String::from_utf8_lossy(&expected).starts_with(r#"{"orderId":"/page/0/"#),
        "{}",
        String::from_utf8_lossy(&expected)
    );
    runtime_test(async {
        let b = buckets("wrong-type-silent");
        put(
            &b.raw_store,
            "orders/clicks.pb",
            frame(&messages, Framing::Varint),
        )
        .await;
        let mut s = b.settings(CLICK, b.direct());
        s.routes = parse_routes("orders/=acme.test.Order").unwrap();
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, _) = pipeline
            .handle(sqs_event(&b.raw, &["orders/clicks.pb"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(
            gunzip(&get(&b.landing_store, "ndjson/orders/clicks.pb.ndjson.gz").await),
            expected
        );
    });
}

// ---- Memory ----

/// A Lambda whose memory cannot hold `PROTOLAND_CONCURRENCY` objects at
/// the worst case of the limits (a zstd window, two frames and a line per
/// thread and the writer's, three parts: some 340 MiB each with the
/// defaults) converts fewer at once, warning at start-up, rather than
/// being OOM-killed by hostile objects; when not even one fits it does not
/// start, naming the settings.
#[test]
fn lambda_without_the_memory_for_its_limits_lowers_the_concurrency_or_refuses() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("memory-fit");
        let good = clicks(0..3);
        for key in ["clicks/a.pb", "clicks/b.pb"] {
            put(&b.raw_store, key, frame(&good, Framing::Varint)).await;
        }
        let mut s = b.settings(CLICK, b.direct());
        s.concurrency = 4;
        s.memory_limit = Some(512 << 20);
        let pipeline = Pipeline::start(s.clone(), "lambda").await.unwrap();
        assert_eq!(pipeline.settings().concurrency, 1);
        let (response, stats) = pipeline
            .handle(sqs_event(&b.raw, &["clicks/a.pb", "clicks/b.pb"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.objects, 2);
        assert_eq!(
            b.landing_keys().await,
            [
                "ndjson/clicks/a.pb.ndjson.gz",
                "ndjson/clicks/b.pb.ndjson.gz"
            ]
        );
        // Limits sized for the data fit the configured concurrency.
        let mut small = s.clone();
        small.limits.max_frame_bytes = 8 << 20;
        small.limits.max_line_bytes = 8 << 20;
        small.part_size = 5 << 20;
        let pipeline = Pipeline::start(small, "lambda").await.unwrap();
        assert_eq!(pipeline.settings().concurrency, 4);

        s.memory_limit = Some(128 << 20);
        let err = Pipeline::start(s, "lambda").await.unwrap_err().to_string();
        assert!(
            err.starts_with(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 128 MB cannot hold one object at the worst case of the limits ("
            ) && err.ends_with("; lower those limits or give the function more memory"),
            "{err}"
        );
    });
}

// ---- The object store ----

#[test]
fn object_deleted_before_it_is_read_is_acknowledged_or_failed_by_policy() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("deleted");
        // The notification names an object that is gone (deleted, or
        // overwritten by a delete marker) by the time it is read.
        put(&b.raw_store, "clicks/gone.pb", click(1, 1)).await;
        b.raw_store
            .delete(&object_store::path::Path::from("clicks/gone.pb"))
            .await
            .unwrap();
        let pipeline = Pipeline::start(b.settings(CLICK, b.direct()), "lambda")
            .await
            .unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event(&b.raw, &["clicks/gone.pb"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!((stats.missing, stats.failures), (1, 0));

        let mut s = b.settings(CLICK, b.direct());
        s.on_missing_object = MissingPolicy::Fail;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event(&b.raw, &["clicks/gone.pb"]), None)
            .await;
        assert_eq!(response_json(&response), failed(&["m0"]));
        assert_eq!(stats.missing, 1);
        assert_eq!(
            b.direct_failure(&pipeline, "clicks/gone.pb").await,
            format!(
                "1 of 1 objects failed:\ns3://{}/clicks/gone.pb: object not found",
                b.raw
            )
        );
        assert!(b.landing_keys().await.is_empty());
    });
}

/// Objects big enough that their (uncompressed) output goes multipart in
/// 5 MiB parts: 3 parts (about 11 MB).
fn big_messages() -> Vec<Vec<u8>> {
    (0..30_000).map(|i| click(i, 300)).collect()
}

fn big_settings(b: &Buckets, proxy: &FaultProxy) -> Settings {
    let mut s = b.settings(CLICK, b.moto.storage_options_via(proxy.port));
    s.part_size = 5 << 20;
    s.output_compression = "none".parse().unwrap();
    s.storage.retry.backoff.init_backoff = Duration::from_millis(10);
    s
}

#[test]
fn s3_errors_mid_download_are_retried_until_the_object_lands_whole() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("mid-download");
        let proxy = FaultProxy::start(b.moto.port).await;
        let messages = big_messages();
        put(
            &b.raw_store,
            "clicks/big.pb",
            frame(&messages, Framing::Varint),
        )
        .await;
        // The body is cut after 3 MB, the connection dropped, then a 500:
        // object_store resumes the GET where it stopped, then retries.
        for kind in [
            FaultKind::CutBody { after: 3_000_000 },
            FaultKind::Drop,
            FaultKind::Status(500),
        ] {
            proxy.add(Fault {
                method: "GET",
                path_contains: "clicks/big.pb".into(),
                kind,
                times: 1,
            });
        }
        let pipeline = Pipeline::start(big_settings(&b, &proxy), "lambda")
            .await
            .unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event(&b.raw, &["clicks/big.pb"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.objects, 1);
        assert_eq!(proxy.injected(), 3);
        assert!(
            get(&b.landing_store, "ndjson/clicks/big.pb.ndjson").await
                == expected_ndjson(&messages)
        );
        assert!(b.open_uploads().is_empty());
    });
}

#[test]
fn s3_errors_mid_upload_are_retried_until_the_object_lands_whole() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("mid-upload");
        let proxy = FaultProxy::start(b.moto.port).await;
        let messages = big_messages();
        put(
            &b.raw_store,
            "clicks/big.pb",
            frame(&messages, Framing::Varint),
        )
        .await;
        // A part refused with 500 and one with SlowDown, the connection
        // dropped on another, and the completion refused once.
        for (method, path, kind) in [
            ("PUT", "partNumber=1", FaultKind::Status(500)),
            ("PUT", "partNumber=2", FaultKind::SlowDown),
            ("PUT", "partNumber=3", FaultKind::Drop),
            ("POST", "uploadId=", FaultKind::Status(503)),
        ] {
            proxy.add(Fault {
                method,
                path_contains: path.into(),
                kind,
                times: 1,
            });
        }
        let pipeline = Pipeline::start(big_settings(&b, &proxy), "lambda")
            .await
            .unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event(&b.raw, &["clicks/big.pb"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.objects, 1);
        assert_eq!(proxy.injected(), 4, "{:?}", proxy.injected_by_kind());
        assert_eq!(b.landing_keys().await, ["ndjson/clicks/big.pb.ndjson"]);
        assert!(
            get(&b.landing_store, "ndjson/clicks/big.pb.ndjson").await
                == expected_ndjson(&messages)
        );
        assert!(b.open_uploads().is_empty());
    });
}

#[test]
fn persistent_s3_errors_mid_upload_fail_the_message_and_abort_the_upload() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("upload-fails");
        let proxy = FaultProxy::start(b.moto.port).await;
        put(
            &b.raw_store,
            "clicks/big.pb",
            frame(&big_messages(), Framing::Varint),
        )
        .await;
        put(
            &b.raw_store,
            "clicks/small.pb",
            frame(&clicks(0..5), Framing::Varint),
        )
        .await;
        // Part 2 of the big object always fails with 500; the small
        // object's single PUT always fails with SlowDown.
        proxy.add(Fault {
            method: "PUT",
            path_contains: "partNumber=2".into(),
            kind: FaultKind::Status(500),
            times: usize::MAX,
        });
        proxy.add(Fault {
            method: "PUT",
            path_contains: "clicks/small.pb.ndjson".into(),
            kind: FaultKind::SlowDown,
            times: usize::MAX,
        });
        let mut s = big_settings(&b, &proxy);
        s.storage.retry.max_retries = 2;
        s.max_attempts = 2;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, stats) = pipeline
            .handle(
                sqs_event(&b.raw, &["clicks/big.pb", "clicks/small.pb"]),
                None,
            )
            .await;
        assert_eq!(response_json(&response), failed(&["m0", "m1"]));
        assert_eq!(stats.failures, 2);
        // 2 attempts × (1 request + 2 retries) for each object.
        assert_eq!(
            proxy.injected_by_kind(),
            [("500 InternalError", 6), ("503 SlowDown", 6)].into()
        );
        assert!(b.landing_keys().await.is_empty(), "no partial object");
        assert!(b.open_uploads().is_empty(), "every upload aborted");
        let text = b.direct_failure(&pipeline, "clicks/small.pb").await;
        eprintln!("{text}");
        assert!(
            text.starts_with(&format!(
                "1 of 1 objects failed:\ns3://{}/clicks/small.pb: converting s3://{}/clicks/small.pb: writing the output failed: writing s3://{}/ndjson/clicks/small.pb.ndjson: ",
                b.raw, b.raw, b.landing
            )),
            "{text}"
        );
    });
}

/// Parquet objects of [`big_messages`] with uncompressed pages in 1 MiB
/// row groups: several row groups, flushed one by one into a multipart
/// upload of 5 MiB parts.
fn parquet_settings(b: &Buckets, proxy: &FaultProxy) -> Settings {
    let mut s = big_settings(b, proxy);
    s.output_format = OutputFormat::Parquet;
    s.parquet.compression = PageCompression::None;
    s.parquet.row_group_bytes = 1 << 20;
    s
}

#[test]
fn parquet_upload_errors_mid_file_are_retried_until_the_file_lands_whole() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("parquet-mid-upload");
        let proxy = FaultProxy::start(b.moto.port).await;
        let messages = big_messages();
        put(
            &b.raw_store,
            "clicks/big.pb",
            frame(&messages, Framing::Varint),
        )
        .await;
        // Part 2 (row groups in the middle of the file) refused once.
        proxy.add(Fault {
            method: "PUT",
            path_contains: "partNumber=2".into(),
            kind: FaultKind::Status(500),
            times: 1,
        });
        let pipeline = Pipeline::start(parquet_settings(&b, &proxy), "lambda")
            .await
            .unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event(&b.raw, &["clicks/big.pb"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.objects, 1);
        assert_eq!(proxy.injected(), 1, "{:?}", proxy.injected_by_kind());
        assert_eq!(b.landing_keys().await, ["ndjson/clicks/big.pb.parquet"]);
        let landed = get(&b.landing_store, "ndjson/clicks/big.pb.parquet").await;
        assert!(landed.len() > 5 << 20, "{} bytes: 2 parts", landed.len());
        let read = pyarrow_read(&landed);
        assert!(read.row_groups > 1, "{} row groups", read.row_groups);
        assert_eq!(read.rows.len(), messages.len());
        assert!(read.rows == expected_click_rows(&messages));
        assert!(b.open_uploads().is_empty());
    });
}

#[test]
fn persistent_errors_mid_parquet_upload_fail_the_message_and_leave_nothing() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("parquet-upload-fails");
        let proxy = FaultProxy::start(b.moto.port).await;
        put(
            &b.raw_store,
            "clicks/big.pb",
            frame(&big_messages(), Framing::Varint),
        )
        .await;
        proxy.add(Fault {
            method: "PUT",
            path_contains: "partNumber=2".into(),
            kind: FaultKind::Status(500),
            times: usize::MAX,
        });
        let mut s = parquet_settings(&b, &proxy);
        s.storage.retry.max_retries = 2;
        s.max_attempts = 2;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event(&b.raw, &["clicks/big.pb"]), None)
            .await;
        assert_eq!(response_json(&response), failed(&["m0"]));
        assert_eq!(stats.failures, 1);
        // 2 attempts × (1 request + 2 retries): the message was retried.
        assert_eq!(proxy.injected_by_kind(), [("500 InternalError", 6)].into());
        assert!(b.landing_keys().await.is_empty(), "no partial object");
        assert!(b.open_uploads().is_empty(), "every upload aborted");
    });
}

// ---- The invocation ----

#[test]
fn deadline_reached_mid_object_fails_it_and_leaves_nothing_behind() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("deadline-mid-object");
        let proxy = FaultProxy::start(b.moto.port).await;
        put(
            &b.raw_store,
            "clicks/big.pb",
            frame(&big_messages(), Framing::Varint),
        )
        .await;
        put(&b.raw_store, "clicks/small.pb", click(1, 1)).await;
        // The big object's upload is under way when the deadline comes:
        // every part is held up 2 s.
        proxy.add(Fault {
            method: "PUT",
            path_contains: "partNumber=".into(),
            kind: FaultKind::Delay(Duration::from_secs(2)),
            times: usize::MAX,
        });
        let mut s = big_settings(&b, &proxy);
        s.deadline_margin = Duration::from_millis(500);
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        // The same as a direct S3-event invocation (for the error text).
        let direct: Value = serde_json::from_str(&notification(&b.raw, "clicks/big.pb")).unwrap();
        let ((response, stats), (direct, _)) = tokio::join!(
            pipeline.handle(
                sqs_event(&b.raw, &["clicks/big.pb", "clicks/small.pb"]),
                Some(deadline),
            ),
            pipeline.handle(Invocation::from_value(direct).unwrap(), Some(deadline)),
        );
        assert!(tokio::time::Instant::now() < deadline, "answered in time");
        assert_eq!(response_json(&response), failed(&["m0"]));
        assert_eq!((stats.objects, stats.failures), (1, 1));
        let source = format!("s3://{}/clicks/big.pb", b.raw);
        assert_eq!(
            direct.into_result().unwrap_err(),
            format!(
                "1 of 1 objects failed:\n{source}: {source}: the invocation deadline was reached while converting"
            )
        );
        // Nothing of the cut object appears later either: uncut, its three
        // parts would have been uploaded by now.
        tokio::time::sleep(Duration::from_secs(7)).await;
        assert_eq!(b.landing_keys().await, ["ndjson/clicks/small.pb.ndjson"]);
        assert!(b.open_uploads().is_empty(), "the cut upload was aborted");
    });
}

#[test]
fn message_delivered_twice_at_once_lands_one_object_with_the_same_bytes() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("twice-at-once");
        let messages = big_messages();
        put(
            &b.raw_store,
            "clicks/twice.pb",
            frame(&messages, Framing::Varint),
        )
        .await;
        let mut s = b.settings(CLICK, b.direct());
        s.part_size = 5 << 20;
        s.output_compression = "none".parse().unwrap();
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        // Two consumers got the same message (at-least-once delivery) and
        // convert it at the same time.
        let (first, second) = tokio::join!(
            pipeline.handle(sqs_event(&b.raw, &["clicks/twice.pb"]), None),
            pipeline.handle(sqs_event(&b.raw, &["clicks/twice.pb"]), None),
        );
        assert_eq!(response_json(&first.0), no_failures());
        assert_eq!(response_json(&second.0), no_failures());
        assert_eq!(b.landing_keys().await, ["ndjson/clicks/twice.pb.ndjson"]);
        assert!(
            get(&b.landing_store, "ndjson/clicks/twice.pb.ndjson").await
                == expected_ndjson(&messages)
        );
        assert!(b.open_uploads().is_empty());
    });
}

/// `inner`'s objects with their last byte in a buffer that panics when
/// dropped. The reader drops it on the blocking thread that converts the
/// object, once the rest of the output is written and its upload under
/// way: a panic where a transcoder bug would panic (no real input is known
/// to), without a hook in the pipeline.
#[derive(Debug)]
struct PanicsOnLastByte(Arc<dyn ObjectStore>);

/// What `PanicsOnLastByte` panics with.
const LAST_BYTE_PANIC: &str = "the last byte of the object panicked when dropped";

struct LastByte(bytes::Bytes);

impl AsRef<[u8]> for LastByte {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for LastByte {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{LAST_BYTE_PANIC}");
        }
    }
}

impl std::fmt::Display for PanicsOnLastByte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PanicsOnLastByte({})", self.0)
    }
}

#[async_trait::async_trait]
impl ObjectStore for PanicsOnLastByte {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.0.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.0.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        use futures::StreamExt as _;
        let head = options.head;
        let got = self.0.get_opts(location, options).await?;
        if head {
            return Ok(got);
        }
        let (meta, range, attributes, extensions) = (
            got.meta.clone(),
            got.range.clone(),
            got.attributes.clone(),
            got.extensions.clone(),
        );
        let bytes = got.bytes().await?;
        let last = bytes.len().saturating_sub(1);
        let chunks = [
            Ok(bytes.slice(..last)),
            Ok(bytes::Bytes::from_owner(LastByte(bytes.slice(last..)))),
        ];
        Ok(object_store::GetResult {
            payload: object_store::GetResultPayload::Stream(futures::stream::iter(chunks).boxed()),
            meta,
            range,
            attributes,
            extensions,
        })
    }

    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<
            'static,
            object_store::Result<object_store::path::Path>,
        >,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::path::Path>> {
        self.0.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.0.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&object_store::path::Path>,
        offset: &object_store::path::Path,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.0.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.0.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.0.copy_opts(from, to, options).await
    }
}

#[test]
fn panic_in_one_object_fails_only_its_message() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("panic");
        let key = "clicks/panics.pb";
        put(&b.raw_store, key, frame(&big_messages(), Framing::Varint)).await;
        put(
            &b.raw_store,
            "clicks/ok.pb",
            frame(&clicks(0..4), Framing::Varint),
        )
        .await;
        let mut s = b.settings(CLICK, b.direct());
        s.part_size = 5 << 20;
        s.output_compression = "none".parse().unwrap();
        // Quarantine does not apply: a panic is not the object's fault.
        s.on_bad_object = BadObjectPolicy::Quarantine;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        // The panicking object, read through the panicking store, while a
        // batch with another object runs beside it.
        let source = SourceStore {
            store: Arc::new(PanicsOnLastByte(Arc::clone(&b.raw_store))),
            location: Location::parse(&format!("s3://{}", b.raw)).unwrap(),
        };
        let object = ObjectRef::new(b.raw.clone(), key);
        let (outcome, (response, stats)) = tokio::join!(
            pipeline.process(&object, Some(&source), None),
            pipeline.handle(sqs_event(&b.raw, &["clicks/ok.pb"]), None),
        );
        let url = format!("s3://{}/{key}", b.raw);
        assert_eq!(
            outcome,
            ObjectOutcome::Failed {
                error: format!("converting {url} panicked: {LAST_BYTE_PANIC}"),
                transient: false,
            }
        );
        assert_eq!(response_json(&response), no_failures());
        assert_eq!((stats.objects, stats.failures), (1, 0));
        assert_eq!(b.landing_keys().await, ["ndjson/clicks/ok.pb.ndjson"]);
        assert!(b.open_uploads().is_empty(), "its upload was aborted");
        // The pipeline goes on serving, the same object included.
        let (response, _) = pipeline
            .handle(sqs_event(&b.raw, &["clicks/ok.pb", key]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
    });
}

/// Two sources that once shared a landing key silently (a template without
/// the folder: `a/x.pb` and `b/x.pb` both rendered `dt=…/x.ndjson.gz`, and
/// the second replaced the first's 201 lines with its 1). Now the first
/// lands, and the second fails (or is quarantined with a report naming
/// both) while the landing object keeps the first's lines whole; the first
/// source, redelivered, still overwrites its own output.
#[test]
fn a_landing_key_held_by_another_source_is_never_overwritten() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("landing_taken");
        let first = clicks(0..201);
        let second = clicks(500..501);
        put(&b.raw_store, "a/x.pb", frame(&first, Framing::Varint)).await;
        put(&b.raw_store, "b/x.pb", frame(&second, Framing::Varint)).await;
        let landing_key = "ndjson/dt=2024-03-07/x.ndjson.gz";
        let settings = |policy| {
            let mut s = b.settings(CLICK, b.direct());
            s.key_template = KeyTemplate::parse("{prefix}/dt={date}/{file_stem}{ext}").unwrap();
            s.on_bad_object = policy;
            s
        };
        let pipeline = Pipeline::start(settings(BadObjectPolicy::Fail), "lambda")
            .await
            .unwrap();
        let (response, _) = pipeline.handle(sqs_event(&b.raw, &["a/x.pb"]), None).await;
        assert_eq!(response_json(&response), no_failures());
        let (response, stats) = pipeline.handle(sqs_event(&b.raw, &["b/x.pb"]), None).await;
        assert_eq!(response_json(&response), failed(&["m0"]));
        assert_eq!((stats.objects, stats.failures), (0, 1));
        let (a, bx) = (
            format!("s3://{}/a/x.pb", b.raw),
            format!("s3://{}/b/x.pb", b.raw),
        );
        let landing = format!("s3://{}/{landing_key}", b.landing);
        assert_eq!(
            b.direct_failure(&pipeline, "b/x.pb").await,
            format!(
                "1 of 1 objects failed:\n{bx}: landing {bx}: {landing} holds the output of {a}; not overwriting it (two sources map to one landing key: give PROTOLAND_KEY_TEMPLATE more of the source key, such as {{key}})"
            )
        );
        assert_eq!(b.landing_keys().await, [landing_key]);
        assert!(gunzip(&get(&b.landing_store, landing_key).await) == expected_ndjson(&first));
        // The first source again: its own output, overwritten with the same bytes.
        let (response, stats) = pipeline.handle(sqs_event(&b.raw, &["a/x.pb"]), None).await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.objects, 1);

        let pipeline = Pipeline::start(settings(BadObjectPolicy::Quarantine), "lambda")
            .await
            .unwrap();
        let (response, stats) = pipeline.handle(sqs_event(&b.raw, &["b/x.pb"]), None).await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.quarantined, 1);
        let report: Value = serde_json::from_slice(
            &get(
                &b.landing_store,
                &format!("ndjson/_quarantine/{}/b/x.pb.error.json", b.raw),
            )
            .await,
        )
        .unwrap();
        assert_eq!(report["source"], bx.as_str(), "{report}");
        assert_eq!(report["landing"], landing.as_str(), "{report}");
        assert_eq!(report["landingHoldsOutputOf"], a.as_str(), "{report}");
        assert!(gunzip(&get(&b.landing_store, landing_key).await) == expected_ndjson(&first));

        // Both in one batch, converting at the same time: one lands whole,
        // the other's message fails.
        let mut s = settings(BadObjectPolicy::Fail);
        s.key_template = KeyTemplate::parse("{prefix}/together/{file_stem}{ext}").unwrap();
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event(&b.raw, &["a/x.pb", "b/x.pb"]), None)
            .await;
        assert_eq!((stats.objects, stats.failures), (1, 1), "{response:?}");
        let failed_id = response_json(&response)["batchItemFailures"][0]["itemIdentifier"].clone();
        let landed = gunzip(&get(&b.landing_store, "ndjson/together/x.ndjson.gz").await);
        let winner = if failed_id == "m1" { &first } else { &second };
        assert!(landed == expected_ndjson(winner), "{failed_id}");
        assert!(b.open_uploads().is_empty());
    });
}

/// The landing and quarantine locations inside the notified bucket: each
/// landing object and report is notified in turn, and converting those
/// wrote reports about reports (1,818 of them, keys up to 65 KB). Each is
/// acknowledged and skipped by its source record, not by its name: nothing
/// new is written, so the loop stops at once, while a source merely named
/// like output still converts.
#[test]
fn objects_protoland_wrote_are_skipped_not_converted() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("own_output");
        put(
            &b.raw_store,
            "clicks/a.pb",
            frame(&clicks(0..3), Framing::Varint),
        )
        .await;
        put(
            &b.raw_store,
            "clicks/bad.pb",
            b"\xff\xfe not protobuf".to_vec(),
        )
        .await;
        let named_like_output = "clicks/looks-like-output.ndjson.gz";
        put(
            &b.raw_store,
            named_like_output,
            frame(&clicks(3..5), Framing::Varint),
        )
        .await;
        let mut s = b.settings(CLICK, b.direct());
        s.landing = Location::parse(&format!("s3://{}/landing", b.raw)).unwrap();
        s.quarantine = s.landing.join("_quarantine");
        s.on_bad_object = BadObjectPolicy::Quarantine;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let sources = ["clicks/a.pb", "clicks/bad.pb", named_like_output];
        let (response, stats) = pipeline.handle(sqs_event(&b.raw, &sources), None).await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!((stats.objects, stats.quarantined), (2, 1));
        let written: Vec<String> = keys(&b.raw_store)
            .await
            .into_iter()
            .filter(|k| k.starts_with("landing/"))
            .collect();
        assert_eq!(
            written,
            [
                format!("landing/_quarantine/{}/clicks/bad.pb.error.json", b.raw),
                "landing/clicks/a.pb.ndjson.gz".to_owned(),
                "landing/clicks/looks-like-output.ndjson.gz.ndjson.gz".to_owned(),
            ]
        );
        let before = keys(&b.raw_store).await;
        let notified: Vec<&str> = written.iter().map(String::as_str).collect();
        let (response, stats) = pipeline.handle(sqs_event(&b.raw, &notified), None).await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(
            (
                stats.own_output,
                stats.objects,
                stats.quarantined,
                stats.failures
            ),
            (3, 0, 0, 0)
        );
        assert_eq!(keys(&b.raw_store).await, before, "nothing new was written");
    });
}

/// A key with control characters (S3 allows them; `object_store` cannot
/// address them): a bad object of its own, whose report key escapes them,
/// and whose error text shows them escaped, so that a key cannot forge a
/// line of the text log. The good object in the batch lands.
#[test]
fn a_key_with_control_characters_is_a_bad_object_of_its_own() {
    needs_moto!();
    runtime_test(async {
        let b = buckets("control_key");
        let key = "clicks/ctrl\u{1}\nINFO forged.pb";
        put(
            &b.raw_store,
            "clicks/good.pb",
            frame(&clicks(0..2), Framing::Varint),
        )
        .await;
        let pipeline = Pipeline::start(b.settings(CLICK, b.direct()), "lambda")
            .await
            .unwrap();
        let (response, _) = pipeline
            .handle(sqs_event(&b.raw, &[key, "clicks/good.pb"]), None)
            .await;
        assert_eq!(response_json(&response), failed(&["m0"]));
        let text = b.direct_failure(&pipeline, key).await;
        let shown = "clicks/ctrl\\u{1}\\u{a}INFO forged.pb";
        let expected = format!(
            "1 of 1 objects failed:\ns3://{}/{shown}: key `{shown}` cannot be addressed: ",
            b.raw
        );
        assert!(text.starts_with(&expected), "{text}");
        assert!(!text.contains('\u{1}'), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");

        let mut s = b.settings(CLICK, b.direct());
        s.on_bad_object = BadObjectPolicy::Quarantine;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, stats) = pipeline.handle(sqs_event(&b.raw, &[key]), None).await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.quarantined, 1);
        let report: Value = serde_json::from_slice(
            &get(
                &b.landing_store,
                &format!(
                    "ndjson/_quarantine/{}/clicks/ctrl%01%0AINFO forged.pb.error.json",
                    b.raw
                ),
            )
            .await,
        )
        .unwrap();
        assert_eq!(report["key"], key, "{report}");
    });
}
