//! Checks on a `FileDescriptorSet` before prost-reflect builds a pool from
//! it.
//!
//! prost-reflect validates descriptors thoroughly, but a few hostile shapes
//! make it panic or recurse without bound instead of returning an error (a
//! descriptor set is user input: whoever writes `PROTOLAND_SCHEMA` decides
//! its bytes). Each check here stands for one such class, found by the
//! `schema` fuzz target or by review of prost-reflect's builder, and
//! refuses it with a message naming the file and the offending value:
//!
//! - a `syntax` other than absent, `proto2`, `proto3` or `editions`
//!   (prost-reflect reports it with a label pointing into a file it never
//!   registered, and panics indexing it). Google refuses the same values,
//!   an explicit empty string included (`Invalid syntax ''`);
//! - an import of a file that imports it back, directly or not, or a file
//!   listing the same import twice: prost-reflect follows public imports
//!   recursively and, with such a loop, never stops (a stack overflow,
//!   which aborts the process). protoc refuses both ("File recursively
//!   imports itself", "Import … was listed twice");
//! - an uninterpreted aggregate option value (text format, which
//!   prost-reflect parses recursively) nested deeper than
//!   [`MAX_OPTION_DEPTH`](crate::MAX_OPTION_DEPTH) levels: thousands of
//!   levels overflowed the stack, as in `.proto` sources (`crate::depth`);
//! - a `bytes` field's default value that is not a well-formed C-escaped
//!   string as protoc writes them (an octal escape over `\377`, a `\x` not
//!   followed by two hex digits, a trailing `\`): prost-reflect's unescaper
//!   overflowed a `u8` on the first (a panic with overflow checks, a wrong
//!   byte without) and sliced inside a UTF-8 character on the second (a
//!   panic). Found by the `schema` fuzz target;
//! - two extensions of one message with one number ([`check_extensions`]):
//!   prost-reflect does not notice, and setting an option through the
//!   second after the first found the first's value of another type (a
//!   panic). protoc refuses them ("Extension number … has already been
//!   used"). Found by the `schema` fuzz target.
//!
//! What no check here foresees is still no crash: the loader runs protox
//! and prost-reflect under `catch_unwind` (`crate::guarded`), so a panic in
//! them is an error naming the schema.
//!
//! And after the pool is built, [`check_message_sets`]: Google's
//! descriptor pool refuses a MessageSet (`message_set_wire_format`) with
//! fields, or with an extension that is not an optional message; the
//! transcoder's reading of MessageSet items assumes neither happens.

use std::collections::{HashMap, HashSet};

use prost_reflect::{Cardinality, DescriptorPool, Kind};
use prost_types::{FileDescriptorProto, FileDescriptorSet};

/// The syntaxes a descriptor may declare (absent means proto2).
const SYNTAXES: [&str; 3] = ["proto2", "proto3", "editions"];

/// Refuses what would crash prost-reflect (see the module documentation).
///
/// # Errors
///
/// A message naming the file (its `name` in the set) and the value.
pub(crate) fn check_set(set: &FileDescriptorSet) -> Result<(), String> {
    for file in &set.file {
        check_file(file)?;
    }
    check_imports(&set.file)?;
    check_extensions(&set.file, None)
}

