//! Bad input: every kind of error, with its exact message (offset and field
//! path included), and the output buffer left as it was.

use protoland_transcode::{ErrorKind, JsonOptions};

use crate::support::{error, plan, transcode, wire};

fn item(price_tag_and_value: &[u8]) -> Vec<u8> {
    wire().bytes(1, "sku").raw(price_tag_and_value).build()
}

#[test]
fn names_the_field_path_and_offset_of_a_bad_wire_type() {
    // page { items {..} items {..} items { price: <wire type 7> } }
    let page = wire()
        .bytes(1, "/cart")
        .bytes(2, item(&[]))
        .bytes(2, item(&[]))
        .bytes(2, item(&[0x1f, 0, 0]));
    let order = wire().bytes(1, "o-1").message(2, page).build();
    assert_eq!(
        error("shop.Order", &order),
        "invalid wire type 7 at byte 35 in field `page.items[2].price`"
    );
}

#[test]
fn uses_proto_names_in_paths_with_that_option() {
    let order = wire()
        .message(5, wire().varint(1, 1).message(2, wire().tag(3, 6)))
        .build();
    let err = transcode(
        "shop.Order",
        JsonOptions {
            proto_names: true,
            ..JsonOptions::default()
        },
        &order,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid wire type 6 at byte 6 in field `by_line[\"1\"].price`"
    );
    assert_eq!(err.kind, ErrorKind::InvalidWireType(6));
    assert_eq!(err.offset, 6);
}

#[test]
fn reports_truncated_fields() {
    assert_eq!(
        error("shop.Scalars", &[0x08]),
        "message ends in the middle of a field at byte 0 in field `i32`"
    );
    assert_eq!(
        error("shop.Scalars", &[0x08, 0x01, 0x69, 0, 0, 0]),
        "message ends in the middle of a field at byte 2 in field `amount`"
    );
    assert_eq!(
        error("shop.Scalars", &[0x08, 0x01, 0x80]),
        "message ends in the middle of a field at byte 2"
    );
}

#[test]
fn reports_over_long_varints() {
    let mut bytes = vec![0x08];
    bytes.extend([0xff; 10]);
    bytes.push(0x01);
    assert_eq!(
        error("shop.Scalars", &bytes),
        "invalid varint at byte 1 in field `i32`"
    );
    // Tags and lengths are limited to 5 bytes.
    assert_eq!(
        error("shop.Scalars", &[0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01]),
        "invalid varint at byte 0"
    );
}

#[test]
fn reports_lengths_past_the_end() {
    let order = wire()
        .bytes(1, "o")
        .message(2, wire().raw(&[0x0a, 0x09, b'/']))
        .build();
    assert_eq!(
        error("shop.Order", &order),
        "length 9 runs past the end of the message (1 bytes left) at byte 5 in field `page.url`"
    );
}

#[test]
fn takes_field_number_zero_for_unknown_in_types_without_fields_as_upb_does() {
    let empty = "google.protobuf.Empty";
    assert_eq!(crate::support::json(empty, &[0x00, 0x01, 0x02, 0x00]), "{}");
    assert_eq!(
        error(empty, &[0x03, 0x04]),
        "field number 0 is invalid at byte 0"
    );
}

#[test]
fn refuses_proto2_map_keys_that_are_not_utf8_as_google_does() {
    // Values print as Python prints the bytes; keys make Python fail.
    let record = wire()
        .bytes(1, "r")
        .message(11, wire().bytes(1, b"\xfe").varint(2, 1))
        .build();
    assert_eq!(
        error("legacy.Record", &record),
        "invalid UTF-8 in a string field at byte 7 in field `gradeByName`"
    );
}

#[test]
fn reports_field_number_zero() {
    assert_eq!(
        error("shop.Scalars", &[0x08, 0x01, 0x00, 0x01]),
        "field number 0 is invalid at byte 2"
    );
}

#[test]
fn reports_group_mismatches() {
    let r = "legacy.Record";
    // group 6 closed by end-group 9
    assert_eq!(
        error(r, &wire().tag(6, 3).varint(7, 1).tag(9, 4).build()),
        "end-group tag for field 9 does not match the open group (field 6) at byte 3 in field `extra`"
    );
    assert_eq!(
        error(r, &wire().tag(6, 3).varint(7, 1).build()),
        "group for field 6 is never closed at byte 0 in field `extra`"
    );
    assert_eq!(
        error(r, &wire().varint(2, 1).tag(6, 4).build()),
        "unexpected end-group tag for field 6 at byte 2 in field `extra`"
    );
    assert_eq!(
        error(r, &wire().tag(50, 4).build()),
        "unexpected end-group tag for field 50 at byte 0"
    );
}

#[test]
fn reports_invalid_utf8_in_proto3_strings_at_the_bad_byte() {
    let order = wire()
        .message(4, wire().bytes(1, "k").bytes(2, b"ok\xc3("))
        .build();
    assert_eq!(
        error("shop.Order", &order),
        "invalid UTF-8 in a string field at byte 9 in field `tags[\"k\"]`"
    );
    let order = wire().bytes(12, "fine").bytes(12, b"\xff").build();
    assert_eq!(
        error("shop.Order", &order),
        "invalid UTF-8 in a string field at byte 8 in field `notes[1]`"
    );
}

#[test]
fn reports_nesting_deeper_than_100_levels() {
    let mut chain = wire().varint(2, 1);
    for _ in 0..101 {
        chain = wire().message(1, chain);
    }
    let message = error("legacy.Chain", &chain.build());
    assert!(
        message.starts_with("messages nested deeper than 100 levels at byte "),
        "{message}"
    );
    assert!(
        message.ends_with(&format!("in field `{}`", vec!["next"; 101].join("."))),
        "{message}"
    );
}

