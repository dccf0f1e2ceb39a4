//! Protobuf schemas loaded at run time.
//!
//! protoland never generates code: a [`Schema`] is built while the program
//! runs, from `.proto` source files (compiled in-process by [protox], no
//! `protoc` needed) or from binary `FileDescriptorSet`s (what
//! `protoc --descriptor_set_out --include_imports` and `buf build -o x.binpb`
//! write). Sources may be proto2 or proto3; editions files (`edition =
//! "2023";`, 2024, 2026) load from a descriptor set only, since protox
//! cannot parse them, and [`field_features`], [`extension_features`] and
//! [`enum_is_closed`] say how their fields and enums behave. The well-known types (`google/protobuf/*.proto`) are always
//! present, so `import "google/protobuf/timestamp.proto"` works without an
//! include path and an `Any` holding a `Duration` resolves even when the
//! user's schema never imports it.
//!
//! A message type is chosen by its fully-qualified name with
//! [`Schema::message`]; an unknown name is an error that lists the closest
//! names in the schema.
//!
//! ```
//! use protoland_schema::Schema;
//!
//! let schema = Schema::from_proto_source(
//!     "acme/click.proto",
//!     r#"syntax = "proto3"; package acme; message Click { string url = 1; }"#,
//! )?;
//! let click = schema.message("acme.Click")?;
//! assert_eq!(click.fields().count(), 1);
//!
//! let err = schema.message("acme.Clik").unwrap_err();
//! assert_eq!(err.to_string(), "no message type `acme.Clik` in the schema; did you mean `acme.Click`?");
//! # Ok::<(), protoland_schema::SchemaError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use prost_reflect::{DescriptorPool, MessageDescriptor};

mod depth;
mod editions;
mod features;
mod suggest;
mod validate;

pub use depth::MAX_OPTION_DEPTH;
pub use features::{FieldFeatures, enum_is_closed, extension_features, field_features};

/// An error while loading a schema or choosing a message type from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A schema file could not be read.
    #[error("reading schema {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `.proto` file failed to parse or compile (syntax error, missing
    /// import, unresolved type, …). protox's message names file, line and
    /// column.
    #[error("compiling {path}: {message}")]
    Compile { path: String, message: String },
    /// A file that should be a binary `FileDescriptorSet` is not one, or its
    /// descriptors do not link (a missing dependency: build it with
    /// `--include_imports`).
    #[error("loading descriptor set {origin}: {message}")]
    DescriptorSet { origin: String, message: String },
    /// The requested message type is not in the schema.
    #[error("no message type `{name}` in the schema{}", Suggestions(.suggestions))]
    UnknownMessage {
        name: String,
        /// The closest fully-qualified names, best first (at most five).
        suggestions: Vec<String>,
    },
}

/// Formats the tail of [`SchemaError::UnknownMessage`].
struct Suggestions<'a>(&'a [String]);

impl fmt::Display for Suggestions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => Ok(()),
            [one] => write!(f, "; did you mean `{one}`?"),
            many => {
                f.write_str("; closest names: ")?;
                for (i, name) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{name}`")?;
                }
                Ok(())
            }
        }
    }
}

/// What a schema file holds, decided by [`SchemaKind::sniff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// `.proto` source text.
    Proto,
    /// A binary `FileDescriptorSet`.
    DescriptorSet,
}

impl SchemaKind {
    /// Decides what a schema file holds: a name ending in `.proto` is source;
    /// otherwise bytes that start like a `FileDescriptorSet` (field 1,
    /// length-delimited: `0x0a`) are a descriptor set, and anything else is
    /// treated as source text.
    pub fn sniff(name: &str, bytes: &[u8]) -> SchemaKind {
        if name.ends_with(".proto") {
            SchemaKind::Proto
        } else if bytes.first() == Some(&0x0a) || bytes.is_empty() {
            SchemaKind::DescriptorSet
        } else {
            SchemaKind::Proto
        }
    }
}

/// A set of message types, enums and extensions loaded at run time.
///
/// Cheap to clone (the descriptor pool is reference-counted).
#[derive(Debug, Clone)]
pub struct Schema {
    pool: DescriptorPool,
    /// The editions files as given (name, encoded `FileDescriptorProto`):
    /// the pool holds them lowered to proto2 (see [`field_features`]).
    editions: Arc<Vec<(String, Vec<u8>)>>,
}

