//! Test inputs built at test time: the `acme.test.Click` schema and wire
//! bytes, framed as varint or fixed32 streams, gzip in and out, and the
//! NDJSON the transcoder gives for them.

use std::path::Path;
use std::sync::Arc;

use protoland_pipeline_core::SchemaSource;
use protoland_schema::Schema;
use protoland_stream::Framing;
use protoland_transcode::{JsonOptions, Plan};

/// The schema of the test messages.
pub const CLICK_PROTO: &str = r#"
syntax = "proto3";
package acme.test;
message Click {
  enum Kind { KIND_UNSPECIFIED = 0; VIEW = 1; BUY = 2; }
  string url = 1;
  int64 user_id = 2;
  repeated string tags = 3;
  double score = 4;
  Kind kind = 5;
}
"#;
/// Their message type.
pub const CLICK_MESSAGE: &str = "acme.test.Click";

/// The schema as the pipeline loads it (bytes in memory).
pub fn click_schema_source() -> SchemaSource {
    SchemaSource::Bytes {
        name: "click.proto".into(),
        bytes: Arc::from(CLICK_PROTO.as_bytes()),
    }
}

/// The transcoder for `acme.test.Click`.
pub fn click_plan() -> Plan {
    let schema = Schema::from_proto_source("click.proto", CLICK_PROTO).unwrap();
    Plan::new(
        &schema.message(CLICK_MESSAGE).unwrap(),
        JsonOptions::default(),
    )
}

/// Appends `v` as a protobuf varint.
pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-delimited string field.
pub fn string_field(field: u32, s: &str, out: &mut Vec<u8>) {
    varint(u64::from(field << 3 | 2), out);
    varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

/// Click number `i` (wire bytes of `acme.test.Click`), with text of `pad` pseudo-random characters.
pub fn click(i: u64, pad: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let noise: String = (0..pad)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
        })
        .collect();
    string_field(1, &format!("/page/{i}/{noise}"), &mut out);
    varint(2 << 3, &mut out);
    varint(i * 7919, &mut out);
    string_field(3, "tag é ✓", &mut out);
    string_field(3, &format!("t{}", i % 5), &mut out);
    out.push(4 << 3 | 1);
    out.extend_from_slice(&(i as f64 / 3.0).to_le_bytes());
    varint(5 << 3, &mut out);
    varint(i % 3, &mut out);
    out
}

/// Writes `click.proto` ([`CLICK_PROTO`]) and `clicks.pb` into `dir`:
/// clicks 0 to `count` (text of 100 characters each) as one varint stream,
/// what `protoland convert -s click.proto -m acme.test.Click -f varint
/// clicks.pb` reads there. Returns the messages.
pub fn click_files(dir: &Path, count: u64) -> Vec<Vec<u8>> {
    let messages: Vec<Vec<u8>> = (0..count).map(|i| click(i, 100)).collect();
    std::fs::write(dir.join("click.proto"), CLICK_PROTO).unwrap();
    std::fs::write(dir.join("clicks.pb"), frame(&messages, Framing::Varint)).unwrap();
    messages
}

/// Runs `protoland convert -s click.proto -m acme.test.Click -f varint -o
/// OUTPUT EXTRA… clicks.pb` in `dir` (the files [`click_files`] writes),
/// with `protoland` the binary under test; panics with its stderr when it
/// fails.
pub fn convert_click_files(protoland: &Path, dir: &Path, output: &Path, extra: &[&str]) {
    let out = std::process::Command::new(protoland)
        .current_dir(dir)
        .args(["convert", "-s", "click.proto", "-m", CLICK_MESSAGE])
        .args(["-f", "varint", "-o"])
        .arg(output)
        .args(extra)
        .arg("clicks.pb")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "convert {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `messages` as one stream in `framing` (no prefixes for the others).
pub fn frame(messages: &[Vec<u8>], framing: Framing) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        match framing {
            Framing::Varint => varint(m.len() as u64, &mut out),
            Framing::Fixed32 => out.extend_from_slice(&(m.len() as u32).to_be_bytes()),
            _ => {}
        }
        out.extend_from_slice(m);
    }
    out
}

/// `data` as one gzip member (default level).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_at(data, flate2::Compression::default())
}

/// `data` as one gzip member at `level`.
pub fn gzip_at(data: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Decompresses every gzip member of `data` (panics on corrupt data).
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// How many gzip members `data` holds, each read to its end (its CRC and
/// length checked); panics on corrupt data or anything after the last.
pub fn gzip_members(mut data: &[u8]) -> usize {
    let mut members = 0;
    while !data.is_empty() {
        let mut decoder = flate2::bufread::GzDecoder::new(data);
        std::io::copy(&mut decoder, &mut std::io::sink()).unwrap();
        assert!(decoder.header().is_some(), "member {members} has no header");
        data = decoder.into_inner();
        members += 1;
    }
    members
}

/// The expected landing object content: the transcoder's output per message.
pub fn expected_ndjson(messages: &[Vec<u8>]) -> Vec<u8> {
    let plan = click_plan();
    let mut out = Vec::new();
    for m in messages {
        plan.transcode(m, &mut out).unwrap();
        out.push(b'\n');
    }
    out
}
