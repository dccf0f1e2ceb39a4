//! Where a converted object lands: a key derived only from the source, so a
//! redelivered notification overwrites the same landing object instead of
//! duplicating data.
//!
//! The default is the whole source key followed by `.ndjson` (plus `.gz` /
//! `.zst` when the output is compressed) or `.parquet`, under the landing prefix:
//! `clicks/2024/a.pb.gz` → `landing/clicks/2024/a.pb.gz.ndjson.gz`. Keeping
//! the whole key makes the default one-to-one: `a.pb`, `a.pb.gz` and
//! `a.bin` land on three keys, never on one.
//!
//! A [`KeyTemplate`] changes the layout, e.g. date partitions for Athena:
//! `{prefix}/dt={date}/{key}{ext}`. A template that drops part of the key
//! (`{stem}`, `{file}`, `{file_stem}` without `{dir}`) can map two sources
//! to one landing key; [`KeyTemplate::collision_warning`] says so at
//! start-up, and the landing object's source record stops the second
//! source from overwriting the first (see `provenance`). Placeholders:
//!
//! | placeholder | value for `s3://raw/clicks/2024/a b.pb.gz`, event at 2024-03-07T21:42Z |
//! |---|---|
//! | `{prefix}` | the landing prefix (`landing`) |
//! | `{bucket}` | the source bucket (`raw`) |
//! | `{key}` | the source key (`clicks/2024/a b.pb.gz`) |
//! | `{dir}` | the key's directory (`clicks/2024`) |
//! | `{file}` | the key's last segment (`a b.pb.gz`) |
//! | `{stem}` | the key without its suffixes (`clicks/2024/a b`) |
//! | `{file_stem}` | the last segment without its suffixes (`a b`) |
//! | `{ext}` | `.ndjson`, `.ndjson.gz`, `.ndjson.zst` or `.parquet` |
//! | `{year}` `{month}` `{day}` `{hour}` | from the event time, UTC (`2024` `03` `07` `21`) |
//! | `{date}` | `{year}-{month}-{day}` |
//!
//! Empty segments are dropped after substitution (`{prefix}/{key}` with no
//! prefix is `clicks/…`, not `/clicks/…`): object keys with empty segments
//! cannot be addressed through the object store anyway.

use chrono::{DateTime, Datelike, Timelike, Utc};
use protoland_stream::OutputFormat;

/// The default template: the whole source key and the output extension,
/// under the landing prefix (one landing key per source key).
pub const DEFAULT_TEMPLATE: &str = "{prefix}/{key}{ext}";

const COMPRESSION_SUFFIXES: [&str; 2] = [".gz", ".zst"];
const PROTOBUF_SUFFIXES: [&str; 3] = [".pb", ".bin", ".binpb"];

/// A parsed landing key template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Prefix,
    Bucket,
    Key,
    Dir,
    File,
    Stem,
    FileStem,
    Ext,
    Year,
    Month,
    Day,
    Hour,
    Date,
}

impl Placeholder {
    const ALL: [(&'static str, Placeholder); 13] = [
        ("prefix", Placeholder::Prefix),
        ("bucket", Placeholder::Bucket),
        ("key", Placeholder::Key),
        ("dir", Placeholder::Dir),
        ("file", Placeholder::File),
        ("stem", Placeholder::Stem),
        ("file_stem", Placeholder::FileStem),
        ("ext", Placeholder::Ext),
        ("year", Placeholder::Year),
        ("month", Placeholder::Month),
        ("day", Placeholder::Day),
        ("hour", Placeholder::Hour),
        ("date", Placeholder::Date),
    ];

    fn uses_time(self) -> bool {
        matches!(
            self,
            Placeholder::Year
                | Placeholder::Month
                | Placeholder::Day
                | Placeholder::Hour
                | Placeholder::Date
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Placeholder(Placeholder),
}

/// Why a key template is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    #[error(
        "unknown placeholder `{{{0}}}`; known: {{prefix}}, {{bucket}}, {{key}}, {{dir}}, {{file}}, {{stem}}, {{file_stem}}, {{ext}}, {{year}}, {{month}}, {{day}}, {{hour}}, {{date}}"
    )]
    UnknownPlaceholder(String),
    #[error("unclosed `{{` at byte {0}")]
    Unclosed(usize),
    #[error("`}}` without `{{` at byte {0}")]
    Unopened(usize),
    /// Without the key (or its file name) two sources would share one landing
    /// object.
    #[error(
        "the template names no part of the source key; add {{key}}, {{stem}}, {{file}} or {{file_stem}}"
    )]
    NoKey,
}

