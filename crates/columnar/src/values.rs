//! Single values into columns, for the decoder: which occurrences belong
//! to a column, enum names, the defaults and nulls of absent fields, text
//! and offsets, and the errors a value can raise.

use protoland_transcode::{ErrorKind, TranscodeError, WireValue};

use crate::builders::{Column, Data};
use crate::error::too_big;
use crate::schema::{Card, EnumPlan, FieldCol, Scalar, Value};

type R<T> = Result<T, TranscodeError>;

/// Whether an occurrence with value `v` belongs to `col` (anything else is
/// an unknown field, as in Google's parser): the element's wire type, or
/// `LEN` for a packable repeated field.
pub(crate) fn accepts(col: &FieldCol, v: WireValue) -> bool {
    let wt = wire_type(v);
    let expected = match (&col.card, &col.value) {
        (Card::Map { .. }, _) => 2,
        (_, Value::Scalar(s)) => s.wire_type(),
        (_, Value::Enum(_)) => 0,
        _ if col.group => 3,
        _ => 2,
    };
    wt == expected
        || (matches!(col.card, Card::Repeated)
            && wt == 2
            && match &col.value {
                Value::Enum(_) => true,
                Value::Scalar(s) => s.wire_type() != 2,
                _ => false,
            })
}

pub(crate) fn wire_type(v: WireValue) -> u8 {
    match v {
        WireValue::Varint(_) => 0,
        WireValue::I64(_) => 1,
        WireValue::Len { .. } => 2,
        WireValue::Group { .. } => 3,
        WireValue::I32(_) => 5,
    }
}

/// The bytes of a message (or group body) value.
pub(crate) fn body(v: WireValue) -> (usize, usize) {
    match v {
        WireValue::Len { start, end } | WireValue::Group { start, end } => (start, end),
        _ => (0, 0),
    }
}

pub(crate) fn enum_value(e: &EnumPlan, v: WireValue, col: &mut Column) {
    let WireValue::Varint(x) = v else {
        return enum_default(e, col);
    };
    if e.null_value {
        return enum_default(e, col);
    }
    let number = x as i32;
    if e.numbers {
        col.push_i32(number);
    } else if let Some(name) = e.name(number) {
        col.push_str(name);
    } else {
        // Open enums keep unknown numbers: ProtoJSON prints the number.
        col.push_str(&number.to_string());
    }
}

pub(crate) fn enum_default(e: &EnumPlan, col: &mut Column) {
    if e.numbers {
        col.push_i32(e.default_number);
    } else {
        col.push_str(&e.default);
    }
}

/// An absent field: null with presence, else its default (empty for
/// repeated fields and maps).
pub(crate) fn absent(col: &FieldCol, column: &mut Column) {
    match col.card {
        Card::Singular if col.presence => null(&col.value, column),
        Card::Singular => default_value(&col.value, column),
        Card::Repeated => {
            let Data::List { offsets, child } = &mut column.data else {
                unreachable!("a repeated field's column is a list")
            };
            offsets.push(child.len() as i32);
            column.valid();
        }
        Card::Map { .. } => {
            let Data::Map { offsets, keys, .. } = &mut column.data else {
                unreachable!("a map field's column is a map")
            };
            offsets.push(keys.len() as i32);
            column.valid();
        }
    }
}

/// A null (a placeholder value under a null bit; a struct's fields absent).
pub(crate) fn null(value: &Value, column: &mut Column) {
    if let (Value::Message(m), Data::Struct { len, children }) = (value, &mut column.data) {
        for (c, child) in m.fields.iter().zip(children.iter_mut()) {
            absent(c, child);
        }
        *len += 1;
    } else {
        column.push_placeholder();
    }
    if let Some(n) = &mut column.nulls {
        n.append_null();
    }
}

/// The default of a value: zero, empty, the first enum value, a message
/// with every field absent.
pub(crate) fn default_value(value: &Value, column: &mut Column) {
    match value {
        Value::Scalar(s) | Value::Wrapper(s) => scalar_default(*s, column),
        Value::Enum(e) => enum_default(e, column),
        Value::Timestamp => column.push_timestamp(0),
        Value::Message(m) => {
            let Data::Struct { len, children } = &mut column.data else {
                unreachable!("a message's column is a struct")
            };
            for (c, child) in m.fields.iter().zip(children.iter_mut()) {
                absent(c, child);
            }
            *len += 1;
            column.valid();
        }
        Value::Text { plan, unquote } => {
            let mut text = Vec::new();
            // The empty message prints (`{}`, `null`, `[]`, `"0s"`, …).
            let printed = plan.transcode(b"", &mut text).is_ok();
            if !printed || push_text(column, &text, *unquote, 0).is_err() {
                column.push_str("");
            }
        }
    }
}

pub(crate) fn scalar_default(s: Scalar, col: &mut Column) {
    match s.data_type() {
        arrow_schema::DataType::Int32 => col.push_i32(0),
        arrow_schema::DataType::Int64 => col.push_i64(0),
        arrow_schema::DataType::Float32 => col.push_f32(0.0),
        arrow_schema::DataType::Float64 => col.push_f64(0.0),
        arrow_schema::DataType::Boolean => col.push_bool(false),
        arrow_schema::DataType::Decimal128(..) => col.push_decimal(0),
        _ => col.push_str(""),
    }
}

/// Appends ProtoJSON text; a JSON string's content when `unquote`.
pub(crate) fn push_text(col: &mut Column, json: &[u8], unquote: bool, at: usize) -> R<()> {
    if !unquote {
        return col.push_bytes(json, at);
    }
    match crate::text::unquote(json) {
        Some(s) => col.push_bytes(s.as_bytes(), at),
        None => Err(TranscodeError::new(
            ErrorKind::Other("a well-known type printed as something other than a string".into()),
            at,
            "",
        )),
    }
}

pub(crate) fn push_offset(offsets: &mut Vec<i32>, len: usize) -> R<()> {
    let o = i32::try_from(len).map_err(|_| too_big())?;
    offsets.push(o);
    Ok(())
}

pub(crate) fn packed_error(length: usize, element_size: usize, at: usize) -> TranscodeError {
    TranscodeError::new(
        ErrorKind::PackedLength {
            length,
            element_size,
        },
        at,
        "",
    )
}

/// Prepends a path segment (`name`, `[3]`, `["k"]`) to the error's path.
pub(crate) fn in_field(mut e: TranscodeError, segment: &str) -> TranscodeError {
    let mut path = segment.to_owned();
    if !e.field_path.is_empty() && !e.field_path.starts_with('[') {
        path.push('.');
    }
    path.push_str(&e.field_path);
    e.field_path = path;
    e
}
