//! Editions files, lowered to what prost-reflect accepts.
//!
//! prost-reflect builds pools from proto2 and proto3 files only: it refuses
//! a `FileDescriptorProto` whose syntax is `"editions"`. Before a descriptor
//! set reaches the pool, [`lower_set`] resolves the features of every
//! element of each editions file (the edition's defaults, overridden by the
//! file, message, oneof, field and enum options, inner over outer, as
//! Google's descriptor builders do) and rewrites the file as proto2, which
//! keeps names, numbers, types and JSON names and has explicit presence and
//! closed enums by default:
//!
//! - a `DELIMITED` message field becomes `TYPE_GROUP` (except map fields and
//!   the fields of map entries, which Google never encodes as groups);
//! - `LEGACY_REQUIRED` becomes `LABEL_REQUIRED`;
//! - a `PACKED` repeated scalar gets `[packed = true]`;
//! - every field (and extension) gets its resolved features written into
//!   its options, every enum its resolved `enum_type`, which is where
//!   [`crate::features`] reads what proto2 cannot say: implicit presence,
//!   open enums and UTF-8 verification.
//!
//! The editions file as given is kept so that
//! [`Schema::encode_descriptor_set`](crate::Schema::encode_descriptor_set)
//! hands other programs the real thing.

use prost::Message;

/// `FileDescriptorProto.edition` values that protoland lowers. Google's
/// Python runtime knows 2023, 2024 and 2026, whose defaults agree on every
/// feature that changes the wire format or the JSON.
const EDITION_2023: i32 = 1000;
const EDITION_2024: i32 = 1001;
const EDITION_2026: i32 = 1002;

// `FieldDescriptorProto` labels and types.
const LABEL_REQUIRED: i32 = 2;
const LABEL_REPEATED: i32 = 3;
const TYPE_GROUP: i32 = 10;
const TYPE_MESSAGE: i32 = 11;
const TYPE_STRING: i32 = 9;
const TYPE_BYTES: i32 = 12;

// `FeatureSet` enum values.
pub(crate) const EXPLICIT: i32 = 1;
pub(crate) const IMPLICIT: i32 = 2;
pub(crate) const LEGACY_REQUIRED: i32 = 3;
pub(crate) const OPEN: i32 = 1;
pub(crate) const CLOSED: i32 = 2;
const PACKED: i32 = 1;
pub(crate) const VERIFY: i32 = 2;
const LENGTH_PREFIXED: i32 = 1;
const DELIMITED: i32 = 2;
const ALLOW: i32 = 1;

/// `google.protobuf.FeatureSet`, the features that protoland reads (the
/// others, language extensions included, are skipped when decoding).
#[derive(Clone, Copy, PartialEq, Eq, Message)]
pub(crate) struct FeatureSet {
    #[prost(int32, optional, tag = "1")]
    pub(crate) field_presence: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub(crate) enum_type: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub(crate) repeated_field_encoding: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    pub(crate) utf8_validation: Option<i32>,
    #[prost(int32, optional, tag = "5")]
    pub(crate) message_encoding: Option<i32>,
    #[prost(int32, optional, tag = "6")]
    pub(crate) json_format: Option<i32>,
}

impl FeatureSet {
    /// The defaults of editions 2023, 2024 and 2026 (the same for these six).
    fn edition_defaults() -> FeatureSet {
        FeatureSet {
            field_presence: Some(EXPLICIT),
            enum_type: Some(OPEN),
            repeated_field_encoding: Some(PACKED),
            utf8_validation: Some(VERIFY),
            message_encoding: Some(LENGTH_PREFIXED),
            json_format: Some(ALLOW),
        }
    }

    /// `self` overridden by the features `inner` sets.
    fn merged(self, inner: Option<FeatureSet>) -> FeatureSet {
        let Some(inner) = inner else { return self };
        FeatureSet {
            field_presence: inner.field_presence.or(self.field_presence),
            enum_type: inner.enum_type.or(self.enum_type),
            repeated_field_encoding: inner
                .repeated_field_encoding
                .or(self.repeated_field_encoding),
            utf8_validation: inner.utf8_validation.or(self.utf8_validation),
            message_encoding: inner.message_encoding.or(self.message_encoding),
            json_format: inner.json_format.or(self.json_format),
        }
    }
}

