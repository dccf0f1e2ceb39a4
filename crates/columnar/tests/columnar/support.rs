//! Schemas from source, messages from text format, rows read back.

use arrow_array::RecordBatch;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use protoland_columnar::{Columns, ParquetOptions, RowsBuilder};
use protoland_schema::Schema;
use protoland_transcode::JsonOptions;

/// The message type `name` of `source` (package `t`).
pub(crate) fn message(source: &str, name: &str) -> MessageDescriptor {
    let schema = Schema::from_proto_source("t.proto", source).unwrap();
    schema.message(&format!("t.{name}")).unwrap()
}

pub(crate) fn columns(source: &str, name: &str) -> Columns {
    Columns::new(
        &message(source, name),
        JsonOptions::default(),
        &ParquetOptions::default(),
    )
    .unwrap()
}

/// A message's wire bytes from its text format.
pub(crate) fn wire(m: &MessageDescriptor, text: &str) -> Vec<u8> {
    use prost::Message as _;
    DynamicMessage::parse_text_format(m.clone(), text)
        .unwrap()
        .encode_to_vec()
}

/// The rows of `wires`, as one batch.
pub(crate) fn rows(columns: &Columns, wires: &[&[u8]]) -> RecordBatch {
    let mut b = RowsBuilder::new(columns);
    for w in wires {
        b.append(w).unwrap();
    }
    b.finish()
}

/// Builds wire bytes by hand, for what text format cannot say (fields
/// repeated, out of order, packed and unpacked mixed, unknown fields).
#[derive(Default, Clone)]
pub(crate) struct Wire(pub(crate) Vec<u8>);

impl Wire {
    pub(crate) fn new() -> Wire {
        Wire::default()
    }

    fn tag(mut self, n: u32, wt: u8) -> Wire {
        varint(&mut self.0, u64::from(n << 3 | u32::from(wt)));
        self
    }

    pub(crate) fn varint(self, n: u32, v: u64) -> Wire {
        let mut w = self.tag(n, 0);
        varint(&mut w.0, v);
        w
    }

    pub(crate) fn bytes(self, n: u32, b: &[u8]) -> Wire {
        let mut w = self.tag(n, 2);
        varint(&mut w.0, b.len() as u64);
        w.0.extend_from_slice(b);
        w
    }

    pub(crate) fn message(self, n: u32, m: Wire) -> Wire {
        self.bytes(n, &m.0)
    }

    pub(crate) fn group(self, n: u32, m: Wire) -> Wire {
        let mut w = self.tag(n, 3);
        w.0.extend_from_slice(&m.0);
        w.tag(n, 4)
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
