//! The column plan of a message type: [`Columns`], compiled once from the
//! descriptor, holding for every field its column name, its Arrow type and
//! how its wire values become column values (`decode` follows this tree).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind as PbKind, MessageDescriptor};
use protoland_transcode::{JsonOptions, Plan, is_wrapper};

use crate::error::ColumnarError;
use crate::options::{ParquetOptions, TimestampMode};

/// A message type compiled into columns: the Arrow schema of its rows and
/// how to fill it from wire bytes.
///
/// Built once per message type from the same inputs as a
/// [`Plan`] (the descriptor and [`JsonOptions`], which decide the column
/// names and whether enums are names or numbers) plus the
/// [`ParquetOptions`] that shape the schema (`max_depth`, `timestamps`).
/// Cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Columns {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) root: MessagePlan,
    pub(crate) schema: SchemaRef,
    /// The JSON plan of the top-level type: Google's parser's checks of a
    /// whole message before any column is touched.
    pub(crate) check: Plan,
}

impl Columns {
    /// Compiles `message`'s columns, named and typed as `json` and
    /// `options` say (see `docs/parquet.md` for the mapping).
    ///
    /// # Errors
    ///
    /// [`ColumnarError::Unmappable`] naming the field path for a construct
    /// without columns (a top-level message without fields);
    /// [`ColumnarError::NameClash`] naming both columns when two columns of
    /// one struct have names equal ignoring ASCII case;
    /// [`ColumnarError::TooManyColumns`] when recursion at
    /// [`ParquetOptions::max_depth`] expands the type past
    /// [`ParquetOptions::MAX_COLUMNS`].
    pub fn new(
        message: &MessageDescriptor,
        json: JsonOptions,
        options: &ParquetOptions,
    ) -> Result<Columns, ColumnarError> {
        Columns::with_plan(Plan::new(message, json), options)
    }

    /// [`Columns::new`] with the descriptor and JSON options of `plan`.
    ///
    /// # Errors
    ///
    /// Those of [`Columns::new`].
    pub fn from_plan(plan: &Plan, options: &ParquetOptions) -> Result<Columns, ColumnarError> {
        Columns::with_plan(plan.clone(), options)
    }

    fn with_plan(check: Plan, options: &ParquetOptions) -> Result<Columns, ColumnarError> {
        let message = check.message().clone();
        let mut c = Compiler {
            json: check.options(),
            options: *options,
            ancestors: Vec::new(),
            plans: HashMap::new(),
            columns: 0,
        };
        c.plans
            .insert(message.full_name().to_owned(), check.clone());
        let Some((root, fields)) = c.message(&message, "")? else {
            return Err(ColumnarError::Unmappable {
                field_path: message.full_name().to_owned(),
                reason: "a message without fields has no columns".into(),
            });
        };
        Ok(Columns {
            inner: Arc::new(Inner {
                root,
                schema: Arc::new(Schema::new(fields)),
                check,
            }),
        })
    }

    /// The Arrow schema of the rows: one field per message field, with
    /// the types, nullability and nested field names the Parquet files
    /// carry (what a table definition is made from).
    pub fn arrow_schema(&self) -> SchemaRef {
        self.inner.schema.clone()
    }

    /// The message type.
    pub fn message(&self) -> &MessageDescriptor {
        self.inner.check.message()
    }
}

/// A message's columns, in field-number order.
#[derive(Debug)]
pub(crate) struct MessagePlan {
    pub(crate) fields: Box<[FieldCol]>,
    /// Field index by number, sorted by number.
    numbers: Box<[(u32, u32)]>,
    pub(crate) oneofs: usize,
}

impl MessagePlan {
    pub(crate) fn lookup(&self, number: u32) -> Option<usize> {
        self.numbers
            .binary_search_by_key(&number, |&(n, _)| n)
            .ok()
            .map(|k| self.numbers[k].1 as usize)
    }
}

#[derive(Debug)]
pub(crate) struct FieldCol {
    /// The column name (also the error path segment).
    pub(crate) name: Box<str>,
    pub(crate) card: Card,
    /// The element's (for a map: the value's) value plan.
    pub(crate) value: Value,
    /// Singular: null when absent (explicit presence).
    pub(crate) presence: bool,
    pub(crate) oneof: Option<usize>,
    /// Elements are group-encoded (proto2 groups, editions `DELIMITED`).
    pub(crate) group: bool,
}