/// `FileOptions`, read for its features (each options message has its own
/// number for the `features` field).
#[derive(Clone, PartialEq, Message)]
struct FileOptionsView {
    #[prost(message, optional, tag = "50")]
    features: Option<FeatureSet>,
}

#[derive(Clone, PartialEq, Message)]
struct MessageOptionsView {
    #[prost(bool, optional, tag = "7")]
    map_entry: Option<bool>,
    #[prost(message, optional, tag = "12")]
    features: Option<FeatureSet>,
}

#[derive(Clone, PartialEq, Message)]
struct OneofOptionsView {
    #[prost(message, optional, tag = "1")]
    features: Option<FeatureSet>,
}

/// `FieldOptions`: read for its features, and appended to (a later
/// occurrence of a field overrides a scalar and merges into a message, so
/// appending the resolved features and `packed` is setting them).
#[derive(Clone, PartialEq, Message)]
pub(crate) struct FieldOptionsView {
    #[prost(bool, optional, tag = "2")]
    pub(crate) packed: Option<bool>,
    #[prost(message, optional, tag = "21")]
    pub(crate) features: Option<FeatureSet>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct EnumOptionsView {
    #[prost(message, optional, tag = "7")]
    pub(crate) features: Option<FeatureSet>,
}

/// A `FileDescriptorSet` whose files stay encoded.
#[derive(Clone, PartialEq, Message)]
struct FileSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

/// Enough of a `FileDescriptorProto` to tell an editions file.
#[derive(Clone, PartialEq, Message)]
struct FileHead {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "12")]
    syntax: Option<String>,
    #[prost(int32, optional, tag = "14")]
    edition: Option<i32>,
}

/// `FileDescriptorProto`, every field of it; the parts the lowering does
/// not look into stay encoded.
#[derive(Clone, PartialEq, Message)]
struct FileProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "2")]
    package: Option<String>,
    #[prost(string, repeated, tag = "3")]
    dependency: Vec<String>,
    #[prost(int32, repeated, packed = "false", tag = "10")]
    public_dependency: Vec<i32>,
    #[prost(int32, repeated, packed = "false", tag = "11")]
    weak_dependency: Vec<i32>,
    #[prost(string, repeated, tag = "15")]
    option_dependency: Vec<String>,
    #[prost(message, repeated, tag = "4")]
    message_type: Vec<MessageProto>,
    #[prost(message, repeated, tag = "5")]
    enum_type: Vec<EnumProto>,
    #[prost(bytes = "vec", repeated, tag = "6")]
    service: Vec<Vec<u8>>,
    #[prost(message, repeated, tag = "7")]
    extension: Vec<FieldProto>,
    #[prost(bytes = "vec", optional, tag = "8")]
    options: Option<Vec<u8>>,
    // 9, source_code_info: dropped (its paths would not fit the lowered file).
    #[prost(string, optional, tag = "12")]
    syntax: Option<String>,
    #[prost(int32, optional, tag = "14")]
    edition: Option<i32>,
}

/// `DescriptorProto`.
#[derive(Clone, PartialEq, Message)]
struct MessageProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(message, repeated, tag = "2")]
    field: Vec<FieldProto>,
    #[prost(message, repeated, tag = "6")]
    extension: Vec<FieldProto>,
    #[prost(message, repeated, tag = "3")]
    nested_type: Vec<MessageProto>,
    #[prost(message, repeated, tag = "4")]
    enum_type: Vec<EnumProto>,
    #[prost(bytes = "vec", repeated, tag = "5")]
    extension_range: Vec<Vec<u8>>,
    #[prost(message, repeated, tag = "8")]
    oneof_decl: Vec<OneofProto>,
    #[prost(bytes = "vec", optional, tag = "7")]
    options: Option<Vec<u8>>,
    #[prost(bytes = "vec", repeated, tag = "9")]
    reserved_range: Vec<Vec<u8>>,
    #[prost(string, repeated, tag = "10")]
    reserved_name: Vec<String>,
    #[prost(int32, optional, tag = "11")]
    visibility: Option<i32>,
}

