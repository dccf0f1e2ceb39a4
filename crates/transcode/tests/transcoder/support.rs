//! Fixtures and a small protobuf wire builder.

use std::path::Path;
use std::sync::OnceLock;

use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use protoland_schema::Schema;
use protoland_transcode::{JsonOptions, Plan, TranscodeError};

/// The fixture schemas (`tests/fixtures/*.proto`), compiled once.
pub(crate) fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        Schema::load([dir.join("shop.proto"), dir.join("legacy.proto")], [&dir])
            .expect("fixture schemas compile")
    })
}

pub(crate) fn message(name: &str) -> MessageDescriptor {
    schema().message(name).expect("fixture message exists")
}

pub(crate) fn plan(name: &str, options: JsonOptions) -> Plan {
    Plan::new(&message(name), options)
}

/// Encodes a text-format message.
pub(crate) fn text(name: &str, text: &str) -> Vec<u8> {
    DynamicMessage::parse_text_format(message(name), text)
        .unwrap_or_else(|e| panic!("text format for {name}: {e}"))
        .encode_to_vec()
}

pub(crate) fn transcode(
    name: &str,
    options: JsonOptions,
    wire: &[u8],
) -> Result<String, TranscodeError> {
    let mut out = Vec::new();
    plan(name, options).transcode(wire, &mut out)?;
    Ok(String::from_utf8(out).expect("JSON output is UTF-8"))
}

pub(crate) fn json(name: &str, wire: &[u8]) -> String {
    transcode(name, JsonOptions::default(), wire).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(crate) fn error(name: &str, wire: &[u8]) -> String {
    match transcode(name, JsonOptions::default(), wire) {
        Ok(json) => panic!("{name}: expected an error, got {json}"),
        Err(e) => e.to_string(),
    }
}

/// Protobuf wire bytes, one field at a time.
#[derive(Default, Clone)]
pub(crate) struct Wire(pub(crate) Vec<u8>);

pub(crate) fn wire() -> Wire {
    Wire::default()
}

pub(crate) fn varint_bytes(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

impl Wire {
    pub(crate) fn tag(mut self, number: u32, wire_type: u8) -> Wire {
        self.0
            .extend(varint_bytes(u64::from(number) << 3 | u64::from(wire_type)));
        self
    }
    pub(crate) fn raw(mut self, bytes: &[u8]) -> Wire {
        self.0.extend_from_slice(bytes);
        self
    }
    pub(crate) fn varint(self, number: u32, v: u64) -> Wire {
        self.tag(number, 0).raw(&varint_bytes(v))
    }
    pub(crate) fn fixed64(self, number: u32, v: u64) -> Wire {
        self.tag(number, 1).raw(&v.to_le_bytes())
    }
    pub(crate) fn fixed32(self, number: u32, v: u32) -> Wire {
        self.tag(number, 5).raw(&v.to_le_bytes())
    }
    pub(crate) fn double(self, number: u32, v: f64) -> Wire {
        self.fixed64(number, v.to_bits())
    }
    pub(crate) fn float(self, number: u32, v: f32) -> Wire {
        self.fixed32(number, v.to_bits())
    }
    pub(crate) fn bytes(self, number: u32, v: impl AsRef<[u8]>) -> Wire {
        let v = v.as_ref();
        self.tag(number, 2)
            .raw(&varint_bytes(v.len() as u64))
            .raw(v)
    }
    pub(crate) fn message(self, number: u32, m: Wire) -> Wire {
        self.bytes(number, m.0)
    }
    pub(crate) fn group(self, number: u32, body: Wire) -> Wire {
        self.tag(number, 3).raw(&body.0).tag(number, 4)
    }
    pub(crate) fn build(self) -> Vec<u8> {
        self.0
    }
}
