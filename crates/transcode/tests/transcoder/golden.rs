//! Golden outputs: small hand-written messages and what they print, pinned
//! as insta snapshots (one snapshot per topic, one case per line pair).

use protoland_transcode::JsonOptions;

use crate::support::{json, text, transcode, wire};

const DEFAULTS: JsonOptions = JsonOptions {
    proto_names: false,
    emit_defaults: false,
    enum_numbers: false,
};

/// Renders `(case, message type, wire)` with each option set.
fn render(cases: &[(&str, &str, Vec<u8>)], options: &[(&str, JsonOptions)]) -> String {
    let mut out = String::new();
    for (case, name, wire) in cases {
        out.push_str(case);
        out.push('\n');
        for (label, o) in options {
            let printed = match transcode(name, *o, wire) {
                Ok(json) => json,
                Err(e) => format!("error: {e}"),
            };
            out.push_str(&format!("  {label}: {printed}\n"));
        }
    }
    out
}

fn canonical(cases: &[(&str, &str, Vec<u8>)]) -> String {
    render(cases, &[("json", DEFAULTS)])
}

#[test]
fn scalars() {
    let s = "shop.Scalars";
    let cases = [
        ("empty message", s, vec![]),
        (
            "every scalar kind",
            s,
            text(
                s,
                r#"i32: -5 i64: -9007199254740993 u32: 4294967295 u64: 18446744073709551615
                   s32: -2147483648 s64: -9223372036854775808 f32: 7 f64: 8 sf32: -9 sf64: -10
                   flag: true ratio: 0.1 amount: 2.5 name: "héllo" blob: "\x00\xff\xfe"
                   status: STATUS_ACTIVE maybe: 0 display_name: "x""#,
            ),
        ),
        (
            "implicit defaults are not printed, explicit presence is",
            s,
            wire()
                .varint(1, 0)
                .varint(11, 0)
                .bytes(14, "")
                .varint(16, 0)
                .varint(17, 0)
                .build(),
        ),
        (
            "negative zero is not a default",
            s,
            wire().float(12, -0.0).double(13, -0.0).build(),
        ),
        (
            "non-finite floats are strings",
            s,
            wire()
                .float(12, f32::NAN)
                .double(13, f64::NEG_INFINITY)
                .build(),
        ),
        (
            "floats print the shortest 32-bit text",
            s,
            wire().float(12, 1.0 / 3.0).double(13, 1e21).build(),
        ),
        (
            "int32 keeps the low 32 bits of a 10-byte varint",
            s,
            wire().varint(1, u64::MAX).varint(3, (1 << 33) + 5).build(),
        ),
        (
            "unknown open enum values print as numbers",
            s,
            wire().varint(16, 42).build(),
        ),
        (
            "strings escape quotes, backslashes and controls only",
            s,
            wire()
                .bytes(14, "a\"b\\c\n\t\u{1}\u{7f}é\u{2028}😀")
                .build(),
        ),
    ];
    insta::assert_snapshot!(render(
        &cases,
        &[
            ("json", DEFAULTS),
            (
                "proto_names",
                JsonOptions {
                    proto_names: true,
                    ..DEFAULTS
                }
            ),
            (
                "emit_defaults",
                JsonOptions {
                    emit_defaults: true,
                    ..DEFAULTS
                }
            ),
            (
                "enum_numbers",
                JsonOptions {
                    enum_numbers: true,
                    ..DEFAULTS
                }
            ),
        ],
    ));
}

#[test]
fn wire_order_and_merging() {
    let o = "shop.Order";
    let item = |sku: &str, q: u64| wire().bytes(1, sku).varint(2, q);
    let cases = [
        (
            "fields out of order print in field-number order",
            o,
            wire().varint(9, 7).bytes(1, "o-1").build(),
        ),
        (
            "last one wins for a singular scalar",
            o,
            wire().bytes(1, "first").bytes(1, "second").build(),
        ),
        (
            "a singular message merges its occurrences",
            o,
            wire()
                .message(2, wire().bytes(1, "/a").message(2, item("x", 1)))
                .bytes(1, "o-2")
                .message(
                    2,
                    wire()
                        .message(2, item("y", 2))
                        .message(3, wire().bytes(1, "/up")),
                )
                .build(),
        ),
        (
            "repeated elements interleaved with other fields form one array",
            o,
            wire()
                .varint(6, 1)
                .bytes(1, "o-3")
                .tag(6, 2)
                .raw(&[2, 2, 3])
                .varint(6, 4)
                .build(),
        ),
        (
            "a later oneof member clears the earlier one",
            o,
            wire().bytes(8, "visa").varint(9, 100).build(),
        ),
        (
            "a oneof message switched away and back starts over",
            o,
            wire()
                .message(10, item("a", 1))
                .varint(9, 3)
                .message(10, wire().bytes(1, "b"))
                .build(),
        ),
        (
            "map entries: last one wins per key, missing key and value default",
            o,
            wire()
                .message(4, wire().bytes(1, "k").bytes(2, "v1"))
                .message(4, wire().bytes(1, "k").bytes(2, "v2"))
                .message(4, wire())
                .message(5, wire().varint(1, 3))
                .message(11, wire().varint(1, 1).varint(2, 5))
                .message(11, wire().varint(2, 6))
                .build(),
        ),
        (
            "a map entry with an unknown field is dropped, as upb does",
            o,
            wire()
                .message(4, wire().bytes(1, "kept").bytes(2, "yes"))
                .message(4, wire().bytes(1, "dropped").bytes(2, "no").varint(3, 1))
                .build(),
        ),
        (
            "unknown fields and known numbers with other wire types are skipped",
            o,
            wire()
                .varint(1, 5)
                .bytes(99, "x")
                .group(98, wire().varint(1, 1))
                .fixed32(2, 1)
                .bytes(1, "o-4")
                .build(),
        ),
    ];
    insta::assert_snapshot!(canonical(&cases));
}

