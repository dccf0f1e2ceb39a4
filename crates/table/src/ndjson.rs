//! The columns of an NDJSON landing table: each field of the message, typed
//! for what ProtoJSON prints in it, as Athena's OpenX JSON SerDe reads it.
//!
//! | protobuf | ProtoJSON prints | column type |
//! |---|---|---|
//! | `int32`, `sint32`, `sfixed32` | a number | `int` |
//! | `uint32`, `fixed32` | a number up to 2³²−1 | `bigint` |
//! | `int64`, `uint64`, `sint64`, `fixed64`, `sfixed64` | a quoted number | `string` |
//! | `float`, `double` | a number, or `"NaN"`, `"Infinity"`, `"-Infinity"` | `double` |
//! | `bool` | `true` / `false` | `boolean` |
//! | `string`, `bytes` (base64) | a string | `string` |
//! | enum | its name (a number with `--enum-numbers`) | `string` (`int`) |
//! | `Timestamp`, `Duration`, `FieldMask` | RFC 3339 text, `"1.5s"`, `"a.b,c"` | `string` |
//! | wrappers (`Int32Value`, …) | the wrapped value | the wrapped type's |
//! | `Struct`, `Value`, `ListValue`, `Any`, `Empty` | any JSON | `string` (the JSON text) |
//! | message | an object | `struct<…>` (`string` where it recurses) |
//! | `repeated` | an array | `array<…>` |
//! | `map<K, V>` | an object keyed by strings | `map<string, …>` |
//!
//! Why these: 64-bit integers are quoted by ProtoJSON and `uint64` passes
//! `bigint`'s range, so they stay text (`CAST(x AS bigint)` or `decimal(20,0)`
//! in a query); the SerDe reads the quoted `"NaN"` and `"Infinity"` into a
//! `double` as those values. A `string` column takes any JSON value as its
//! text (Athena renders arrays and objects back to compact JSON), which is
//! how free-form JSON (`Struct`, `Value`, `Any`) and recursive messages stay
//! queryable, with `json_extract`.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use protoland_transcode::JsonOptions;

use crate::error::TableError;
use crate::hive::{Column, HiveType};

/// The columns for landing objects written with `options` for `message`.
///
/// Extension fields (printed as `"[pkg.ext]"` keys) get no column.
///
/// # Errors
///
/// [`TableError::NotAnObject`] for a well-known type that does not print as
/// an object of fields (`Timestamp`, wrappers, `Struct`, `Any`, …),
/// [`TableError::NoColumns`] for a message without fields.
pub fn ndjson_columns(
    message: &MessageDescriptor,
    options: &JsonOptions,
) -> Result<Vec<Column>, TableError> {
    if let Some(prints) = special_top_level(message.full_name()) {
        return Err(TableError::NotAnObject {
            message: message.full_name().to_owned(),
            prints,
        });
    }
    let columns = Mapper { options }.fields(message, &mut Vec::new());
    if columns.is_empty() {
        return Err(TableError::NoColumns {
            message: message.full_name().to_owned(),
        });
    }
    Ok(columns)
}

/// What a well-known type prints as at the top level, when that is not an
/// object of its fields.
fn special_top_level(full_name: &str) -> Option<&'static str> {
    Some(match full_name.strip_prefix("google.protobuf.")? {
        "Timestamp" | "Duration" | "FieldMask" | "StringValue" | "BytesValue" | "Int64Value"
        | "UInt64Value" => "a JSON string",
        "DoubleValue" | "FloatValue" | "Int32Value" | "UInt32Value" => "a JSON number",
        "BoolValue" => "a JSON boolean",
        "Value" => "any JSON value",
        "ListValue" => "a JSON array",
        "Struct" | "Any" => "a free-form JSON object",
        _ => return None,
    })
}

struct Mapper<'a> {
    options: &'a JsonOptions,
}

