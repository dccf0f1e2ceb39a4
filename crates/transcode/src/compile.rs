//! The compiled form of a message type, and its builder.
//!
//! [`Compiled::new`] compiles a message type, and every message type
//! reachable from it, into an arena of [`TypePlan`]s indexed by id: for
//! every field number its kind, the wire type the schema expects, the
//! pre-escaped `"jsonName":` bytes for the chosen [`JsonOptions`], the
//! nested type's id, presence and oneof membership, and how the well-known
//! types print. When any reachable type is `google.protobuf.Any`, every
//! message type of the descriptor pool is compiled too, so that `Any`
//! payloads resolve without a lock or a lazily filled cache. The arena is
//! immutable; the walker in `transcode` reads it, and [`Plan`](crate::Plan)
//! shares it (`Arc`).

use std::collections::HashMap;

use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind as PbKind, MessageDescriptor,
};

use crate::options::JsonOptions;
use crate::wire;
use crate::wkt::Wkt;

/// Everything a transcode needs, built once.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) options: JsonOptions,
    pub(crate) types: Vec<TypePlan>,
    pub(crate) enums: Vec<EnumPlan>,
    /// Message types by full name, for `Any`.
    pub(crate) by_name: HashMap<Box<str>, u32>,
    pub(crate) root: u32,
}

/// A field value's type, with the ids of nested plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Double,
    Float,
    Int64,
    UInt64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    UInt32,
    SFixed32,
    SFixed64,
    SInt32,
    SInt64,
    Enum(u32),
    Message(u32),
    Group(u32),
}

impl Kind {
    /// The wire type a single value of this kind is written with.
    pub(crate) fn wire_type(self) -> u8 {
        match self {
            Kind::Double | Kind::Fixed64 | Kind::SFixed64 => wire::I64,
            Kind::Float | Kind::Fixed32 | Kind::SFixed32 => wire::I32,
            Kind::String | Kind::Bytes | Kind::Message(_) => wire::LEN,
            Kind::Group(_) => wire::SGROUP,
            _ => wire::VARINT,
        }
    }