/// `FieldDescriptorProto`.
#[derive(Clone, PartialEq, Message)]
struct FieldProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(int32, optional, tag = "3")]
    number: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    label: Option<i32>,
    #[prost(int32, optional, tag = "5")]
    r#type: Option<i32>,
    #[prost(string, optional, tag = "6")]
    type_name: Option<String>,
    #[prost(string, optional, tag = "2")]
    extendee: Option<String>,
    #[prost(string, optional, tag = "7")]
    default_value: Option<String>,
    #[prost(int32, optional, tag = "9")]
    oneof_index: Option<i32>,
    #[prost(string, optional, tag = "10")]
    json_name: Option<String>,
    #[prost(bytes = "vec", optional, tag = "8")]
    options: Option<Vec<u8>>,
    #[prost(bool, optional, tag = "17")]
    proto3_optional: Option<bool>,
}

/// `EnumDescriptorProto`.
#[derive(Clone, PartialEq, Message)]
struct EnumProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    value: Vec<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    options: Option<Vec<u8>>,
    #[prost(bytes = "vec", repeated, tag = "4")]
    reserved_range: Vec<Vec<u8>>,
    #[prost(string, repeated, tag = "5")]
    reserved_name: Vec<String>,
    #[prost(int32, optional, tag = "6")]
    visibility: Option<i32>,
}

/// `OneofDescriptorProto`.
#[derive(Clone, PartialEq, Message)]
struct OneofProto {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(bytes = "vec", optional, tag = "2")]
    options: Option<Vec<u8>>,
}

/// A descriptor set ready for prost-reflect.
#[derive(Debug)]
pub(crate) struct Lowered {
    /// The set to build the pool from: the input itself when it holds no
    /// editions file.
    pub(crate) set: Vec<u8>,
    /// Each editions file's name and its encoding as given.
    pub(crate) originals: Vec<(String, Vec<u8>)>,
}

/// Lowers every editions file of the encoded `FileDescriptorSet` in
/// `bytes` (see the module documentation).
///
/// # Errors
///
/// A message naming the file when the set does not decode or a file is of
/// an edition protoland does not know.
pub(crate) fn lower_set(bytes: &[u8]) -> Result<Lowered, String> {
    let mut set = FileSet::decode(bytes).map_err(|e| e.to_string())?;
    let mut originals = Vec::new();
    for file in &mut set.file {
        let head = FileHead::decode(file.as_slice()).map_err(|e| e.to_string())?;
        if head.syntax.as_deref() != Some("editions") {
            continue;
        }
        let name = head.name.unwrap_or_default();
        let edition = head.edition.unwrap_or_default();
        if !matches!(edition, EDITION_2023 | EDITION_2024 | EDITION_2026) {
            return Err(format!(
                "{name}: edition {} is not supported (protoland reads editions 2023, 2024 and 2026)",
                edition_name(edition)
            ));
        }
        let mut proto = FileProto::decode(file.as_slice()).map_err(|e| format!("{name}: {e}"))?;
        lower_file(&mut proto);
        originals.push((name, std::mem::replace(file, proto.encode_to_vec())));
    }
    let set = if originals.is_empty() {
        bytes.to_vec()
    } else {
        set.encode_to_vec()
    };
    Ok(Lowered { set, originals })
}

/// How an edition number reads in `descriptor.proto`'s `Edition` enum.
fn edition_name(edition: i32) -> String {
    match edition {
        0 => "EDITION_UNKNOWN (unset)".to_owned(),
        900 => "EDITION_LEGACY".to_owned(),
        998 => "EDITION_PROTO2".to_owned(),
        999 => "EDITION_PROTO3".to_owned(),
        9999 => "EDITION_UNSTABLE".to_owned(),
        0x7fff_ffff => "EDITION_MAX".to_owned(),
        n => n.to_string(),
    }
}

fn decode_or_default<T: Message + Default>(options: Option<&Vec<u8>>) -> T {
    // Options that do not decode are left for prost-reflect to report.
    options
        .and_then(|bytes| T::decode(bytes.as_slice()).ok())
        .unwrap_or_default()
}

fn lower_file(file: &mut FileProto) {
    let options: FileOptionsView = decode_or_default(file.options.as_ref());
    let features = FeatureSet::edition_defaults().merged(options.features);
    let scope = match file.package.as_deref() {
        Some(package) if !package.is_empty() => format!(".{package}"),
        _ => String::new(),
    };
    for e in &mut file.enum_type {
        lower_enum(e, features);
    }
    for x in &mut file.extension {
        lower_field(x, features, FieldScope::Extension);
    }
    for m in &mut file.message_type {
        lower_message(m, features, &scope);
    }
    file.syntax = Some("proto2".to_owned());
    file.edition = None;
}