impl Mapper<'_> {
    /// One column per field; `path` holds the messages being expanded, so
    /// that a message inside itself becomes text instead of an endless type.
    fn fields(&self, message: &MessageDescriptor, path: &mut Vec<String>) -> Vec<Column> {
        path.push(message.full_name().to_owned());
        let columns = message
            .fields()
            .map(|field| {
                let name = if self.options.proto_names {
                    field.name()
                } else {
                    field.json_name()
                };
                Column::new(name, self.field(&field, path))
            })
            .collect();
        path.pop();
        columns
    }

    fn field(&self, field: &FieldDescriptor, path: &mut Vec<String>) -> HiveType {
        if field.is_map() {
            let value = match field.kind() {
                Kind::Message(entry) => self.kind(&entry.map_entry_value_field().kind(), path),
                // A map field's kind is always its entry message.
                _ => HiveType::String,
            };
            // ProtoJSON prints every map key as a string.
            return HiveType::Map(Box::new(HiveType::String), Box::new(value));
        }
        let single = self.kind(&field.kind(), path);
        if field.is_list() {
            HiveType::Array(Box::new(single))
        } else {
            single
        }
    }

    fn kind(&self, kind: &Kind, path: &mut Vec<String>) -> HiveType {
        match kind {
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => HiveType::Int,
            Kind::Uint32 | Kind::Fixed32 => HiveType::BigInt,
            Kind::Int64 | Kind::Uint64 | Kind::Sint64 | Kind::Fixed64 | Kind::Sfixed64 => {
                HiveType::String
            }
            Kind::Float | Kind::Double => HiveType::Double,
            Kind::Bool => HiveType::Boolean,
            Kind::String | Kind::Bytes => HiveType::String,
            // NullValue prints `null` whatever the option.
            Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => HiveType::String,
            Kind::Enum(_) if self.options.enum_numbers => HiveType::Int,
            Kind::Enum(_) => HiveType::String,
            Kind::Message(m) => self.message(m, path),
        }
    }

    fn message(&self, message: &MessageDescriptor, path: &mut Vec<String>) -> HiveType {
        if let Some(wrapped) = wrapped_kind(message) {
            return self.kind(&wrapped, path);
        }
        if special_top_level(message.full_name()).is_some()
            || path.iter().any(|m| m == message.full_name())
        {
            return HiveType::String;
        }
        let fields = self.fields(message, path);
        if fields.is_empty() {
            // `{}` (Empty, or a message without fields): Hive has no
            // struct without fields; the text `{}` it is.
            return HiveType::String;
        }
        HiveType::Struct(fields)
    }
}

/// The kind a wrapper (`google.protobuf.Int32Value`, …) prints as.
fn wrapped_kind(message: &MessageDescriptor) -> Option<Kind> {
    let name = message.full_name().strip_prefix("google.protobuf.")?;
    if !name.ends_with("Value") || matches!(name, "Value" | "ListValue") {
        return None;
    }
    message.get_field(1).map(|f| f.kind())
}

#[cfg(test)]
mod tests {
    use protoland_schema::Schema;

    use super::*;

    const PROTO: &str = r#"
        syntax = "proto3";
        package t;
        import "google/protobuf/any.proto";
        import "google/protobuf/duration.proto";
        import "google/protobuf/empty.proto";
        import "google/protobuf/field_mask.proto";
        import "google/protobuf/struct.proto";
        import "google/protobuf/timestamp.proto";
        import "google/protobuf/wrappers.proto";
        enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
        message Scalars {
          int32 i32 = 1; sint32 s32 = 2; sfixed32 sf32 = 3;
          uint32 u32 = 4; fixed32 f32 = 5;
          int64 i64 = 6; uint64 u64 = 7; sint64 s64 = 8; fixed64 f64 = 9; sfixed64 sf64 = 10;
          float fl = 11; double db = 12; bool b = 13; string s = 14; bytes by = 15;
          Color color = 16; google.protobuf.NullValue null_value = 17;
        }
        message Wkt {
          google.protobuf.Timestamp ts = 1; google.protobuf.Duration dur = 2;
          google.protobuf.FieldMask mask = 3; google.protobuf.Struct st = 4;
          google.protobuf.Value val = 5; google.protobuf.ListValue list = 6;
          google.protobuf.Any any = 7; google.protobuf.Empty empty = 8;
          google.protobuf.DoubleValue dw = 9; google.protobuf.FloatValue fw = 10;
          google.protobuf.Int64Value i64w = 11; google.protobuf.UInt64Value u64w = 12;
          google.protobuf.Int32Value i32w = 13; google.protobuf.UInt32Value u32w = 14;
          google.protobuf.BoolValue bw = 15; google.protobuf.StringValue sw = 16;
          google.protobuf.BytesValue byw = 17;
        }
        message Nothing {}
        message Tree {
          string label = 1;
          repeated Tree children = 2;
          Leaf leaf = 3;
          map<int64, Leaf> by_id = 4;
          repeated google.protobuf.Timestamp times = 5;
          Nothing nothing = 6;
          oneof pick { string name_a = 7; int32 name_b = 8; }
          optional uint32 opt = 9;
        }
        message Leaf { double weight = 1; Tree back = 2; repeated Color colors = 3; }
    "#;

