//! Compares protoland's JSON with prost-reflect's for the same message,
//! walking the message descriptor alongside, the way ProtoJSON means the
//! values: key order is free; strings, booleans and integers must be equal
//! exactly; a `float` must be the same 32-bit value and a `double` (or a
//! `Value` number) the same 64-bit value, whatever digits print it.
//!
//! Google's implementation is protoland's reference; prost-reflect is only
//! the oracle the fuzzer can run in-process. Where the two libraries are
//! known to differ, the difference is allowed exactly where it occurs and
//! nowhere else ([`Allowed`], listed with reasons in `fuzz/README.md`).

use prost_reflect::{
    DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, Syntax,
};
use serde_json::Value;

/// Where the two outputs first differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// JSON path from the root (`$.a.b[3]["k"]`).
    pub path: String,
    pub reason: &'static str,
    pub detail: String,
}

/// The known differences between Google's ProtoJSON (which protoland
/// follows) and prost-reflect's, each allowed only at the place it
/// concerns. The comparison records which ones it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Allowed {
    /// A NaN or infinite `FloatValue`/`DoubleValue`: Google prints
    /// `"NaN"`, `"Infinity"`, `"-Infinity"` (as for plain float fields);
    /// prost-reflect serializes the bare `f32`/`f64`, which serde_json
    /// writes as `null`.
    NonFiniteWrapper,
    /// An enum number with several names (`allow_alias`): Google prints the
    /// first name declared; prost-reflect may pick another. Both name the
    /// same number.
    EnumAlias,
    /// A value of a closed (proto2) enum that the enum does not declare:
    /// Google's parser keeps it as an unknown field (the field stays unset
    /// or keeps its previous value; a repeated field drops the element; a
    /// map drops the entry), so it is never printed; prost-reflect stores
    /// and prints the number.
    ClosedEnumUnknown,
    /// A `google.protobuf.NullValue` field with `enum_numbers`: Google's
    /// printer applies `use_integers_for_enums` before the NullValue rule
    /// and prints the number; prost-reflect always prints `null`.
    NullValueNumber,
    /// A map entry holding a field other than its key and value (an
    /// unknown field): Google's parser (upb) moves the whole entry to the
    /// parent's unknown fields, so it is never printed (and an earlier
    /// entry with its key keeps its value); prost-reflect skips the extra
    /// field and keeps the entry. Allowed only in map fields where the wire
    /// bytes really hold such an entry.
    MapEntryUnknownFields,
    /// `-0.0` in a `float` or `double` field without presence: Google
    /// compares the bits with the default and prints `-0.0`; prost-reflect
    /// compares the values, finds the default and leaves the field out (in
    /// a `FloatValue`/`DoubleValue`, whose field it drops, it prints `0.0`).
    NegativeZero,
    /// A `FieldMask` path that does not round-trip through camelCase
    /// (`foo_bar_`, `foo__bar`, `foo_1`, uppercase letters): Google's
    /// printer refuses it, so protoland fails; prost-reflect converts it
    /// lossily (`foo_bar_` → `fooBar`). Allowed only when such a path is
    /// really in the message and protoland's error is about a FieldMask.
    FieldMaskRoundTrip,
    /// A map field whose tag carries a wire type other than
    /// length-delimited (`41 00`: field 8, fixed64, for a map field 8):
    /// Google's parser, like any mismatched wire type, reads it as an
    /// unknown field of that wire type (here a truncated fixed64, so the
    /// message is rejected); prost-reflect ignores the wire type and reads
    /// a length-prefixed entry (`{"kFixed64":{"0":""}}`), and from there on
    /// the two parses have nothing in common. The values are not compared
    /// when the wire bytes hold such a tag (at any depth).
    MapWireType,
    /// A tag or a length prefix written as a varint of more than 5 bytes
    /// (overlong, like the tag `88 80 80 80 84 80 00` or the length
    /// `80 80 80 80 80 80 80 80 80 00`): Google's parser reads tags and
    /// lengths as 32-bit varints of at most 5 bytes and rejects the
    /// message, and so does protoland; prost-reflect reads them as 64-bit
    /// varints and accepts any whose value fits. Allowed only when
    /// protoland rejects and such a varint is in the message.
    LongVarint,
    /// A `Timestamp` or `Duration` out of ProtoJSON's range (nanos outside
    /// `[0, 999999999]`, like `10 c0 84 f2 be a8 9a 3d`: nanos -2015591872;
    /// seconds past year 9999; a Duration whose seconds and nanos differ in
    /// sign): Google's printer refuses it ("Timestamp is not valid"), so
    /// protoland fails; prost-reflect normalizes and prints
    /// (`"1969-12-31T23:59:57.984408128Z"`). Allowed only when protoland's
    /// error is about a Timestamp or a Duration.
    TimeOutOfRange,
    /// A `FieldMask` whose first paths are empty (`0a 00 0a 00`: paths
    /// `""` and `""`): Google joins every path with `,` and prints `","`
    /// (`",a"` for `""`, `"a"`); prost-reflect writes a comma only once its
    /// text is not empty, so the leading empty paths leave no trace (`""`,
    /// `"a"`). Allowed only when protoland's text is prost-reflect's after
    /// one or more commas.
    FieldMaskLeadingEmptyPath,
    /// A repeated extension whose records on the wire hold no element (an
    /// empty packed record, `c2 06 00` for `ext_packed = 104`): Google's
    /// parser (upb) creates the extension with an empty array and its
    /// printer lists it, so it prints `"[pkg.ext]": []`, with or without
    /// `always_print_fields_with_no_presence`; prost-reflect holds no
    /// extension and prints nothing. Allowed only for an extension that
    /// protoland prints as `[]`.
    EmptyRepeatedExtension,
    /// An `Any` holding a `google.protobuf.Empty`: Google prints
    /// `{"@type": "…/google.protobuf.Empty"}` (Empty has no JSON form of
    /// its own in Python's `json_format` nor in upb's, so it prints as a
    /// message without fields, beside `@type`); prost-reflect prints
    /// `"value": {}` as for the well-known types. Allowed only for that
    /// type and exactly those two texts.
    AnyHoldingEmpty,
    /// An `Any` whose type URL names its type with a leading dot
    /// (`type.googleapis.com/.google.protobuf.UInt32Value`): Google's
    /// printer looks the name after the last `/` up as it is, finds no type
    /// and refuses the message ("Can not find message descriptor by
    /// type_url"), so protoland fails; prost-reflect resolves it as a fully
    /// qualified name and prints the value. Allowed only when protoland's
    /// error is about an unresolvable type URL whose name starts with `.`.
    AnyTypeUrlLeadingDot,
}