/// Refuses two extensions of one message with one number, within `files`
/// and against the extensions already in `pool`. An extendee is compared
/// by its name as written, with the scope it is written in when it is
/// relative (so two spellings of one message can slip through, to the
/// `catch_unwind` net).
pub(crate) fn check_extensions(
    files: &[FileDescriptorProto],
    pool: Option<&DescriptorPool>,
) -> Result<(), String> {
    let mut seen: HashMap<(String, i32), String> = HashMap::new();
    for file in files {
        if pool.is_some_and(|p| p.get_file_by_name(file.name()).is_some()) {
            continue; // already loaded: the pool keeps the first
        }
        let package = file.package();
        let mut scoped: Vec<(String, &prost_types::FieldDescriptorProto)> = file
            .extension
            .iter()
            .map(|x| (package.to_owned(), x))
            .collect();
        let mut messages: Vec<(String, &prost_types::DescriptorProto)> = file
            .message_type
            .iter()
            .map(|m| (join(package, m.name()), m))
            .collect();
        while let Some((scope, m)) = messages.pop() {
            scoped.extend(m.extension.iter().map(|x| (scope.clone(), x)));
            messages.extend(m.nested_type.iter().map(|n| (join(&scope, n.name()), n)));
        }
        for (scope, x) in scoped {
            let extendee = x.extendee();
            let number = x.number();
            let key = match extendee.strip_prefix('.') {
                Some(full) => full.to_owned(),
                None => format!("{scope}:{extendee}"),
            };
            if let Some(first) = seen.insert((key.clone(), number), x.name().to_owned()) {
                return Err(format!(
                    "{}: extensions `{first}` and `{}` of `{extendee}` both have number {number}",
                    file.name(),
                    x.name()
                ));
            }
            if let Some(pool) = pool
                && let Some(message) = pool.get_message_by_name(&key)
                && let Some(earlier) = message.extensions().find(|e| e.number() == number as u32)
            {
                return Err(format!(
                    "{}: extension `{}` of `{extendee}` has number {number}, which `{}` already has",
                    file.name(),
                    x.name(),
                    earlier.full_name()
                ));
            }
        }
    }
    Ok(())
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

fn check_file(file: &FileDescriptorProto) -> Result<(), String> {
    if let Some(syntax) = &file.syntax
        && !SYNTAXES.contains(&syntax.as_str())
    {
        return Err(format!(
            "{}: syntax {syntax:?} is not supported (expected \"proto2\", \"proto3\" or \"editions\")",
            file.name()
        ));
    }
    check_uninterpreted(file)?;
    for field in all_fields(file) {
        if field.r#type == Some(TYPE_BYTES)
            && let Some(default) = &field.default_value
            && let Err(reason) = check_c_escaped(default)
        {
            return Err(format!(
                "{}: the default value of `{}` is not a valid escaped string: {reason} in {default:?}",
                file.name(),
                field.name()
            ));
        }
    }
    let mut seen = HashSet::new();
    for dependency in &file.dependency {
        if dependency == file.name() {
            return Err(format!("{}: the file imports itself", file.name()));
        }
        if !seen.insert(dependency.as_str()) {
            return Err(format!(
                "{}: import {dependency:?} is listed twice",
                file.name()
            ));
        }
    }
    Ok(())
}

/// Checks every uninterpreted aggregate option value of `file` with
/// [`depth::check_text_format`](crate::depth::check_text_format).
fn check_uninterpreted(file: &FileDescriptorProto) -> Result<(), String> {
    use prost_types::UninterpretedOption;
    let mut options: Vec<(&str, &[UninterpretedOption])> = Vec::new();
    let name = file.name();
    if let Some(o) = &file.options {
        options.push((name, &o.uninterpreted_option));
    }
    for x in &file.extension {
        if let Some(o) = &x.options {
            options.push((x.name(), &o.uninterpreted_option));
        }
    }
    for e in &file.enum_type {
        push_enum(&mut options, e);
    }
    for s in &file.service {
        if let Some(o) = &s.options {
            options.push((s.name(), &o.uninterpreted_option));
        }
        for m in &s.method {
            if let Some(o) = &m.options {
                options.push((m.name(), &o.uninterpreted_option));
            }
        }
    }
    // Messages without recursion (a set from protox need not have passed
    // prost's decoding limit).
    let mut messages: Vec<&prost_types::DescriptorProto> = file.message_type.iter().collect();
    while let Some(m) = messages.pop() {
        if let Some(o) = &m.options {
            options.push((m.name(), &o.uninterpreted_option));
        }
        for f in m.field.iter().chain(&m.extension) {
            if let Some(o) = &f.options {
                options.push((f.name(), &o.uninterpreted_option));
            }
        }
        for o in &m.oneof_decl {
            if let Some(oo) = &o.options {
                options.push((o.name(), &oo.uninterpreted_option));
            }
        }
        for r in &m.extension_range {
            if let Some(o) = &r.options {
                options.push((m.name(), &o.uninterpreted_option));
            }
        }
        for e in &m.enum_type {
            push_enum(&mut options, e);
        }
        messages.extend(&m.nested_type);
    }
    for (element, uninterpreted) in options {
        for option in uninterpreted {
            if let Some(value) = &option.aggregate_value
                && let Err(at) = crate::depth::check_text_format(value)
            {
                return Err(format!(
                    "{name}: an option value of `{element}` nests deeper than {} levels \
                     (line {}, column {} of its text)",
                    crate::MAX_OPTION_DEPTH,
                    at.line,
                    at.column
                ));
            }
        }
    }
    Ok(())
}

fn push_enum<'a>(
    options: &mut Vec<(&'a str, &'a [prost_types::UninterpretedOption])>,
    e: &'a prost_types::EnumDescriptorProto,
) {
    if let Some(o) = &e.options {
        options.push((e.name(), &o.uninterpreted_option));
    }
    for v in &e.value {
        if let Some(o) = &v.options {
            options.push((v.name(), &o.uninterpreted_option));
        }
    }
}

