//! What the unit tests of the walker's parts share: a plan compiled from
//! `.proto` text, wire bytes built field by field, and the JSON (or the
//! error) a plan makes of them.

use protoland_schema::Schema;

use crate::{JsonOptions, Plan};

/// Compiles `t.{message}` of a proto3 file (package `t`) holding `body`,
/// which may import the well-known types.
pub(super) fn plan(body: &str, message: &str) -> Plan {
    plan_with(body, message, JsonOptions::default())
}

/// [`plan`] with `options`.
pub(super) fn plan_with(body: &str, message: &str, options: JsonOptions) -> Plan {
    let source = format!("syntax = \"proto3\"; package t; {body}");
    let schema = Schema::from_proto_source("t.proto", &source)
        .unwrap_or_else(|e| panic!("test schema compiles: {e}"));
    let descriptor = schema
        .message(&format!("t.{message}"))
        .unwrap_or_else(|e| panic!("test message exists: {e}"));
    Plan::new(&descriptor, options)
}

/// The JSON `plan` writes for `wire`, or the error's text.
pub(super) fn json(plan: &Plan, wire: &Wire) -> Result<String, String> {
    let mut out = Vec::new();
    plan.transcode(&wire.0, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).expect("JSON is UTF-8"))
}

/// Protobuf wire bytes, one field at a time.
#[derive(Debug, Default, Clone)]
pub(super) struct Wire(pub(super) Vec<u8>);

impl Wire {
    pub(super) fn new() -> Wire {
        Wire::default()
    }

    fn raw_varint(mut self, mut v: u64) -> Wire {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }

    fn tag(self, number: u32, wire_type: u8) -> Wire {
        self.raw_varint(u64::from(number << 3 | u32::from(wire_type)))
    }

    /// A varint field.
    pub(super) fn varint(self, number: u32, v: u64) -> Wire {
        self.tag(number, 0).raw_varint(v)
    }

    /// A 64-bit fixed-size field.
    pub(super) fn fixed64(self, number: u32, v: u64) -> Wire {
        let mut w = self.tag(number, 1);
        w.0.extend_from_slice(&v.to_le_bytes());
        w
    }

    /// A 32-bit fixed-size field.
    pub(super) fn fixed32(self, number: u32, v: u32) -> Wire {
        let mut w = self.tag(number, 5);
        w.0.extend_from_slice(&v.to_le_bytes());
        w
    }

    /// A length-delimited field.
    pub(super) fn bytes(self, number: u32, contents: &[u8]) -> Wire {
        let mut w = self.tag(number, 2).raw_varint(contents.len() as u64);
        w.0.extend_from_slice(contents);
        w
    }

    /// A length-delimited field holding a message.
    pub(super) fn message(self, number: u32, m: Wire) -> Wire {
        self.bytes(number, &m.0)
    }
}
