//! Properties over random messages built with prost-reflect: the output is
//! JSON, it holds the values prost-reflect's own serializer prints (within
//! the values where prost-reflect agrees with Google: no NaN, infinities or
//! negative zero, no unknown closed-enum values), and prost-reflect's JSON
//! parser reads it back to the same message. Messages are encoded canonically
//! and also with their fields in descending number order (the slow path); both must print the
//! same.

use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage,
    SerializeOptions, Value,
};
use protoland_transcode::{ErrorKind, JsonOptions};
use serde_json::Value as Json;

use crate::support::{message, plan};

/// A small deterministic generator (xorshift*), driven by proptest's seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn int(&mut self) -> u64 {
        match self.below(4) {
            0 => 0,
            1 => self.below(300),
            2 => [
                1,
                u64::MAX,
                i64::MAX as u64,
                i64::MIN as u64,
                u32::MAX as u64,
            ][self.below(5) as usize],
            _ => self.next(),
        }
    }
    fn finite(&mut self) -> f64 {
        let v = (self.next() as i64 as f64) * 10f64.powi(self.below(40) as i32 - 30);
        if v == 0.0 { 0.0 } else { v }
    }
    fn text(&mut self) -> String {
        const PIECES: [&str; 10] = ["a", "Z", "_", " ", "\"", "\\", "\n", "é", "😀", "\u{2028}"];
        (0..self.below(6))
            .map(|_| PIECES[self.below(10) as usize])
            .collect()
    }
}