#[test]
fn well_known_types() {
    let k = "shop.Known";
    let cases = [
        (
            "timestamps and durations",
            k,
            text(
                k,
                r#"at { seconds: 1700000000 nanos: 123000000 } took { seconds: -1 nanos: -500000000 }
                   history { } history { seconds: 1 nanos: 1000 } history { seconds: -62135596800 }"#,
            ),
        ),
        (
            // (One key per map: prost-reflect encodes maps in hash order.)
            "struct, value, list value",
            k,
            text(
                k,
                r#"attrs { fields { key: "b" value { list_value { values { bool_value: true } values { null_value: NULL_VALUE } values { number_value: 1.5 } values { } } } } }
                   value { struct_value { fields { key: "s" value { struct_value { } } } } } list { values { string_value: "x" } }"#,
            ),
        ),
        (
            "wrappers print their value, even the default",
            k,
            text(
                k,
                r#"dv { value: 0.5 } fv { } i64v { value: -3 } u64v { value: 18446744073709551615 }
                   i32v { value: 7 } u32v { } bv { } sv { value: "s" } bytes_value { value: "\x01" }"#,
            ),
        ),
        (
            "NaN and infinity inside wrappers",
            k,
            wire()
                .message(9, wire().double(1, f64::NAN))
                .message(10, wire().float(1, f32::INFINITY))
                .build(),
        ),
        (
            "field mask, empty, null value",
            k,
            wire()
                .message(6, wire().bytes(1, "foo_bar.baz").bytes(1, "a"))
                .message(7, wire())
                .varint(20, 0)
                .build(),
        ),
        (
            "any with a regular message, a well-known type and nothing",
            k,
            wire()
                .message(
                    8,
                    wire()
                        .bytes(1, "type.googleapis.com/shop.Item")
                        .bytes(2, wire().bytes(1, "sku-1").double(3, 9.5).build()),
                )
                .message(
                    19,
                    wire().bytes(1, "k").message(
                        2,
                        wire().message(
                            5,
                            wire().message(
                                1,
                                wire().bytes(1, "inner").message(2, wire().bytes(3, "v")),
                            ),
                        ),
                    ),
                )
                .build(),
        ),
        (
            "any holding a duration",
            k,
            wire()
                .message(
                    8,
                    wire()
                        .bytes(1, "x/google.protobuf.Duration")
                        .bytes(2, wire().varint(1, 3).build()),
                )
                .build(),
        ),
        ("empty any", k, wire().message(8, wire()).build()),
    ];
    insta::assert_snapshot!(canonical(&cases));
}

#[test]
fn well_known_types_at_the_top_level() {
    let cases = [
        (
            "timestamp",
            "google.protobuf.Timestamp",
            wire().varint(1, 86_400).build(),
        ),
        ("empty value", "google.protobuf.Value", vec![]),
        (
            "string value",
            "google.protobuf.StringValue",
            wire().bytes(1, "x").build(),
        ),
        ("empty struct", "google.protobuf.Struct", vec![]),
        ("empty list value", "google.protobuf.ListValue", vec![]),
        ("empty field mask", "google.protobuf.FieldMask", vec![]),
    ];
    insta::assert_snapshot!(canonical(&cases));
}

#[test]
fn proto2() {
    let r = "legacy.Record";
    let cases = [
        (
            "defaults are never printed; explicit presence always is",
            r,
            text(r, r#"id: "" count: 7"#),
        ),
        (
            "groups print as objects named after the lowercased group",
            r,
            text(
                r,
                r#"id: "g" Extra { x: 1 part { n: 2 } } Line { text: "a" } Line { text: "b" }"#,
            ),
        ),
        (
            "extensions print as [full.name]",
            r,
            text(
                r,
                r#"id: "e" [legacy.priority]: 3 [legacy.attachment] { n: 4 } [legacy.marks]: 5 [legacy.marks]: 6"#,
            ),
        ),
        (
            "an empty packed record makes a repeated extension present",
            r,
            wire().bytes(102, []).build(),
        ),
        (
            "unknown closed enum values are unknown fields",
            r,
            wire()
                .varint(3, 5)
                .varint(3, 9)
                .varint(4, 1)
                .varint(4, 2)
                .bytes(4, [5, 3])
                .message(11, wire().bytes(1, "bad").varint(2, 4))
                .message(11, wire().bytes(1, "good").varint(2, 1))
                .varint(14, 8)
                .varint(13, 4)
                .build(),
        ),
        (
            "invalid UTF-8 in a proto2 string prints as Python prints the bytes",
            r,
            wire().bytes(5, b"a\xffb").build(),
        ),
        (
            "packed and unpacked encodings are both accepted",
            r,
            wire().varint(12, 1).bytes(12, [2, 3]).build(),
        ),
    ];
    insta::assert_snapshot!(render(
        &cases,
        &[
            ("json", DEFAULTS),
            (
                "emit_defaults",
                JsonOptions {
                    emit_defaults: true,
                    ..DEFAULTS
                }
            ),
        ],
    ));
}

#[test]
fn deep_nesting_within_the_limit_prints() {
    let mut chain = wire().varint(2, 1);
    for _ in 0..100 {
        chain = wire().message(1, chain);
    }
    let printed = json("legacy.Chain", &chain.build());
    assert_eq!(printed.matches("\"next\"").count(), 100);
    assert!(printed.ends_with(&"}".repeat(101)));
}