impl Default for Schema {
    /// A schema holding only the well-known types.
    fn default() -> Self {
        Schema {
            pool: DescriptorPool::global(),
            editions: Arc::default(),
        }
    }
}

impl Schema {
    /// Loads every file in `paths` into one schema.
    ///
    /// Each path is a `.proto` file or a binary `FileDescriptorSet` (see
    /// [`SchemaKind::sniff`]). `.proto` files are compiled with `includes` as
    /// the import path, like `protoc -I`; a file outside every include
    /// directory gets its own directory added, so `Schema::load(["x.proto"],
    /// [])` works as a user expects.
    ///
    /// # Errors
    ///
    /// [`SchemaError::Read`] when a file cannot be read,
    /// [`SchemaError::Compile`] when a `.proto` file (or one it imports)
    /// does not compile or has an option value nested deeper than
    /// [`MAX_OPTION_DEPTH`] levels, and [`SchemaError::DescriptorSet`] when
    /// a descriptor set does not decode, link or pass the checks that keep
    /// hostile descriptors from crashing the loader (an unknown `syntax`,
    /// an import cycle).
    pub fn load<P, I>(
        paths: impl IntoIterator<Item = P>,
        includes: impl IntoIterator<Item = I>,
    ) -> Result<Schema, SchemaError>
    where
        P: AsRef<Path>,
        I: AsRef<Path>,
    {
        let includes: Vec<PathBuf> = includes
            .into_iter()
            .map(|p| p.as_ref().to_path_buf())
            .collect();
        let mut schema = Schema::default();
        let mut protos = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let bytes = std::fs::read(path).map_err(|source| SchemaError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            match SchemaKind::sniff(&path.to_string_lossy(), &bytes) {
                SchemaKind::DescriptorSet => {
                    schema.add_descriptor_set(&path.display().to_string(), &bytes)?
                }
                SchemaKind::Proto => protos.push(path.to_path_buf()),
            }
        }
        if !protos.is_empty() {
            schema.add_proto_files(&protos, &includes)?;
        }
        Ok(schema)
    }

    /// Builds a schema from the bytes of a binary `FileDescriptorSet`, for a
    /// descriptor embedded in a binary or fetched from object storage.
    ///
    /// # Errors
    ///
    /// [`SchemaError::DescriptorSet`] when the bytes do not decode, the
    /// files do not link, or a file has an unknown `syntax` or imports
    /// itself (directly or through others).
    pub fn from_descriptor_set(bytes: &[u8]) -> Result<Schema, SchemaError> {
        let mut schema = Schema::default();
        schema.add_descriptor_set("(bytes)", bytes)?;
        Ok(schema)
    }

