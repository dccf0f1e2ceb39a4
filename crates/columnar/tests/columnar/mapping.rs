//! The type mapping of docs/parquet.md, one test per row: the Arrow type
//! and the values read back.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use protoland_columnar::{Columns, ParquetOptions, RowsBuilder, TimestampMode};
use protoland_transcode::{JsonOptions, Plan};

use crate::support::{Wire, columns, message, rows, wire};

const SCALARS: &str = r#"
syntax = "proto3";
package t;
message S {
  int32 i32 = 1; sint32 s32 = 2; sfixed32 sf32 = 3;
  int64 i64 = 4; sint64 s64 = 5; sfixed64 sf64 = 6;
  uint32 u32 = 7; fixed32 f32 = 8;
  uint64 u64 = 9; fixed64 f64 = 10;
  float fl = 11; double db = 12; bool b = 13;
  string s = 14; bytes by = 15;
  enum E { ZERO = 0; ONE = 1; }
  E e = 16;
}
"#;

fn one(src: &str, name: &str, text: &str) -> RecordBatch {
    let m = message(src, name);
    let c = columns(src, name);
    rows(&c, &[&wire(&m, text)])
}

fn data_type(b: &RecordBatch, name: &str) -> DataType {
    b.schema()
        .field_with_name(name)
        .unwrap()
        .data_type()
        .clone()
}

#[test]
fn signed_32_bit_integers_are_int32() {
    let b = one(SCALARS, "S", "i32: -5 s32: -2147483648 sf32: 2147483647");
    for (name, v) in [("i32", -5), ("s32", i32::MIN), ("sf32", i32::MAX)] {
        assert_eq!(data_type(&b, name), DataType::Int32);
        assert_eq!(b[name].as_primitive::<Int32Type>().value(0), v, "{name}");
    }
}

#[test]
fn signed_64_bit_integers_are_int64() {
    let b = one(
        SCALARS,
        "S",
        "i64: -5 s64: -9223372036854775808 sf64: 9223372036854775807",
    );
    for (name, v) in [("i64", -5), ("s64", i64::MIN), ("sf64", i64::MAX)] {
        assert_eq!(data_type(&b, name), DataType::Int64);
        assert_eq!(b[name].as_primitive::<Int64Type>().value(0), v, "{name}");
    }
}

#[test]
fn unsigned_32_bit_integers_widen_to_int64() {
    let b = one(SCALARS, "S", "u32: 4294967295 f32: 4000000000");
    assert_eq!(data_type(&b, "u32"), DataType::Int64);
    assert_eq!(b["u32"].as_primitive::<Int64Type>().value(0), 4_294_967_295);
    assert_eq!(b["f32"].as_primitive::<Int64Type>().value(0), 4_000_000_000);
}

#[test]
fn unsigned_64_bit_integers_are_exact_decimals() {
    let b = one(
        SCALARS,
        "S",
        "u64: 18446744073709551615 f64: 9223372036854775808",
    );
    assert_eq!(data_type(&b, "u64"), DataType::Decimal128(20, 0));
    assert_eq!(data_type(&b, "f64"), DataType::Decimal128(20, 0));
    assert_eq!(
        b["u64"].as_primitive::<Decimal128Type>().value(0),
        i128::from(u64::MAX)
    );
    assert_eq!(
        b["f64"].as_primitive::<Decimal128Type>().value(0),
        1i128 << 63
    );
}

#[test]
fn floats_doubles_and_bools_keep_their_width() {
    let b = one(SCALARS, "S", "fl: 0.1 db: -2.5e300 b: true");
    assert_eq!(data_type(&b, "fl"), DataType::Float32);
    assert_eq!(b["fl"].as_primitive::<Float32Type>().value(0), 0.1f32);
    assert_eq!(b["db"].as_primitive::<Float64Type>().value(0), -2.5e300);
    assert!(b["b"].as_boolean().value(0));
}