pub struct Comparer<'a> {
    pub pool: &'a DescriptorPool,
    pub proto_names: bool,
    pub enum_numbers: bool,
    /// Map fields with an entry holding unknown fields (from
    /// [`crate::wire::maps_with_unknown_in_entries`]).
    pub loose_maps: std::collections::BTreeSet<String>,
    pub used: Vec<Allowed>,
    /// The map field being compared (set just before a map value).
    pub map_name: String,
}

type Result = std::result::Result<(), Diff>;

fn diff(path: &str, reason: &'static str, detail: impl Into<String>) -> Result {
    Err(Diff {
        path: format!("${path}"),
        reason,
        detail: detail.into(),
    })
}

pub(crate) fn is_closed(e: &EnumDescriptor) -> bool {
    e.parent_file().syntax() == Syntax::Proto2
}

/// Whether `n` is a number the closed enum `e` does not declare.
pub(crate) fn closed_undeclared(e: &EnumDescriptor, n: i32) -> bool {
    is_closed(e) && e.get_value(n).is_none()
}

/// Whether `v` (as prost-reflect prints an enum value) is a number the
/// closed enum `e` does not declare.
fn closed_unknown(e: &EnumDescriptor, v: &Value) -> bool {
    v.as_i64()
        .is_some_and(|n| i32::try_from(n).is_ok_and(|n| closed_undeclared(e, n)))
}