    /// Builds a schema from one `.proto` file's source text. `name` is the
    /// file's name as other files would import it. Imports resolve only to
    /// the well-known types.
    ///
    /// # Errors
    ///
    /// [`SchemaError::Compile`] when the source does not compile, or when
    /// an option value nests deeper than [`MAX_OPTION_DEPTH`] levels.
    pub fn from_proto_source(name: &str, source: &str) -> Result<Schema, SchemaError> {
        check_depth(name, source).map_err(|e| compile_error(name, &e))?;
        let file =
            protox::file::File::from_source(name, source).map_err(|e| compile_error(name, &e))?;
        validate::check_extensions(std::slice::from_ref(file.file_descriptor_proto()), None)
            .map_err(|message| SchemaError::Compile {
                path: name.to_owned(),
                message,
            })?;
        let resolver = SingleFileResolver {
            name: name.to_owned(),
            file,
        };
        let mut chain = protox::file::ChainFileResolver::new();
        chain.add(resolver);
        chain.add(protox::file::GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(chain);
        compiler.include_imports(true);
        guarded(|| compiler.open_file(name).map(|_| ()))
            .map_err(|message| SchemaError::Compile {
                path: name.to_owned(),
                message,
            })?
            .map_err(|e| compile_error(name, &e))?;
        let mut schema = Schema::default();
        schema.add_file_set(name, compiler.file_descriptor_set())?;
        Ok(schema)
    }

    /// Builds a schema from bytes whose kind is decided by
    /// [`SchemaKind::sniff`] on `name`: a descriptor set, or `.proto` source.
    ///
    /// # Errors
    ///
    /// As [`Schema::from_descriptor_set`] and [`Schema::from_proto_source`];
    /// source that is not UTF-8 is a [`SchemaError::Compile`].
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Schema, SchemaError> {
        match SchemaKind::sniff(name, bytes) {
            SchemaKind::DescriptorSet => {
                let mut schema = Schema::default();
                schema.add_descriptor_set(name, bytes)?;
                Ok(schema)
            }
            SchemaKind::Proto => {
                let source = std::str::from_utf8(bytes).map_err(|e| SchemaError::Compile {
                    path: name.to_owned(),
                    message: format!("not UTF-8 text: {e}"),
                })?;
                Schema::from_proto_source(name, source)
            }
        }
    }

    /// Looks up a message type by fully-qualified name (`acme.Click`; a
    /// leading dot is accepted).
    ///
    /// # Errors
    ///
    /// [`SchemaError::UnknownMessage`] with the closest names in the schema.
    pub fn message(&self, name: &str) -> Result<MessageDescriptor, SchemaError> {
        let wanted = name.strip_prefix('.').unwrap_or(name);
        if let Some(message) = self.pool.get_message_by_name(wanted) {
            return Ok(message);
        }
        let names: Vec<String> = self
            .user_messages()
            .map(|m| m.full_name().to_owned())
            .collect();
        Err(SchemaError::UnknownMessage {
            name: name.to_owned(),
            suggestions: suggest::closest(wanted, names.iter().map(String::as_str), 5),
        })
    }

    /// The descriptor pool behind this schema (well-known types included).
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// Message types defined outside `google.protobuf`, in pool order
    /// (nested types included): what a user can choose from.
    pub fn user_messages(&self) -> impl Iterator<Item = MessageDescriptor> + '_ {
        self.pool
            .all_messages()
            .filter(|m| !m.full_name().starts_with("google.protobuf."))
            .filter(|m| !m.is_map_entry())
    }

    /// The encoded `FileDescriptorSet` of everything in this schema, for
    /// handing the same schema to another program (Google's `protobuf`
    /// package in the differential tests, or a build that embeds it).
    /// Editions files are written as they were loaded, not lowered.
    pub fn encode_descriptor_set(&self) -> Vec<u8> {
        use prost::Message;
        let files = self.pool.files().map(|f| {
            match self.editions.iter().find(|(name, _)| name == f.name()) {
                Some((_, original)) => original.clone(),
                None => f.file_descriptor_proto().encode_to_vec(),
            }
        });
        editions::encode_set(files.collect())
    }

    fn add_descriptor_set(&mut self, origin: &str, bytes: &[u8]) -> Result<(), SchemaError> {
        let error = |message: String| SchemaError::DescriptorSet {
            origin: origin.to_owned(),
            message,
        };
        {
            use prost::Message;
            let set =
                prost_types::FileDescriptorSet::decode(bytes).map_err(|e| error(e.to_string()))?;
            validate::check_set(&set).map_err(error)?;
            validate::check_extensions(&set.file, Some(&self.pool)).map_err(error)?;
        }
        let lowered = editions::lower_set(bytes).map_err(error)?;
        // A file already in the pool is skipped by prost-reflect: keep the
        // original of the one that stays.
        let new_editions: Vec<_> = lowered
            .originals
            .into_iter()
            .filter(|(name, _)| self.pool.get_file_by_name(name).is_none())
            .collect();
        let mut pool = self.pool.clone();
        guarded(|| pool.decode_file_descriptor_set(lowered.set.as_slice()))
            .map_err(error)?
            .map_err(|e| error(e.to_string()))?;
        validate::check_message_sets(&pool).map_err(error)?;
        self.pool = pool;
        Arc::make_mut(&mut self.editions).extend(new_editions);
        Ok(())
    }

    fn add_file_set(
        &mut self,
        origin: &str,
        set: prost_types::FileDescriptorSet,
    ) -> Result<(), SchemaError> {
        let error = |message: String| SchemaError::Compile {
            path: origin.to_owned(),
            message,
        };
        validate::check_set(&set).map_err(error)?;
        validate::check_extensions(&set.file, Some(&self.pool)).map_err(error)?;
        let mut pool = self.pool.clone();
        guarded(|| pool.add_file_descriptor_set(set))
            .map_err(error)?
            .map_err(|e| error(e.to_string()))?;
        validate::check_message_sets(&pool).map_err(error)?;
        self.pool = pool;
        Ok(())
    }