    /// Whether a repeated field of this kind may be packed.
    pub(crate) fn packable(self) -> bool {
        !matches!(
            self,
            Kind::String | Kind::Bytes | Kind::Message(_) | Kind::Group(_)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Card {
    /// A singular field.
    Singular,
    Repeated,
    /// A map field; the kind is the entry message.
    Map,
}

/// Fields of well-known types that print differently from their kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// `Value.null_value`: always `null`, whatever the number and options.
    ValueNull,
    /// `Value.number_value`: NaN and the infinities are errors.
    ValueNumber,
}

pub(crate) const NO_ONEOF: u32 = u32::MAX;

#[derive(Debug)]
pub(crate) struct FieldPlan {
    pub(crate) number: u32,
    pub(crate) kind: Kind,
    pub(crate) card: Card,
    /// The wire type of one element (unpacked).
    pub(crate) wire_type: u8,
    /// Repeated scalar: a LEN record holds packed elements.
    pub(crate) packable: bool,
    /// Singular without presence (proto3, editions `IMPLICIT`): a default
    /// value is not printed.
    pub(crate) implicit: bool,
    pub(crate) oneof: u32,
    /// A singular field outside oneofs and not a closed enum: what the fast
    /// path's inline loop handles (see `Walker::fields_fast`).
    pub(crate) fast: bool,
    /// `string` whose UTF-8 Google's parser verifies (proto3, editions
    /// `VERIFY`); for proto2 (and editions `NONE`) strings invalid UTF-8
    /// prints as Python prints the raw bytes.
    pub(crate) utf8: bool,
    pub(crate) special: Special,
    /// A repeated extension: any occurrence, even an empty packed record,
    /// makes upb list it, so it prints (as `[]` when it has no elements).
    pub(crate) present_when_empty: bool,
    /// `"name":` and `,"name":`, escaped (nothing and `,` for the bare
    /// members of well-known types), in fixed-size arrays when they fit (the
    /// rest filler) so that writing one is a single store; see
    /// [`FieldPlan::write_key`].
    key_text: [[u8; KEY_TEXT]; 2],
    key_lens: [usize; 2],
    /// `,"name":` when longer than [`KEY_TEXT`] bytes.
    long_key: Box<[u8]>,
    /// The name as printed, for error paths.
    pub(crate) name: Box<str>,
    /// What [`JsonOptions::emit_defaults`] prints when the field is absent.
    pub(crate) default_json: Box<[u8]>,
}

impl FieldPlan {
    /// Appends `"name":`, after a comma when `comma`.
    #[inline(always)]
    pub(crate) fn write_key(&self, out: &mut Vec<u8>, comma: bool) {
        let i = usize::from(comma);
        let n = self.key_lens[i];
        if n <= KEY_TEXT {
            crate::write::put(out, self.key_text[i], n);
        } else {
            out.extend_from_slice(&self.long_key[1 - i..]);
        }
    }

    /// The key (after a comma when `comma`) as two words and a length, when
    /// it fits in 16 bytes.
    #[inline(always)]
    pub(crate) fn short_key(&self, comma: bool) -> Option<(u64, u64, usize)> {
        let i = usize::from(comma);
        let n = self.key_lens[i];
        let (a, rest) = self.key_text[i].split_first_chunk::<8>()?;
        let b = rest.first_chunk::<8>()?;
        (n <= 16).then(|| (u64::from_le_bytes(*a), u64::from_le_bytes(*b), n))
    }
}

/// Keys up to this long (most) are written with one fixed-size store.
const KEY_TEXT: usize = 24;

#[derive(Debug)]
pub(crate) struct TypePlan {
    pub(crate) wkt: Wkt,
    /// Field index by number, for numbers below `dense.len()`.
    dense: Box<[u32]>,
    /// (number, field index) for the others, sorted by number.
    sparse: Box<[(u32, u32)]>,
    /// Sorted by number: the output order.
    pub(crate) fields: Box<[FieldPlan]>,
    /// Number of (real) oneofs; members carry their index.
    pub(crate) oneofs: u32,
    /// Fields printed when absent under `emit_defaults`, by index.
    pub(crate) defaults: Box<[u32]>,
    /// A type without fields or extension ranges: upb takes field number 0
    /// in it for an unknown field instead of an error.
    pub(crate) field_zero_ok: bool,
    /// `option message_set_wire_format = true`: field 1 holds MessageSet
    /// items (groups of a `type_id` and a `message`), each the value of the
    /// extension numbered `type_id` (see `Walker::item`).
    pub(crate) message_set: bool,
}

pub(crate) const NO_FIELD: u32 = u32::MAX;

impl TypePlan {
    #[inline(always)]
    pub(crate) fn lookup(&self, number: u32) -> Option<usize> {
        let i = match self.dense.get(number as usize) {
            Some(&i) => i,
            None => {
                if self.sparse.is_empty() {
                    return None;
                }
                match self.sparse.binary_search_by_key(&number, |&(n, _)| n) {
                    Ok(k) => self.sparse[k].1,
                    Err(_) => return None,
                }
            }
        };
        if i == NO_FIELD {
            None
        } else {
            Some(i as usize)
        }
    }

    /// The extension a MessageSet item with `type_id` sets: a singular
    /// message field (the only kind of extension a MessageSet may have;
    /// for any other the item is an unknown field, which Google's
    /// descriptor pool does not let happen).
    #[cold]
    pub(crate) fn item_field(&self, type_id: u32) -> Option<usize> {
        let fi = self.lookup(type_id)?;
        let f = &self.fields[fi];
        (f.card == Card::Singular && matches!(f.kind, Kind::Message(_))).then_some(fi)
    }
}

#[derive(Debug)]
pub(crate) struct EnumPlan {
    /// proto2 (and editions `CLOSED`) enums: numbers the schema does not
    /// declare are unknown fields.
    pub(crate) closed: bool,
    /// `google.protobuf.NullValue`: prints `null`.
    pub(crate) null_value: bool,
    min: i32,
    /// `"NAME"` for numbers `min..min + dense.len()`.
    dense: Box<[Option<Name>]>,
    /// (number, `"NAME"`) for sparse enums, sorted.
    sparse: Box<[(i32, Name)]>,
}

/// A quoted enum value name, as bytes and as words for
/// [`write::words`](crate::write::words).
#[derive(Debug, Clone)]
pub(crate) struct Name {
    pub(crate) bytes: Box<[u8]>,
    pub(crate) words: Box<[u64]>,
}

impl EnumPlan {
    /// The quoted name of `number`, the first declared when aliased.
    #[inline]
    pub(crate) fn name(&self, number: i32) -> Option<&Name> {
        if !self.dense.is_empty() {
            let i = i64::from(number) - i64::from(self.min);
            return usize::try_from(i)
                .ok()
                .and_then(|i| self.dense.get(i))
                .and_then(Option::as_ref);
        }
        self.sparse
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|k| &self.sparse[k].1)
    }

    #[inline]
    pub(crate) fn known(&self, number: i32) -> bool {
        self.name(number).is_some()
    }
}

/// Compilation state: descriptors waiting for a plan.
struct Builder {
    options: JsonOptions,
    types: Vec<Option<TypePlan>>,
    enums: Vec<EnumPlan>,
    type_ids: HashMap<String, u32>,
    enum_ids: HashMap<String, u32>,
    pending: Vec<MessageDescriptor>,
    saw_any: bool,
}

impl Compiled {
    /// Compiles `root` and every message type reachable from it.
    pub(crate) fn new(root: &MessageDescriptor, options: JsonOptions) -> Compiled {
        let mut b = Builder {
            options,
            types: Vec::new(),
            enums: Vec::new(),
            type_ids: HashMap::new(),
            enum_ids: HashMap::new(),
            pending: Vec::new(),
            saw_any: false,
        };
        let root_id = b.type_id(root);
        b.drain();
        if b.saw_any {
            // Any payloads may name any message of the pool.
            let pool: DescriptorPool = root.parent_pool().clone();
            for m in pool.all_messages() {
                b.type_id(&m);
            }
            b.drain();
        }
        let by_name = b
            .type_ids
            .iter()
            .map(|(name, &id)| (name.clone().into_boxed_str(), id))
            .collect();
        Compiled {
            options,
            types: b.types.into_iter().flatten().collect(),
            enums: b.enums,
            by_name,
            root: root_id,
        }
    }
}

impl Builder {
    fn type_id(&mut self, m: &MessageDescriptor) -> u32 {
        if let Some(&id) = self.type_ids.get(m.full_name()) {
            return id;
        }
        let id = self.types.len() as u32;
        self.types.push(None);
        self.type_ids.insert(m.full_name().to_owned(), id);
        if m.full_name() == "google.protobuf.Any" {
            self.saw_any = true;
        }
        self.pending.push(m.clone());
        id
    }

