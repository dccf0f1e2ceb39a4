//! Compares two JSON values the way ProtoJSON means them, walking the
//! message descriptor alongside: key order is free; strings, booleans and
//! integers must be equal exactly; a number in a `float` field must be the
//! same 32-bit value and in a `double` field (or a `Value`) the same 64-bit
//! value, whatever digits print it. Anything the descriptor does not explain
//! (an unresolvable `@type`, a key that names no field) is compared
//! structurally, numbers as 64-bit values.

use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};

use crate::json::Json;

/// Where two values first differ: a path from the root (`.field`, `[3]`,
/// `["key"]`) and what differs there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diff {
    pub(crate) path: String,
    /// The full name of the field (or well-known type) where the values
    /// differ, whatever the option set calls it in JSON: with `reason`, what
    /// groups mismatches into classes.
    pub(crate) field: String,
    pub(crate) reason: &'static str,
    pub(crate) what: String,
}

pub(crate) struct Comparer<'a> {
    pub(crate) pool: &'a DescriptorPool,
    /// JSON keys are proto field names (`preserving_proto_field_name`).
    pub(crate) proto_names: bool,
}

/// What the descriptor says a JSON number is.
#[derive(Clone, Copy)]
enum Number {
    F32,
    F64,
    Integer,
    /// Not known: integers exactly, other numbers as 64-bit values.
    Any,
}

type Result = std::result::Result<(), Diff>;

/// Where the walk is: the JSON path and the field's full name.
#[derive(Clone)]
struct Here {
    path: String,
    field: String,
}

impl Here {
    fn key(&self, key: &str, field: &str) -> Here {
        Here {
            path: format!("{}.{}", self.path, path_key(key)),
            field: field.to_owned(),
        }
    }

    fn index(&self, i: usize) -> Here {
        Here {
            path: format!("{}[{i}]", self.path),
            field: self.field.clone(),
        }
    }

    fn map_key(&self, key: &str) -> Here {
        Here {
            path: format!("{}[{key:?}]", self.path),
            field: self.field.clone(),
        }
    }

    fn diff(&self, reason: &'static str, what: impl Into<String>) -> Result {
        Err(Diff {
            path: format!("${}", self.path),
            field: self.field.clone(),
            reason,
            what: what.into(),
        })
    }

    fn differ(&self, expected: &Json, actual: &Json) -> Result {
        self.diff(
            "different value",
            format!("expected {}, got {}", short(expected), short(actual)),
        )
    }
}

fn short(value: &Json) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}...")
    } else {
        text
    }
}

const WRAPPERS: [&str; 9] = [
    "google.protobuf.DoubleValue",
    "google.protobuf.FloatValue",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.Int32Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
];

/// Types whose JSON is not an object of fields; inside an Any they print
/// under `"value"`.
fn is_special(name: &str) -> bool {
    WRAPPERS.contains(&name)
        || matches!(
            name,
            "google.protobuf.Any"
                | "google.protobuf.Duration"
                | "google.protobuf.FieldMask"
                | "google.protobuf.ListValue"
                | "google.protobuf.Struct"
                | "google.protobuf.Timestamp"
                | "google.protobuf.Value"
        )
}