/// Where a field is declared, for the rules that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldScope {
    /// A field of an ordinary message.
    Message,
    /// A map field: a repeated field of a map entry type.
    MapField,
    /// The key or value of a map entry.
    MapEntry,
    /// A member of a real oneof.
    Oneof,
    Extension,
}

fn lower_message(m: &mut MessageProto, outer: FeatureSet, scope: &str) {
    let options: MessageOptionsView = decode_or_default(m.options.as_ref());
    let features = outer.merged(options.features);
    let full_name = format!("{scope}.{}", m.name.as_deref().unwrap_or_default());
    let map_entries: Vec<String> = m
        .nested_type
        .iter()
        .filter(|n| {
            decode_or_default::<MessageOptionsView>(n.options.as_ref())
                .map_entry
                .unwrap_or(false)
        })
        .map(|n| format!("{full_name}.{}", n.name.as_deref().unwrap_or_default()))
        .collect();
    let oneofs: Vec<FeatureSet> = m
        .oneof_decl
        .iter()
        .map(|o| {
            features.merged(decode_or_default::<OneofOptionsView>(o.options.as_ref()).features)
        })
        .collect();
    let is_map_entry = options.map_entry.unwrap_or(false);
    for f in &mut m.field {
        let oneof = f
            .oneof_index
            .filter(|_| !f.proto3_optional.unwrap_or(false))
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| oneofs.get(i).copied());
        let (parent, scope) = if is_map_entry {
            (features, FieldScope::MapEntry)
        } else if let Some(oneof) = oneof {
            (oneof, FieldScope::Oneof)
        } else if f.label == Some(LABEL_REPEATED)
            && f.type_name
                .as_ref()
                .is_some_and(|t| map_entries.contains(t))
        {
            (features, FieldScope::MapField)
        } else {
            (features, FieldScope::Message)
        };
        lower_field(f, parent, scope);
    }
    for x in &mut m.extension {
        lower_field(x, features, FieldScope::Extension);
    }
    for e in &mut m.enum_type {
        lower_enum(e, features);
    }
    for n in &mut m.nested_type {
        lower_message(n, features, &full_name);
    }
}

fn lower_field(f: &mut FieldProto, outer: FeatureSet, scope: FieldScope) {
    let options: FieldOptionsView = decode_or_default(f.options.as_ref());
    let mut features = outer.merged(options.features);
    let repeated = f.label == Some(LABEL_REPEATED);
    let ty = f.r#type.unwrap_or_default();
    let message = matches!(ty, TYPE_MESSAGE | TYPE_GROUP);
    if ty == TYPE_MESSAGE
        && features.message_encoding == Some(DELIMITED)
        && !matches!(scope, FieldScope::MapField | FieldScope::MapEntry)
    {
        f.r#type = Some(TYPE_GROUP);
    }
    if features.field_presence == Some(LEGACY_REQUIRED) && !repeated {
        f.label = Some(LABEL_REQUIRED);
    }
    // What Google's descriptors answer for presence: message fields, oneof
    // members and extensions track it whatever the features say.
    if !repeated
        && (message || matches!(scope, FieldScope::Oneof | FieldScope::Extension))
        && features.field_presence == Some(IMPLICIT)
    {
        features.field_presence = Some(EXPLICIT);
    }
    let packable = !matches!(ty, TYPE_STRING | TYPE_BYTES | TYPE_MESSAGE | TYPE_GROUP);
    let patch = FieldOptionsView {
        packed: (repeated && packable && features.repeated_field_encoding == Some(PACKED))
            .then_some(true),
        features: Some(features),
    };
    f.options
        .get_or_insert_with(Vec::new)
        .extend(patch.encode_to_vec());
}

fn lower_enum(e: &mut EnumProto, outer: FeatureSet) {
    let options: EnumOptionsView = decode_or_default(e.options.as_ref());
    let patch = EnumOptionsView {
        features: Some(outer.merged(options.features)),
    };
    e.options
        .get_or_insert_with(Vec::new)
        .extend(patch.encode_to_vec());
}

