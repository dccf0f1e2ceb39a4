//! Embeds a schema into the Lambda binary at build time, when asked to.
//!
//! `PROTOLAND_EMBED_SCHEMA=path/to/schema.proto` (or a binary descriptor
//! set) copies that file into `OUT_DIR` and generates `embedded_schema.rs`,
//! which `src/embedded.rs` includes. Unset or empty, the generated code says
//! "no embedded schema" and the function loads `PROTOLAND_SCHEMA` at start-up
//! as usual. A relative path is resolved against the workspace root, where
//! `cargo` and `deploy/build` are run from.
//!
//! The file is checked here so that a wrong path or an unusable schema fails
//! the build, not the function's first cold start: it must exist and be
//! non-empty; a `.proto` must be UTF-8 and import nothing but the well-known
//! types (an embedded `.proto` is compiled alone, so any other import could
//! never resolve — embed a descriptor set built with its imports instead).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const VAR: &str = "PROTOLAND_EMBED_SCHEMA";

fn main() {
    if let Err(message) = run() {
        // A build script reports failure through stderr and its exit status;
        // cargo shows both with the package name.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("error: {VAR}: {message}");
        }
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    println!("cargo:rerun-if-env-changed={VAR}");
    println!("cargo:rerun-if-changed=build.rs");

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let generated = out_dir.join("embedded_schema.rs");

    let requested = std::env::var_os(VAR).filter(|v| !v.is_empty());
    let code = match requested {
        None => "const EMBEDDED_SCHEMA: Option<(&str, &[u8])> = None;\n".to_owned(),
        Some(value) => {
            let path = resolve(Path::new(&value))?;
            println!("cargo:rerun-if-changed={}", path.display());
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| format!("{} has no UTF-8 file name", path.display()))?
                .to_owned();
            check(&name, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            std::fs::write(out_dir.join("embedded-schema.bin"), &bytes)
                .map_err(|e| format!("cannot write into {}: {e}", out_dir.display()))?;
            let mut code = String::new();
            // `{:?}` of a `str` is a valid Rust string literal.
            let _ = writeln!(
                code,
                "const EMBEDDED_SCHEMA: Option<(&str, &[u8])> = Some(({name:?}, \
                 include_bytes!(concat!(env!(\"OUT_DIR\"), \"/embedded-schema.bin\"))));"
            );
            code
        }
    };
    std::fs::write(&generated, code)
        .map_err(|e| format!("cannot write {}: {e}", generated.display()))
}

/// Absolute paths stay; relative ones are taken from the workspace root (two
/// levels above this crate), because a build script runs in its crate's
/// directory, not where the user typed the command.
fn resolve(path: &Path) -> Result<PathBuf, String> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR is not set")?,
    );
    let root = manifest_dir
        .ancestors()
        .nth(2)
        .ok_or_else(|| format!("no workspace root above {}", manifest_dir.display()))?;
    Ok(root.join(path))
}

/// What can be known about the schema without compiling it here.
fn check(name: &str, bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("the file is empty".to_owned());
    }
    // The same rule as `protoland_schema::SchemaKind::sniff`: a `.proto`
    // name, or anything not starting like a descriptor set, is source text.
    let is_source = name.ends_with(".proto") || bytes[0] != 0x0a;
    if !is_source {
        return Ok(());
    }
    let source = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    for (index, line) in source.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("import") else {
            continue;
        };
        let Some(target) = rest.split('"').nth(1) else {
            continue;
        };
        if !target.starts_with("google/protobuf/") {
            return Err(format!(
                "line {} imports \"{target}\", but an embedded .proto is compiled alone and can \
                 import only the well-known types (google/protobuf/...); embed a descriptor set \
                 that includes its imports instead",
                index + 1
            ));
        }
    }
    Ok(())
}