/// What a template is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct KeyInputs<'a> {
    /// The landing prefix, without surrounding slashes (may be empty).
    pub prefix: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    /// The event time, or else the object's Last-Modified: a time that is the
    /// same on every delivery, never the processing time.
    pub time: Option<DateTime<Utc>>,
    pub output: OutputCompression,
    /// The output format (Parquet is never compressed as a whole: `output`
    /// does not apply to it).
    pub format: OutputFormat,
}

impl KeyTemplate {
    /// Parses a template (see the module docs for the placeholders).
    ///
    /// # Errors
    ///
    /// [`TemplateError`] for an unknown placeholder, unbalanced braces, or a
    /// template that names no part of the source key.
    pub fn parse(template: &str) -> Result<KeyTemplate, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = template.char_indices().peekable();
        while let Some((at, c)) = rest.next() {
            match c {
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in rest.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(TemplateError::Unclosed(at));
                    }
                    let placeholder = Placeholder::ALL
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, p)| *p)
                        .ok_or(TemplateError::UnknownPlaceholder(name))?;
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Placeholder(placeholder));
                }
                '}' => return Err(TemplateError::Unopened(at)),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        let names_key = parts.iter().any(|p| {
            matches!(
                p,
                Part::Placeholder(
                    Placeholder::Key
                        | Placeholder::Stem
                        | Placeholder::File
                        | Placeholder::FileStem
                )
            )
        });
        if !names_key {
            return Err(TemplateError::NoKey);
        }
        Ok(KeyTemplate {
            source: template.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Why two source keys can render to one landing key, when they can
    /// (for a warning at start-up), or `None` for a template that keeps the
    /// whole key (`{key}`, or `{dir}` with `{file}`).
    pub fn collision_warning(&self) -> Option<String> {
        let has = |wanted: Placeholder| {
            self.parts
                .iter()
                .any(|p| matches!(p, Part::Placeholder(p) if *p == wanted))
        };
        let whole = has(Placeholder::Key) || (has(Placeholder::Dir) && has(Placeholder::File));
        if whole {
            return None;
        }
        let folders = has(Placeholder::Key) || has(Placeholder::Stem) || has(Placeholder::Dir);
        Some(if folders {
            format!(
                "the key template `{}` drops the source key's suffixes: `a.pb` and `a.pb.gz` land on one key, and the second one fails (use {{key}} to keep them apart)",
                self.source
            )
        } else {
            format!(
                "the key template `{}` names no part of the source key that tells folders apart: `a/x.pb` and `b/x.pb` land on one key, and the second one fails (use {{key}}, or {{dir}} with {{file}})",
                self.source
            )
        })
    }

    /// Whether rendering needs a time (event time or Last-Modified).
    pub fn uses_time(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Placeholder(p) if p.uses_time()))
    }

    /// The landing key for one source object.
    ///
    /// Time placeholders render as `unknown` when no time is given (a
    /// configuration that uses them always has one: the handler falls back
    /// to the object's Last-Modified).
    pub fn render(&self, inputs: &KeyInputs<'_>) -> String {
        let (dir, file) = match inputs.key.rsplit_once('/') {
            Some((dir, file)) => (dir, file),
            None => ("", inputs.key),
        };
        let mut out = String::with_capacity(inputs.prefix.len() + inputs.key.len() + 16);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Placeholder(p) => match p {
                    Placeholder::Prefix => out.push_str(inputs.prefix),
                    Placeholder::Bucket => out.push_str(inputs.bucket),
                    Placeholder::Key => out.push_str(inputs.key),
                    Placeholder::Dir => out.push_str(dir),
                    Placeholder::File => out.push_str(file),
                    Placeholder::Stem => out.push_str(strip_suffixes(inputs.key)),
                    Placeholder::FileStem => out.push_str(strip_suffixes(file)),
                    Placeholder::Ext => {
                        out.push_str(output_extension(inputs.format, inputs.output))
                    }
                    time => match inputs.time {
                        None => out.push_str("unknown"),
                        Some(t) => {
                            let s = match time {
                                Placeholder::Year => format!("{:04}", t.year()),
                                Placeholder::Month => format!("{:02}", t.month()),
                                Placeholder::Day => format!("{:02}", t.day()),
                                Placeholder::Hour => format!("{:02}", t.hour()),
                                _ => format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day()),
                            };
                            out.push_str(&s);
                        }
                    },
                },
            }
        }
        normalize(&out)
    }
}