/// `Any` payloads start a new count of 100 levels, as in Google's parser;
/// in all, messages nest at most 400 levels (Google's Python printer fails
/// from about 200 `Any`s on its recursion limit).
fn any_chain(levels: usize) -> Vec<u8> {
    let mut known = wire().message(16, wire().bytes(1, "leaf"));
    for _ in 0..levels {
        let any = wire()
            .bytes(1, "type.googleapis.com/shop.Known")
            .bytes(2, known.build());
        known = wire().message(8, any);
    }
    known.build()
}

#[test]
fn prints_any_nested_beyond_100_levels_on_its_own_stack() {
    let printed = crate::support::json("shop.Known", &any_chain(150));
    assert_eq!(printed.matches("\"@type\"").count(), 150);
    assert!(printed.contains(r#""sv":"leaf""#));
}

#[test]
fn reports_any_nested_deeper_than_400_levels() {
    let message = error("shop.Known", &any_chain(200));
    assert!(
        message.starts_with("messages nested deeper than 400 levels at byte "),
        "{message}"
    );
}

#[test]
fn reports_unknown_groups_nested_too_deep() {
    let mut group = wire();
    for _ in 0..101 {
        group = wire().group(50, group);
    }
    assert_eq!(
        error("legacy.Chain", &group.build()),
        "messages nested deeper than 100 levels at byte 200"
    );
}

#[test]
fn reports_packed_fields_of_partial_elements() {
    assert_eq!(
        error("legacy.Record", &wire().bytes(12, [1, 0x80]).build()),
        "message ends in the middle of a field at byte 3 in field `packedNumbers`"
    );
}

#[test]
fn reports_values_json_cannot_express() {
    let k = "shop.Known";
    assert_eq!(
        error(
            k,
            &wire().message(1, wire().varint(1, 253_402_300_800)).build()
        ),
        "invalid google.protobuf.Timestamp: seconds 253402300800 outside \
         [-62135596800, 253402300799] (years 1 to 9999) at byte 2 in field `at`"
    );
    assert_eq!(
        error(
            k,
            &wire()
                .message(2, wire().varint(1, 1).varint(2, u64::MAX))
                .build()
        ),
        "invalid google.protobuf.Duration: seconds 1 and nanos -1 have different signs \
         at byte 2 in field `took`"
    );
    assert_eq!(
        error(k, &wire().message(4, wire().double(2, f64::NAN)).build()),
        "invalid google.protobuf.Value: number_value NaN is not a JSON number at byte 3 in field `value`"
    );
    assert_eq!(
        error(
            k,
            &wire()
                .message(6, wire().bytes(1, "a").bytes(1, "fooBar"))
                .build()
        ),
        "invalid google.protobuf.FieldMask: path `fooBar` contains an uppercase letter \
         at byte 7 in field `mask`"
    );
    assert_eq!(
        error(
            k,
            &wire()
                .message(8, wire().bytes(1, "type.googleapis.com/shop.Nope"))
                .build()
        ),
        "Any type URL `type.googleapis.com/shop.Nope` does not name a message type in the \
         schema at byte 2 in field `any`"
    );
}

#[test]
fn reports_truncated_timestamps() {
    assert_eq!(
        error("shop.Known", &wire().message(1, wire().tag(1, 0)).build()),
        "message ends in the middle of a field at byte 2 in field `at`"
    );
}

#[test]
fn a_value_json_cannot_express_is_no_error_once_overwritten() {
    let k = "shop.Known";
    let bad_then_good = wire()
        .message(1, wire().varint(1, 253_402_300_800))
        .message(1, wire().varint(1, 0))
        .build();
    assert_eq!(
        crate::support::json(k, &bad_then_good),
        r#"{"at":"1970-01-01T00:00:00Z"}"#
    );
}

#[test]
fn leaves_the_output_as_it_was() {
    let plan = plan("shop.Order", JsonOptions::default());
    let mut out = b"previous line\n".to_vec();
    // The error comes late, after most fields were written.
    let order = wire()
        .bytes(1, "o")
        .message(2, wire().bytes(1, "/p"))
        .varint(6, 1)
        .bytes(12, b"\xff")
        .build();
    assert!(plan.transcode(&order, &mut out).is_err());
    assert_eq!(out, b"previous line\n");
    // The same on the slow path (fields out of order).
    let order = wire()
        .bytes(12, "n")
        .bytes(1, "o")
        .bytes(12, b"\xff")
        .build();
    assert!(plan.transcode(&order, &mut out).is_err());
    assert_eq!(out, b"previous line\n");
}

#[test]
fn check_counts_known_and_unknown_top_level_fields() {
    let plan = plan("shop.Order", JsonOptions::default());
    let order = wire()
        .bytes(1, "o")
        .varint(1, 5) // known number, unexpected wire type: unknown
        .varint(6, 1)
        .bytes(6, [1, 2]) // packed: known
        .bytes(99, "x")
        .build();
    let check = plan.check(&order).expect("valid");
    assert_eq!((check.known_fields, check.unknown_fields), (3, 2));
    let bad = wire().message(2, wire().bytes(1, b"\xff")).build();
    assert_eq!(
        plan.check(&bad).unwrap_err().to_string(),
        "invalid UTF-8 in a string field at byte 4 in field `page.url`"
    );
}
