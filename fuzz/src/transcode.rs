//! Target `transcode`: arbitrary bytes through [`Plan::transcode`].
//!
//! Input: byte 0 picks the message type (index into
//! [`schemas::Corpus::types`], modulo its length), the low 3 bits of byte 1
//! the [`JsonOptions`] (bit 0 `proto_names`, bit 1 `emit_defaults`, bit 2
//! `enum_numbers`), the rest is the wire message.
//!
//! Checked for every input:
//! - no panic (libFuzzer's timeout catches hangs);
//! - `Ok`: the bytes appended are one JSON value on one line (an object
//!   unless the type is a well-known type with another JSON form), and
//!   [`Plan::check`] accepts the message too;
//! - `Err`: the buffer is exactly as before, the offset is inside the
//!   message, and when [`Plan::check`] fails it fails the same way;
//! - memory: see [`alloc_bound`];
//! - when prost-reflect decodes the bytes and serializes them to JSON,
//!   protoland succeeds and prints the same values, up to the
//!   [`compare::Allowed`] differences.

use std::fmt::Write as _;
use std::sync::OnceLock;

use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};
use protoland_transcode::{ErrorKind, JsonOptions, Plan};
use serde_json::Value;

use crate::compare::{Allowed, Comparer};
use crate::{alloc, schemas};

/// What the output buffer holds before each call, to see that transcode
/// appends and leaves it alone on error.
pub const SENTINEL: &[u8] = b"<before>";

/// One message type with a plan per option set.
pub struct Type {
    pub desc: MessageDescriptor,
    pub plans: Vec<Plan>,
}

/// Plans for every type of the corpus, and the output bound.
pub struct Target {
    pub types: Vec<Type>,
    /// Longest JSON of an empty message of any type under any options
    /// (with `emit_defaults` every field without presence is printed):
    /// the most output two input bytes (a tag and a zero length) can add.
    pub max_empty_json: usize,
}

pub fn options(bits: u8) -> JsonOptions {
    JsonOptions {
        proto_names: bits & 1 != 0,
        emit_defaults: bits & 2 != 0,
        enum_numbers: bits & 4 != 0,
    }
}

/// Builds (once) the plans for every type and option set.
pub fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let corpus = schemas::corpus();
        let mut max_empty_json = 0;
        let types = corpus
            .types
            .iter()
            .map(|name| {
                let desc = corpus.schema.message(name).expect("listed types exist");
                let plans: Vec<Plan> = (0..8).map(|b| Plan::new(&desc, options(b))).collect();
                for plan in &plans {
                    let mut out = Vec::new();
                    if plan.transcode(&[], &mut out).is_ok() {
                        max_empty_json = max_empty_json.max(out.len());
                    }
                }
                Type { desc, plans }
            })
            .collect();
        Target {
            types,
            max_empty_json,
        }
    })
}

/// The input that makes the target transcode `wire` as type `type_index`
/// with option bits `bits` (for seeds and regression tests).
pub fn input(type_index: usize, bits: u8, wire: &[u8]) -> Vec<u8> {
    let mut data = vec![type_index as u8, bits];
    data.extend_from_slice(wire);
    data
}

/// The allocation bound, in bytes, for one call on `len` input bytes that
/// appended `json_len` bytes of JSON:
///
/// - the output buffer, which grows by doubling: at most twice the JSON
///   (plus what the buffer held before, the sentinel);
/// - the transcoder's own scratch (slow path: 12 bytes per field
///   occurrence, a field taking at least 2 bytes; map keys, merge spans,
///   oneof and emit_defaults bit stacks; doubled by `Vec` growth), its
///   error path strings and the deep-nesting thread's bookkeeping: at most
///   32 bytes per input byte plus 1 MiB.
pub fn alloc_bound(len: usize, json_len: usize) -> usize {
    2 * (json_len + SENTINEL.len()) + 32 * len + (1 << 20)
}

/// The output bound for `len` input bytes: every 2 bytes of input (the
/// smallest field) can print at most an empty message with all its
/// defaults, a key and punctuation; a 1-byte packed element at most an
/// enum name or a number. `max_empty_json` is measured on the corpus.
pub fn output_bound(target: &Target, len: usize) -> usize {
    (target.max_empty_json + 256) * (len + 1)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// JSON as prost-reflect prints it, or `None` when prost-reflect refuses
/// the bytes (decoding or printing).
fn prost_json(desc: &MessageDescriptor, wire: &[u8], bits: u8) -> Option<Vec<u8>> {
    let message = DynamicMessage::decode(desc.clone(), wire).ok()?;
    let options = SerializeOptions::new()
        .use_proto_field_name(bits & 1 != 0)
        .skip_default_fields(bits & 2 == 0)
        .use_enum_numbers(bits & 4 != 0);
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::new(&mut out);
    message
        .serialize_with_options(&mut serializer, &options)
        .ok()?;
    Some(out)
}

/// Parses JSON of any depth (protoland nests up to 400 messages).
fn parse(json: &[u8]) -> Result<Value, serde_json::Error> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_slice(json);
    de.disable_recursion_limit();
    let value = Value::deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// What one input showed (for statistics in the corpus test).
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub ok: bool,
    /// prost-reflect accepted the bytes, and the values were compared.
    pub compared: bool,
    pub allowed: Vec<Allowed>,
    /// Peak heap bytes during the call (see [`alloc_bound`]).
    pub peak: usize,
    pub json_len: usize,
}