const TYPE_BYTES: i32 = 12;

/// Every field and extension of `file`, nested messages included (without
/// recursion).
fn all_fields(file: &FileDescriptorProto) -> Vec<&prost_types::FieldDescriptorProto> {
    let mut fields: Vec<_> = file.extension.iter().collect();
    let mut messages: Vec<&prost_types::DescriptorProto> = file.message_type.iter().collect();
    while let Some(m) = messages.pop() {
        fields.extend(m.field.iter().chain(&m.extension));
        messages.extend(&m.nested_type);
    }
    fields
}

/// Checks a `bytes` default value as protoc escapes it (`CEscape`): `\`
/// followed by one of `abfnrtv\\?'"`, by one to three octal digits of at
/// most `\377`, or by `x` and two hex digits.
fn check_c_escaped(text: &str) -> Result<(), &'static str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        i += 1;
        match bytes.get(i) {
            None => return Err("a `\\` ends it"),
            Some(b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'\\' | b'?' | b'\'' | b'"') => {
                i += 1;
            }
            Some(b'0'..=b'7') => {
                let digits = bytes[i..]
                    .iter()
                    .take(3)
                    .take_while(|b| (b'0'..=b'7').contains(b))
                    .count();
                let value = bytes[i..i + digits]
                    .iter()
                    .fold(0u32, |v, b| v * 8 + u32::from(b - b'0'));
                if value > 0xff {
                    return Err("an octal escape over \\377");
                }
                i += digits;
            }
            Some(b'x' | b'X') => {
                let hex = bytes.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return Err("a `\\x` escape without two hex digits");
                }
                i += 3;
            }
            Some(_) => return Err("an unknown escape"),
        }
    }
    Ok(())
}

/// Refuses import cycles among the files of the set. (Files already in the
/// pool cannot import the new ones, so a cycle lies within the set.)
fn check_imports(files: &[FileDescriptorProto]) -> Result<(), String> {
    // The first file of each name, as prost-reflect keeps it.
    let mut by_name: HashMap<&str, &FileDescriptorProto> = HashMap::new();
    for file in files {
        by_name.entry(file.name()).or_insert(file);
    }
    // Depth-first, without recursion: a hostile set may chain any number
    // of files.
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Open,
        Done,
    }
    let mut state: HashMap<&str, State> = HashMap::new();
    for root in files {
        if state.contains_key(root.name()) {
            continue;
        }
        // (file, index of the next import to follow)
        let mut stack: Vec<(&FileDescriptorProto, usize)> = vec![(root, 0)];
        state.insert(root.name(), State::Open);
        while let Some((file, next)) = stack.last_mut() {
            let Some(dependency) = file.dependency.get(*next) else {
                state.insert(file.name(), State::Done);
                stack.pop();
                continue;
            };
            *next += 1;
            let Some(&imported) = by_name.get(dependency.as_str()) else {
                continue;
            };
            match state.get(imported.name()) {
                Some(State::Done) => {}
                Some(State::Open) => {
                    let start = stack
                        .iter()
                        .position(|(f, _)| f.name() == imported.name())
                        .unwrap_or(0);
                    let mut cycle: Vec<&str> =
                        stack[start..].iter().map(|(f, _)| f.name()).collect();
                    cycle.push(imported.name());
                    return Err(format!(
                        "{}: the file imports itself through {}",
                        imported.name(),
                        cycle.join(" -> ")
                    ));
                }
                None => {
                    state.insert(imported.name(), State::Open);
                    stack.push((imported, 0));
                }
            }
        }
    }
    Ok(())
}

