//! The line limit of `Plan::transcode_limited`: a few bytes of wire data
//! can print as megabytes of JSON (empty messages printed with their
//! defaults, enum names, escaped control characters), so the length is
//! checked while the JSON is written, and the call fails with
//! `ErrorKind::LineTooLong` at the field being written, never having
//! grown the output far past the limit.

use protoland_transcode::{ErrorKind, JsonOptions, TranscodeError};

use crate::support::{plan, text, wire};

const EMIT_DEFAULTS: JsonOptions = JsonOptions {
    proto_names: false,
    emit_defaults: true,
    enum_numbers: false,
};

/// Transcodes into a buffer holding `prefix` (as the converter's batch
/// buffer holds earlier lines); returns the result and the buffer.
fn limited(
    name: &str,
    options: JsonOptions,
    wire: &[u8],
    max_len: usize,
) -> (Result<(), TranscodeError>, Vec<u8>) {
    let mut out = b"{\"earlier\":\"line\"}\n".to_vec();
    let result = plan(name, options).transcode_limited(wire, &mut out, max_len);
    (result, out)
}

fn unlimited(name: &str, options: JsonOptions, wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    plan(name, options)
        .transcode(wire, &mut out)
        .expect("transcodes without a limit");
    out
}

/// The input that made one 2.28 GB line: empty nested messages (`1a 00`,
/// an empty `items` element) printed with their defaults. Refused at the
/// limit, while writing: the buffer never grew to the whole JSON.
#[test]
fn stops_empty_messages_printed_with_defaults_at_the_limit() {
    let n = 200_000;
    let order = [0x1a, 0x00].repeat(n);
    let whole = unlimited("shop.Order", EMIT_DEFAULTS, &order);
    assert!(whole.len() > 6_000_000, "{}", whole.len());
    let limit = 256 << 10;
    let (result, out) = limited("shop.Order", EMIT_DEFAULTS, &order, limit);
    let err = result.expect_err("over the limit");
    assert_eq!(err.kind, ErrorKind::LineTooLong { limit });
    // Found by the slow path (the fast path hands a message over the
    // limit to it: a later field might have replaced what made it long),
    // while it gathers the fields: at an `items` tag, at the top level.
    assert_eq!(err.field_path, "", "{err}");
    assert!(err.offset < order.len() && err.offset % 2 == 0, "{err}");
    assert!(
        err.to_string()
            .starts_with("its JSON is over the line limit of 262144 bytes at byte "),
        "{err}"
    );
    // Left as it was, and never grown to the whole JSON.
    assert_eq!(out, b"{\"earlier\":\"line\"}\n");
    assert!(out.capacity() < 4 * limit, "{}", out.capacity());
}

/// A message converts with a limit of exactly its JSON's length and is
/// refused one byte below, whatever writes the last bytes: a string with
/// escapes, base64, packed numbers, an enum name, a map, defaults.
#[test]
fn the_limit_is_exact_for_messages_in_field_order() {
    let cases: [(&str, JsonOptions, Vec<u8>); 6] = [
        (
            "shop.Scalars",
            JsonOptions::default(),
            text(
                "shop.Scalars",
                r#"i32: 7 name: "tab\there \"quoted\" \001" blob: "\377\000\001" status: STATUS_CLOSED"#,
            ),
        ),
        (
            "shop.Order",
            JsonOptions::default(),
            wire()
                .bytes(1, "o-1")
                .message(4, wire().bytes(1, "k").bytes(2, "v\n"))
                .bytes(6, [1, 2, 0x96, 0x01, 3])
                .bytes(7, [1, 2])
                .build(),
        ),
        ("shop.Order", EMIT_DEFAULTS, [0x1a, 0x00].repeat(40)),
        ("shop.Scalars", EMIT_DEFAULTS, Vec::new()),
        (
            "shop.Order",
            JsonOptions::default(),
            wire().bytes(6, vec![0x7f; 500]).build(),
        ),
        (
            "shop.Scalars",
            JsonOptions::default(),
            wire().bytes(14, vec![0x01; 300]).build(),
        ),
    ];
    for (name, options, wire) in cases {
        let whole = unlimited(name, options, &wire);
        let (ok, out) = limited(name, options, &wire, whole.len());
        assert!(
            ok.is_ok(),
            "{name} {:?}: {ok:?}",
            String::from_utf8_lossy(&whole)
        );
        assert!(out.ends_with(&whole));
        let (err, _) = limited(name, options, &wire, whole.len() - 1);
        assert_eq!(
            err.expect_err("over the limit").kind,
            ErrorKind::LineTooLong {
                limit: whole.len() - 1
            },
            "{name} {:?}",
            String::from_utf8_lossy(&whole)
        );
    }
}

