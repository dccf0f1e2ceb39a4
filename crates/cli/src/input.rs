//! What an INPUT argument names, and how to read it: a local path, `-` for
//! stdin, or `s3://bucket/key` (streamed with the standard AWS credentials,
//! region and `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

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
pub(crate) fn output_name(spec: &str) -> String {
    let file = if spec == "-" {
        "stdin"
    } else {
        Path::new(spec)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(spec)
    };
    format!("{}.ndjson", strip_suffixes(file))
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
            assert_eq!(output_name(input), expected, "{input}");
        }
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
