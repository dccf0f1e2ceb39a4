//! MessageSet: a proto2 message with `option message_set_wire_format =
//! true` holds its extensions as items, group 1 with the extension's number
//! (`type_id`, field 2) and its message (`message`, field 3). Before
//! protoland read them, every item was skipped as an unknown field and the
//! extensions vanished from the JSON. The expected texts are what Google's
//! `json_format` (protobuf 7.36, upb) prints for the same bytes; the
//! differential suite (`tests/differential.rs`, section `message_set`)
//! checks many more shapes against it.

use protoland_schema::Schema;
use protoland_transcode::{JsonOptions, Plan};

use crate::support::{Wire, wire};

const SCHEMA: &str = r#"
    syntax = "proto2";
    package ms;
    message Set { option message_set_wire_format = true; extensions 4 to max; }
    message Item { optional string name = 1; optional int32 n = 2; extend Set { optional Item item = 1000; } }
    message Other { repeated int32 v = 1; extend Set { optional Other other = 1001; } }
    message Holder { optional Set set = 1; optional int32 after = 2; }
"#;

fn plan(name: &str) -> Plan {
    let schema = Schema::from_proto_source("ms.proto", SCHEMA).expect("the schema compiles");
    Plan::new(
        &schema.message(name).expect("type exists"),
        JsonOptions::default(),
    )
}

fn transcode(name: &str, bytes: &[u8]) -> Result<String, String> {
    let plan = plan(name);
    let mut out = Vec::new();
    let result = plan.transcode(bytes, &mut out);
    // `check` accepts exactly what `transcode` accepts.
    assert_eq!(
        plan.check(bytes).is_ok(),
        result.is_ok(),
        "check and transcode disagree"
    );
    result
        .map(|()| String::from_utf8(out).expect("UTF-8"))
        .map_err(|e| e.to_string())
}

fn item(type_id: u64, message: &[u8]) -> Wire {
    wire().varint(2, type_id).bytes(3, message)
}

fn item_msg(name: &str, n: u64) -> Vec<u8> {
    wire().bytes(1, name).varint(2, n).build()
}

#[test]
fn items_print_as_their_extensions() {
    let a = item_msg("a", 5);
    let other = wire().varint(1, 1).varint(1, 2).build();
    // In order (the fast path), the message before the type id, an item
    // of a type the schema does not know (left out), items for two
    // extensions.
    let bytes = wire()
        .group(1, wire().bytes(3, &a).varint(2, 1000))
        .group(1, item(5555, b"\x0f\xff"))
        .group(1, item(1001, &other))
        .build();
    assert_eq!(
        transcode("ms.Set", &bytes).unwrap(),
        r#"{"[ms.Item.item]":{"name":"a","n":5},"[ms.Other.other]":{"v":[1,2]}}"#
    );
    // Nested in a field, followed by another field.
    let holder = wire()
        .message(1, wire().group(1, item(1000, &a)))
        .varint(2, 3)
        .build();
    assert_eq!(
        transcode("ms.Holder", &holder).unwrap(),
        r#"{"set":{"[ms.Item.item]":{"name":"a","n":5}},"after":3}"#
    );
}

#[test]
fn an_item_replaces_its_extension_and_the_first_parts_of_an_item_win() {
    let a = item_msg("a", 5);
    let b = wire().varint(2, 9).build();
    // A second item for the same extension replaces the first (upb makes a
    // new message for each item): the slow path.
    let twice = wire()
        .group(1, item(1000, &a))
        .group(1, item(1000, &b))
        .build();
    assert_eq!(
        transcode("ms.Set", &twice).unwrap(),
        r#"{"[ms.Item.item]":{"n":9}}"#
    );
    // A plain extension field merges into what an item set; an item
    // replaces a plain field.
    let plain_after = wire().group(1, item(1000, &a)).bytes(1000, &b).build();
    assert_eq!(
        transcode("ms.Set", &plain_after).unwrap(),
        r#"{"[ms.Item.item]":{"name":"a","n":9}}"#
    );
    let plain_before = wire().bytes(1000, &a).group(1, item(1000, &b)).build();
    assert_eq!(
        transcode("ms.Set", &plain_before).unwrap(),
        r#"{"[ms.Item.item]":{"n":9}}"#
    );
    // Within an item the first type id and the first message count;
    // other fields (field number 0 too) are skipped; type ids are 32-bit.
    let parts = wire()
        .group(
            1,
            wire()
                .varint(0, 1)
                .varint(2, 1000)
                .varint(2, 1001)
                .bytes(3, &a)
                .bytes(3, &b),
        )
        .build();
    assert_eq!(
        transcode("ms.Set", &parts).unwrap(),
        r#"{"[ms.Item.item]":{"name":"a","n":5}}"#
    );
    let wide = wire().group(1, item((1 << 32) + 1000, &a)).build();
    assert_eq!(
        transcode("ms.Set", &wide).unwrap(),
        r#"{"[ms.Item.item]":{"name":"a","n":5}}"#
    );
    // Without a type id or a message, nothing.
    let half = wire()
        .group(1, wire().varint(2, 1000))
        .group(1, wire().bytes(3, &a))
        .build();
    assert_eq!(transcode("ms.Set", &half).unwrap(), "{}");
}

#[test]
fn malformed_items_are_errors() {
    // A message that does not decode as the type its id names (Google:
    // "Wire format was corrupt"), even when a later item replaces it.
    let bad = wire().group(1, item(1000, b"\x0f")).build();
    assert!(transcode("ms.Set", &bad).is_err());
    let replaced = wire()
        .group(1, item(1000, b"\x0f"))
        .group(1, item(1000, b""))
        .build();
    assert!(transcode("ms.Set", &replaced).is_err());
    // Unclosed, closed by another group's end tag.
    let unclosed = wire().tag(1, 3).varint(2, 1000).bytes(3, b"").build();
    assert!(transcode("ms.Set", &unclosed).is_err());
    let mismatch = wire().tag(1, 3).varint(2, 1000).tag(2, 4).build();
    assert_eq!(
        transcode("ms.Set", &mismatch).unwrap_err(),
        "end-group tag for field 2 does not match the open group (field 1) at byte 4"
    );
}