    fn add_proto_files(
        &mut self,
        files: &[PathBuf],
        includes: &[PathBuf],
    ) -> Result<(), SchemaError> {
        // Absolute, like the files opened below: protox matches a file to
        // an include directory by path prefix, so a relative `-I dir` would
        // cover no file.
        let mut includes: Vec<PathBuf> = includes.iter().map(|dir| absolute(dir)).collect();
        for file in files {
            let absolute = absolute(file);
            if !includes.iter().any(|dir| absolute.starts_with(dir)) {
                let parent = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
                if !includes.contains(&parent) {
                    includes.push(parent);
                }
            }
        }
        let origin = files
            .first()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        // protox::Compiler::new's resolvers, each file's source checked
        // for option values nested too deeply before protox interprets
        // them.
        let mut chain = protox::file::ChainFileResolver::new();
        for include in &includes {
            chain.add(protox::file::IncludeFileResolver::new(include.clone()));
        }
        chain.add(protox::file::GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(DepthChecked(chain));
        compiler.include_imports(true);
        for file in files {
            let path = file.display().to_string();
            guarded(|| compiler.open_file(absolute(file)).map(|_| ()))
                .map_err(|message| SchemaError::Compile {
                    path: path.clone(),
                    message,
                })?
                .map_err(|e| compile_error(&path, &e))?;
        }
        self.add_file_set(&origin, compiler.file_descriptor_set())
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn compile_error(path: &str, error: &protox::Error) -> SchemaError {
    let mut message = error.to_string();
    // protox 0.10 parses proto2 and proto3 only; an `edition = "2023";`
    // line is a syntax error to it.
    if message.contains("found 'edition'") {
        message.push_str(EDITIONS_HINT);
    }
    SchemaError::Compile {
        path: path.to_owned(),
        message,
    }
}

/// What a user with an editions `.proto` file can do instead.
const EDITIONS_HINT: &str = " (editions files cannot be compiled here: load a descriptor set \
     built by `protoc --include_imports --descriptor_set_out=schema.binpb` or \
     `buf build -o schema.binpb` instead)";

/// Runs protox or prost-reflect on a schema, a panic in them becoming an
/// error: the checks in `validate` refuse every input known to make them
/// panic, and this is the net for the ones not yet known. (The pool being
/// built is a copy and the compiler a local, so nothing half-built stays
/// behind. It needs `panic = "unwind"`, which every profile keeps.)
fn guarded<T>(build: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)).map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("the schema compiler failed on this schema (an internal error: {what})")
    })
}

/// Checks `source` (the file `name`) against [`MAX_OPTION_DEPTH`].
fn check_depth(name: &str, source: &str) -> Result<(), protox::Error> {
    depth::check_source(source).map_err(|at| {
        protox::Error::new(format!(
            "{name}:{}:{}: an option value nests deeper than {MAX_OPTION_DEPTH} levels",
            at.line, at.column
        ))
    })
}

/// A file resolver whose files pass [`check_depth`] before protox compiles
/// them: protox parses a file when it is opened (imports included) and
/// interprets option values only after every file is open.
struct DepthChecked<R>(R);

impl<R: protox::file::FileResolver> protox::file::FileResolver for DepthChecked<R> {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        self.0.resolve_path(path)
    }

    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        let file = self.0.open_file(name)?;
        if let Some(source) = file.source() {
            check_depth(name, source)?;
            // Parsed, not yet built into protox's pool (where a repeated
            // extension number could panic).
            validate::check_extensions(std::slice::from_ref(file.file_descriptor_proto()), None)
                .map_err(protox::Error::new)?;
        }
        Ok(file)
    }
}

/// Resolves exactly one in-memory file, for [`Schema::from_proto_source`].
struct SingleFileResolver {
    name: String,
    file: protox::file::File,
}

impl protox::file::FileResolver for SingleFileResolver {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        if name == self.name {
            Ok(self.file.clone())
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLICK: &str = r#"
        syntax = "proto3";
        package acme;
        import "google/protobuf/timestamp.proto";
        message Click {
            string url = 1;
            google.protobuf.Timestamp at = 2;
            message Page { string title = 1; }
            Page page = 3;
            map<string, string> tags = 4;
        }
        message Order { int64 id = 1; }
    "#;