impl Comparer<'_> {
    /// Compares the JSON of a message of type `message` (the top level:
    /// differences are reported with paths from `$`).
    pub(crate) fn top(
        &self,
        message: &MessageDescriptor,
        expected: &Json,
        actual: &Json,
    ) -> Result {
        let here = Here {
            path: String::new(),
            field: message.full_name().to_owned(),
        };
        self.message(message, expected, actual, &here)
    }

    fn message(
        &self,
        message: &MessageDescriptor,
        expected: &Json,
        actual: &Json,
        here: &Here,
    ) -> Result {
        let name = message.full_name();
        if WRAPPERS.contains(&name) {
            let value = message
                .get_field_by_name("value")
                .expect("wrapper types have a value field");
            let here = Here {
                path: here.path.clone(),
                field: value.full_name().to_owned(),
            };
            return self.single(&value.kind(), expected, actual, &here);
        }
        let wkt = Here {
            path: here.path.clone(),
            field: name.to_owned(),
        };
        match name {
            "google.protobuf.Any" => self.any(expected, actual, &wkt),
            "google.protobuf.Struct" => self.structure(expected, actual, &wkt),
            "google.protobuf.Value" => self.value(expected, actual, &wkt),
            "google.protobuf.ListValue" => self.list_value(expected, actual, &wkt),
            "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask" => self.generic(expected, actual, &wkt),
            _ => self.fields(message, expected, actual, here, &[]),
        }
    }

    /// The members of a regular message (`skip`: keys already compared).
    fn fields(
        &self,
        message: &MessageDescriptor,
        expected: &Json,
        actual: &Json,
        here: &Here,
        skip: &[&str],
    ) -> Result {
        let (Json::Object(exp), Json::Object(act)) = (expected, actual) else {
            return self.kinds(expected, actual, here);
        };
        let named = |key: &str| {
            self.field_of(message, key)
                .map_or_else(|| format!("{}.{key}", message.full_name()), |f| f.0)
        };
        self.same_keys(exp, act, here, named)?;
        for (key, exp_value) in exp {
            if skip.contains(&key.as_str()) {
                continue;
            }
            let act_value = actual.get(key).expect("same keys");
            self.member(message, key, exp_value, act_value, here)?;
        }
        Ok(())
    }

    fn same_keys(
        &self,
        exp: &[(String, Json)],
        act: &[(String, Json)],
        here: &Here,
        named: impl Fn(&str) -> String,
    ) -> Result {
        for (key, value) in exp {
            if !act.iter().any(|(k, _)| k == key) {
                let at = Here {
                    path: here.path.clone(),
                    field: named(key),
                };
                return at.diff(
                    "missing key",
                    format!("missing key {key:?} (expected {})", short(value)),
                );
            }
        }
        for (key, value) in act {
            if !exp.iter().any(|(k, _)| k == key) {
                let at = Here {
                    path: here.path.clone(),
                    field: named(key),
                };
                return at.diff(
                    "unexpected key",
                    format!("unexpected key {key:?} (with {})", short(value)),
                );
            }
        }
        Ok(())
    }

    /// The field a JSON key names: (full name, kind, is list, is map).
    fn field_of(
        &self,
        message: &MessageDescriptor,
        key: &str,
    ) -> Option<(String, Kind, bool, bool)> {
        if let Some(ext) = key
            .strip_prefix('[')
            .and_then(|k| k.strip_suffix(']'))
            .and_then(|full| message.get_extension_by_full_name(full))
        {
            return Some((
                ext.full_name().to_owned(),
                ext.kind(),
                ext.is_list(),
                ext.is_map(),
            ));
        }
        let field = if self.proto_names {
            message.get_field_by_name(key)
        } else {
            message.get_field_by_json_name(key)
        };
        field.map(|f| (f.full_name().to_owned(), f.kind(), f.is_list(), f.is_map()))
    }

    fn member(
        &self,
        message: &MessageDescriptor,
        key: &str,
        expected: &Json,
        actual: &Json,
        here: &Here,
    ) -> Result {
        let Some((field, kind, list, map)) = self.field_of(message, key) else {
            let here = here.key(key, &format!("{}.{key}", message.full_name()));
            return self.generic(expected, actual, &here);
        };
        let here = here.key(key, &field);
        if map {
            let Kind::Message(entry) = kind else {
                unreachable!("map fields are messages")
            };
            let value_kind = entry.map_entry_value_field().kind();
            let (Json::Object(exp), Json::Object(act)) = (expected, actual) else {
                return self.kinds(expected, actual, &here);
            };
            self.same_keys(exp, act, &here, |_| field.clone())?;
            for (key, exp_value) in exp {
                let act_value = actual.get(key).expect("same keys");
                self.single(&value_kind, exp_value, act_value, &here.map_key(key))?;
            }
            Ok(())
        } else if list {
            let (Json::Array(exp), Json::Array(act)) = (expected, actual) else {
                return self.kinds(expected, actual, &here);
            };
            if exp.len() != act.len() {
                return here.diff(
                    "different number of elements",
                    format!(
                        "expected {} elements, got {}: expected {}, got {}",
                        exp.len(),
                        act.len(),
                        short(expected),
                        short(actual)
                    ),
                );
            }
            for (i, (e, a)) in exp.iter().zip(act).enumerate() {
                self.single(&kind, e, a, &here.index(i))?;
            }
            Ok(())
        } else {
            self.single(&kind, expected, actual, &here)
        }
    }

    /// One value of a field (a singular field, an element, a map value).
    fn single(&self, kind: &Kind, expected: &Json, actual: &Json, here: &Here) -> Result {
        match kind {
            Kind::Message(message) => self.message(message, expected, actual, here),
            Kind::Float => self.number(Number::F32, expected, actual, here),
            Kind::Double => self.number(Number::F64, expected, actual, here),
            Kind::Int32
            | Kind::Int64
            | Kind::Uint32
            | Kind::Uint64
            | Kind::Sint32
            | Kind::Sint64
            | Kind::Fixed32
            | Kind::Fixed64
            | Kind::Sfixed32
            | Kind::Sfixed64
            | Kind::Enum(_) => self.number(Number::Integer, expected, actual, here),
            Kind::Bool | Kind::String | Kind::Bytes => self.generic(expected, actual, here),
        }
    }

    fn any(&self, expected: &Json, actual: &Json, here: &Here) -> Result {
        let (Json::Object(exp), Json::Object(act)) = (expected, actual) else {
            return self.kinds(expected, actual, here);
        };
        let Some(Json::String(url)) = expected.get("@type") else {
            return self.generic(expected, actual, here);
        };
        match actual.get("@type") {
            Some(Json::String(got)) if got == url => {}
            Some(got) => {
                return here
                    .key("@type", &here.field)
                    .differ(&expected["@type"], got);
            }
            None => {
                return here.diff(
                    "missing key",
                    format!("missing key \"@type\" (expected {url:?})"),
                );
            }
        }
        let type_name = url.rsplit('/').next().unwrap_or(url);
        let Some(inner) = self.pool.get_message_by_name(type_name) else {
            return self.generic(expected, actual, here);
        };
        if is_special(inner.full_name()) {
            self.same_keys(exp, act, here, |k| format!("{}.{k}", here.field))?;
            match (expected.get("value"), actual.get("value")) {
                (Some(e), Some(a)) => {
                    self.message(&inner, e, a, &here.key("value", inner.full_name()))
                }
                _ => Ok(()),
            }
        } else {
            self.fields(&inner, expected, actual, here, &["@type"])
        }
    }

    fn structure(&self, expected: &Json, actual: &Json, here: &Here) -> Result {
        let (Json::Object(exp), Json::Object(act)) = (expected, actual) else {
            return self.kinds(expected, actual, here);
        };
        self.same_keys(exp, act, here, |_| "google.protobuf.Struct".to_owned())?;
        for (key, exp_value) in exp {
            let act_value = actual.get(key).expect("same keys");
            let at = Here {
                path: here.map_key(key).path,
                field: "google.protobuf.Value".to_owned(),
            };
            self.value(exp_value, act_value, &at)?;
        }
        Ok(())
    }

    fn list_value(&self, expected: &Json, actual: &Json, here: &Here) -> Result {
        let (Json::Array(exp), Json::Array(act)) = (expected, actual) else {
            return self.kinds(expected, actual, here);
        };
        if exp.len() != act.len() {
            return here.diff(
                "different number of elements",
                format!("expected {}, got {}", short(expected), short(actual)),
            );
        }
        for (i, (e, a)) in exp.iter().zip(act).enumerate() {
            let at = Here {
                path: here.index(i).path,
                field: "google.protobuf.Value".to_owned(),
            };
            self.value(e, a, &at)?;
        }
        Ok(())
    }

    fn value(&self, expected: &Json, actual: &Json, here: &Here) -> Result {
        match expected {
            Json::Object(_) => self.structure(expected, actual, here),
            Json::Array(_) => self.list_value(expected, actual, here),
            Json::Number(_) => self.number(Number::F64, expected, actual, here),
            _ => self.generic(expected, actual, here),
        }
    }

    /// Structural equality, numbers compared as `Number::Any`.
    fn generic(&self, expected: &Json, actual: &Json, here: &Here) -> Result {
        match (expected, actual) {
            (Json::Number(_), Json::Number(_)) => self.number(Number::Any, expected, actual, here),
            (Json::Array(exp), Json::Array(act)) => {
                if exp.len() != act.len() {
                    return here.diff(
                        "different number of elements",
                        format!("expected {}, got {}", short(expected), short(actual)),
                    );
                }
                for (i, (e, a)) in exp.iter().zip(act).enumerate() {
                    self.generic(e, a, &here.index(i))?;
                }
                Ok(())
            }
            (Json::Object(exp), Json::Object(act)) => {
                self.same_keys(exp, act, here, |_| here.field.clone())?;
                for (key, e) in exp {
                    let a = actual.get(key).expect("same keys");
                    self.generic(e, a, &here.key(key, &here.field))?;
                }
                Ok(())
            }
            _ if std::mem::discriminant(expected) != std::mem::discriminant(actual) => {
                self.kinds(expected, actual, here)
            }
            _ if expected == actual => Ok(()),
            _ => here.differ(expected, actual),
        }
    }

    fn kinds(&self, expected: &Json, actual: &Json, here: &Here) -> Result {
        if std::mem::discriminant(expected) == std::mem::discriminant(actual) {
            self.generic(expected, actual, here)
        } else {
            here.diff(
                "different JSON type",
                format!(
                    "expected {} ({}), got {} ({})",
                    expected.kind(),
                    short(expected),
                    actual.kind(),
                    short(actual)
                ),
            )
        }
    }

    fn number(&self, number: Number, expected: &Json, actual: &Json, here: &Here) -> Result {
        let (Json::Number(exp), Json::Number(act)) = (expected, actual) else {
            return self.kinds(expected, actual, here);
        };
        let same = match number {
            Number::F32 => same_f32(exp, act),
            Number::F64 => same_f64(exp, act),
            Number::Integer => match (integer(exp), integer(act)) {
                (Some(e), Some(a)) => e == a,
                _ => exp == act,
            },
            Number::Any => match (integer(exp), integer(act)) {
                (Some(e), Some(a)) => e == a,
                _ => same_f64(exp, act),
            },
        };
        if same {
            Ok(())
        } else {
            here.differ(expected, actual)
        }
    }
}