fn short(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

impl Comparer<'_> {
    fn allow(&mut self, a: Allowed) {
        if !self.used.contains(&a) {
            self.used.push(a);
        }
    }

    /// Compares the JSON of a message of type `desc`: `ours` (protoland),
    /// `theirs` (prost-reflect).
    pub fn message(
        &mut self,
        desc: &MessageDescriptor,
        ours: &Value,
        theirs: &Value,
        path: &str,
    ) -> Result {
        if desc.full_name().starts_with("google.protobuf.") && is_wkt(desc.full_name()) {
            return self.wkt(desc, ours, theirs, path);
        }
        let (Value::Object(a), Value::Object(b)) = (ours, theirs) else {
            return diff(
                path,
                "not both objects",
                format!("{} vs {}", short(ours), short(theirs)),
            );
        };
        self.fields(desc, a, b, path, &[])
    }

    fn field_for(&self, desc: &MessageDescriptor, key: &str) -> Option<FieldDescriptor> {
        desc.fields().find(|f| {
            if self.proto_names {
                f.name() == key
            } else {
                f.json_name() == key
            }
        })
    }

    fn fields(
        &mut self,
        desc: &MessageDescriptor,
        a: &serde_json::Map<String, Value>,
        b: &serde_json::Map<String, Value>,
        path: &str,
        skip: &[&str],
    ) -> Result {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        // Oneofs where prost-reflect holds an undeclared closed-enum value:
        // Google keeps the member set before it, so any member may differ.
        let mut loose_oneofs: Vec<String> = Vec::new();
        for key in &keys {
            if let (Some(f), Some(v)) = (self.field_for(desc, key), b.get(*key))
                && let (Some(o), Kind::Enum(e)) = (f.containing_oneof(), f.kind())
                && closed_unknown(&e, v)
            {
                loose_oneofs.push(o.full_name().to_owned());
            }
        }
        for key in keys {
            if skip.contains(&key.as_str()) {
                continue;
            }
            let here = format!("{path}.{key}");
            if let Some(name) = key.strip_prefix('[').and_then(|k| k.strip_suffix(']')) {
                let Some(ext) = self.pool.get_extension_by_name(name) else {
                    return diff(&here, "unknown extension key", key.as_str());
                };
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => {
                        self.value(&ext.kind(), ext.is_list(), false, x, y, &here)?
                    }
                    (Some(Value::Array(items)), None) if ext.is_list() && items.is_empty() => {
                        self.allow(Allowed::EmptyRepeatedExtension);
                    }
                    (x, y) => self.one_sided(&ext.kind(), ext.is_list(), x, y, &here)?,
                }
                continue;
            }
            let Some(field) = self.field_for(desc, key) else {
                return diff(&here, "key names no field", key.as_str());
            };
            if let Some(o) = field.containing_oneof()
                && loose_oneofs.iter().any(|n| n == o.full_name())
            {
                self.allow(Allowed::ClosedEnumUnknown);
                continue;
            }
            match (a.get(key), b.get(key)) {
                (Some(x), Some(y)) => {
                    self.map_name = field.full_name().to_owned();
                    self.value(&field.kind(), field.is_list(), field.is_map(), x, y, &here)?
                }
                (x, y) => {
                    if field.is_map() {
                        self.map_name = field.full_name().to_owned();
                        // A map whose every entry prost-reflect prints has
                        // an undeclared closed-enum value or unknown fields.
                        let empty = Value::Object(Default::default());
                        self.value(
                            &field.kind(),
                            false,
                            true,
                            x.unwrap_or(&empty),
                            y.unwrap_or(&empty),
                            &here,
                        )?;
                    } else {
                        self.one_sided(&field.kind(), field.is_list(), x, y, &here)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A field printed by one side only: allowed when it is a closed enum
    /// whose value (or every element) prost-reflect holds undeclared.
    fn one_sided(
        &mut self,
        kind: &Kind,
        list: bool,
        ours: Option<&Value>,
        theirs: Option<&Value>,
        path: &str,
    ) -> Result {
        if let (Some(Value::Number(x)), None, Kind::Float | Kind::Double, false) =
            (ours, theirs, kind, list)
            && x.as_f64().is_some_and(|x| x == 0.0 && x.is_sign_negative())
        {
            self.allow(Allowed::NegativeZero);
            return Ok(());
        }
        if let (None, Some(y), Kind::Enum(e)) = (ours, theirs, kind) {
            let all_unknown = if list {
                y.as_array()
                    .is_some_and(|items| items.iter().all(|v| closed_unknown(e, v)))
            } else {
                closed_unknown(e, y)
            };
            if all_unknown {
                self.allow(Allowed::ClosedEnumUnknown);
                return Ok(());
            }
        }
        diff(
            path,
            "printed by one side only",
            format!(
                "protoland {} vs prost-reflect {}",
                ours.map_or("(absent)".to_owned(), short),
                theirs.map_or("(absent)".to_owned(), short)
            ),
        )
    }

    fn value(
        &mut self,
        kind: &Kind,
        list: bool,
        map: bool,
        ours: &Value,
        theirs: &Value,
        path: &str,
    ) -> Result {
        if map {
            let Kind::Message(entry) = kind else {
                return diff(path, "map of a non-message kind", "");
            };
            let map_name = std::mem::take(&mut self.map_name);
            let value_field = entry.map_entry_value_field();
            let vkind = value_field.kind();
            let (Value::Object(a), Value::Object(b)) = (ours, theirs) else {
                return diff(
                    path,
                    "map not an object",
                    format!("{} vs {}", short(ours), short(theirs)),
                );
            };
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let here = format!("{path}[{key:?}]");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => {
                        let used = self.used.len();
                        let same = self.value(&vkind, false, false, x, y, &here);
                        if same.is_err() && self.loose_maps.contains(&map_name) {
                            // A later entry with this key that Google
                            // dropped, and prost-reflect kept.
                            self.used.truncate(used);
                            self.allow(Allowed::MapEntryUnknownFields);
                        } else {
                            same?;
                        }
                    }
                    (None, Some(y)) if matches!(&vkind, Kind::Enum(e) if closed_unknown(e, y)) => {
                        self.allow(Allowed::ClosedEnumUnknown);
                    }
                    (None, Some(_)) if self.loose_maps.contains(&map_name) => {
                        self.allow(Allowed::MapEntryUnknownFields);
                    }
                    (x, y) => {
                        return diff(
                            &here,
                            "map entry printed by one side only",
                            format!(
                                "{} vs {}",
                                x.map_or("(absent)".to_owned(), short),
                                y.map_or("(absent)".to_owned(), short)
                            ),
                        );
                    }
                }
            }
            return Ok(());
        }
        if list {
            let (Value::Array(a), Value::Array(b)) = (ours, theirs) else {
                return diff(
                    path,
                    "list not an array",
                    format!("{} vs {}", short(ours), short(theirs)),
                );
            };
            let filtered: Vec<&Value>;
            let b: Vec<&Value> = match kind {
                Kind::Enum(e) if is_closed(e) => {
                    filtered = b.iter().filter(|v| !closed_unknown(e, v)).collect();
                    if filtered.len() != b.len() {
                        self.allow(Allowed::ClosedEnumUnknown);
                    }
                    filtered
                }
                _ => b.iter().collect(),
            };
            if a.len() != b.len() {
                return diff(
                    path,
                    "lists of different lengths",
                    format!("{} vs {}", a.len(), b.len()),
                );
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                self.value(kind, false, false, x, y, &format!("{path}[{i}]"))?;
            }
            return Ok(());
        }
        match kind {
            Kind::Message(m) => self.message(m, ours, theirs, path),
            Kind::Enum(e) => self.enum_value(e, ours, theirs, path),
            Kind::Float => float(ours, theirs, path, true),
            Kind::Double => float(ours, theirs, path, false),
            _ => exact(ours, theirs, path),
        }
    }

    fn enum_value(
        &mut self,
        e: &EnumDescriptor,
        ours: &Value,
        theirs: &Value,
        path: &str,
    ) -> Result {
        if ours == theirs {
            return Ok(());
        }
        // A singular closed enum set twice, the last time to an undeclared
        // value: Google keeps that occurrence as an unknown field, so the
        // earlier declared value stays; prost-reflect keeps the last one.
        if closed_unknown(e, theirs) {
            self.allow(Allowed::ClosedEnumUnknown);
            return Ok(());
        }
        if e.full_name() == "google.protobuf.NullValue"
            && self.enum_numbers
            && theirs.is_null()
            && ours.is_i64()
        {
            self.allow(Allowed::NullValueNumber);
            return Ok(());
        }
        if let (Value::String(x), Value::String(y)) = (ours, theirs)
            && let (Some(x), Some(y)) = (e.get_value_by_name(x), e.get_value_by_name(y))
            && x.number() == y.number()
        {
            self.allow(Allowed::EnumAlias);
            return Ok(());
        }
        diff(
            path,
            "enum values differ",
            format!("{} vs {}", short(ours), short(theirs)),
        )
    }

    fn wkt(
        &mut self,
        desc: &MessageDescriptor,
        ours: &Value,
        theirs: &Value,
        path: &str,
    ) -> Result {
        match desc.full_name() {
            "google.protobuf.FloatValue" | "google.protobuf.DoubleValue" => {
                if theirs.is_null()
                    && matches!(ours.as_str(), Some("NaN" | "Infinity" | "-Infinity"))
                {
                    self.allow(Allowed::NonFiniteWrapper);
                    return Ok(());
                }
                if ours
                    .as_f64()
                    .is_some_and(|x| x == 0.0 && x.is_sign_negative())
                    && theirs
                        .as_f64()
                        .is_some_and(|y| y == 0.0 && y.is_sign_positive())
                {
                    self.allow(Allowed::NegativeZero);
                    return Ok(());
                }
                float(ours, theirs, path, desc.full_name().ends_with("FloatValue"))
            }
            "google.protobuf.Value" | "google.protobuf.Struct" | "google.protobuf.ListValue" => {
                // A `Struct.fields` entry with unknown fields, anywhere in
                // this message: Google drops it, prost-reflect prints it.
                let loose = self.loose_maps.contains("google.protobuf.Struct.fields");
                let mut dropped = false;
                structural(ours, theirs, path, loose, &mut dropped)?;
                if dropped {
                    self.allow(Allowed::MapEntryUnknownFields);
                }
                Ok(())
            }
            "google.protobuf.Any" => self.any(ours, theirs, path),
            "google.protobuf.FieldMask" => match (ours, theirs) {
                (Value::String(a), Value::String(b))
                    if a.len() > b.len()
                        && a.ends_with(b.as_str())
                        && a[..a.len() - b.len()].bytes().all(|c| c == b',') =>
                {
                    self.allow(Allowed::FieldMaskLeadingEmptyPath);
                    Ok(())
                }
                _ => exact(ours, theirs, path),
            },
            // Timestamp, Duration, Empty, the other wrappers:
            // one exact JSON value each.
            _ => exact(ours, theirs, path),
        }
    }

    fn any(&mut self, ours: &Value, theirs: &Value, path: &str) -> Result {
        let (Value::Object(a), Value::Object(b)) = (ours, theirs) else {
            return diff(
                path,
                "Any not an object",
                format!("{} vs {}", short(ours), short(theirs)),
            );
        };
        let (Some(Value::String(ta)), Some(Value::String(tb))) = (a.get("@type"), b.get("@type"))
        else {
            // An empty Any prints `{}` on both sides.
            return exact(ours, theirs, path);
        };
        if ta != tb {
            return diff(path, "Any @type differs", format!("{ta} vs {tb}"));
        }
        let name = ta.rsplit_once('/').map_or(ta.as_str(), |(_, n)| n);
        let Some(payload) = self.pool.get_message_by_name(name) else {
            return diff(path, "Any @type does not resolve", ta.as_str());
        };
        if payload.full_name() == "google.protobuf.Empty"
            && a.len() == 1
            && b.len() == 2
            && b.get("value") == Some(&Value::Object(Default::default()))
        {
            self.allow(Allowed::AnyHoldingEmpty);
            return Ok(());
        }
        if is_wkt(payload.full_name()) {
            let here = format!("{path}.value");
            match (a.get("value"), b.get("value")) {
                (Some(x), Some(y)) => self.message(&payload, x, y, &here),
                (x, y) => diff(
                    &here,
                    "Any value printed by one side only",
                    format!(
                        "{} vs {}",
                        x.map_or("(absent)".to_owned(), short),
                        y.map_or("(absent)".to_owned(), short)
                    ),
                ),
            }
        } else {
            self.fields(&payload, a, b, path, &["@type"])
        }
    }
}

fn is_wkt(name: &str) -> bool {
    crate::schemas::WELL_KNOWN.contains(&name)
}

fn exact(ours: &Value, theirs: &Value, path: &str) -> Result {
    if ours == theirs {
        Ok(())
    } else {
        diff(
            path,
            "values differ",
            format!("{} vs {}", short(ours), short(theirs)),
        )
    }
}

/// A float or double: the same value at its width (bit for bit, so -0.0
/// and 0.0 differ), or the same non-finite string.
fn float(ours: &Value, theirs: &Value, path: &str, f32_width: bool) -> Result {
    let same = match (ours, theirs) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if f32_width => (x as f32).to_bits() == (y as f32).to_bits(),
            (Some(x), Some(y)) => x.to_bits() == y.to_bits(),
            _ => false,
        },
        _ => ours == theirs,
    };
    if same {
        Ok(())
    } else {
        diff(
            path,
            if f32_width {
                "floats differ"
            } else {
                "doubles differ"
            },
            format!("{} vs {}", short(ours), short(theirs)),
        )
    }
}