    #[test]
    fn compiles_proto_source_with_well_known_imports() {
        let schema = Schema::from_proto_source("acme/click.proto", CLICK).unwrap();
        let click = schema.message("acme.Click").unwrap();
        assert_eq!(
            click
                .get_field_by_name("at")
                .unwrap()
                .kind()
                .as_message()
                .unwrap()
                .full_name(),
            "google.protobuf.Timestamp"
        );
        assert!(schema.message(".acme.Click").is_ok());
        assert!(schema.message("acme.Click.Page").is_ok());
    }

    #[test]
    fn lists_user_messages_without_map_entries_or_well_known_types() {
        let schema = Schema::from_proto_source("acme/click.proto", CLICK).unwrap();
        let mut names: Vec<String> = schema
            .user_messages()
            .map(|m| m.full_name().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["acme.Click", "acme.Click.Page", "acme.Order"]);
    }

    #[test]
    fn unknown_message_suggests_closest_names() {
        let schema = Schema::from_proto_source("acme/click.proto", CLICK).unwrap();
        let err = schema.message("acme.Clck").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no message type `acme.Clck` in the schema; did you mean `acme.Click`?"
        );
        let err = schema.message("Click").unwrap_err();
        match err {
            SchemaError::UnknownMessage { suggestions, .. } => {
                assert_eq!(suggestions.first().map(String::as_str), Some("acme.Click"))
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn loads_files_with_include_paths_and_descriptor_sets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("acme")).unwrap();
        std::fs::write(dir.path().join("acme/click.proto"), CLICK).unwrap();
        std::fs::write(
            dir.path().join("order.proto"),
            "syntax = \"proto3\"; package shop; import \"acme/click.proto\"; message Basket { acme.Click last = 1; }",
        )
        .unwrap();
        let schema = Schema::load([dir.path().join("order.proto")], [dir.path()]).unwrap();
        assert!(schema.message("shop.Basket").is_ok());
        assert!(schema.message("acme.Click").is_ok());

        // Round trip through a descriptor set file, as protoc or buf would write it.
        let set = dir.path().join("schema.binpb");
        std::fs::write(&set, schema.encode_descriptor_set()).unwrap();
        let reloaded = Schema::load([&set], Vec::<PathBuf>::new()).unwrap();
        assert!(reloaded.message("shop.Basket").is_ok());
        let from_bytes = Schema::from_bytes("schema.binpb", &std::fs::read(&set).unwrap()).unwrap();
        assert!(from_bytes.message("acme.Click.Page").is_ok());
    }

    /// `protoland convert -I testdata/schemas -s testdata/schemas/x.proto`:
    /// relative paths, as users type them (tests run in the crate's
    /// directory).
    #[test]
    fn loads_with_relative_include_paths() {
        let schema = Schema::load(
            ["../../testdata/schemas/proto2.proto"],
            ["../../testdata/schemas"],
        )
        .unwrap();
        assert!(schema.message("protoland.test.proto2.Extendable").is_ok());
    }