/// Refuses MessageSets that Google refuses (see the module documentation).
///
/// # Errors
///
/// A message naming the file, the message set and the field or extension.
pub(crate) fn check_message_sets(pool: &DescriptorPool) -> Result<(), String> {
    for message in pool.all_messages() {
        let is_set = message
            .descriptor_proto()
            .options
            .as_ref()
            .is_some_and(|o| o.message_set_wire_format());
        if !is_set {
            continue;
        }
        if let Some(field) = message.fields().next() {
            return Err(format!(
                "{}: message set `{}` has a field `{}` (a MessageSet holds only extensions)",
                message.parent_file().name(),
                message.full_name(),
                field.name()
            ));
        }
        for extension in message.extensions() {
            let message_typed =
                matches!(extension.kind(), Kind::Message(_)) && !extension.is_group();
            if !message_typed || extension.cardinality() != Cardinality::Optional {
                return Err(format!(
                    "{}: extension `{}` of message set `{}` is not an optional message \
                     (extensions of a MessageSet must be)",
                    extension.parent_file().name(),
                    extension.full_name(),
                    message.full_name()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_types::DescriptorProto;

    use super::*;
    use crate::{Schema, SchemaError};

    fn file(
        name: &str,
        syntax: Option<&str>,
        imports: &[&str],
        public: &[i32],
    ) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.to_owned()),
            syntax: syntax.map(str::to_owned),
            dependency: imports.iter().map(|s| (*s).to_owned()).collect(),
            public_dependency: public.to_vec(),
            message_type: vec![DescriptorProto {
                name: Some(format!("M{}", name.len())),
                ..DescriptorProto::default()
            }],
            ..FileDescriptorProto::default()
        }
    }

    fn load(files: Vec<FileDescriptorProto>) -> Result<Schema, SchemaError> {
        Schema::from_descriptor_set(&FileDescriptorSet { file: files }.encode_to_vec())
    }

    /// prost-reflect panicked (index out of bounds) on each of these.
    #[test]
    fn refuses_an_unknown_syntax_naming_the_file_and_the_value() {
        for syntax in ["proto4", "PROTO3", ""] {
            let err = load(vec![file("a.proto", Some(syntax), &[], &[])]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "loading descriptor set (bytes): a.proto: syntax {syntax:?} is not supported \
                     (expected \"proto2\", \"proto3\" or \"editions\")"
                )
            );
        }
        for syntax in [None, Some("proto2"), Some("proto3")] {
            assert!(
                load(vec![file("a.proto", syntax, &[], &[])]).is_ok(),
                "{syntax:?}"
            );
        }
    }

    /// prost-reflect followed these public imports around the loop until
    /// the stack overflowed (the process aborted).
    #[test]
    fn refuses_import_cycles_and_repeated_imports() {
        let err = load(vec![file("a.proto", None, &["a.proto"], &[0])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "loading descriptor set (bytes): a.proto: the file imports itself"
        );
        let err = load(vec![
            file("a.proto", None, &["b.proto"], &[0]),
            file("b.proto", None, &["c.proto"], &[0]),
            file("c.proto", None, &["a.proto"], &[0]),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "loading descriptor set (bytes): a.proto: the file imports itself through \
             a.proto -> b.proto -> c.proto -> a.proto"
        );
        let err = load(vec![
            file("b.proto", None, &[], &[]),
            file("a.proto", None, &["b.proto", "b.proto"], &[0, 1]),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "loading descriptor set (bytes): a.proto: import \"b.proto\" is listed twice"
        );
        // A long chain of imports is no cycle, and is checked without
        // recursion.
        let n = 20_000;
        let chain: Vec<FileDescriptorProto> = (0..n)
            .map(|i| {
                let deps: Vec<String> = if i + 1 < n {
                    vec![format!("f{}.proto", i + 1)]
                } else {
                    vec![]
                };
                let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                FileDescriptorProto {
                    message_type: vec![],
                    ..file(&format!("f{i}.proto"), None, &deps, &[])
                }
            })
            .collect();
        assert_eq!(check_set(&FileDescriptorSet { file: chain }), Ok(()));
    }

    /// Google's pool refuses these ("invalid message set", "Could not
    /// build extension mini table"); the transcoder reads MessageSet
    /// items assuming it never meets them.
    #[test]
    fn refuses_message_sets_google_refuses() {
        use prost_types::{FieldDescriptorProto, MessageOptions, descriptor_proto::ExtensionRange};
        let set_with = |fields: Vec<FieldDescriptorProto>,
                        extensions: Vec<FieldDescriptorProto>| {
            let set = DescriptorProto {
                name: Some("Set".to_owned()),
                field: fields,
                extension_range: vec![ExtensionRange {
                    start: Some(4),
                    end: Some(536_870_912),
                    options: None,
                }],
                options: Some(MessageOptions {
                    message_set_wire_format: Some(true),
                    ..MessageOptions::default()
                }),
                ..DescriptorProto::default()
            };
            let item = DescriptorProto {
                name: Some("Item".to_owned()),
                ..DescriptorProto::default()
            };
            FileDescriptorProto {
                name: Some("ms.proto".to_owned()),
                package: Some("ms".to_owned()),
                message_type: vec![set, item],
                extension: extensions,
                ..FileDescriptorProto::default()
            }
        };
        let field = |name: &str,
                     number: i32,
                     ty: i32,
                     label: i32,
                     type_name: Option<&str>,
                     extendee: Option<&str>| {
            FieldDescriptorProto {
                name: Some(name.to_owned()),
                number: Some(number),
                r#type: Some(ty),
                label: Some(label),
                type_name: type_name.map(str::to_owned),
                extendee: extendee.map(str::to_owned),
                ..FieldDescriptorProto::default()
            }
        };
        let ok = field("item", 100, 11, 1, Some(".ms.Item"), Some(".ms.Set"));
        assert!(load(vec![set_with(vec![], vec![ok])]).is_ok());
        let err = load(vec![set_with(
            vec![field("b", 1, 5, 1, None, None)],
            vec![],
        )])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "loading descriptor set (bytes): ms.proto: message set `ms.Set` has a field `b` \
             (a MessageSet holds only extensions)"
        );
        for bad in [
            field("x", 100, 5, 1, None, Some(".ms.Set")),
            field("x", 100, 11, 3, Some(".ms.Item"), Some(".ms.Set")),
            field("x", 100, 10, 1, Some(".ms.Item"), Some(".ms.Set")),
        ] {
            let err = load(vec![set_with(vec![], vec![bad])]).unwrap_err();
            assert_eq!(
                err.to_string(),
                "loading descriptor set (bytes): ms.proto: extension `ms.x` of message set `ms.Set` \
                 is not an optional message (extensions of a MessageSet must be)"
            );
        }
    }

    /// prost-reflect parses uninterpreted aggregate option values (text
    /// format) when it builds the pool, recursing once per level: 5000
    /// levels overflowed the stack, as in `.proto` sources.
    #[test]
    fn refuses_uninterpreted_option_values_nested_past_the_limit() {
        use prost_types::{
            FieldDescriptorProto, MessageOptions, UninterpretedOption,
            uninterpreted_option::NamePart,
        };
        let with_value = |levels: usize| {
            let value = format!("{}{}", "o { ".repeat(levels - 1), "} ".repeat(levels - 1));
            let o = DescriptorProto {
                name: Some("O".to_owned()),
                field: vec![FieldDescriptorProto {
                    name: Some("o".to_owned()),
                    number: Some(1),
                    label: Some(1),
                    r#type: Some(11),
                    type_name: Some(".d.O".to_owned()),
                    ..FieldDescriptorProto::default()
                }],
                ..DescriptorProto::default()
            };
            let m = DescriptorProto {
                name: Some("M".to_owned()),
                options: Some(MessageOptions {
                    uninterpreted_option: vec![UninterpretedOption {
                        name: vec![NamePart {
                            name_part: "d.shape".to_owned(),
                            is_extension: true,
                        }],
                        aggregate_value: Some(value),
                        ..UninterpretedOption::default()
                    }],
                    ..MessageOptions::default()
                }),
                ..DescriptorProto::default()
            };
            FileDescriptorProto {
                name: Some("d.proto".to_owned()),
                package: Some("d".to_owned()),
                dependency: vec!["google/protobuf/descriptor.proto".to_owned()],
                message_type: vec![o, m],
                extension: vec![FieldDescriptorProto {
                    name: Some("shape".to_owned()),
                    number: Some(50000),
                    label: Some(1),
                    r#type: Some(11),
                    type_name: Some(".d.O".to_owned()),
                    extendee: Some(".google.protobuf.MessageOptions".to_owned()),
                    ..FieldDescriptorProto::default()
                }],
                ..FileDescriptorProto::default()
            }
        };
        let schema = load(vec![with_value(crate::MAX_OPTION_DEPTH)]).unwrap();
        assert!(schema.message("d.M").is_ok());
        let err = load(vec![with_value(crate::MAX_OPTION_DEPTH + 1)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "loading descriptor set (bytes): d.proto: an option value of `M` nests deeper than \
                 100 levels (line 1, column {} of its text)",
                4 * 99 + 3
            )
        );
        assert!(load(vec![with_value(5000)]).is_err());
    }

    /// Found by the `schema` fuzz target: prost-reflect's unescaping of
    /// `bytes` defaults overflowed on `\777` (a panic with overflow checks)
    /// and sliced inside the `€` after `\x` (a panic in any build).
    #[test]
    fn refuses_bytes_defaults_that_are_not_well_escaped() {
        use prost_types::FieldDescriptorProto;
        let with_default = |ty: i32, default: &str| {
            let mut f = file("b.proto", Some("proto2"), &[], &[]);
            f.message_type[0].field.push(FieldDescriptorProto {
                name: Some("b".to_owned()),
                number: Some(1),
                label: Some(1),
                r#type: Some(ty),
                default_value: Some(default.to_owned()),
                ..FieldDescriptorProto::default()
            });
            f
        };
        for (default, reason) in [
            ("\\777", "an octal escape over \\377"),
            ("a\\x€", "a `\\x` escape without two hex digits"),
            ("\\x4", "a `\\x` escape without two hex digits"),
            ("ab\\", "a `\\` ends it"),
            ("\\q", "an unknown escape"),
        ] {
            let err = load(vec![with_default(TYPE_BYTES, default)]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "loading descriptor set (bytes): b.proto: the default value of `b` is not a \
                     valid escaped string: {reason} in {default:?}"
                )
            );
        }
        // What protoc writes loads; a string field's default is not escaped.
        for default in ["\\000\\377\\n\\x41\\\"q", "plain", "\\1\\12z"] {
            assert!(
                load(vec![with_default(TYPE_BYTES, default)]).is_ok(),
                "{default}"
            );
        }
        assert!(load(vec![with_default(9, "\\777")]).is_ok());
    }

    /// Found by the `schema` fuzz target: prost-reflect took two
    /// extensions of `MessageOptions` numbered 50001, and setting an
    /// option through the second found the first's message value (a panic).
    #[test]
    fn refuses_two_extensions_with_one_number() {
        let source = r#"syntax = "proto2"; package opt;
            import "google/protobuf/descriptor.proto";
            message Inner { optional int32 a = 1; }
            extend google.protobuf.MessageOptions { optional Inner shape = 50001; repeated int32 tags = 50001; }
            message M { option (shape) = { a: 1 }; option (tags) = 7; }"#;
        let err = Schema::from_proto_source("opt.proto", source).unwrap_err();
        assert_eq!(
            err.to_string(),
            "compiling opt.proto: opt.proto: extensions `shape` and `tags` of \
             `google.protobuf.MessageOptions` both have number 50001"
        );
        // The same as a descriptor set (names resolved, as protoc writes
        // them), and against a file loaded before.
        let field = |name: &str, number: i32| prost_types::FieldDescriptorProto {
            name: Some(name.to_owned()),
            number: Some(number),
            label: Some(1),
            r#type: Some(5),
            extendee: Some(".google.protobuf.MessageOptions".to_owned()),
            ..prost_types::FieldDescriptorProto::default()
        };
        let with = |name: &str, extensions| FileDescriptorProto {
            name: Some(name.to_owned()),
            dependency: vec!["google/protobuf/descriptor.proto".to_owned()],
            extension: extensions,
            ..FileDescriptorProto::default()
        };
        let err = load(vec![with(
            "x.proto",
            vec![field("a", 50001), field("b", 50001)],
        )])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "loading descriptor set (bytes): x.proto: extensions `a` and `b` of \
             `.google.protobuf.MessageOptions` both have number 50001"
        );
        let mut schema = load(vec![with("x.proto", vec![field("a", 50001)])]).unwrap();
        let second = FileDescriptorSet {
            file: vec![with("y.proto", vec![field("b", 50001)])],
        };
        let err = schema
            .add_descriptor_set("y.binpb", &second.encode_to_vec())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "loading descriptor set y.binpb: y.proto: extension `b` of \
             `.google.protobuf.MessageOptions` has number 50001, which `a` already has"
        );
    }
}
