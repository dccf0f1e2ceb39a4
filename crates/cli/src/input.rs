//! What an INPUT argument names, and how to read it: a local path, `-` for
//! stdin, or `s3://bucket/key` (streamed with the standard AWS credentials,
//! region and `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`). An `s3://` prefix
//! ending in `/`, or a key with glob characters, stands for the objects it
//! lists (see [`expand_inputs`]).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use protoland_pipeline::{Glob, Location, StorageOptions, Stores, list};
use protoland_stream::OutputFormat;

/// The compression suffixes and then protobuf suffixes removed (one of
/// each, in that order, ignoring ASCII case) to name an output: the same
/// rule as the pipeline's landing keys.
const COMPRESSION_SUFFIXES: [&str; 2] = [".gz", ".zst"];
const PROTOBUF_SUFFIXES: [&str; 3] = [".pb", ".bin", ".binpb"];

/// Opens `spec` for reading: `-` is stdin, anything else a local file.
///
/// # Errors
///
/// When the file cannot be opened, or the `s3://` object cannot be read.
pub(crate) fn open_input(spec: &str) -> Result<Box<dyn Read + Send>> {
    if spec == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    if is_s3(spec) {
        let reader = protoland_pipeline::UrlReader::open(
            spec,
            protoland_pipeline::StorageOptions::default(),
        )
        .map_err(|e| {
            // The store's own text for a 404 carries S3's whole XML answer.
            if e.is_not_found() {
                anyhow::anyhow!("no such object (S3 answered 404 Not Found)")
            } else {
                anyhow::Error::new(e)
            }
        })
        .with_context(|| format!("opening {spec}"))?;
        return Ok(Box::new(reader));
    }
    let file = File::open(spec).with_context(|| format!("opening {spec}"))?;
    Ok(Box::new(file))
}

/// Refuses `-` named more than once: stdin can be read only once, and a
/// second read would find it at its end (an empty input, silently).
///
/// # Errors
///
/// When `-` is among `inputs` twice or more.
pub(crate) fn check_stdin_once(inputs: &[String]) -> Result<()> {
    let count = inputs.iter().filter(|spec| *spec == "-").count();
    if count > 1 {
        bail!("stdin (-) is named {count} times among the inputs; it can be read only once");
    }
    Ok(())
}

/// The inputs with every S3 prefix and glob replaced by the objects it
/// names, in key order: `s3://raw/2026/11/` is every object under that
/// prefix, `s3://raw/2026/11/*.pb.gz` those whose key matches, by the
/// rules of routes' globs ([`Glob`]: `*` and `?` stay within one `/`
/// segment, `**` crosses segments, `[abc]` is one of those characters). A
/// shell expands globs only in local paths, so a URL is the only place one
/// reaches protoland unexpanded.
///
/// # Errors
///
/// When a glob does not compile, listing fails, or a prefix or glob names
/// no object (a typo would otherwise convert nothing, successfully).
pub(crate) fn expand_inputs(specs: &[String]) -> Result<Vec<String>> {
    let mut inputs = Vec::with_capacity(specs.len());
    let mut runtime = None;
    for spec in specs {
        let Some(pattern) = s3_pattern(spec) else {
            inputs.push(spec.clone());
            continue;
        };
        let runtime = match &mut runtime {
            Some(runtime) => runtime,
            None => runtime.insert(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("starting the async runtime")?,
            ),
        };
        // The listing's errors name what was listed.
        let keys = runtime.block_on(list_matching(&pattern))?;
        if keys.is_empty() {
            bail!("{spec} names no object");
        }
        inputs.extend(
            keys.into_iter()
                .map(|key| format!("s3://{}/{key}", pattern.bucket)),
        );
    }
    Ok(inputs)
}

/// An `s3://` input that stands for several objects.
#[derive(Debug, PartialEq, Eq)]
struct S3Pattern {
    bucket: String,
    /// The folder to list: the key up to the last `/` before any character
    /// a glob gives a meaning (`{` and `\` included), so that every key the
    /// glob matches is under it.
    folder: String,
    /// The glob the whole key must match; `None` takes every key listed.
    glob: Option<String>,
}

