//! Target `schema`: arbitrary bytes through protoland's schema loader, as
//! descriptor sets (what `protoc --descriptor_set_out` and `buf build`
//! write) and as `.proto` source text, then through the transcoder's plan
//! compiler.
//!
//! Input: bit 0 of byte 0 picks the loader (0: the rest is a binary
//! `FileDescriptorSet`, [`Schema::from_descriptor_set`]; 1: the rest is
//! `.proto` source, [`Schema::from_bytes`] with a `.proto` name), bits 1–3
//! the [`JsonOptions`] of the plans, the rest the schema.
//!
//! Checked for every input:
//! - no panic and no stack overflow (both crash the fuzzer), whatever the
//!   schema: a hostile descriptor set or source is an error, never a crash;
//! - on success: every message type of the schema (up to 64) compiles into
//!   a plan that transcodes the empty message and the input's own bytes
//!   without panicking, and the schema's own descriptor set
//!   ([`Schema::encode_descriptor_set`]) loads again with the same message
//!   types.

use protoland_schema::Schema;
use protoland_transcode::Plan;

use crate::transcode::options;

/// The input that loads `schema` as a descriptor set (`proto = false`) or
/// as `.proto` source, with option bits `bits` (for seeds and tests).
pub fn input(proto: bool, bits: u8, schema: &[u8]) -> Vec<u8> {
    let mut data = vec![u8::from(proto) | (bits & 7) << 1];
    data.extend_from_slice(schema);
    data
}

/// Runs the target on one input; panics on any violated property. Returns
/// whether the schema loaded.
pub fn run(data: &[u8]) -> bool {
    let [mode, rest @ ..] = data else {
        return false;
    };
    let loaded = if mode & 1 == 0 {
        Schema::from_descriptor_set(rest)
    } else {
        Schema::from_bytes("fuzz.proto", rest)
    };
    let Ok(schema) = loaded else {
        return false;
    };
    let options = options((mode >> 1) & 7);
    let mut names = Vec::new();
    for message in schema.user_messages().take(64) {
        names.push(message.full_name().to_owned());
        let plan = Plan::new(&message, options);
        let mut out = Vec::new();
        let _ = plan.transcode(&[], &mut out);
        out.clear();
        let wire = &rest[..rest.len().min(256)];
        let _ = plan.transcode(wire, &mut out);
        let _ = plan.check(wire);
    }
    let encoded = schema.encode_descriptor_set();
    let again = Schema::from_descriptor_set(&encoded).unwrap_or_else(|e| {
        panic!("the schema's own descriptor set does not load again: {e}")
    });
    let again: Vec<String> = again
        .user_messages()
        .take(64)
        .map(|m| m.full_name().to_owned())
        .collect();
    assert_eq!(names, again, "the reloaded schema has other message types");
    true
}