/// An integer token's value (`None` for fractions, exponents, `-0`'s sign
/// aside: `-0` is the integer 0).
fn integer(text: &str) -> Option<i128> {
    if text.contains(['.', 'e', 'E']) {
        None
    } else {
        text.parse().ok()
    }
}

fn same_f32(a: &str, b: &str) -> bool {
    match (a.parse::<f32>(), b.parse::<f32>()) {
        (Ok(x), Ok(y)) => x.to_bits() == y.to_bits(),
        _ => false,
    }
}

fn same_f64(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.to_bits() == y.to_bits(),
        _ => false,
    }
}

/// A key as it appears in a path: bare when it is an identifier.
fn path_key(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

impl std::ops::Index<&str> for Json {
    type Output = Json;

    fn index(&self, key: &str) -> &Json {
        self.get(key).expect("key present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;

    /// Whether `a` and `b` are the same JSON for the well-known type `name`.
    fn same(name: &str, a: &str, b: &str) -> bool {
        let pool = DescriptorPool::global();
        let comparer = Comparer {
            pool: &pool,
            proto_names: false,
        };
        let message = pool.get_message_by_name(name).unwrap();
        comparer
            .top(
                &message,
                &parse(a.as_bytes()).unwrap(),
                &parse(b.as_bytes()).unwrap(),
            )
            .is_ok()
    }

    #[test]
    fn compares_doubles_as_64_bit_values() {
        let double = "google.protobuf.DoubleValue";
        assert!(same(double, "1.0", "1"));
        assert!(same(double, "1e2", "100"));
        assert!(!same(double, "-0.0", "0"));
        assert!(!same(double, "0.1", "0.10000000000000002"));
        assert!(same(double, "\"NaN\"", "\"NaN\""));
        assert!(!same(double, "\"NaN\"", "null"));
    }

    #[test]
    fn compares_floats_as_32_bit_values() {
        let float = "google.protobuf.FloatValue";
        assert!(same(float, "0.1", "0.10000000149011612"));
        assert!(same(float, "16777216", "16777217"));
        assert!(!same(float, "0.1", "0.2"));
    }

    #[test]
    fn compares_integers_exactly() {
        let int64 = "google.protobuf.Int64Value";
        assert!(same(int64, "\"9007199254740993\"", "\"9007199254740993\""));
        assert!(!same(int64, "\"9007199254740993\"", "\"9007199254740992\""));
        assert!(!same(int64, "\"1\"", "1"));
        let int32 = "google.protobuf.Int32Value";
        assert!(same(int32, "5", "5"));
        assert!(!same(int32, "5", "5.0"));
        assert!(!same(int32, "2147483647", "2147483648"));
    }

    #[test]
    fn ignores_key_order_and_reports_the_first_difference() {
        let pool = DescriptorPool::global();
        let comparer = Comparer {
            pool: &pool,
            proto_names: false,
        };
        let message = pool.get_message_by_name("google.protobuf.Struct").unwrap();
        let expected = parse(br#"{"a":1,"b":{"c":[1,2,"x"]}}"#).unwrap();
        let reordered = parse(br#"{"b":{"c":[1,2.0,"x"]},"a":1.0}"#).unwrap();
        assert!(comparer.top(&message, &expected, &reordered).is_ok());
        let changed = parse(br#"{"a":1,"b":{"c":[1,2,"y"]}}"#).unwrap();
        let diff = comparer.top(&message, &expected, &changed).unwrap_err();
        assert_eq!(diff.path, r#"$["b"]["c"][2]"#);
        assert_eq!(diff.field, "google.protobuf.Value");
    }
}