/// Runs the target on one input; panics on any violated property.
pub fn run(data: &[u8]) -> Outcome {
    let target = target();
    let [type_byte, bits, wire @ ..] = data else {
        return Outcome::default();
    };
    let ty = &target.types[usize::from(*type_byte) % target.types.len()];
    let bits = bits & 7;
    let plan = &ty.plans[usize::from(bits)];
    let context = || {
        format!(
            "type {}, options {:?}, wire {}",
            ty.desc.full_name(),
            options(bits),
            hex(wire)
        )
    };

    let mut out = SENTINEL.to_vec();
    let (result, peak) = alloc::peak_during(|| plan.transcode(wire, &mut out));
    let mut outcome = Outcome {
        ok: result.is_ok(),
        peak,
        ..Outcome::default()
    };
    let check = plan.check(wire);
    match &result {
        Ok(()) => {
            assert!(
                out.starts_with(SENTINEL),
                "output not appended: {}",
                context()
            );
            let json = &out[SENTINEL.len()..];
            outcome.json_len = json.len();
            // A well-known type at the top prints its JSON form (a string,
            // a number, …); every other message an object.
            let wkt = schemas::WELL_KNOWN.contains(&ty.desc.full_name());
            assert!(
                (wkt || json.first() == Some(&b'{')) && !json.contains(&b'\n'),
                "not one JSON object on one line: {}\n{}",
                context(),
                String::from_utf8_lossy(json)
            );
            if let Err(e) = parse(json) {
                panic!(
                    "invalid JSON ({e}): {}\n{}",
                    context(),
                    String::from_utf8_lossy(json)
                );
            }
            assert!(
                json.len() <= output_bound(target, wire.len()),
                "{} bytes of JSON from {} bytes, over the bound: {}",
                json.len(),
                wire.len(),
                context()
            );
            if let Err(e) = &check {
                panic!("transcode accepts what check rejects ({e}): {}", context());
            }
        }
        Err(e) => {
            assert!(
                out == SENTINEL,
                "buffer changed on error ({e}): {}",
                context()
            );
            assert!(
                e.offset <= wire.len(),
                "error offset {} past the end ({e}): {}",
                e.offset,
                context()
            );
            // Both reject the message, but with several problems in one
            // message they may name different ones: `check` reads in wire
            // order and reports the first structural problem; `transcode`
            // validates some values (map keys, strings behind the slow path)
            // after the structure that follows them, and it also rejects
            // what only printing finds (a FieldMask path that does not
            // round-trip), which `check` does not look at. Found by
            // fuzzing; see fuzz/README.md.
        }
    }
    if alloc::installed() {
        let bound = alloc_bound(wire.len(), outcome.json_len);
        assert!(
            peak <= bound,
            "{peak} bytes allocated for {} input bytes, over the bound of {bound}: {}",
            wire.len(),
            context()
        );
    }

    let Some(theirs) = prost_json(&ty.desc, wire, bits) else {
        return outcome;
    };
    outcome.compared = true;
    let theirs_text = String::from_utf8_lossy(&theirs).into_owned();
    let theirs: Value = parse(&theirs).expect("prost-reflect writes JSON");
    let corpus = schemas::corpus();
    let scan = crate::wire::scan(corpus.schema.pool(), &ty.desc, wire);
    if scan.mistyped_map {
        outcome.allowed.push(Allowed::MapWireType);
        return outcome;
    }
    if let Err(e) = &result {
        if scan.long_varint {
            outcome.allowed.push(Allowed::LongVarint);
            return outcome;
        }
        if matches!(
            &e.kind,
            ErrorKind::InvalidWellKnown { type_name, .. }
                if type_name.ends_with("Timestamp") || type_name.ends_with("Duration")
        ) {
            outcome.allowed.push(Allowed::TimeOutOfRange);
            return outcome;
        }
        if matches!(
            &e.kind,
            ErrorKind::UnresolvableAny(url)
                if url.rsplit('/').next().is_some_and(|name| name.starts_with('.'))
        ) {
            outcome.allowed.push(Allowed::AnyTypeUrlLeadingDot);
            return outcome;
        }
        let field_mask = matches!(
            &e.kind,
            ErrorKind::InvalidWellKnown { type_name, .. } if type_name.ends_with("FieldMask")
        );
        if field_mask
            && scan
                .field_mask_paths
                .iter()
                .any(|p| !crate::wire::google_accepts_field_mask_path(&String::from_utf8_lossy(p)))
        {
            outcome.allowed.push(Allowed::FieldMaskRoundTrip);
            return outcome;
        }
        panic!(
            "protoland rejects what prost-reflect accepts ({e}): {}\nprost-reflect: {theirs_text}",
            context()
        );
    }
    let ours_text = String::from_utf8_lossy(&out[SENTINEL.len()..]).into_owned();
    let ours = parse(&out[SENTINEL.len()..]).expect("checked above");
    let mut comparer = Comparer {
        pool: corpus.schema.pool(),
        proto_names: bits & 1 != 0,
        enum_numbers: bits & 4 != 0,
        loose_maps: scan.loose_maps,
        used: Vec::new(),
        map_name: String::new(),
    };
    if let Err(d) = comparer.message(&ty.desc, &ours, &theirs, "") {
        panic!(
            "protoland and prost-reflect differ at {} ({}: {}): {}\nprotoland:     {ours_text}\nprost-reflect: {theirs_text}",
            d.path,
            d.reason,
            d.detail,
            context()
        );
    }
    outcome.allowed = comparer.used;
    outcome
}