#[derive(Debug)]
pub(crate) enum Card {
    Singular,
    Repeated,
    /// A map: the key's scalar kind (the entry's field 1); `value` is
    /// field 2's.
    Map {
        key: Scalar,
        value_group: bool,
    },
}

/// A scalar field's protobuf type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    UInt32,
    UInt64,
    SInt32,
    SInt64,
    Fixed32,
    Fixed64,
    SFixed32,
    SFixed64,
    Bool,
    /// `verified`: Google's parser checks its UTF-8 (already done when a
    /// message is decoded); otherwise invalid UTF-8 is replaced.
    String {
        verified: bool,
    },
    Bytes,
}

impl Scalar {
    fn of(kind: &PbKind, verified: bool) -> Option<Scalar> {
        Some(match kind {
            PbKind::Double => Scalar::Double,
            PbKind::Float => Scalar::Float,
            PbKind::Int32 => Scalar::Int32,
            PbKind::Int64 => Scalar::Int64,
            PbKind::Uint32 => Scalar::UInt32,
            PbKind::Uint64 => Scalar::UInt64,
            PbKind::Sint32 => Scalar::SInt32,
            PbKind::Sint64 => Scalar::SInt64,
            PbKind::Fixed32 => Scalar::Fixed32,
            PbKind::Fixed64 => Scalar::Fixed64,
            PbKind::Sfixed32 => Scalar::SFixed32,
            PbKind::Sfixed64 => Scalar::SFixed64,
            PbKind::Bool => Scalar::Bool,
            PbKind::String => Scalar::String { verified },
            PbKind::Bytes => Scalar::Bytes,
            PbKind::Enum(_) | PbKind::Message(_) => return None,
        })
    }

    /// The column type (Spark's `from_protobuf` mapping, with unsigned
    /// 32-bit widened and unsigned 64-bit exact).
    pub(crate) fn data_type(self) -> DataType {
        match self {
            Scalar::Double => DataType::Float64,
            Scalar::Float => DataType::Float32,
            Scalar::Int32 | Scalar::SInt32 | Scalar::SFixed32 => DataType::Int32,
            Scalar::Int64
            | Scalar::SInt64
            | Scalar::SFixed64
            | Scalar::UInt32
            | Scalar::Fixed32 => DataType::Int64,
            Scalar::UInt64 | Scalar::Fixed64 => DataType::Decimal128(20, 0),
            Scalar::Bool => DataType::Boolean,
            Scalar::String { .. } => DataType::Utf8,
            Scalar::Bytes => DataType::Binary,
        }
    }

    /// The wire type of one value (packed repeated fields also accept
    /// `LEN`).
    pub(crate) fn wire_type(self) -> u8 {
        match self {
            Scalar::Double | Scalar::Fixed64 | Scalar::SFixed64 => 1,
            Scalar::Float | Scalar::Fixed32 | Scalar::SFixed32 => 5,
            Scalar::String { .. } | Scalar::Bytes => 2,
            _ => 0,
        }
    }
}

/// How an element's wire value becomes a column value.
#[derive(Debug)]
pub(crate) enum Value {
    Scalar(Scalar),
    Enum(EnumPlan),
    /// A nested message as a struct.
    Message(MessagePlan),
    /// `google.protobuf.Timestamp` as microseconds since the epoch, UTC.
    Timestamp,
    /// The message's ProtoJSON (well-known types printed as text, the
    /// level past `max_depth`, messages without fields), `unquote`d for
    /// those printed as a JSON string (Duration, FieldMask, Timestamp as
    /// text).
    Text {
        plan: Plan,
        unquote: bool,
    },
    /// A wrapper (`Int64Value`, …): its `value` field.
    Wrapper(Scalar),
}

#[derive(Debug)]
pub(crate) struct EnumPlan {
    /// Numbers with their names, sorted by number (the first declared name
    /// of an aliased number, as ProtoJSON prints).
    names: Box<[(i32, Box<str>)]>,
    /// The name of the default (first declared) value.
    pub(crate) default: Box<str>,
    pub(crate) default_number: i32,
    /// Closed (proto2) enums: an undeclared number is an unknown field.
    pub(crate) closed: bool,
    /// `JsonOptions::enum_numbers`: an `Int32` column.
    pub(crate) numbers: bool,
    /// `google.protobuf.NullValue`: whatever the number, ProtoJSON prints
    /// `null`, so every value is the default (`NULL_VALUE`, or 0).
    pub(crate) null_value: bool,
}