/// `Some` for `s3://bucket/prefix/`, `s3://bucket` and keys with `*`, `?`
/// or `[` (globs); `None` for one object's URL and for anything else.
fn s3_pattern(spec: &str) -> Option<S3Pattern> {
    if !is_s3(spec) {
        return None;
    }
    let rest = &spec[5..];
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    let bucket = bucket.to_owned();
    match key.find(['*', '?', '[']) {
        Some(_) => {
            let literal = &key[..key.find(['*', '?', '[', '{', '\\']).unwrap_or(key.len())];
            Some(S3Pattern {
                bucket,
                folder: literal
                    .rfind('/')
                    .map_or(String::new(), |slash| key[..slash].to_owned()),
                glob: Some(key.to_owned()),
            })
        }
        None if key.is_empty() || key.ends_with('/') => Some(S3Pattern {
            bucket,
            folder: key.trim_end_matches('/').to_owned(),
            glob: None,
        }),
        None => None,
    }
}

impl S3Pattern {
    /// The glob compiled; `None` takes every key listed.
    fn compile(&self) -> Result<Option<Glob>> {
        let Some(glob) = &self.glob else {
            return Ok(None);
        };
        let compiled = Glob::new(glob)
            .with_context(|| format!("s3://{}/{glob}: not a valid glob", self.bucket))?;
        Ok(Some(compiled))
    }
}

/// Whether a listed key is an input: it matches the glob, and is not one of
/// the folder markers (keys ending in `/`) of S3 consoles.
fn wanted(glob: Option<&Glob>, key: &str) -> bool {
    !key.ends_with('/') && glob.is_none_or(|glob| glob.is_match(key))
}