    fn drain(&mut self) {
        while let Some(m) = self.pending.pop() {
            let id = self.type_ids[m.full_name()];
            let plan = self.compile(&m);
            self.types[id as usize] = Some(plan);
        }
    }

    fn enum_id(&mut self, e: &EnumDescriptor) -> u32 {
        if let Some(&id) = self.enum_ids.get(e.full_name()) {
            return id;
        }
        let id = self.enums.len() as u32;
        self.enum_ids.insert(e.full_name().to_owned(), id);
        self.enums.push(compile_enum(e));
        id
    }

    fn kind(&mut self, kind: &PbKind, is_group: bool) -> Kind {
        match kind {
            PbKind::Double => Kind::Double,
            PbKind::Float => Kind::Float,
            PbKind::Int32 => Kind::Int32,
            PbKind::Int64 => Kind::Int64,
            PbKind::Uint32 => Kind::UInt32,
            PbKind::Uint64 => Kind::UInt64,
            PbKind::Sint32 => Kind::SInt32,
            PbKind::Sint64 => Kind::SInt64,
            PbKind::Fixed32 => Kind::Fixed32,
            PbKind::Fixed64 => Kind::Fixed64,
            PbKind::Sfixed32 => Kind::SFixed32,
            PbKind::Sfixed64 => Kind::SFixed64,
            PbKind::Bool => Kind::Bool,
            PbKind::String => Kind::String,
            PbKind::Bytes => Kind::Bytes,
            PbKind::Enum(e) => Kind::Enum(self.enum_id(e)),
            PbKind::Message(m) if is_group => Kind::Group(self.type_id(m)),
            PbKind::Message(m) => Kind::Message(self.type_id(m)),
        }
    }

