//! Inputs found by fuzzing (`fuzz/`, target `transcode`), kept as
//! tests of the behaviour they probed, each checked against Google's
//! `json_format` (through `testdata/differential/oracle.py`, with the
//! Python of `scripts/test`): protoland accepts exactly what Google
//! accepts, prints the same JSON under every option set, and `check`
//! agrees with `transcode` on accepting.

#[path = "differential/setup.rs"]
mod setup;

use std::process::Command;

use protoland_schema::Schema;
use protoland_transcode::Plan;
use serde_json::Value;

use setup::{corpus_files, options, python, workspace};

/// The corpus the fuzz target uses: `testdata/schemas` compiled with protox
/// (not the editions files, which the fuzz target does not load).
fn schema() -> Schema {
    let (dir, files) = corpus_files();
    Schema::load(&files, [&dir]).expect("testdata/schemas compiles")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Google's outcome for each of the 8 option sets (bit 0 proto_names,
/// bit 1 emit_defaults, bit 2 enum_numbers): the JSON, or `None` when it
/// does not parse or print the message.
fn google(schema: &Schema, type_name: &str, wire: &[u8]) -> Vec<Option<Value>> {
    let dir = std::env::temp_dir().join(format!(
        "protoland-fuzz-regressions-{}-{}",
        std::process::id(),
        hex(wire).len()
    ));
    std::fs::create_dir_all(&dir).expect("creating a temporary directory");
    let set = dir.join("corpus.binpb");
    std::fs::write(&set, schema.encode_descriptor_set()).expect("writing the descriptor set");
    let script = workspace().join("testdata/differential/oracle.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(&set)
        .arg(type_name)
        .arg(hex(wire))
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e} (run scripts/test)", script.display()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{} failed (run scripts/test if Google's protobuf is missing):\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("the oracle prints UTF-8");
    if text.starts_with("parse error:") {
        return vec![None; 8];
    }
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "unexpected oracle output:\n{text}");
    lines
        .iter()
        .map(|line| {
            let result = line.get(41..).unwrap_or("").trim();
            if result.starts_with("error: ") {
                None
            } else {
                Some(serde_json::from_str(result).expect("Google prints JSON"))
            }
        })
        .collect()
}

/// The wire bytes of a committed input of the `transcode` fuzz target
/// (its first two bytes pick the type and the options).
fn fuzz_input(name: &str) -> Vec<u8> {
    let path = workspace().join("fuzz/corpus/transcode").join(name);
    let input = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    input.get(2..).unwrap_or_default().to_vec()
}

fn agrees_with_google(type_name: &str, wire: &[u8]) {
    let schema = schema();
    let desc = schema.message(type_name).expect("type in testdata/schemas");
    let expected = google(&schema, type_name, wire);
    for (bits, expected) in expected.iter().enumerate() {
        let options = options(bits);
        let plan = Plan::new(&desc, options);
        let mut out = Vec::new();
        let ours = plan.transcode(wire, &mut out);
        match (expected, &ours) {
            (None, Ok(())) => panic!(
                "{type_name} {options:?}: protoland prints what Google rejects: {}",
                String::from_utf8_lossy(&out)
            ),
            (Some(json), Err(e)) => {
                panic!("{type_name} {options:?}: protoland fails ({e}) where Google prints {json}")
            }
            (Some(json), Ok(())) => {
                let ours: Value = serde_json::from_slice(&out).expect("protoland prints JSON");
                assert_eq!(&ours, json, "{type_name} {options:?}");
            }
            (None, Err(_)) => {}
        }
        assert_eq!(
            plan.check(wire).is_ok(),
            ours.is_ok(),
            "{type_name} {options:?}: check and transcode disagree on accepting"
        );
    }
}

/// A map field's tag with the fixed64 wire type and one byte after it:
/// Google reads a (truncated) unknown fixed64 field and rejects the
/// message; prost-reflect ignores the wire type and reads an entry
/// (`{"kFixed64":{"0":""}}`), which the fuzz target now tolerates.
#[test]
fn map_field_with_a_truncated_fixed64_wire_type_is_rejected() {
    agrees_with_google("protoland.test.maps.Keys", &[0x41, 0x00]);
}

/// The same tag with all 8 bytes: an unknown field, not a map entry.
#[test]
fn map_field_with_a_complete_fixed64_wire_type_is_an_unknown_field() {
    agrees_with_google("protoland.test.maps.Keys", &[0x41, 0, 0, 0, 0, 0, 0, 0, 0]);
}

/// Several problems in one message (an invalid UTF-8 map key first, a bad
/// varint after it): `check` names the first and `transcode` a later one;
/// both reject, as Google does.
#[test]
fn message_with_invalid_utf8_key_and_bad_varint_is_rejected_by_check_and_transcode() {
    agrees_with_google(
        "protoland.test.wkt.MapValues",
        &fuzz_input("regress-check-first-error"),
    );
}