impl Default for KeyTemplate {
    fn default() -> Self {
        // The default template is valid by construction; parsing it cannot fail.
        KeyTemplate::parse(DEFAULT_TEMPLATE).unwrap_or_else(|_| KeyTemplate {
            source: DEFAULT_TEMPLATE.to_owned(),
            parts: vec![
                Part::Placeholder(Placeholder::Prefix),
                Part::Literal("/".to_owned()),
                Part::Placeholder(Placeholder::Key),
                Part::Placeholder(Placeholder::Ext),
            ],
        })
    }
}

/// How landing objects are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OutputCompression {
    None,
    /// The default: what Athena, Glue and Spark read natively, and the
    /// landing bucket stays several times smaller than the JSON.
    #[default]
    Gzip,
    Zstd,
}

impl std::str::FromStr for OutputCompression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(OutputCompression::None),
            "gzip" | "gz" => Ok(OutputCompression::Gzip),
            "zstd" | "zst" => Ok(OutputCompression::Zstd),
            _ => Err(format!(
                "`{s}` is not an output compression (none, gzip, zstd)"
            )),
        }
    }
}

impl std::fmt::Display for OutputCompression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutputCompression::None => "none",
            OutputCompression::Gzip => "gzip",
            OutputCompression::Zstd => "zstd",
        })
    }
}

impl OutputCompression {
    /// The stream compression that writes it.
    pub fn compression(self) -> protoland_stream::Compression {
        match self {
            OutputCompression::None => protoland_stream::Compression::None,
            OutputCompression::Gzip => protoland_stream::Compression::Gzip,
            OutputCompression::Zstd => protoland_stream::Compression::Zstd,
        }
    }
}

/// `.ndjson`, `.ndjson.gz` or `.ndjson.zst` for NDJSON with an output
/// compression; `.parquet` for Parquet, whose pages are compressed inside
/// the file, never the file as a whole.
pub fn output_extension(format: OutputFormat, output: OutputCompression) -> &'static str {
    match (format, output) {
        (OutputFormat::Parquet, _) => ".parquet",
        (OutputFormat::Ndjson, OutputCompression::Gzip) => ".ndjson.gz",
        (OutputFormat::Ndjson, OutputCompression::Zstd) => ".ndjson.zst",
        (OutputFormat::Ndjson, OutputCompression::None) => ".ndjson",
    }
}

/// Removes one compression suffix, then one protobuf suffix (ASCII
/// case-insensitive), never leaving an empty file name.
pub fn strip_suffixes(key: &str) -> &str {
    fn strip<'a>(s: &'a str, suffixes: &[&str]) -> &'a str {
        for suffix in suffixes {
            if s.len() > suffix.len()
                && s.is_char_boundary(s.len() - suffix.len())
                && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            {
                let stripped = &s[..s.len() - suffix.len()];
                if stripped.is_empty() || stripped.ends_with('/') {
                    return s;
                }
                return stripped;
            }
        }
        s
    }
    strip(strip(key, &COMPRESSION_SUFFIXES), &PROTOBUF_SUFFIXES)
}