    fn compile(&mut self, m: &MessageDescriptor) -> TypePlan {
        let wkt = Wkt::of(m.full_name());
        let bare = matches!(wkt, Wkt::Bare(_));
        let mut fields = Vec::new();
        let mut oneofs = HashMap::new();
        for f in m.fields() {
            let oneof = match f.containing_oneof() {
                Some(o) if !o.is_synthetic() => {
                    let next = oneofs.len() as u32;
                    *oneofs.entry(o.name().to_owned()).or_insert(next)
                }
                _ => NO_ONEOF,
            };
            let name = if self.options.proto_names {
                f.name().to_owned()
            } else {
                f.json_name().to_owned()
            };
            // Proto2, proto3 or editions: presence, UTF-8 checks and
            // closed enums come from the schema's resolved features; a
            // DELIMITED editions field is a group (`is_group`).
            let features = protoland_schema::field_features(&f);
            let kind = self.kind(&f.kind(), f.is_group());
            let card = field_card(&f);
            let special = match (m.full_name(), f.number()) {
                ("google.protobuf.Value", 1) => Special::ValueNull,
                ("google.protobuf.Value", 2) => Special::ValueNumber,
                _ => Special::None,
            };
            fields.push(self.field(FieldSpec {
                number: f.number(),
                kind,
                card,
                implicit: card == Card::Singular && !features.explicit_presence,
                oneof,
                utf8: features.utf8_verified,
                special,
                name,
                bare,
                extension: false,
            }));
        }
        for x in m.extensions() {
            let kind = self.kind(&x.kind(), x.is_group());
            let card = if x.cardinality() == Cardinality::Repeated {
                Card::Repeated
            } else {
                Card::Singular
            };
            fields.push(self.field(FieldSpec {
                number: x.number(),
                kind,
                card,
                implicit: false,
                oneof: NO_ONEOF,
                utf8: protoland_schema::extension_features(&x).utf8_verified,
                special: Special::None,
                name: format!("[{}]", x.full_name()),
                bare: false,
                extension: true,
            }));
        }
        fields.sort_by_key(|f| f.number);
        fields.dedup_by_key(|f| f.number);

        let max = fields.last().map_or(0, |f| f.number as usize);
        let dense_len = if max < 1024 || max < 4 * fields.len() {
            max + 1
        } else {
            256
        };
        let mut dense = vec![NO_FIELD; dense_len];
        let mut sparse = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            match dense.get_mut(f.number as usize) {
                Some(slot) => *slot = i as u32,
                None => sparse.push((f.number, i as u32)),
            }
        }
        // Python's always_print_fields_with_no_presence: regular fields
        // (not extensions) without presence; never for the well-known
        // types, whose printers ignore it.
        let extension_numbers: Vec<u32> = m.extensions().map(|x| x.number()).collect();
        let defaults = if wkt == Wkt::None && self.options.emit_defaults {
            fields
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    (f.implicit || f.card != Card::Singular)
                        && !extension_numbers.contains(&f.number)
                })
                .map(|(i, _)| i as u32)
                .collect()
        } else {
            Vec::new()
        };
        let field_zero_ok = fields.is_empty() && m.extension_ranges().len() == 0;
        let message_set = m
            .descriptor_proto()
            .options
            .as_ref()
            .is_some_and(|o| o.message_set_wire_format());
        if message_set && let Some(slot) = dense.get_mut(1) {
            // Field 1 of a MessageSet is its items, whatever the schema
            // says (an extension numbered 1 would be unreachable in upb).
            *slot = NO_FIELD;
        }
        TypePlan {
            wkt,
            field_zero_ok,
            message_set,
            dense: dense.into(),
            sparse: sparse.into(),
            fields: fields.into(),
            oneofs: oneofs.len() as u32,
            defaults: defaults.into(),
        }
    }

    fn field(&self, s: FieldSpec) -> FieldPlan {
        let mut key = vec![b','];
        if !s.bare {
            crate::write::string(&mut key, s.name.as_bytes());
            key.push(b':');
        }
        let default_json = self.default_json(s.kind, s.card);
        FieldPlan {
            number: s.number,
            kind: s.kind,
            card: s.card,
            wire_type: s.kind.wire_type(),
            packable: s.card == Card::Repeated && s.kind.packable(),
            implicit: s.implicit,
            fast: s.card == Card::Singular
                && s.oneof == NO_ONEOF
                && !matches!(s.kind, Kind::Enum(e) if self.enums[e as usize].closed),
            oneof: s.oneof,
            utf8: s.utf8,
            special: s.special,
            present_when_empty: s.extension && s.card == Card::Repeated,
            key_text: [key_text(&key[1..]), key_text(&key)],
            key_lens: [key.len() - 1, key.len()],
            long_key: if key.len() > KEY_TEXT {
                key.clone().into()
            } else {
                Box::default()
            },
            name: if s.bare { "".into() } else { s.name.into() },
            default_json: default_json.into(),
        }
    }

    /// The JSON of a field's default value: what emit_defaults prints for
    /// an absent field and what a wrapper or map entry without its value
    /// prints.
    fn default_json(&self, kind: Kind, card: Card) -> Vec<u8> {
        match card {
            Card::Repeated => return b"[]".to_vec(),
            Card::Map => return b"{}".to_vec(),
            Card::Singular => {}
        }
        match kind {
            Kind::Int64 | Kind::UInt64 | Kind::Fixed64 | Kind::SFixed64 | Kind::SInt64 => {
                b"\"0\"".to_vec()
            }
            Kind::Bool => b"false".to_vec(),
            Kind::String | Kind::Bytes => b"\"\"".to_vec(),
            Kind::Enum(e) => {
                let plan = &self.enums[e as usize];
                if self.options.enum_numbers {
                    b"0".to_vec()
                } else if plan.null_value {
                    b"null".to_vec()
                } else {
                    plan.name(0)
                        .map_or_else(|| b"0".to_vec(), |n| n.bytes.to_vec())
                }
            }
            Kind::Message(_) | Kind::Group(_) => b"{}".to_vec(),
            _ => b"0".to_vec(),
        }
    }
}

