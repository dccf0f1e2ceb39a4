//! Test helpers: readers that split the input, encoders, and messages of a
//! small schema built at test time.

use std::io::{self, Read, Write};

use prost::Message as _;
use prost_reflect::{DynamicMessage, Value};
use protoland_schema::Schema;
use protoland_transcode::{JsonOptions, Plan};

/// The schema of the tests' messages.
pub(crate) const CLICK_PROTO: &str = r#"
syntax = "proto3";
package acme;

message Click {
  string url = 1;
  int64 user_id = 2;
  repeated string tags = 3;
  double score = 4;
}
"#;

pub(crate) fn click_schema() -> Schema {
    Schema::from_proto_source("acme/click.proto", CLICK_PROTO).expect("test schema compiles")
}

pub(crate) fn click_plan() -> Plan {
    let schema = click_schema();
    Plan::new(
        &schema.message("acme.Click").expect("acme.Click exists"),
        JsonOptions::default(),
    )
}

/// `n` varied, encoded `acme.Click` messages (some empty).
pub(crate) fn clicks(n: usize) -> Vec<Vec<u8>> {
    let schema = click_schema();
    let descriptor = schema.message("acme.Click").expect("acme.Click exists");
    (0..n)
        .map(|i| {
            let mut m = DynamicMessage::new(descriptor.clone());
            if i % 7 != 6 {
                m.set_field_by_name("url", Value::String(format!("/page/{i}")));
            }
            if i % 3 != 0 {
                m.set_field_by_name("user_id", Value::I64(i as i64 * 7919));
            }
            if i % 4 == 1 {
                m.set_field_by_name(
                    "tags",
                    Value::List(vec![
                        Value::String("a".into()),
                        Value::String(i.to_string()),
                    ]),
                );
            }
            if i % 5 == 2 {
                m.set_field_by_name("score", Value::F64(i as f64 / 8.0));
            }
            m.encode_to_vec()
        })
        .collect()
}

/// A 43-byte input that is a varint stream of one `acme.Click` (prefix
/// 0x2a, 42 bytes) and also decodes as a single `acme.Click` with one
/// unknown field (the prefix reads as the tag of field 5, length-delimited,
/// holding the url field).
pub(crate) fn ambiguous_one_message_stream() -> Vec<u8> {
    let mut message = vec![0x0a, 9];
    message.extend(b"/ambiguou");
    message.extend([0x10, 0x2a]);
    message.extend([0x1a, 27]);
    message.extend([b'x'; 27]);
    assert_eq!(message.len(), 0x2a);
    frame_varint(&[message])
}

pub(crate) fn frame_varint(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        prost::encoding::encode_varint(m.len() as u64, &mut out);
        out.extend_from_slice(m);
    }
    out
}

pub(crate) fn frame_fixed32(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(&u32::try_from(m.len()).expect("small").to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

/// One gzip member holding `data`.
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("in memory");
    e.finish().expect("in memory")
}

/// One zstd frame holding `data`, with a content checksum.
pub(crate) fn zstd_frame(data: &[u8]) -> Vec<u8> {
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd encoder");
    e.include_checksum(true).expect("zstd parameter");
    e.write_all(data).expect("in memory");
    e.finish().expect("in memory")
}

/// A reader over `data` that returns short reads: each read stops at the
/// next cut point.
pub(crate) struct ShortReads<'a> {
    data: &'a [u8],
    pos: usize,
    cuts: Vec<usize>,
}

impl<'a> ShortReads<'a> {
    /// Reads stop at each offset in `cuts` (any order, out of range ignored).
    pub(crate) fn at(data: &'a [u8], cuts: &[usize]) -> Self {
        let mut cuts: Vec<usize> = cuts.iter().copied().filter(|&c| c < data.len()).collect();
        cuts.sort_unstable();
        cuts.dedup();
        ShortReads { data, pos: 0, cuts }
    }

    /// Reads of at most `step` bytes.
    pub(crate) fn every(data: &'a [u8], step: usize) -> Self {
        let cuts: Vec<usize> = (step..data.len()).step_by(step.max(1)).collect();
        ShortReads { data, pos: 0, cuts }
    }
}

impl Read for ShortReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let i = self.cuts.partition_point(|&c| c <= self.pos);
        let next_cut = self.cuts.get(i).copied().unwrap_or(self.data.len());
        let n = buf.len().min(next_cut - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