/// A FieldMask path with an uppercase letter, then field number 0:
/// `transcode` names the path (what printing would refuse), `check` the
/// field number after it; both reject, as Google does.
#[test]
fn field_mask_with_uppercase_path_and_field_zero_is_rejected() {
    agrees_with_google(
        "google.protobuf.FieldMask",
        &fuzz_input("regress-field-mask-error-before-check"),
    );
}

/// Two empty FieldMask paths: Google prints `","` (every path joined with
/// a comma); prost-reflect printed `""`, which the fuzz target now
/// tolerates (`FieldMaskLeadingEmptyPath`).
#[test]
fn field_mask_with_empty_paths_prints_every_comma() {
    agrees_with_google(
        "google.protobuf.FieldMask",
        &fuzz_input("regress-field-mask-leading-empty-paths"),
    );
}

/// Two `colors` entries with the key -129: the first holds -2, the second
/// 1 and an unknown field. Google drops the second entry (it has a field
/// other than key and value) and prints -2; prost-reflect kept it and
/// printed 1, which the fuzz target now tolerates
/// (`MapEntryUnknownFields`). Found by the seeded CI run.
#[test]
fn map_entry_with_unknown_field_leaves_the_earlier_entry_for_its_key() {
    agrees_with_google(
        "protoland.test.proto2.UsesProto3",
        &fuzz_input("regress-map-entry-dropped-same-key"),
    );
}

/// A packed repeated extension whose only record is empty (`c2 06 00`:
/// `ext_packed`, no elements). Found by CI-like fuzz runs.
#[test]
fn empty_packed_extension_record() {
    agrees_with_google("protoland.test.proto2.Extendable", &[0xc2, 0x06, 0x00]);
    agrees_with_google(
        "protoland.test.proto2.Extendable",
        &fuzz_input("regress-empty-packed-extension"),
    );
}

/// An `Any` holding a `google.protobuf.Empty`, as a map value. Found by
/// CI-like fuzz runs.
#[test]
fn any_holding_empty() {
    let url = b"type.googleapis.com/google.protobuf.Empty";
    let mut any = vec![0x0a, url.len() as u8];
    any.extend_from_slice(url);
    let mut entry = vec![0x0a, 0x01, b'k', 0x12, any.len() as u8];
    entry.extend_from_slice(&any);
    let mut wire = vec![0xca, 0x01, entry.len() as u8];
    wire.extend_from_slice(&entry);
    agrees_with_google("protoland.test.maps.Values", &wire);
    agrees_with_google(
        "protoland.test.maps.Values",
        &fuzz_input("regress-any-holding-empty"),
    );
}

/// A `map<int32, Closed>` entry whose value is first undeclared, then
/// declared: Google drops the entry (its undeclared value went to the
/// entry's unknown fields); prost-reflect kept the last value. Found by
/// CI-like fuzz runs.
#[test]
fn map_entry_with_an_undeclared_closed_enum_value_then_a_declared_one() {
    agrees_with_google(
        "protoland.test.proto2.ClosedEnums",
        &fuzz_input("regress-map-closed-enum-undeclared-then-declared"),
    );
}

/// FieldMask paths `""`, `",\0\nk…k\0"`, `""`: Google prints `",,\0\nk…"`;
/// prost-reflect dropped the first comma. Found by CI-like fuzz runs.
#[test]
fn field_mask_with_an_empty_path_before_one_starting_with_a_comma() {
    agrees_with_google(
        "google.protobuf.FieldMask",
        &fuzz_input("regress-field-mask-leading-empty-path-then-comma"),
    );
}

/// An `Any` whose type URL names its type with a leading dot
/// (`…/.google.protobuf.UInt32Value`): Google finds no such type and
/// refuses to print it under every option set, and so does protoland;
/// prost-reflect resolved it. `check` accepts it: it does not look into
/// `Any` payloads (what only printing rejects). Found by the seeded CI
/// fuzz run.
#[test]
fn any_type_url_with_a_leading_dot_does_not_resolve() {
    let wire = fuzz_input("regress-any-type-url-leading-dot");
    let url = "type.googleampcsoi/.google.protobuf.UInt32Value";
    assert!(
        wire.windows(url.len()).any(|w| w == url.as_bytes()),
        "the input holds the dotted type URL"
    );
    let schema = schema();
    let desc = schema.message("google.protobuf.Any").expect("Any");
    assert_eq!(google(&schema, "google.protobuf.Any", &wire), vec![None; 8]);
    for bits in 0..8 {
        let plan = Plan::new(&desc, options(bits));
        let mut out = Vec::new();
        let e = plan.transcode(&wire, &mut out).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Any type URL `{url}` does not name a message type in the schema at byte 0")
        );
        assert!(plan.check(&wire).is_ok());
    }
}