impl EnumPlan {
    fn new(e: &EnumDescriptor, numbers: bool) -> EnumPlan {
        let mut names: Vec<(i32, Box<str>)> = Vec::new();
        for v in &e.enum_descriptor_proto().value {
            if !names.iter().any(|(n, _)| *n == v.number()) {
                names.push((v.number(), v.name().into()));
            }
        }
        let (default_number, default) = names
            .first()
            .map_or((0, "0".into()), |(n, s)| (*n, s.clone()));
        names.sort_by_key(|(n, _)| *n);
        EnumPlan {
            names: names.into(),
            default,
            default_number,
            closed: protoland_schema::enum_is_closed(e),
            numbers,
            null_value: e.full_name() == "google.protobuf.NullValue",
        }
    }

    pub(crate) fn name(&self, number: i32) -> Option<&str> {
        self.names
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|k| &*self.names[k].1)
    }
}

/// The well-known types stored as their ProtoJSON text.
const AS_TEXT: [&str; 5] = [
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.Any",
    "google.protobuf.Empty",
];

/// The names of the entries, keys and values of map columns, and of list
/// elements: Parquet's (`key_value`, `key`, `value`, `element`), which
/// every reader maps back.
pub(crate) const LIST_ITEM: &str = "element";
pub(crate) const MAP_ENTRIES: &str = "key_value";

struct Compiler {
    json: JsonOptions,
    options: ParquetOptions,
    /// Full names of the message types on the current path.
    ancestors: Vec<String>,
    /// One JSON plan per type printed as text.
    plans: HashMap<String, Plan>,
    /// Fields compiled so far, against [`ParquetOptions::MAX_COLUMNS`].
    columns: usize,
}