    fn columns(message: &str, options: JsonOptions) -> Result<Vec<(String, String)>, TableError> {
        let schema = Schema::from_proto_source("t.proto", PROTO).expect("schema");
        let message = schema.message(message).expect("message");
        Ok(ndjson_columns(&message, &options)?
            .into_iter()
            .map(|c| (c.name, c.data_type.to_string()))
            .collect())
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect()
    }

    #[test]
    fn maps_every_scalar_as_protojson_prints_it() {
        let got = columns("t.Scalars", JsonOptions::default()).expect("columns");
        let expected = pairs(&[
            ("i32", "int"),
            ("s32", "int"),
            ("sf32", "int"),
            ("u32", "bigint"),
            ("f32", "bigint"),
            ("i64", "string"),
            ("u64", "string"),
            ("s64", "string"),
            ("f64", "string"),
            ("sf64", "string"),
            ("fl", "double"),
            ("db", "double"),
            ("b", "boolean"),
            ("s", "string"),
            ("by", "string"),
            ("color", "string"),
            ("nullValue", "string"),
        ]);
        assert_eq!(got, expected);
    }

    #[test]
    fn enum_numbers_are_ints_and_proto_names_are_kept() {
        let options = JsonOptions {
            proto_names: true,
            enum_numbers: true,
            ..JsonOptions::default()
        };
        let got = columns("t.Scalars", options).expect("columns");
        assert_eq!(got[15], ("color".to_owned(), "int".to_owned()));
        // NullValue prints `null` whatever the option.
        assert_eq!(got[16], ("null_value".to_owned(), "string".to_owned()));
    }

    #[test]
    fn maps_well_known_types_and_wrappers() {
        let got = columns("t.Wkt", JsonOptions::default()).expect("columns");
        let expected = pairs(&[
            ("ts", "string"),
            ("dur", "string"),
            ("mask", "string"),
            ("st", "string"),
            ("val", "string"),
            ("list", "string"),
            ("any", "string"),
            ("empty", "string"),
            ("dw", "double"),
            ("fw", "double"),
            ("i64w", "string"),
            ("u64w", "string"),
            ("i32w", "int"),
            ("u32w", "bigint"),
            ("bw", "boolean"),
            ("sw", "string"),
            ("byw", "string"),
        ]);
        assert_eq!(got, expected);
    }

    #[test]
    fn nests_messages_lists_and_maps_and_stops_at_recursion() {
        let got = columns("t.Tree", JsonOptions::default()).expect("columns");
        let expected = pairs(&[
            ("label", "string"),
            // Tree inside Tree: its JSON text.
            ("children", "array<string>"),
            (
                "leaf",
                "struct<weight:double,back:string,colors:array<string>>",
            ),
            (
                "byId",
                "map<string,struct<weight:double,back:string,colors:array<string>>>",
            ),
            ("times", "array<string>"),
            ("nothing", "string"),
            ("nameA", "string"),
            ("nameB", "int"),
            ("opt", "bigint"),
        ]);
        assert_eq!(got, expected);
    }

    #[test]
    fn rejects_messages_that_are_not_rows() {
        assert_eq!(
            columns("google.protobuf.Timestamp", JsonOptions::default())
                .unwrap_err()
                .to_string(),
            "google.protobuf.Timestamp prints as a JSON string in ProtoJSON, not as an object with a key per field: it cannot be a table's row"
        );
        assert!(matches!(
            columns("google.protobuf.Struct", JsonOptions::default()),
            Err(TableError::NotAnObject { .. })
        ));
        assert_eq!(
            columns("t.Nothing", JsonOptions::default()).unwrap_err(),
            TableError::NoColumns {
                message: "t.Nothing".into()
            }
        );
    }
}