/// Long packed arrays are checked as they are written (every 64 numbers),
/// not after.
#[test]
fn stops_a_long_packed_array_while_writing_it() {
    // 1,000,000 small int32s in one packed record: 2 MB of JSON.
    let order = wire().bytes(6, vec![0x05; 1_000_000]).build();
    let (result, out) = limited("shop.Order", JsonOptions::default(), &order, 64 << 10);
    let err = result.expect_err("over the limit");
    assert_eq!(err.kind, ErrorKind::LineTooLong { limit: 64 << 10 });
    assert!(err.field_path.starts_with("codes["), "{err}");
    assert!(out.capacity() < 256 << 10, "{}", out.capacity());
}

/// A long string is measured before it is written (six bytes a byte for
/// control characters): refused without being copied.
#[test]
fn measures_a_long_string_before_writing_it() {
    let scalars = wire().bytes(14, vec![0x01; 1_000_000]).build();
    let (result, out) = limited("shop.Scalars", JsonOptions::default(), &scalars, 5_000_000);
    assert_eq!(
        result.expect_err("over the limit").to_string(),
        "its JSON is over the line limit of 5000000 bytes at byte 4 in field `name`"
    );
    assert!(out.capacity() < 1 << 20, "{}", out.capacity());
    // `{"name":` + 1,000,000 × `\u0001` in quotes + `}`.
    let (result, _) = limited("shop.Scalars", JsonOptions::default(), &scalars, 6_000_011);
    assert!(result.is_ok());
    let (result, _) = limited("shop.Scalars", JsonOptions::default(), &scalars, 6_000_010);
    assert!(result.is_err());
}

/// The limit applies to the JSON printed, not to values a later field
/// replaces: a long string written again short prints short.
#[test]
fn a_long_value_replaced_by_a_later_field_does_not_count() {
    let scalars = wire()
        .bytes(14, vec![b'x'; 10_000])
        .varint(1, 3)
        .bytes(14, "short")
        .build();
    let (result, out) = limited("shop.Scalars", JsonOptions::default(), &scalars, 100);
    result.expect("within the limit");
    assert!(out.ends_with(br#"{"i32":3,"name":"short"}"#));
}

/// Fields out of order are gathered before they are written (12 bytes per
/// occurrence, doubled for growth): that memory counts toward the limit,
/// so a message of many small fields out of order cannot take far more
/// memory than its JSON.
#[test]
fn the_working_memory_for_fields_out_of_order_counts() {
    // `id` after `codes`: the slow path, gathering 300,001 occurrences.
    let mut order = [0x1a, 0x00].repeat(300_000);
    order.extend(wire().varint(6, 1).bytes(1, "late").build());
    let whole = unlimited("shop.Order", JsonOptions::default(), &order);
    assert!(whole.len() < 1_000_000, "{}", whole.len());
    let (result, out) = limited("shop.Order", JsonOptions::default(), &order, 2 << 20);
    assert_eq!(
        result.expect_err("over the limit").kind,
        ErrorKind::LineTooLong { limit: 2 << 20 }
    );
    assert!(out.capacity() < 8 << 20, "{}", out.capacity());
    let (result, _) = limited("shop.Order", JsonOptions::default(), &order, 16 << 20);
    assert!(result.is_ok());
}

/// A map with many keys keeps them in a set to find duplicates; the set
/// counts toward the limit too.
#[test]
fn the_keys_of_a_large_map_count() {
    let mut order = Vec::new();
    for i in 0..100_000u64 {
        order.extend(wire().message(5, wire().varint(1, i)).build());
    }
    let whole = unlimited("shop.Order", JsonOptions::default(), &order);
    let (result, _) = limited(
        "shop.Order",
        JsonOptions::default(),
        &order,
        whole.len() + 64,
    );
    assert_eq!(
        result.expect_err("over the limit").kind,
        ErrorKind::LineTooLong {
            limit: whole.len() + 64
        }
    );
    let (result, out) = limited("shop.Order", JsonOptions::default(), &order, 32 << 20);
    result.expect("within the limit");
    assert!(out.ends_with(&whole));
}