#[test]
fn strings_are_utf8_and_bytes_binary() {
    let b = one(SCALARS, "S", r#"s: "héllo" by: "\x00\xff""#);
    assert_eq!(data_type(&b, "s"), DataType::Utf8);
    assert_eq!(data_type(&b, "by"), DataType::Binary);
    assert_eq!(b["s"].as_string::<i32>().value(0), "héllo");
    assert_eq!(b["by"].as_binary::<i32>().value(0), b"\x00\xff");
}

#[test]
fn invalid_utf8_in_a_proto3_string_is_an_error_naming_the_field() {
    let c = columns(SCALARS, "S");
    let mut r = RowsBuilder::new(&c);
    let err = r.append(&Wire::new().bytes(14, b"ok\xff").0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid UTF-8 in a string field at byte 4 in field `s`"
    );
    assert_eq!(r.len(), 0);
}

#[test]
fn enums_are_names_unknown_numbers_decimal_text_or_int32_with_enum_numbers() {
    let m = message(SCALARS, "S");
    let c = columns(SCALARS, "S");
    let b = rows(
        &c,
        &[&wire(&m, "e: ONE"), &Wire::new().varint(16, 7).0, &[]],
    );
    assert_eq!(data_type(&b, "e"), DataType::Utf8);
    let e = b["e"].as_string::<i32>();
    assert_eq!([e.value(0), e.value(1), e.value(2)], ["ONE", "7", "ZERO"]);

    let json = JsonOptions {
        enum_numbers: true,
        ..JsonOptions::default()
    };
    let c = Columns::new(&m, json, &ParquetOptions::default()).unwrap();
    let b = rows(&c, &[&wire(&m, "e: ONE")]);
    assert_eq!(data_type(&b, "e"), DataType::Int32);
    assert_eq!(b["e"].as_primitive::<Int32Type>().value(0), 1);
}

const WKT: &str = r#"
syntax = "proto3";
package t;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/any.proto";
import "google/protobuf/empty.proto";
message W {
  google.protobuf.Timestamp ts = 1;
  google.protobuf.Duration d = 2;
  google.protobuf.FieldMask fm = 3;
  google.protobuf.Int64Value i64 = 4;
  google.protobuf.UInt64Value u64 = 5;
  google.protobuf.StringValue s = 6;
  google.protobuf.BoolValue b = 7;
  google.protobuf.Struct st = 8;
  google.protobuf.Value v = 9;
  google.protobuf.ListValue l = 10;
  google.protobuf.Any any = 11;
  google.protobuf.Empty e = 12;
  repeated google.protobuf.Timestamp tss = 13;
}
"#;

#[test]
fn timestamps_are_utc_microseconds_with_nanoseconds_truncated() {
    let b = one(WKT, "W", "ts { seconds: 1700000000 nanos: 123456789 }");
    assert_eq!(
        data_type(&b, "ts"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(
        b["ts"].as_primitive::<TimestampMicrosecondType>().value(0),
        1_700_000_000_123_456
    );
    let b = one(WKT, "W", "ts { seconds: -1 nanos: 999999999 }");
    assert_eq!(
        b["ts"].as_primitive::<TimestampMicrosecondType>().value(0),
        -1
    );
}

#[test]
fn timestamps_as_text_are_their_protojson_strings() {
    let m = message(WKT, "W");
    let opts = ParquetOptions {
        timestamps: TimestampMode::Text,
        ..ParquetOptions::default()
    };
    let c = Columns::new(&m, JsonOptions::default(), &opts).unwrap();
    let b = rows(
        &c,
        &[&wire(&m, "ts { seconds: 1700000000 nanos: 123456789 }")],
    );
    assert_eq!(data_type(&b, "ts"), DataType::Utf8);
    assert_eq!(
        b["ts"].as_string::<i32>().value(0),
        "2023-11-14T22:13:20.123456789Z"
    );
}

#[test]
fn durations_and_field_masks_are_their_protojson_strings() {
    let b = one(
        WKT,
        "W",
        r#"d { seconds: -1 nanos: -500000000 } fm { paths: ["a.b_c", "d"] }"#,
    );
    assert_eq!(data_type(&b, "d"), DataType::Utf8);
    assert_eq!(b["d"].as_string::<i32>().value(0), "-1.500s");
    assert_eq!(b["fm"].as_string::<i32>().value(0), "a.bC,d");
}

#[test]
fn wrappers_are_nullable_scalars_of_the_wrapped_type() {
    let m = message(WKT, "W");
    let c = columns(WKT, "W");
    let b = rows(
        &c,
        &[
            &wire(
                &m,
                r#"i64 { value: -3 } u64 { value: 18446744073709551615 } s {} b { value: true }"#,
            ),
            &[],
        ],
    );
    assert_eq!(data_type(&b, "i64"), DataType::Int64);
    assert_eq!(data_type(&b, "u64"), DataType::Decimal128(20, 0));
    assert_eq!(data_type(&b, "s"), DataType::Utf8);
    assert!(b.schema().field_with_name("s").unwrap().is_nullable());
    assert_eq!(b["i64"].as_primitive::<Int64Type>().value(0), -3);
    assert_eq!(
        b["u64"].as_primitive::<Decimal128Type>().value(0),
        i128::from(u64::MAX)
    );
    // Present with the default value: the default, not null.
    assert!(b["s"].is_valid(0));
    assert_eq!(b["s"].as_string::<i32>().value(0), "");
    assert!(b["b"].as_boolean().value(0));
    for name in ["i64", "u64", "s", "b"] {
        assert!(b[name].is_null(1), "{name} absent");
    }
}

#[test]
fn struct_value_list_any_and_empty_are_their_protojson_text() {
    let m = message(WKT, "W");
    let text = r#"st { fields { key: "k" value { list_value { values { number_value: 1 } values { string_value: "x" } } } } }
        v { null_value: NULL_VALUE } l { values { bool_value: true } }
        any { type_url: "type.googleapis.com/google.protobuf.Duration" value: "\x08\x01" }
        e {}"#;
    let b = one(WKT, "W", text);
    // Exact by construction: the same plan prints them for NDJSON.
    let full = wire(&m, text);
    let mut json = Vec::new();
    Plan::new(&m, JsonOptions::default())
        .transcode(&full, &mut json)
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    for name in ["st", "v", "l", "any", "e"] {
        assert_eq!(data_type(&b, name), DataType::Utf8);
        let cell: serde_json::Value =
            serde_json::from_str(b[name].as_string::<i32>().value(0)).unwrap();
        assert_eq!(cell, json[name], "{name}");
    }
    assert_eq!(b["v"].as_string::<i32>().value(0), "null");
    assert_eq!(b["e"].as_string::<i32>().value(0), "{}");
}

#[test]
fn a_timestamp_out_of_range_is_an_error_and_leaves_no_row() {
    let m = message(WKT, "W");
    let c = columns(WKT, "W");
    let mut r = RowsBuilder::new(&c);
    r.append(&wire(&m, "i64 { value: 1 } ts { seconds: 1 }"))
        .unwrap();
    let bad = wire(
        &m,
        "i64 { value: 2 } tss { seconds: 5 } tss { seconds: 253402300800 }",
    );
    let err = r.append(&bad).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid google.protobuf.Timestamp: seconds 253402300800 outside"),
        "{err}"
    );
    assert_eq!(err.field_path, "tss[1]");
    assert_eq!(r.len(), 1);
    let b = r.finish();
    assert_eq!(b.num_rows(), 1);
    assert_eq!(b["i64"].as_primitive::<Int64Type>().values(), &[1]);
    let tss = b["tss"].as_list::<i32>();
    assert_eq!(
        tss.values().len(),
        0,
        "the good element of the bad row is gone"
    );
}

const PRESENCE: &str = r#"
syntax = "proto3";
package t;
message Inner { int32 x = 1; optional int32 y = 2; }
message P {
  int32 plain = 1;
  optional int32 opt = 2;
  Inner inner = 3;
  oneof pick { string a = 4; Inner b = 5; }
  string s = 6;
  enum E { FIRST = 0; SECOND = 1; }
  E e = 7;
  bool flag = 8;
}
"#;

#[test]
fn presence_decides_null_and_fields_without_it_hold_their_default() {
    let m = message(PRESENCE, "P");
    let c = columns(PRESENCE, "P");
    let b = rows(&c, &[&[], &wire(&m, r#"opt: 0 inner {} a: """#)]);
    let schema = b.schema();
    for (name, nullable) in [
        ("plain", false),
        ("opt", true),
        ("inner", true),
        ("a", true),
        ("b", true),
        ("s", false),
        ("e", false),
        ("flag", false),
    ] {
        assert_eq!(
            schema.field_with_name(name).unwrap().is_nullable(),
            nullable,
            "{name}"
        );
    }
    // Unset: defaults, or null with presence.
    assert_eq!(b["plain"].as_primitive::<Int32Type>().value(0), 0);
    assert_eq!(b["s"].as_string::<i32>().value(0), "");
    assert_eq!(b["e"].as_string::<i32>().value(0), "FIRST");
    assert!(!b["flag"].as_boolean().value(0));
    for name in ["opt", "inner", "a", "b"] {
        assert!(b[name].is_null(0), "{name}");
    }
    // Set to their defaults: present.
    assert_eq!(b["opt"].as_primitive::<Int32Type>().value(1), 0);
    assert!(b["opt"].is_valid(1));
    assert!(b["inner"].is_valid(1));
    assert!(b["a"].is_valid(1));
    let inner = b["inner"].as_struct();
    assert_eq!(inner["x"].as_primitive::<Int32Type>().value(1), 0);
    assert!(inner["y"].is_null(1));
}

#[test]
fn the_last_oneof_member_wins_and_the_others_are_null() {
    let c = columns(PRESENCE, "P");
    let b = rows(
        &c,
        &[
            &Wire::new()
                .bytes(4, b"gone")
                .message(5, Wire::new().varint(1, 3))
                .0,
            &Wire::new()
                .message(5, Wire::new().varint(1, 3))
                .bytes(4, b"kept")
                .0,
        ],
    );
    assert!(b["a"].is_null(0));
    assert_eq!(
        b["b"].as_struct()["x"].as_primitive::<Int32Type>().value(0),
        3
    );
    assert_eq!(b["a"].as_string::<i32>().value(1), "kept");
    assert!(b["b"].is_null(1));
}

const NESTED: &str = r#"
syntax = "proto3";
package t;
message Item { string sku = 1; repeated int32 qty = 2; }
message N {
  repeated Item items = 1;
  repeated sint64 nums = 2;
  map<string, Item> by_sku = 3;
  map<int32, string> names = 4;
  repeated string tags = 5;
}
"#;

#[test]
fn repeated_fields_are_lists_of_non_null_elements() {
    let c = columns(NESTED, "N");
    let f = c.arrow_schema();
    let DataType::List(item) = f.field_with_name("items").unwrap().data_type() else {
        panic!("not a list")
    };
    assert!(!item.is_nullable());
    assert!(!f.field_with_name("items").unwrap().is_nullable());
    // Packed and unpacked occurrences join.
    let w = Wire::new()
        .bytes(2, &[0x01, 0x03])
        .varint(2, 4)
        .message(1, Wire::new().bytes(1, b"a").varint(2, 1).varint(2, 2))
        .bytes(5, b"x")
        .message(1, Wire::new().bytes(1, b"b"));
    let b = rows(&c, &[&w.0, &[]]);
    let nums = b["nums"].as_list::<i32>();
    assert_eq!(
        nums.value(0).as_primitive::<Int64Type>().values(),
        &[-1, -2, 2]
    );
    assert_eq!(nums.value(1).len(), 0);
    assert!(nums.is_valid(1));
    let items = b["items"].as_list::<i32>().value(0);
    let items = items.as_struct();
    assert_eq!(items["sku"].as_string::<i32>().value(1), "b");
    assert_eq!(
        items["qty"]
            .as_list::<i32>()
            .value(0)
            .as_primitive::<Int32Type>()
            .values(),
        &[1, 2]
    );
}

#[test]
fn maps_are_arrow_maps_and_the_last_entry_of_a_key_wins() {
    let c = columns(NESTED, "N");
    let f = c.arrow_schema();
    let DataType::Map(entries, false) = f.field_with_name("names").unwrap().data_type() else {
        panic!("not a map")
    };
    let DataType::Struct(kv) = entries.data_type() else {
        panic!("entries not a struct")
    };
    assert!(!kv[0].is_nullable());
    assert_eq!(kv[0].data_type(), &DataType::Int32);
    let entry = |k: u64, v: &[u8]| Wire::new().varint(1, k).bytes(2, v);
    let w = Wire::new()
        .message(4, entry(1, b"one"))
        .message(4, entry(2, b"two"))
        .message(4, entry(1, b"uno"))
        .message(
            3,
            Wire::new()
                .bytes(1, b"k")
                .message(2, Wire::new().varint(2, 9)),
        );
    let b = rows(&c, &[&w.0]);
    let names = b["names"].as_map();
    let mut got: Vec<(i32, String)> = (0..names.value_length(0) as usize)
        .map(|i| {
            (
                names.keys().as_primitive::<Int32Type>().value(i),
                names.values().as_string::<i32>().value(i).to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, [(1, "uno".to_owned()), (2, "two".to_owned())]);
    let by_sku = b["bySku"].as_map();
    assert_eq!(by_sku.keys().as_string::<i32>().value(0), "k");
    let item = by_sku.values().as_struct();
    assert_eq!(item["sku"].as_string::<i32>().value(0), "");
    assert_eq!(
        item["qty"]
            .as_list::<i32>()
            .value(0)
            .as_primitive::<Int32Type>()
            .values(),
        &[9]
    );
}

#[test]
fn singular_fields_last_one_wins_messages_merge_and_unknown_fields_are_ignored() {
    let c = columns(PRESENCE, "P");
    let w = Wire::new()
        .varint(1, 1)
        .message(3, Wire::new().varint(1, 5))
        .varint(99, 1)
        .bytes(98, b"unknown")
        .varint(1, 2)
        .message(3, Wire::new().varint(2, 6));
    let b = rows(&c, &[&w.0]);
    assert_eq!(b["plain"].as_primitive::<Int32Type>().value(0), 2);
    let inner = b["inner"].as_struct();
    assert_eq!(inner["x"].as_primitive::<Int32Type>().value(0), 5);
    assert_eq!(inner["y"].as_primitive::<Int32Type>().value(0), 6);
}

const RECURSIVE: &str = r#"
syntax = "proto3";
package t;
message Node { string name = 1; Node child = 2; repeated Node kids = 3; }
"#;

#[test]
fn recursive_messages_expand_to_max_depth_then_hold_protojson_text() {
    let m = message(RECURSIVE, "Node");
    let opts = ParquetOptions {
        max_depth: 2,
        ..ParquetOptions::default()
    };
    let c = Columns::new(&m, JsonOptions::default(), &opts).unwrap();
    let schema = c.arrow_schema();
    let DataType::Struct(child) = schema.field_with_name("child").unwrap().data_type() else {
        panic!("child is not a struct")
    };
    assert_eq!(
        child.find("child").unwrap().1.data_type(),
        &DataType::Utf8,
        "the third level is text"
    );
    let b = rows(
        &c,
        &[&wire(
            &m,
            r#"name: "a" child { name: "b" child { name: "c" child { name: "d" } } }"#,
        )],
    );
    let level2 = b["child"].as_struct();
    assert_eq!(level2["name"].as_string::<i32>().value(0), "b");
    assert_eq!(
        level2["child"].as_string::<i32>().value(0),
        r#"{"name":"c","child":{"name":"d"}}"#
    );
}

#[test]
fn a_depth_that_expands_past_the_column_limit_is_refused_naming_it() {
    // Two recursive fields double the columns at every level: 3 × (2^d − 1).
    let m = message(RECURSIVE, "Node");
    let deep = |max_depth| ParquetOptions {
        max_depth,
        ..ParquetOptions::default()
    };
    assert!(Columns::new(&m, JsonOptions::default(), &deep(11)).is_ok());
    let err = Columns::new(
        &m,
        JsonOptions::default(),
        &deep(ParquetOptions::MAX_MAX_DEPTH),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("the message expands to more than 10000 columns at recursion depth 16 (reached at `child."),
        "{err}"
    );
    assert!(err.ends_with("); lower the Parquet max depth"), "{err}");
}

#[test]
fn column_names_follow_the_json_options() {
    let m = message(NESTED, "N");
    let json = Columns::new(&m, JsonOptions::default(), &ParquetOptions::default()).unwrap();
    assert!(json.arrow_schema().field_with_name("bySku").is_ok());
    let proto = JsonOptions {
        proto_names: true,
        ..JsonOptions::default()
    };
    let proto = Columns::new(&m, proto, &ParquetOptions::default()).unwrap();
    assert!(proto.arrow_schema().field_with_name("by_sku").is_ok());
}

#[test]
fn names_equal_ignoring_case_are_refused_naming_both() {
    let src = r#"syntax = "proto3"; package t;
        message Inner { int32 a = 1 [json_name = "userId"]; int32 b = 2 [json_name = "UserID"]; }
        message M { Inner inner = 1; }"#;
    let err = Columns::new(
        &message(src, "M"),
        JsonOptions::default(),
        &ParquetOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "columns `inner.userId` and `inner.UserID` have the same name ignoring case, which Athena treats as one column"
    );
    let src = r#"syntax = "proto3"; package t; message M { int32 a = 1 [json_name = "Abc"]; int32 b = 2 [json_name = "aBC"]; }"#;
    let err = Columns::new(
        &message(src, "M"),
        JsonOptions::default(),
        &ParquetOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "columns `Abc` and `aBC` have the same name ignoring case, which Athena treats as one column"
    );
}

#[test]
fn a_message_without_fields_is_text_nested_and_an_error_at_the_top() {
    let src = r#"syntax = "proto3"; package t; message Mark {} message M { Mark mark = 1; }"#;
    let b = one(src, "M", "mark {}");
    assert_eq!(data_type(&b, "mark"), DataType::Utf8);
    assert_eq!(b["mark"].as_string::<i32>().value(0), "{}");
    let err = Columns::new(
        &message(src, "Mark"),
        JsonOptions::default(),
        &ParquetOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`t.Mark` cannot be a column: a message without fields has no columns"
    );
}

const PROTO2: &str = r#"
syntax = "proto2";
package t;
message G {
  optional int32 a = 1 [default = 7];
  optional group Grp = 2 { optional string s = 3; }
  repeated group Many = 4 { required int32 n = 5; }
  enum E { TWO = 2; THREE = 3; }
  optional E e = 6;
  repeated E es = 7;
}
"#;

#[test]
fn proto2_groups_are_structs_and_closed_enums_drop_unknown_numbers() {
    let c = columns(PROTO2, "G");
    let schema = c.arrow_schema();
    assert!(matches!(
        schema.field_with_name("grp").unwrap().data_type(),
        DataType::Struct(_)
    ));
    let w = Wire::new()
        .group(2, Wire::new().bytes(3, b"in"))
        .group(4, Wire::new().varint(5, 1))
        .group(4, Wire::new().varint(5, 2))
        .varint(6, 3)
        .varint(6, 9)
        .varint(7, 2)
        .varint(7, 9)
        .varint(7, 3);
    let b = rows(&c, &[&w.0, &[]]);
    assert_eq!(b["grp"].as_struct()["s"].as_string::<i32>().value(0), "in");
    let many = b["many"].as_list::<i32>().value(0);
    assert_eq!(
        many.as_struct()["n"].as_primitive::<Int32Type>().values(),
        &[1, 2]
    );
    assert_eq!(b["e"].as_string::<i32>().value(0), "THREE");
    let es = b["es"].as_list::<i32>().value(0);
    let es = es.as_string::<i32>();
    assert_eq!([es.value(0), es.value(1)], ["TWO", "THREE"]);
    assert_eq!(es.len(), 2);
    // Explicit presence: absent is null, whatever the declared default.
    assert!(b["a"].is_null(1));
    assert!(b["e"].is_null(1));
}