    #[test]
    fn a_proto_outside_every_include_gets_its_own_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("click.proto"), CLICK).unwrap();
        let schema = Schema::load([dir.path().join("click.proto")], Vec::<PathBuf>::new()).unwrap();
        assert!(schema.message("acme.Click").is_ok());
    }

    #[test]
    fn reports_compile_errors_with_location() {
        let err = Schema::from_proto_source(
            "bad.proto",
            "syntax = \"proto3\"; message A { strin x = 1; }",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("compiling bad.proto: "), "{text}");
        assert!(text.contains("strin"), "{text}");
    }

    #[test]
    fn rejects_bytes_that_are_not_a_descriptor_set() {
        let err = Schema::from_descriptor_set(&[0x0a, 0xff, 0xff]).unwrap_err();
        assert!(matches!(err, SchemaError::DescriptorSet { .. }), "{err}");
    }

    #[test]
    fn reports_a_missing_file() {
        let err = Schema::load(["does/not/exist.proto"], Vec::<PathBuf>::new()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("reading schema does/not/exist.proto"),
            "{err}"
        );
    }

    #[test]
    fn supports_proto2_groups_extensions_and_says_how_to_load_editions() {
        let schema = Schema::from_proto_source(
            "p2.proto",
            r#"syntax = "proto2"; package p2;
               message M { optional group G = 1 { optional int32 a = 2; } extensions 100 to 200; required int32 r = 3 [default = 7]; }
               extend M { optional string ext = 100; }"#,
        )
        .unwrap();
        let m = schema.message("p2.M").unwrap();
        assert!(m.extensions().any(|e| e.full_name() == "p2.ext"));
        // protox cannot parse editions sources: the error says so and
        // names the way that works, a descriptor set (see the `editions`
        // module's tests for loading one).
        let err = Schema::from_proto_source(
            "ed.proto",
            r#"edition = "2023"; package ed; message E { int32 a = 1; }"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("compiling ed.proto: "), "{text}");
        assert!(text.contains("found 'edition'"), "{text}");
        assert!(text.ends_with(EDITIONS_HINT), "{text}");
        assert!(
            text.contains("protoc --include_imports --descriptor_set_out"),
            "{text}"
        );
    }

    /// A custom option whose aggregate value nests `levels` levels deep
    /// (the value's own braces are level 1), on line 4.
    fn deep_option(levels: usize) -> String {
        format!(
            "syntax = \"proto2\";\nimport \"google/protobuf/descriptor.proto\";\n\
             message O {{ optional O o = 1; }} extend google.protobuf.MessageOptions {{ optional O shape = 50000; }}\n\
             message M {{ option (shape) = {{ {}{} }}; }}\n",
            "o { ".repeat(levels - 1),
            "} ".repeat(levels - 1)
        )
    }

    /// protox's option interpreter recursed once per level in
    /// prost-reflect's text-format parser: 5000 levels overflowed the stack
    /// and aborted the process.
    #[test]
    fn refuses_option_values_nested_past_the_limit_before_compiling() {
        let schema =
            Schema::from_proto_source("deep.proto", &deep_option(MAX_OPTION_DEPTH)).unwrap();
        assert!(schema.message("M").is_ok());
        // `message M { option (shape) = { ` is 31 characters, each level 4.
        let column = 31 + 4 * (MAX_OPTION_DEPTH - 1) + 3;
        let err = Schema::from_proto_source("deep.proto", &deep_option(MAX_OPTION_DEPTH + 1))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "compiling deep.proto: deep.proto:4:{column}: an option value nests deeper than 100 levels"
            )
        );
        let err = Schema::from_proto_source("deep.proto", &deep_option(5000)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("compiling deep.proto: deep.proto:4:"),
            "{err}"
        );

        // The same in a file that another one imports, loaded from disk.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("deep.proto"), deep_option(5000)).unwrap();
        std::fs::write(
            dir.path().join("top.proto"),
            "syntax = \"proto2\"; import \"deep.proto\"; message T { optional M m = 1; }",
        )
        .unwrap();
        let err = Schema::load([dir.path().join("top.proto")], [dir.path()]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("deep.proto:4:"), "{text}");
        assert!(
            text.ends_with("an option value nests deeper than 100 levels"),
            "{text}"
        );
    }

    /// The other ways a `.proto` file nests: protox bounds message and
    /// group declarations (31 levels, as protoc), and long chains of
    /// type references are resolved without recursion.
    #[test]
    fn deep_declarations_are_errors_and_long_reference_chains_load() {
        for open in ["message M { ", "optional group G = 1 { "] {
            let source = format!(
                "syntax = \"proto2\"; message Top {{ {}{} }}",
                open.repeat(5000),
                "}".repeat(5000)
            );
            let err = Schema::from_proto_source("nest.proto", &source).unwrap_err();
            assert!(err.to_string().contains("nested"), "{err}");
        }
        let n = 20_000;
        let mut source = String::from("syntax = \"proto3\";\n");
        for i in 0..n {
            source.push_str(&format!("message T{i} {{ T{} next = 1; }}\n", (i + 1) % n));
        }
        let schema = Schema::from_proto_source("chain.proto", &source).unwrap();
        assert!(schema.message("T0").is_ok());
    }

    /// The net under the checks: a panic inside protox or prost-reflect
    /// is an error, and the schema being extended stays as it was.
    #[test]
    fn a_panic_in_the_schema_compiler_is_an_error() {
        let err =
            guarded(|| -> u8 { panic!("index out of bounds: the len is 12 but the index is 12") })
                .unwrap_err();
        assert_eq!(
            err,
            "the schema compiler failed on this schema (an internal error: index out of bounds: \
             the len is 12 but the index is 12)"
        );
        assert_eq!(guarded(|| 7), Ok(7));
    }
}