/// Drops empty segments (leading, trailing and doubled slashes).
fn normalize(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for segment in key.split('/').filter(|s| !s.is_empty()) {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(segment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn inputs<'a>(prefix: &'a str, key: &'a str, output: OutputCompression) -> KeyInputs<'a> {
        KeyInputs {
            prefix,
            bucket: "raw",
            key,
            time: Utc.with_ymd_and_hms(2024, 3, 7, 21, 42, 3).single(),
            output,
            format: OutputFormat::Ndjson,
        }
    }

    #[test]
    fn parquet_lands_as_parquet_whatever_the_output_compression() {
        let t = KeyTemplate::default();
        for output in [
            OutputCompression::Gzip,
            OutputCompression::Zstd,
            OutputCompression::None,
        ] {
            let parquet = KeyInputs {
                format: OutputFormat::Parquet,
                ..inputs("landing", "clicks/a.pb.gz", output)
            };
            assert_eq!(t.render(&parquet), "landing/clicks/a.pb.gz.parquet");
        }
    }

    #[test]
    fn keeps_the_whole_source_key_by_default() {
        let t = KeyTemplate::default();
        let cases = [
            (
                "clicks/a.pb.gz",
                OutputCompression::Gzip,
                "landing/clicks/a.pb.gz.ndjson.gz",
            ),
            (
                "clicks/a.pb.zst",
                OutputCompression::None,
                "landing/clicks/a.pb.zst.ndjson",
            ),
            (
                "clicks/a.binpb",
                OutputCompression::Zstd,
                "landing/clicks/a.binpb.ndjson.zst",
            ),
            (
                "clicks/a",
                OutputCompression::Gzip,
                "landing/clicks/a.ndjson.gz",
            ),
            (
                "a b+c/café ✓.pb",
                OutputCompression::None,
                "landing/a b+c/café ✓.pb.ndjson",
            ),
        ];
        for (key, output, expected) in cases {
            assert_eq!(t.render(&inputs("landing", key, output)), expected, "{key}");
        }
    }

    /// Sources that once shared a landing key (suffixes stripped: `a.pb`,
    /// `a.pb.gz` and `a.bin` all landed as `a.ndjson.gz`).
    #[test]
    fn default_key_is_one_to_one_over_source_keys() {
        let t = KeyTemplate::default();
        assert_eq!(t.collision_warning(), None);
        let keys = [
            "x",
            "x.pb",
            "x.pb.gz",
            "x.bin",
            "X.BIN",
            "x.binpb",
            "x.gz",
            "x.zst",
            "x.pb.zst",
            "x.ndjson",
            "x.ndjson.gz",
            "a/x.pb",
            "b/x.pb",
            "a/b/x.pb",
            "a.b/x.pb",
        ];
        for output in [
            OutputCompression::Gzip,
            OutputCompression::Zstd,
            OutputCompression::None,
        ] {
            let rendered: std::collections::HashSet<_> = keys
                .iter()
                .map(|k| t.render(&inputs("landing", k, output)))
                .collect();
            assert_eq!(rendered.len(), keys.len(), "{output}");
        }
    }

    #[test]
    fn warns_about_templates_that_can_map_two_sources_to_one_key() {
        let warning = |t: &str| {
            KeyTemplate::parse(t)
                .expect("valid")
                .collision_warning()
                .map(|w| w.split(':').next().unwrap_or_default().to_owned())
        };
        assert_eq!(warning("{prefix}/{key}{ext}"), None);
        assert_eq!(warning("{prefix}/dt={date}/{key}{ext}"), None);
        assert_eq!(warning("{prefix}/{dir}/{file}{ext}"), None);
        let folders = "the key template `{prefix}/dt={date}/{file_stem}{ext}` names no part of the source key that tells folders apart";
        assert_eq!(
            warning("{prefix}/dt={date}/{file_stem}{ext}").as_deref(),
            Some(folders)
        );
        assert!(
            warning("{prefix}/{stem}{ext}")
                .is_some_and(|w| w.contains("drops the source key's suffixes"))
        );
        assert!(warning("{prefix}/{file}").is_some_and(|w| w.contains("tells folders apart")));
    }

    #[test]
    fn drops_the_empty_prefix_segment() {
        let t = KeyTemplate::default();
        assert_eq!(
            t.render(&inputs("", "a.pb", OutputCompression::Gzip)),
            "a.pb.ndjson.gz"
        );
    }

    #[test]
    fn renders_date_partitions_from_the_event_time() {
        let t = KeyTemplate::parse("{prefix}/dt={date}/hour={hour}/{bucket}/{file_stem}{ext}")
            .expect("valid");
        assert!(t.uses_time());
        assert_eq!(
            t.render(&inputs(
                "landing/",
                "clicks/2024/x.pb.gz",
                OutputCompression::Gzip
            )),
            "landing/dt=2024-03-07/hour=21/raw/x.ndjson.gz"
        );
        let t = KeyTemplate::parse("{year}/{month}/{day}/{dir}/{file}.json").expect("valid");
        assert_eq!(
            t.render(&inputs("", "clicks/x.pb", OutputCompression::None)),
            "2024/03/07/clicks/x.pb.json"
        );
    }

    #[test]
    fn rejects_bad_templates() {
        assert_eq!(
            KeyTemplate::parse("{prefix}/{nope}").unwrap_err(),
            TemplateError::UnknownPlaceholder("nope".into())
        );
        assert_eq!(
            KeyTemplate::parse("{prefix}/{key").unwrap_err(),
            TemplateError::Unclosed(9)
        );
        assert_eq!(
            KeyTemplate::parse("key}").unwrap_err(),
            TemplateError::Unopened(3)
        );
        assert_eq!(
            KeyTemplate::parse("{prefix}/{date}.ndjson").unwrap_err(),
            TemplateError::NoKey
        );
    }

    #[test]
    fn is_deterministic_for_the_same_source() {
        let t = KeyTemplate::parse("{prefix}/{date}/{key}").expect("valid");
        let a = t.render(&inputs("p", "k.pb", OutputCompression::Gzip));
        let b = t.render(&inputs("p", "k.pb", OutputCompression::Gzip));
        assert_eq!(a, b);
    }
}