/// Encodes a `FileDescriptorSet` of already encoded files.
pub(crate) fn encode_set(file: Vec<Vec<u8>>) -> Vec<u8> {
    FileSet { file }.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use prost_reflect::Cardinality;

    use super::*;
    use crate::{Schema, SchemaError, features};

    const LABEL_OPTIONAL: i32 = 1;
    const TYPE_INT32: i32 = 5;

    fn features(set: impl FnOnce(&mut FeatureSet)) -> FeatureSet {
        let mut f = FeatureSet::default();
        set(&mut f);
        f
    }

    fn field(name: &str, number: i32, ty: i32, with: Option<FeatureSet>) -> FieldProto {
        FieldProto {
            name: Some(name.to_owned()),
            number: Some(number),
            label: Some(LABEL_OPTIONAL),
            r#type: Some(ty),
            options: with.map(|f| {
                FieldOptionsView {
                    packed: None,
                    features: Some(f),
                }
                .encode_to_vec()
            }),
            ..FieldProto::default()
        }
    }

    fn message_field(
        name: &str,
        number: i32,
        type_name: &str,
        with: Option<FeatureSet>,
    ) -> FieldProto {
        FieldProto {
            type_name: Some(type_name.to_owned()),
            ..field(name, number, TYPE_MESSAGE, with)
        }
    }

    fn repeated(f: FieldProto) -> FieldProto {
        FieldProto {
            label: Some(LABEL_REPEATED),
            ..f
        }
    }

    fn message(name: &str, field: Vec<FieldProto>) -> MessageProto {
        MessageProto {
            name: Some(name.to_owned()),
            field,
            ..MessageProto::default()
        }
    }

    fn enumeration(name: &str, values: &[(&str, i32)], with: Option<FeatureSet>) -> EnumProto {
        #[derive(Clone, PartialEq, Message)]
        struct Value {
            #[prost(string, optional, tag = "1")]
            name: Option<String>,
            #[prost(int32, optional, tag = "2")]
            number: Option<i32>,
        }
        EnumProto {
            name: Some(name.to_owned()),
            value: values
                .iter()
                .map(|(name, number)| {
                    Value {
                        name: Some((*name).to_owned()),
                        number: Some(*number),
                    }
                    .encode_to_vec()
                })
                .collect(),
            options: with.map(|f| EnumOptionsView { features: Some(f) }.encode_to_vec()),
            ..EnumProto::default()
        }
    }

    fn editions_file(edition: i32, file_features: Option<FeatureSet>) -> FileProto {
        FileProto {
            name: Some("ed/e.proto".to_owned()),
            package: Some("ed".to_owned()),
            syntax: Some("editions".to_owned()),
            edition: Some(edition),
            options: file_features.map(|f| FileOptionsView { features: Some(f) }.encode_to_vec()),
            ..FileProto::default()
        }
    }

    fn load(file: &FileProto) -> Result<Schema, SchemaError> {
        Schema::from_descriptor_set(&encode_set(vec![file.encode_to_vec()]))
    }

    /// edition 2023 with its defaults, overridden field by field.
    fn defaults_file() -> FileProto {
        let mut file = editions_file(EDITION_2023, None);
        file.enum_type = vec![
            enumeration("Open", &[("OPEN_ZERO", 0)], None),
            enumeration(
                "Closed",
                &[("CLOSED_ONE", 1)],
                Some(features(|f| f.enum_type = Some(CLOSED))),
            ),
        ];
        file.message_type = vec![
            message("Leaf", vec![field("a", 1, TYPE_INT32, None)]),
            message(
                "M",
                vec![
                    field("explicit", 1, TYPE_INT32, None),
                    field(
                        "implicit",
                        2,
                        TYPE_INT32,
                        Some(features(|f| f.field_presence = Some(IMPLICIT))),
                    ),
                    message_field(
                        "Delimited",
                        3,
                        ".ed.Leaf",
                        Some(features(|f| f.message_encoding = Some(DELIMITED))),
                    ),
                    field(
                        "required",
                        4,
                        TYPE_INT32,
                        Some(features(|f| f.field_presence = Some(LEGACY_REQUIRED))),
                    ),
                    field(
                        "unverified",
                        5,
                        TYPE_STRING,
                        Some(features(|f| f.utf8_validation = Some(3))),
                    ),
                    field("verified", 6, TYPE_STRING, None),
                    repeated(field("packed", 7, TYPE_INT32, None)),
                    repeated(field(
                        "expanded",
                        8,
                        TYPE_INT32,
                        Some(features(|f| f.repeated_field_encoding = Some(2))),
                    )),
                    message_field("prefixed", 9, ".ed.Leaf", None),
                ],
            ),
        ];
        file
    }

    #[test]
    fn loads_an_editions_2023_descriptor_set_with_its_features() {
        let schema = load(&defaults_file()).unwrap();
        let m = schema.message("ed.M").unwrap();
        let get = |name: &str| m.get_field_by_name(name).unwrap();
        let presence = |name: &str| features::field_features(&get(name)).explicit_presence;
        assert!(presence("explicit"));
        assert!(!presence("implicit"));
        assert!(presence("Delimited"));
        assert!(presence("required"));
        assert!(!presence("packed"));
        assert!(get("Delimited").is_group());
        // A delimited field keeps its name and JSON name.
        assert_eq!(get("Delimited").json_name(), "Delimited");
        assert!(!get("prefixed").is_group());
        assert_eq!(get("required").cardinality(), Cardinality::Required);
        assert_eq!(get("explicit").cardinality(), Cardinality::Optional);
        assert!(features::field_features(&get("verified")).utf8_verified);
        assert!(!features::field_features(&get("unverified")).utf8_verified);
        assert!(get("packed").is_packed());
        assert!(!get("expanded").is_packed());
        let open = schema.pool().get_enum_by_name("ed.Open").unwrap();
        let closed = schema.pool().get_enum_by_name("ed.Closed").unwrap();
        assert!(!features::enum_is_closed(&open));
        assert!(features::enum_is_closed(&closed));
    }

    #[test]
    fn hands_on_the_editions_file_as_loaded() {
        let file = defaults_file();
        let schema = load(&file).unwrap();
        let set = FileSet::decode(schema.encode_descriptor_set().as_slice()).unwrap();
        let heads: Vec<FileHead> = set
            .file
            .iter()
            .map(|f| FileHead::decode(f.as_slice()).unwrap())
            .collect();
        let ours = heads
            .iter()
            .find(|h| h.name.as_deref() == Some("ed/e.proto"))
            .unwrap();
        assert_eq!(ours.syntax.as_deref(), Some("editions"));
        assert_eq!(ours.edition, Some(EDITION_2023));
        assert!(set.file.contains(&file.encode_to_vec()));
    }

    #[test]
    fn file_features_reach_every_element_and_google_exceptions_hold() {
        let mut file = editions_file(
            EDITION_2024,
            Some(FeatureSet {
                field_presence: Some(IMPLICIT),
                enum_type: Some(CLOSED),
                repeated_field_encoding: Some(2),
                utf8_validation: Some(3),
                message_encoding: Some(DELIMITED),
                json_format: None,
            }),
        );
        file.enum_type = vec![
            enumeration("Shut", &[("SHUT_ZERO", 0)], None),
            enumeration(
                "Ajar",
                &[("AJAR_ZERO", 0)],
                Some(features(|f| f.enum_type = Some(OPEN))),
            ),
        ];
        let mut entry = message(
            "ItemsEntry",
            vec![
                field("key", 1, TYPE_STRING, None),
                message_field("value", 2, ".ed.M", None),
            ],
        );
        entry.options = Some(
            MessageOptionsView {
                map_entry: Some(true),
                features: None,
            }
            .encode_to_vec(),
        );
        let mut m = message(
            "M",
            vec![
                field("implicit", 1, TYPE_INT32, None),
                message_field("child", 2, ".ed.M", None),
                FieldProto {
                    oneof_index: Some(0),
                    ..field("member", 3, TYPE_INT32, None)
                },
                repeated(message_field("items", 4, ".ed.M.ItemsEntry", None)),
                field("text", 5, TYPE_STRING, None),
                field(
                    "explicit",
                    6,
                    TYPE_INT32,
                    Some(features(|f| f.field_presence = Some(EXPLICIT))),
                ),
            ],
        );
        m.nested_type = vec![entry];
        m.oneof_decl = vec![OneofProto {
            name: Some("choice".to_owned()),
            options: None,
        }];
        // An editions file may extend FeatureSet with its own language
        // features, as cpp_features.proto does.
        file.dependency = vec!["google/protobuf/descriptor.proto".to_owned()];
        file.extension = vec![FieldProto {
            extendee: Some(".google.protobuf.FeatureSet".to_owned()),
            ..message_field("lang", 1000, ".ed.M", None)
        }];
        file.message_type = vec![m];
        let schema = load(&file).unwrap();
        let m = schema.message("ed.M").unwrap();
        let get = |name: &str| m.get_field_by_name(name).unwrap();
        let presence = |name: &str| features::field_features(&get(name)).explicit_presence;
        assert!(!presence("implicit"));
        assert!(presence("explicit"));
        assert!(presence("child"), "message fields always have presence");
        assert!(presence("member"), "oneof members always have presence");
        assert!(get("child").is_group());
        assert!(get("items").is_map(), "a map field is never delimited");
        let entry = get("items").kind();
        let value = entry.as_message().unwrap().map_entry_value_field();
        assert!(!value.is_group(), "a map value is never delimited");
        assert!(!features::field_features(&get("text")).utf8_verified);
        let shut = schema.pool().get_enum_by_name("ed.Shut").unwrap();
        let ajar = schema.pool().get_enum_by_name("ed.Ajar").unwrap();
        assert!(features::enum_is_closed(&shut));
        assert!(!features::enum_is_closed(&ajar));
        assert!(schema.pool().get_extension_by_name("ed.lang").is_some());
    }

    #[test]
    fn refuses_json_name_conflicts_as_google_does() {
        // protoc only warns under `json_format = LEGACY_BEST_EFFORT`, but
        // Google's Python runtime refuses the file ("duplicate json_name"),
        // and so does prost-reflect.
        let mut file = editions_file(EDITION_2023, None);
        let mut m = message(
            "C",
            vec![
                FieldProto {
                    json_name: Some("fooBar".to_owned()),
                    ..field("foo_bar", 1, TYPE_INT32, None)
                },
                FieldProto {
                    json_name: Some("fooBar".to_owned()),
                    ..field("fooBar", 2, TYPE_INT32, None)
                },
            ],
        );
        m.options = Some(
            MessageOptionsView {
                map_entry: None,
                features: Some(features(|f| f.json_format = Some(2))),
            }
            .encode_to_vec(),
        );
        file.message_type = vec![m];
        let err = load(&file).unwrap_err();
        assert_eq!(
            err.to_string(),
            "loading descriptor set (bytes): a field with JSON name 'fooBar' is already defined"
        );
    }

    #[test]
    fn rejects_an_edition_it_does_not_know() {
        let err = load(&editions_file(9999, None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "loading descriptor set (bytes): ed/e.proto: edition EDITION_UNSTABLE is not supported (protoland reads editions 2023, 2024 and 2026)"
        );
    }

    #[test]
    fn proto2_and_proto3_answer_from_their_syntax() {
        let schema = Schema::from_proto_source(
            "p.proto",
            r#"syntax = "proto3"; package p; enum E { E0 = 0; } message M { int32 a = 1; optional int32 b = 2; string s = 3; E e = 4; }"#,
        )
        .unwrap();
        let m = schema.message("p.M").unwrap();
        let get = |name: &str| features::field_features(&m.get_field_by_name(name).unwrap());
        assert!(!get("a").explicit_presence);
        assert!(get("b").explicit_presence);
        assert!(get("s").utf8_verified);
        let e = schema.pool().get_enum_by_name("p.E").unwrap();
        assert!(!features::enum_is_closed(&e));
        let schema = Schema::from_proto_source(
            "q.proto",
            r#"syntax = "proto2"; package q; enum E { E1 = 1; } message M { optional string s = 1; }"#,
        )
        .unwrap();
        let s = schema
            .message("q.M")
            .unwrap()
            .get_field_by_name("s")
            .unwrap();
        assert!(features::field_features(&s).explicit_presence);
        assert!(!features::field_features(&s).utf8_verified);
        let e = schema.pool().get_enum_by_name("q.E").unwrap();
        assert!(features::enum_is_closed(&e));
    }
}