/// `key` in a [`KEY_TEXT`]-byte array, filler after it (nothing if it is
/// longer: see `FieldPlan::long_key`).
fn key_text(key: &[u8]) -> [u8; KEY_TEXT] {
    let mut text = [b'a'; KEY_TEXT];
    if let Some(head) = text.get_mut(..key.len()) {
        head.copy_from_slice(key);
    }
    text
}

struct FieldSpec {
    number: u32,
    kind: Kind,
    card: Card,
    implicit: bool,
    oneof: u32,
    utf8: bool,
    special: Special,
    name: String,
    bare: bool,
    extension: bool,
}

fn field_card(f: &FieldDescriptor) -> Card {
    if f.is_map() {
        Card::Map
    } else if f.is_list() {
        Card::Repeated
    } else {
        Card::Singular
    }
}

fn compile_enum(e: &EnumDescriptor) -> EnumPlan {
    // The first declared value of a number names it (allow_alias), as in
    // upb's lookup by number.
    // (The descriptor proto keeps declaration order; `EnumDescriptor::values`
    // is ordered by number, aliases in no particular order.)
    let mut values: Vec<(i32, Name)> = Vec::new();
    for v in &e.enum_descriptor_proto().value {
        if values.iter().any(|(n, _)| *n == v.number()) {
            continue;
        }
        let mut name = Vec::new();
        crate::write::string(&mut name, v.name().as_bytes());
        let words = crate::write::to_words(&name);
        values.push((
            v.number(),
            Name {
                bytes: name.into(),
                words,
            },
        ));
    }
    values.sort_by_key(|(n, _)| *n);
    let min = values.first().map_or(0, |(n, _)| *n);
    let max = values.last().map_or(0, |(n, _)| *n);
    let span = i64::from(max) - i64::from(min) + 1;
    let (dense, sparse) = if !values.is_empty() && span <= 4 * values.len() as i64 + 16 {
        let mut dense = vec![None; span as usize];
        for (n, name) in values {
            dense[(i64::from(n) - i64::from(min)) as usize] = Some(name);
        }
        (dense, Vec::new())
    } else {
        (Vec::new(), values)
    };
    EnumPlan {
        closed: protoland_schema::enum_is_closed(e),
        null_value: e.full_name() == "google.protobuf.NullValue",
        min,
        dense: dense.into(),
        sparse: sparse.into(),
    }
}