impl Compiler {
    /// A message's columns and their Arrow fields; `None` when it has no
    /// fields (it is then stored as text).
    fn message(
        &mut self,
        m: &MessageDescriptor,
        path: &str,
    ) -> Result<Option<(MessagePlan, Fields)>, ColumnarError> {
        if m.fields().len() == 0 {
            return Ok(None);
        }
        self.ancestors.push(m.full_name().to_owned());
        let mut fields: Vec<FieldDescriptor> = m.fields().collect();
        fields.sort_by_key(FieldDescriptor::number);
        let mut cols = Vec::with_capacity(fields.len());
        let mut arrow = Vec::with_capacity(fields.len());
        let mut oneofs: HashMap<String, usize> = HashMap::new();
        let mut lower: HashMap<String, String> = HashMap::new();
        for f in &fields {
            let name = if self.json.proto_names {
                f.name().to_owned()
            } else {
                f.json_name().to_owned()
            };
            let field_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            if name.is_empty() {
                self.ancestors.pop();
                return Err(unmappable(
                    &format!("{field_path}{}", f.name()),
                    "its JSON name is empty (column names with the proto-names option are not)",
                ));
            }
            if let Some(first) = lower.insert(name.to_ascii_lowercase(), field_path.clone()) {
                self.ancestors.pop();
                return Err(ColumnarError::NameClash {
                    first,
                    second: field_path,
                });
            }
            let (col, field) = match self.field(f, name, &field_path, &mut oneofs) {
                Ok(x) => x,
                Err(e) => {
                    self.ancestors.pop();
                    return Err(e);
                }
            };
            cols.push(col);
            arrow.push(field);
        }
        self.ancestors.pop();
        let numbers = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.number(), i as u32))
            .collect();
        Ok(Some((
            MessagePlan {
                fields: cols.into(),
                numbers,
                oneofs: oneofs.len(),
            },
            Fields::from(arrow),
        )))
    }

    fn field(
        &mut self,
        f: &FieldDescriptor,
        name: String,
        path: &str,
        oneofs: &mut HashMap<String, usize>,
    ) -> Result<(FieldCol, Field), ColumnarError> {
        self.columns += 1;
        if self.columns > ParquetOptions::MAX_COLUMNS {
            return Err(ColumnarError::TooManyColumns {
                field_path: path.to_owned(),
                max_depth: self.options.max_depth,
            });
        }
        let features = protoland_schema::field_features(f);
        let oneof = match f.containing_oneof() {
            Some(o) if !o.is_synthetic() => {
                let next = oneofs.len();
                Some(*oneofs.entry(o.name().to_owned()).or_insert(next))
            }
            _ => None,
        };
        if f.is_map() {
            let PbKind::Message(entry) = f.kind() else {
                return Err(unmappable(path, "a map whose entry is not a message"));
            };
            let (Some(k), Some(v)) = (entry.get_field(1), entry.get_field(2)) else {
                return Err(unmappable(path, "a map entry without key or value"));
            };
            let kf = protoland_schema::field_features(&k);
            let Some(key) = Scalar::of(&k.kind(), kf.utf8_verified) else {
                return Err(unmappable(path, "a map key that is not a scalar"));
            };
            let vf = protoland_schema::field_features(&v);
            let (value, value_type) = self.value(&v.kind(), vf.utf8_verified, path)?;
            let entries = Field::new(
                MAP_ENTRIES,
                DataType::Struct(Fields::from(vec![
                    Field::new("key", key.data_type(), false),
                    Field::new("value", value_type, false),
                ])),
                false,
            );
            let col = FieldCol {
                name: name.clone().into(),
                card: Card::Map {
                    key,
                    value_group: v.is_group(),
                },
                value,
                presence: false,
                oneof: None,
                group: false,
            };
            return Ok((
                col,
                Field::new(name, DataType::Map(Arc::new(entries), false), false),
            ));
        }
        let (value, data_type) = self.value(&f.kind(), features.utf8_verified, path)?;
        let message = matches!(f.kind(), PbKind::Message(_));
        let (card, field) = if f.is_list() {
            let item = Field::new(LIST_ITEM, data_type, false);
            (
                Card::Repeated,
                Field::new(name.clone(), DataType::List(Arc::new(item)), false),
            )
        } else {
            let presence = features.explicit_presence || message || oneof.is_some();
            (
                Card::Singular,
                Field::new(name.clone(), data_type, presence),
            )
        };
        let presence = field.is_nullable();
        Ok((
            FieldCol {
                name: name.into(),
                card,
                value,
                presence,
                oneof,
                group: f.is_group(),
            },
            field,
        ))
    }

    /// One value's plan and column type.
    fn value(
        &mut self,
        kind: &PbKind,
        verified: bool,
        path: &str,
    ) -> Result<(Value, DataType), ColumnarError> {
        let m = match kind {
            PbKind::Enum(e) => {
                let plan = EnumPlan::new(e, self.json.enum_numbers);
                let t = if plan.numbers {
                    DataType::Int32
                } else {
                    DataType::Utf8
                };
                return Ok((Value::Enum(plan), t));
            }
            PbKind::Message(m) => m,
            scalar => {
                let s = Scalar::of(scalar, verified)
                    .ok_or_else(|| unmappable(path, "an unknown scalar kind"))?;
                return Ok((Value::Scalar(s), s.data_type()));
            }
        };
        let name = m.full_name();
        let text = |c: &mut Compiler, unquote| (c.text(m, unquote), DataType::Utf8);
        Ok(match name {
            "google.protobuf.Timestamp" => match self.options.timestamps {
                TimestampMode::Micros => (
                    Value::Timestamp,
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                ),
                TimestampMode::Text => text(self, true),
            },
            "google.protobuf.Duration" | "google.protobuf.FieldMask" => text(self, true),
            _ if AS_TEXT.contains(&name) => text(self, false),
            _ if is_wrapper(name) => {
                let s = m
                    .get_field(1)
                    .and_then(|v| Scalar::of(&v.kind(), true))
                    .ok_or_else(|| unmappable(path, "a wrapper without its value field"))?;
                (Value::Wrapper(s), s.data_type())
            }
            _ => {
                let seen = self.ancestors.iter().filter(|a| *a == name).count();
                if seen >= self.options.max_depth.max(1) {
                    text(self, false)
                } else {
                    match self.message(m, path)? {
                        Some((plan, fields)) => (Value::Message(plan), DataType::Struct(fields)),
                        None => text(self, false),
                    }
                }
            }
        })
    }

    fn text(&mut self, m: &MessageDescriptor, unquote: bool) -> Value {
        let json = self.json;
        let plan = self
            .plans
            .entry(m.full_name().to_owned())
            .or_insert_with(|| Plan::new(m, json))
            .clone();
        Value::Text { plan, unquote }
    }
}

fn unmappable(path: &str, reason: &str) -> ColumnarError {
    ColumnarError::Unmappable {
        field_path: path.to_owned(),
        reason: reason.to_owned(),
    }
}