fn scalar(g: &mut Gen, kind: &Kind) -> Value {
    match kind {
        Kind::Double => Value::F64(g.finite()),
        Kind::Float => Value::F32(g.finite() as f32),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(g.int() as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(g.int() as i64),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(g.int() as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(g.int()),
        Kind::Bool => Value::Bool(g.chance(50)),
        Kind::String => Value::String(g.text()),
        Kind::Bytes => Value::Bytes(
            (0..g.below(5))
                .map(|_| g.next() as u8)
                .collect::<Vec<u8>>()
                .into(),
        ),
        Kind::Enum(e) => {
            let values: Vec<i32> = e.values().map(|v| v.number()).collect();
            // Open enums may hold numbers the schema does not name.
            // (Not NullValue: Google prints null whatever its number.)
            if e.parent_file().syntax() == prost_reflect::Syntax::Proto3
                && e.full_name() != "google.protobuf.NullValue"
                && g.chance(10)
            {
                Value::EnumNumber(g.below(100) as i32 + 10)
            } else {
                Value::EnumNumber(values[g.below(values.len() as u64) as usize])
            }
        }
        Kind::Message(m) => Value::Message(random_message(g, m, 0)),
    }
}

fn map_key(g: &mut Gen, kind: &Kind) -> MapKey {
    match scalar(g, kind) {
        Value::Bool(b) => MapKey::Bool(b),
        Value::I32(v) => MapKey::I32(v),
        Value::I64(v) => MapKey::I64(v),
        Value::U32(v) => MapKey::U32(v),
        Value::U64(v) => MapKey::U64(v),
        Value::String(s) => MapKey::String(s),
        _ => MapKey::String(String::new()),
    }
}

fn field_value(g: &mut Gen, f: &FieldDescriptor, depth: u32) -> Value {
    let one = |g: &mut Gen, kind: &Kind| match kind {
        Kind::Message(m) => Value::Message(random_message(g, m, depth + 1)),
        k => scalar(g, k),
    };
    if f.is_map() {
        let Kind::Message(entry) = f.kind() else {
            unreachable!()
        };
        let (k, v) = (entry.map_entry_key_field(), entry.map_entry_value_field());
        let map = (0..g.below(4))
            .map(|_| (map_key(g, &k.kind()), one(g, &v.kind())))
            .collect();
        Value::Map(map)
    } else if f.is_list() {
        Value::List((0..g.below(4)).map(|_| one(g, &f.kind())).collect())
    } else {
        one(g, &f.kind())
    }
}

/// A random message; well-known types get values Google can print.
fn random_message(g: &mut Gen, m: &MessageDescriptor, depth: u32) -> DynamicMessage {
    let mut msg = DynamicMessage::new(m.clone());
    let set = |msg: &mut DynamicMessage, n: u32, v: Value| msg.set_field_by_number(n, v);
    match m.full_name() {
        "google.protobuf.Timestamp" => {
            set(
                &mut msg,
                1,
                Value::I64(g.below(253_402_300_799 + 62_135_596_800) as i64 - 62_135_596_800),
            );
            set(
                &mut msg,
                2,
                Value::I32([0, 1_000_000, 123_456_000, 1][g.below(4) as usize]),
            );
            return msg;
        }
        "google.protobuf.Duration" => {
            let s = g.below(2_000_000) as i64 - 1_000_000;
            let n = g.below(1_000_000_000) as i32;
            set(&mut msg, 1, Value::I64(s));
            set(
                &mut msg,
                2,
                Value::I32(if s < 0 {
                    -n
                } else if s == 0 {
                    n * [1, -1][g.below(2) as usize]
                } else {
                    n
                }),
            );
            return msg;
        }
        "google.protobuf.FieldMask" => {
            let paths = (0..g.below(3))
                .map(|_| Value::String(["a", "foo_bar", "x.y_z"][g.below(3) as usize].into()));
            set(&mut msg, 1, Value::List(paths.collect()));
            return msg;
        }
        "google.protobuf.Any" => {
            // (Never empty: prost-reflect refuses to print an empty Any.)
            let inner = random_message(g, &message("shop.Item"), depth + 1);
            set(
                &mut msg,
                1,
                Value::String("type.googleapis.com/shop.Item".into()),
            );
            set(&mut msg, 2, Value::Bytes(inner.encode_to_vec().into()));
            return msg;
        }
        "google.protobuf.Value" => {
            // Exactly one kind: a Value without one prints `null`, which
            // reads back as `null_value` (so would not round-trip).
            let fields: Vec<FieldDescriptor> = m.fields().collect();
            let f = &fields[g.below(fields.len() as u64) as usize];
            let v = if depth > 3 {
                Value::EnumNumber(0)
            } else {
                field_value(g, f, depth)
            };
            let f = if depth > 3 { &fields[0] } else { f };
            msg.set_field(f, v);
            return msg;
        }
        _ => {}
    }
    for f in m.fields() {
        if depth > 3 && matches!(f.kind(), Kind::Message(_)) {
            continue;
        }
        if g.chance(50) {
            let v = field_value(g, &f, depth);
            msg.set_field(&f, v);
        }
    }
    msg
}

/// JSON values equal, numbers compared as doubles or, failing that, as
/// floats (prost-reflect and protoland spell the shortest float text of
/// different widths).
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x as f32) == (y as f32)
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Re-encodes `wire` with its top-level fields in descending field-number
/// order (the occurrences of one field keep their order: repeated elements
/// and map entries stay as they were).
fn reversed(wire: &[u8]) -> Vec<u8> {
    let mut fields = Vec::new();
    let mut p = 0;
    while p < wire.len() {
        let start = p;
        let tag = read_varint(wire, &mut p);
        skip_value(wire, &mut p, tag);
        fields.push((tag >> 3, &wire[start..p]));
    }
    fields.sort_by_key(|&(number, _)| std::cmp::Reverse(number));
    fields
        .into_iter()
        .flat_map(|(_, bytes)| bytes.iter().copied())
        .collect()
}

fn skip_value(wire: &[u8], p: &mut usize, tag: u64) {
    match tag & 7 {
        0 => {
            read_varint(wire, p);
        }
        1 => *p += 8,
        2 => {
            let len = read_varint(wire, p) as usize;
            *p += len;
        }
        3 => loop {
            let inner = read_varint(wire, p);
            if inner & 7 == 4 {
                break;
            }
            skip_value(wire, p, inner);
        },
        _ => *p += 4,
    }
}

fn read_varint(b: &[u8], p: &mut usize) -> u64 {
    let mut v = 0;
    for k in 0..10 {
        let byte = b[*p];
        *p += 1;
        v |= u64::from(byte & 0x7f) << (7 * k);
        if byte < 0x80 {
            break;
        }
    }
    v
}

fn check_type(name: &str, seed: u64, options: JsonOptions) {
    let desc = message(name);
    let mut g = Gen(seed | 1);
    let original = random_message(&mut g, &desc, 0);
    let wire = original.encode_to_vec();
    let plan = plan(name, options);

    let mut ours = Vec::new();
    plan.transcode(&wire, &mut ours)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let ours_json: Json = serde_json::from_slice(&ours).expect("output is JSON");

    // Field order on the wire does not change the output.
    let mut from_reversed = Vec::new();
    plan.transcode(&reversed(&wire), &mut from_reversed)
        .expect("reversed transcodes");
    assert_eq!(
        String::from_utf8_lossy(&from_reversed),
        String::from_utf8_lossy(&ours),
        "{name}: reversed field order"
    );

    // The line limit: a limit of exactly the JSON's length is enough in
    // field order (the one pass writes nothing it takes back) and one byte
    // less never is; out of order the working memory counts too.
    let limited = |wire: &[u8], max_len: usize| {
        let mut out = Vec::new();
        plan.transcode_limited(wire, &mut out, max_len)
            .map(|()| out)
    };
    assert_eq!(
        limited(&wire, ours.len()).expect("a limit of the JSON's length"),
        ours,
        "{name}: limited to its length"
    );
    for wire in [wire.clone(), reversed(&wire)] {
        if !ours.is_empty() {
            let err = limited(&wire, ours.len() - 1).expect_err("a byte less");
            assert_eq!(
                err.kind,
                ErrorKind::LineTooLong {
                    limit: ours.len() - 1
                },
                "{name}: {err}"
            );
        }
        assert!(limited(&wire, 32 * ours.len() + 4096).is_ok(), "{name}");
    }

    // prost-reflect's serializer agrees on these values.
    let decoded = DynamicMessage::decode(desc.clone(), wire.as_slice()).expect("decodes");
    let theirs = decoded
        .serialize_with_options(
            serde_json::value::Serializer,
            &SerializeOptions::new()
                .use_proto_field_name(options.proto_names)
                .use_enum_numbers(options.enum_numbers),
        )
        .expect("prost-reflect serializes");
    assert!(
        same(&ours_json, &theirs),
        "{name}: protoland and prost-reflect differ\nours:   {ours_json}\ntheirs: {theirs}"
    );

    // And reads our JSON back to the same message.
    let mut de = serde_json::Deserializer::from_slice(&ours);
    let back = DynamicMessage::deserialize(desc, &mut de).expect("prost-reflect parses our JSON");
    // (DynamicMessage's Debug walks descriptors endlessly for recursive
    // types: compare, and print the JSON instead.)
    let differing: Vec<String> = desc_fields(&decoded)
        .into_iter()
        .filter(|f| back.get_field(f) != decoded.get_field(f))
        .map(|f| {
            format!(
                "{} {:?} / {:?}",
                f.name(),
                short(&decoded.get_field(&f)),
                short(&back.get_field(&f))
            )
        })
        .collect();
    assert!(
        back == decoded,
        "{name}: JSON round trip differs in {differing:?}\nours: {}",
        String::from_utf8_lossy(&ours)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_messages_print_what_prost_reflect_prints_and_round_trip(seed in any::<u64>(), opts in 0u8..4) {
        let options = JsonOptions { proto_names: opts & 1 != 0, enum_numbers: opts & 2 != 0, ..JsonOptions::default() };
        for name in ["shop.Scalars", "shop.Order", "shop.Known", "legacy.Record"] {
            check_type(name, seed, options);
        }
    }
}

fn desc_fields(m: &DynamicMessage) -> Vec<FieldDescriptor> {
    m.descriptor().fields().collect()
}

fn short(v: &Value) -> String {
    match v {
        Value::Message(m) => format!("message {}", m.descriptor().full_name()),
        Value::List(l) => format!("list of {}", l.len()),
        Value::Map(m) => {
            let mut keys: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k:?}={}", short(v)))
                .collect();
            keys.sort();
            format!("map {keys:?}")
        }
        other => format!("{other:?}"),
    }
}