async fn list_matching(pattern: &S3Pattern) -> Result<Vec<String>> {
    use futures::StreamExt as _;

    let glob = pattern.compile()?;
    let stores = Stores::new(StorageOptions::default());
    let location = Location::S3 {
        bucket: pattern.bucket.clone(),
        prefix: pattern.folder.clone(),
    };
    let mut listing = list(&stores, &location)?;
    let mut keys = Vec::new();
    while let Some(object) = listing.next().await {
        let key = object?.key;
        if wanted(glob.as_ref(), &key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

fn is_s3(spec: &str) -> bool {
    spec.get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("s3://"))
}

/// The size of `spec` in bytes when it is a regular file (for the progress
/// bar).
pub(crate) fn input_size(spec: &str) -> Option<u64> {
    if spec == "-" || is_s3(spec) {
        return None;
    }
    std::fs::metadata(spec)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// The output file name for `spec` in an output directory:
/// `clicks/a.pb.gz` → `a.ndjson`, stdin → `stdin.ndjson`.
pub(crate) fn output_name(spec: &str, format: OutputFormat) -> String {
    let file = if spec == "-" {
        "stdin"
    } else {
        Path::new(spec)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(spec)
    };
    // The format's name is its extension: `.ndjson`, `.parquet`.
    format!("{}.{format}", strip_suffixes(file))
}

/// Removes one compression suffix, then one protobuf suffix; never the
/// whole name (`.pb` stays `.pb`).
fn strip_suffixes(name: &str) -> &str {
    fn strip<'a>(name: &'a str, suffixes: &[&str]) -> &'a str {
        for suffix in suffixes {
            let cut = name.len().saturating_sub(suffix.len());
            if name.len() > suffix.len()
                && name.is_char_boundary(cut)
                && name[cut..].eq_ignore_ascii_case(suffix)
            {
                return &name[..cut];
            }
        }
        name
    }
    strip(strip(name, &COMPRESSION_SUFFIXES), &PROTOBUF_SUFFIXES)
}

#[cfg(test)]
mod tests {
    use protoland_pipeline::parse_routes;

    use super::*;

    #[test]
    fn output_names_drop_compression_then_protobuf_suffixes() {
        for (input, expected) in [
            ("clicks/a.pb.gz", "a.ndjson"),
            ("a.pb.zst", "a.ndjson"),
            ("a.binpb", "a.ndjson"),
            ("a.BIN.GZ", "a.ndjson"),
            ("a.gz", "a.ndjson"),
            ("a", "a.ndjson"),
            ("a.json", "a.json.ndjson"),
            (".pb", ".pb.ndjson"),
            ("café ✓.pb", "café ✓.ndjson"),
            ("-", "stdin.ndjson"),
        ] {
            assert_eq!(
                output_name(input, OutputFormat::Ndjson),
                expected,
                "{input}"
            );
        }
        assert_eq!(
            output_name("clicks/a.pb.gz", OutputFormat::Parquet),
            "a.parquet"
        );
    }

    #[test]
    fn s3_prefixes_and_globs_are_patterns_and_object_urls_are_not() {
        let pattern = |bucket: &str, folder: &str, glob: Option<&str>| {
            Some(S3Pattern {
                bucket: bucket.to_owned(),
                folder: folder.to_owned(),
                glob: glob.map(str::to_owned),
            })
        };
        assert_eq!(
            s3_pattern("s3://raw/2026/11/*.pb.gz"),
            pattern("raw", "2026/11", Some("2026/11/*.pb.gz"))
        );
        assert_eq!(
            s3_pattern("s3://raw/2026/1?/a.pb"),
            pattern("raw", "2026", Some("2026/1?/a.pb"))
        );
        assert_eq!(s3_pattern("s3://raw/*"), pattern("raw", "", Some("*")));
        // Alternatives and escapes end the folder too: `a/{b,c}` is no folder.
        assert_eq!(
            s3_pattern("s3://raw/a/{b,c}/*.pb"),
            pattern("raw", "a", Some("a/{b,c}/*.pb"))
        );
        assert_eq!(s3_pattern("s3://raw/2026/"), pattern("raw", "2026", None));
        assert_eq!(s3_pattern("s3://raw"), pattern("raw", "", None));
        assert_eq!(s3_pattern("s3://raw/a.pb"), None);
        assert_eq!(s3_pattern("raw/*.pb"), None);
        assert_eq!(s3_pattern("s3:///a"), None);
    }

    /// The documented rules, through the path an input takes (its
    /// pattern, its folder, its glob); each case also checked against a
    /// route with the same pattern, the other user of the glob rules, and
    /// every key matched lies under the folder that is listed.
    #[test]
    fn globs_match_within_segments_and_double_stars_across_as_routes_do() {
        for (glob, key, expected) in [
            ("11/*.pb.gz", "11/a.pb.gz", true),
            ("11/*.pb.gz", "11/x/a.pb.gz", false),
            ("11/*.pb.gz", "11/a.pb", false),
            ("11/**/*.pb", "11/x/y/a.pb", true),
            ("11/**/*.pb", "11/a.pb", true),
            ("**", "any/thing", true),
            ("a?.pb", "ab.pb", true),
            ("a?.pb", "a/.pb", false),
            ("?.pb", "é.pb", true),
            ("d[0-2].pb", "d1.pb", true),
            ("d[!0-2].pb", "d1.pb", false),
            ("d[!0-2].pb", "d7.pb", true),
            ("*", "", true),
            ("a*b*c*d", "aXbXcXd", true),
            ("raw/{a,b}/*.pb", "raw/b/x.pb", true),
            ("raw/{a,b}/*.pb", "raw/c/x.pb", false),
            ("raw/\\*/*.pb", "raw/*/x.pb", true),
            ("raw/\\*/*.pb", "raw/a/x.pb", false),
        ] {
            let Some(pattern) = s3_pattern(&format!("s3://raw/{glob}")) else {
                panic!("{glob} is not a pattern");
            };
            let compiled = pattern
                .compile()
                .unwrap_or_else(|e| panic!("{glob}: {e:#}"));
            let ours = wanted(compiled.as_ref(), key);
            assert_eq!(ours, expected, "{glob} {key}");
            let routes = parse_routes(&format!("{glob}=acme.M")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(routes[0].matches(key), ours, "route {glob} {key}");
            if ours {
                assert!(key.starts_with(&pattern.folder), "{glob} {key}");
            }
        }
    }

    #[test]
    fn rejects_an_invalid_glob_naming_it() {
        let pattern = s3_pattern("s3://raw/d[.pb").map(|p| p.compile().map(|_| ()));
        let err = pattern.map(|r| r.map_err(|e| format!("{e:#}")));
        assert_eq!(
            err,
            Some(Err(
                "s3://raw/d[.pb: not a valid glob: an unclosed `[`".to_owned()
            ))
        );
    }

    #[test]
    fn s3_urls_must_name_an_object() {
        let err = open_input("s3://raw").err().map(|e| format!("{e:#}"));
        assert_eq!(
            err.as_deref(),
            Some("opening s3://raw: key `s3://raw` cannot be addressed: expected s3://bucket/key")
        );
    }
}
