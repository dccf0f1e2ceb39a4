//! Appending rows: errors with offsets and paths, no partial rows, batches.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use protoland_columnar::RowsBuilder;
use protoland_transcode::ErrorKind;

use crate::support::{Wire, columns, message, wire};

const SHOP: &str = r#"
syntax = "proto3";
package t;
import "google/protobuf/timestamp.proto";
message Line { string sku = 1; int32 qty = 2; google.protobuf.Timestamp at = 3; }
message Order {
  int32 id = 1;
  repeated Line lines = 2;
  map<string, Line> by_sku = 3;
  Line first = 4;
  repeated string notes = 5;
}
"#;

#[test]
fn undecodable_bytes_are_an_error_with_offset_and_field_path() {
    let c = columns(SHOP, "Order");
    let mut r = RowsBuilder::new(&c);
    let good_line = Wire::new().bytes(1, b"a");
    let w = Wire::new()
        .varint(1, 1)
        .message(2, good_line.clone())
        .message(2, Wire::new().bytes(1, b"\xc3"));
    let err = r.append(&w.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid UTF-8 in a string field at byte 11 in field `lines[1].sku`"
    );
    let err = r.append(&[0x0a, 0x05, 0x01]).unwrap_err();
    assert_eq!(err.offset, 0);
    assert_eq!(r.len(), 0);
}

/// Every kind of column (list, map, struct, strings, their offsets) gets
/// some values of the bad message before it fails deep inside: none of
/// them may stay.
#[test]
fn a_failed_message_leaves_no_partial_row() {
    let m = message(SHOP, "Order");
    let c = columns(SHOP, "Order");
    let mut r = RowsBuilder::new(&c);
    let good = wire(
        &m,
        r#"id: 1 lines { sku: "a" qty: 1 } by_sku { key: "a" value { qty: 1 } } first { sku: "f" } notes: "n""#,
    );
    r.append(&good).unwrap();
    let bytes_after_good = r.buffered_bytes();
    // Valid wire format; the last line's timestamp is out of range, so
    // the failure comes after ids, notes, the map and two lines are in.
    let bad = wire(
        &m,
        r#"id: 2 notes: "x" notes: "y" by_sku { key: "b" value { sku: "b" } } first { sku: "g" }
           lines { sku: "ok" } lines { sku: "bad" at { seconds: -99999999999999 } }"#,
    );
    let err = r.append(&bad).unwrap_err();
    assert_eq!(err.field_path, "lines[1].at");
    assert_eq!(r.len(), 1);
    assert_eq!(r.buffered_bytes(), bytes_after_good);
    r.append(&good).unwrap();
    let b = r.finish();
    assert_eq!(b.num_rows(), 2);
    assert_eq!(b["id"].as_primitive::<Int32Type>().values(), &[1, 1]);
    let lines = b["lines"].as_list::<i32>();
    assert_eq!(lines.value_offsets(), &[0, 1, 2]);
    let notes = b["notes"].as_list::<i32>();
    assert_eq!(
        notes
            .values()
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect::<Vec<_>>(),
        ["n", "n"]
    );
    let by_sku = b["bySku"].as_map();
    assert_eq!(by_sku.value_offsets(), &[0, 1, 2]);
    let first = b["first"].as_struct();
    assert_eq!(
        first["sku"]
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect::<Vec<_>>(),
        ["f", "f"]
    );
    assert_eq!(lines.values().len(), 2);
}

#[test]
fn finish_empties_the_builder_for_the_next_batch() {
    let m = message(SHOP, "Order");
    let c = columns(SHOP, "Order");
    let mut r = RowsBuilder::new(&c);
    for id in 0..3 {
        r.append(&wire(&m, &format!("id: {id} notes: \"n{id}\"")))
            .unwrap();
    }
    assert!(r.buffered_bytes() > 0);
    let first = r.finish();
    assert_eq!(first.num_rows(), 3);
    assert!(r.is_empty());
    r.append(&wire(&m, "id: 9")).unwrap();
    let second = r.finish();
    assert_eq!(second.num_rows(), 1);
    assert_eq!(second["id"].as_primitive::<Int32Type>().value(0), 9);
    assert_eq!(second["notes"].as_list::<i32>().value(0).len(), 0);
    assert_eq!(first.schema(), c.arrow_schema());
}

/// A packed field of one-byte varints is 8 bytes a value in an Int64
/// column (16 as a uint64 decimal, an enum's name as text): the row limit
/// stops it while the list is filled, names the field, and leaves the
/// builder as it was, so the next message still goes in.
#[test]
fn a_row_over_the_row_limit_fails_while_it_grows() {
    const PACKED: &str = r#"
syntax = "proto3";
package t;
enum Color { RED = 0; GREEN_WITH_A_LONG_NAME = 1; }
message P { int32 id = 1; repeated int64 xs = 2; repeated uint64 us = 3; repeated Color cs = 4; }
"#;
    let c = columns(PACKED, "P");
    let ones = vec![1u8; 100_000];
    for field in [2, 3, 4] {
        let mut r = RowsBuilder::new(&c).with_max_row_bytes(400_000);
        r.append(&Wire::new().varint(1, 7).0).unwrap();
        let w = Wire::new().varint(1, 8).bytes(field, &ones);
        let err = r.append(&w.0).unwrap_err();
        let name = ["xs", "us", "cs"][field as usize - 2];
        assert_eq!(err.kind, ErrorKind::RowTooLarge { limit: 400_000 });
        assert_eq!(err.offset, 2, "the field's tag");
        assert!(
            err.to_string().starts_with(
                "its row is over the limit of 400000 bytes of column buffers at byte 2 in field `"
            ),
            "{err}"
        );
        assert_eq!(r.len(), 1, "{name}");
        // Well before the whole field: every 256 values.
        let at: usize = err.field_path[name.len() + 1..err.field_path.len() - 1]
            .parse()
            .unwrap();
        assert!(at.is_multiple_of(256) && at < 60_000, "{name}: {at}");
        r.append(&Wire::new().varint(1, 9).bytes(field, &ones[..10]).0)
            .unwrap();
        let b = r.finish();
        assert_eq!(b["id"].as_primitive::<Int32Type>().values(), &[7, 9]);
    }
}