/// JSON without a descriptor (`Struct`, `Value`, `ListValue`): numbers as
/// 64-bit values, everything else exactly.
///
/// With `loose`, an object member that only prost-reflect prints is a
/// `Struct.fields` entry Google dropped (see
/// [`Allowed::MapEntryUnknownFields`]); `dropped` records that one was.
fn structural(ours: &Value, theirs: &Value, path: &str, loose: bool, dropped: &mut bool) -> Result {
    match (ours, theirs) {
        (Value::Number(_), Value::Number(_)) => float(ours, theirs, path, false),
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return diff(
                    path,
                    "lists of different lengths",
                    format!("{} vs {}", a.len(), b.len()),
                );
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                structural(x, y, &format!("{path}[{i}]"), loose, dropped)?;
            }
            Ok(())
        }
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let here = format!("{path}[{key:?}]");
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => structural(x, y, &here, loose, dropped)?,
                    (None, Some(_)) if loose => *dropped = true,
                    (x, y) => {
                        return diff(
                            &here,
                            "member printed by one side only",
                            format!(
                                "{} vs {}",
                                x.map_or("(absent)".to_owned(), short),
                                y.map_or("(absent)".to_owned(), short)
                            ),
                        );
                    }
                }
            }
            Ok(())
        }
        _ => exact(ours, theirs, path),
    }
}
