//! Settings of `worker` and `backfill` end to end: every `PROTOLAND_*`
//! variable and flag with a bad value is refused at start-up with a message
//! naming it and the value; sizes, durations and booleans read as the docs
//! say (and every example in the docs reads); service limits are checked
//! before anything runs; symlinks in a backfill source are not followed
//! unless asked.

// Test helpers outside `#[test]` functions: a failed setup should panic.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use protoland_pipeline::{Settings, ValueKind, value_kind};
use protoland_pipeline::{parse_bool, parse_duration, parse_size};
use tempfile::TempDir;

const CLICK_PROTO: &str = r#"syntax = "proto3";
package acme;
message Click {
  string url = 1;
  int64 user_id = 2;
}
"#;

/// `{"url":"/a","userId":"7"}` as a varint-delimited stream of one message.
const ONE_CLICK: [u8; 7] = [6, 0x0a, 2, b'/', b'a', 0x10, 7];

/// A directory with `click.proto`, `raw/a.pb` and an empty `landing/`.
fn fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("click.proto"), CLICK_PROTO).unwrap();
    std::fs::create_dir(dir.path().join("raw")).unwrap();
    std::fs::create_dir(dir.path().join("landing")).unwrap();
    std::fs::write(dir.path().join("raw/a.pb"), ONE_CLICK).unwrap();
    dir
}

/// The settings every run needs, as variables.
const BASE: [(&str, &str); 4] = [
    ("PROTOLAND_LANDING", "landing"),
    ("PROTOLAND_SCHEMA", "click.proto"),
    ("PROTOLAND_MESSAGE", "acme.Click"),
    ("PROTOLAND_OUTPUT_COMPRESSION", "none"),
];

/// Runs `protoland args` in `dir` with only `vars` (and the base settings
/// not among them) in its environment; renders the exit code and stderr.
fn run(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::cargo_bin("protoland").unwrap();
    cmd.current_dir(dir).env_clear().env("RUST_LOG", "off");
    for (var, value) in BASE {
        if !vars.iter().any(|(v, _)| *v == var) {
            cmd.env(var, value);
        }
    }
    for (var, value) in vars {
        cmd.env(var, value);
    }
    let output = cmd.args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn landed(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("landing/a.pb.ndjson")).unwrap()
}

/// Every `PROTOLAND_*` variable with a bad value stops `backfill` (or
/// `worker`) before it does anything, with one line naming the variable (and
/// its flag) and quoting the value. A bad `PROTOLAND_RETRY_BACKOFF` used to
/// print `error:  (`, and a bad boolean variable clap's own message.
#[test]
fn every_variable_with_a_bad_value_is_refused_naming_it_and_the_value() {
    let dir = fixture();
    let cases: &[(&str, &str)] = &[
        ("PROTOLAND_SCHEMA", "missing.proto"),
        ("PROTOLAND_INCLUDE", "no/such/dir"),
        ("PROTOLAND_MESSAGE", "acme.Clik"),
        ("PROTOLAND_ROUTES", "clicks"),
        ("PROTOLAND_LANDING", "s3://"),
        ("PROTOLAND_FRAMING", "lines"),
        ("PROTOLAND_COMPRESSION", "brotli"),
        ("PROTOLAND_OUTPUT_COMPRESSION", "auto"),
        // A level with no compression (the base settings' `none`).
        ("PROTOLAND_OUTPUT_LEVEL", "6"),
        ("PROTOLAND_OUTPUT_LEVEL", "fast"),
        ("PROTOLAND_PROTO_NAMES", "maybe"),
        ("PROTOLAND_EMIT_DEFAULTS", "2"),
        ("PROTOLAND_ENUM_NUMBERS", "y"),
        ("PROTOLAND_KEY_TEMPLATE", "{prefix}/{nope}"),
        ("PROTOLAND_ON_BAD_OBJECT", "ignore"),
        ("PROTOLAND_QUARANTINE", "s3://"),
        ("PROTOLAND_ON_MISSING_OBJECT", "retry"),
        ("PROTOLAND_CONCURRENCY", "four"),
        ("PROTOLAND_MAX_FRAME_BYTES", "12 parsecs"),
        ("PROTOLAND_MAX_DECOMPRESSED_BYTES", "1.5GiB"),
        ("PROTOLAND_PART_SIZE", "1MiB"),
        ("PROTOLAND_PART_SIZE", "6GiB"),
        ("PROTOLAND_DEADLINE_MARGIN", "soon"),
        ("PROTOLAND_MAX_ATTEMPTS", "0"),
        ("PROTOLAND_RETRY_BACKOFF", "5x"),
        ("PROTOLAND_RETRY_BACKOFF", "5h"),
        ("PROTOLAND_METRICS", "cloudwatch"),
        ("PROTOLAND_METRICS_NAMESPACE", "AWS/Lambda"),
        ("PROTOLAND_LOG_FORMAT", "xml"),
        ("PROTOLAND_QUEUE_URL", "raw-events"),
    ];
    let mut report = String::new();
    for (var, value) in cases {
        let command: &[&str] = if *var == "PROTOLAND_QUEUE_URL" {
            &["worker"]
        } else {
            &["backfill", "raw"]
        };
        let (code, stderr) = run(dir.path(), command, &[(var, value)]);
        // 2 and clap's hint after a blank line when clap refuses the value.
        let stderr = match code {
            1 => stderr,
            2 => stderr.replace("\n\nFor more information, try '--help'.\n", "\n"),
            _ => panic!("{var}={value}: exit {code}: {stderr}"),
        };
        assert_eq!(stderr.lines().count(), 1, "{var}={value}: {stderr}");
        assert!(stderr.starts_with("error: "), "{var}={value}: {stderr}");
        assert!(stderr.contains(var), "{var}={value}: {stderr}");
        assert!(stderr.contains(value), "{var}={value}: {stderr}");
        assert!(!stderr.contains("error:  ("), "{stderr}");
        report.push_str(&format!("{var}={value}\n  {stderr}"));
    }
    assert!(
        std::fs::read_dir(dir.path().join("landing"))
            .unwrap()
            .next()
            .is_none()
    );
    insta::assert_snapshot!("bad_variables", report);
}

/// The same settings as flags: the error names the flag and its variable.
#[test]
fn a_bad_flag_value_is_refused_naming_the_flag_and_its_variable() {
    let dir = fixture();
    let mut report = String::new();
    for args in [
        ["--part-size", "5MB"],
        ["--max-frame-bytes", "0"],
        ["--concurrency", "0"],
        ["--metrics", "maybe"],
    ] {
        let mut command = vec!["backfill", "raw"];
        command.extend(args);
        let (code, stderr) = run(dir.path(), &command, &[]);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(args[0]) && stderr.contains(args[1]),
            "{stderr}"
        );
        report.push_str(&format!("{}\n  {stderr}", args.join(" ")));
    }
    let (code, stderr) = run(dir.path(), &["backfill", "raw", "--proto-names=maybe"], &[]);
    assert_eq!(code, 1, "{stderr}");
    report.push_str(&format!("--proto-names=maybe\n  {stderr}"));
    insta::assert_snapshot!("bad_flags", report);
}

/// `--part-size 5M` was refused as "5000000 bytes is under S3's 5 MiB
/// minimum part size": the pipeline read `M` as 10^6 and the CLI as 2^20.
#[test]
fn part_size_5m_is_5_mib() {
    let dir = fixture();
    let (code, stderr) = run(dir.path(), &["backfill", "raw", "--part-size", "5M"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(landed(dir.path()), "{\"url\":\"/a\",\"userId\":\"7\"}\n");
}

/// `PROTOLAND_PROTO_NAMES=yes` (documented) was refused by clap, whose
/// flags read only `true` and `false` from the environment.
#[test]
fn booleans_read_every_documented_spelling_from_flags_and_variables() {
    let proto_names = "{\"url\":\"/a\",\"user_id\":\"7\"}\n";
    let json_names = "{\"url\":\"/a\",\"userId\":\"7\"}\n";
    for (args, vars, expected) in [
        (
            &[][..],
            &[("PROTOLAND_PROTO_NAMES", "yes")][..],
            proto_names,
        ),
        (&[], &[("PROTOLAND_PROTO_NAMES", "ON")], proto_names),
        (&[], &[("PROTOLAND_PROTO_NAMES", "1")], proto_names),
        (&[], &[("PROTOLAND_PROTO_NAMES", "off")], json_names),
        (&[], &[("PROTOLAND_PROTO_NAMES", "No")], json_names),
        (&["--proto-names"], &[], proto_names),
        (&["--proto-names=true"], &[], proto_names),
        (
            &["--proto-names=0"],
            &[("PROTOLAND_PROTO_NAMES", "yes")],
            json_names,
        ),
    ] {
        let dir = fixture();
        let mut command = vec!["backfill", "raw"];
        command.extend(args);
        let (code, stderr) = run(dir.path(), &command, vars);
        assert_eq!(code, 0, "{args:?} {vars:?}: {stderr}");
        assert_eq!(landed(dir.path()), expected, "{args:?} {vars:?}");
    }
}

/// The worker's SQS durations are checked against SQS's limits before any
/// request: a visibility timeout of 0 or over 12 hours, a retry delay over
/// 12 hours and a long-poll wait over 20 seconds were passed on (the wait
/// silently cut to 20).
#[test]
fn worker_durations_are_checked_against_sqs_limits() {
    let dir = fixture();
    let queue = "http://127.0.0.1:9/000000000000/raw-events";
    let mut report = String::new();
    for args in [
        ["--visibility-timeout", "0"],
        ["--visibility-timeout", "43201"],
        ["--visibility-timeout", "1500ms"],
        ["--retry-delay", "50000"],
        ["--retry-delay", "13h"],
        ["--wait-seconds", "21"],
        ["--wait-seconds", "1m"],
    ] {
        let mut command = vec!["worker", "--queue-url", queue];
        command.extend(args);
        let (code, stderr) = run(dir.path(), &command, &[]);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(args[0]) && stderr.contains(args[1]),
            "{stderr}"
        );
        report.push_str(&format!("{}\n{stderr}", args.join(" ")));
    }
    insta::assert_snapshot!("worker_sqs_limits", report);
}

/// A symlink in a backfill source pointing outside it was followed and the
/// file it names converted. Now it is skipped with a warning naming it,
/// unless `--follow-symlinks`.
#[cfg(unix)]
#[test]
fn backfill_skips_symlinks_unless_asked_to_follow_them() {
    let dir = fixture();
    let outside = dir.path().join("outside.pb");
    std::fs::write(&outside, ONE_CLICK).unwrap();
    std::os::unix::fs::symlink(&outside, dir.path().join("raw/secret.pb")).unwrap();

    let mut cmd = Command::cargo_bin("protoland").unwrap();
    let output = cmd
        .current_dir(dir.path())
        .env_clear()
        .envs(BASE)
        .env("RUST_LOG", "warn")
        .args(["backfill", "raw"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("skipped: a symlink"), "{stderr}");
    assert!(stderr.contains("raw/secret.pb"), "{stderr}");
    assert!(stderr.contains("1 objects listed, 1 converted"), "{stderr}");
    assert!(!dir.path().join("landing/secret.pb.ndjson").exists());

    let (code, stderr) = run(dir.path(), &["backfill", "raw", "--follow-symlinks"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("2 objects listed, 1 converted, 1 already landed"),
        "{stderr}"
    );
    assert!(dir.path().join("landing/secret.pb.ndjson").exists());
}

// ---------------------------------------------------------------------------
// The documentation's examples

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and docs/*.md.
fn documents() -> Vec<(String, String)> {
    let root = workspace();
    let mut paths = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&root).unwrap().display().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The kind of value a flag takes: its variable's (one name per setting:
/// `--part-size` is `PROTOLAND_PART_SIZE`), or the worker's own durations,
/// or the old names kept as aliases.
fn flag_kind(flag: &str) -> ValueKind {
    match flag {
        "--wait-seconds" | "--visibility-timeout" | "--retry-delay" => ValueKind::Duration,
        "--max-frame-size" | "--max-decompressed-size" => ValueKind::Size,
        _ => value_kind(&format!(
            "PROTOLAND_{}",
            flag.trim_start_matches('-')
                .replace('-', "_")
                .to_uppercase()
        )),
    }
}

fn parses(kind: ValueKind, value: &str) -> Result<(), String> {
    let result = match kind {
        ValueKind::Size => parse_size(value).map(drop),
        ValueKind::Duration => parse_duration(value).map(drop),
        ValueKind::Bool => parse_bool(value).map(drop),
        _ => Ok(()),
    };
    result.map_err(|e| e.to_string())
}

/// A documented variable's value must be a valid setting, limits included
/// (a part size of 1 MiB parses but is refused).
fn check_variable(var: &str, value: &str) -> Result<(), String> {
    let kind = value_kind(var);
    parses(kind, value)?;
    if kind == ValueKind::Other {
        return Ok(());
    }
    let lookup = |name: &str| match name {
        n if n == var => Some(value.to_owned()),
        "PROTOLAND_LANDING" => Some("s3://landing/ndjson".to_owned()),
        "PROTOLAND_SCHEMA" => Some("click.proto".to_owned()),
        "PROTOLAND_MESSAGE" => Some("acme.Click".to_owned()),
        _ => None,
    };
    Settings::from_lookup(lookup, None)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Placeholders in synopses (`SIZE`, `<SIZE>`, `[DURATION]`) are no values.
fn is_placeholder(token: &str) -> bool {
    !token.starts_with(|c: char| c.is_ascii_alphanumeric())
        || token.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// The text of code: fenced blocks, and inline `spans`.
fn code_spans(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            spans.push(line.to_owned());
        } else {
            spans.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    spans
}

/// Every size, duration and boolean example in README.md and docs/*.md —
/// `PROTOLAND_X=value` and `--flag value` in code, and the default and
/// example columns of the settings tables — reads under the one parser, as
/// a valid setting. The README's own `PROTOLAND_MAX_DECOMPRESSED_BYTES`
/// example, `1TiB`, stopped the function at start-up.
#[test]
fn every_size_duration_and_boolean_example_in_the_docs_is_valid() {
    let mut checked = Vec::new();
    let mut failures = Vec::new();
    let mut check = |doc: &str, what: String, result: Result<(), String>| {
        if let Err(e) = result {
            failures.push(format!("{doc}: {what}: {e}"));
        }
        checked.push(what);
    };
    for (doc, text) in documents() {
        for span in code_spans(&text) {
            let tokens: Vec<&str> = span.split_whitespace().collect();
            for (i, raw) in tokens.iter().enumerate() {
                let token = raw.trim_end_matches([',', ';', ')']);
                // A flag named in prose, `(…, --max-line-bytes), at byte`:
                // the next word is not its value.
                let prose = token.len() != raw.len();
                if let Some(start) = token.find("PROTOLAND_")
                    && let Some((var, value)) = token[start..].split_once('=')
                    && value_kind(var) != ValueKind::Other
                    // `[env: PROTOLAND_X=]` in --help names a variable, with no value.
                    && !is_placeholder(value)
                {
                    check(&doc, format!("{var}={value}"), check_variable(var, value));
                }
                if !token.starts_with("--") {
                    continue;
                }
                let (flag, value) = match token.split_once('=') {
                    Some((flag, value)) => (flag, Some(value)),
                    // Boolean flags take their value after `=` only.
                    None if prose => (token, None),
                    None if flag_kind(token) != ValueKind::Bool => {
                        (token, tokens.get(i + 1).copied())
                    }
                    None => (token, None),
                };
                let kind = flag_kind(flag);
                if let Some(value) = value
                    && kind != ValueKind::Other
                    && !is_placeholder(value)
                {
                    check(&doc, format!("{flag} {value}"), parses(kind, value));
                }
            }
        }
        // Tables: the `default` and `example` cells of rows naming a setting.
        let mut columns: Vec<String> = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if !line.starts_with('|') {
                columns.clear();
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if columns.is_empty() {
                columns = cells.iter().map(|c| c.to_lowercase()).collect();
                continue;
            }
            let first_code = |cell: &str| cell.split('`').nth(1).map(str::to_owned);
            let Some(name) = first_code(cells[0]) else {
                continue;
            };
            // `--max-frame-bytes SIZE`, `-s, --schema PATH`: the long flag.
            let Some(name) = name
                .split([' ', ','])
                .find(|t| t.starts_with("--") || t.starts_with("PROTOLAND_"))
            else {
                continue;
            };
            for (column, cell) in columns.iter().zip(&cells) {
                if column != "default" && column != "example" {
                    continue;
                }
                let Some(value) = first_code(cell) else {
                    continue;
                };
                if name.starts_with("PROTOLAND_") && value_kind(name) != ValueKind::Other {
                    check(
                        &doc,
                        format!("{name} {column} {value}"),
                        check_variable(name, &value),
                    );
                } else if name.starts_with("--") && flag_kind(name) != ValueKind::Other {
                    check(
                        &doc,
                        format!("{name} {column} {value}"),
                        parses(flag_kind(name), &value),
                    );
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The extraction finds what the docs hold (so a change of format that
    // hides them from this test fails it).
    for expected in [
        "PROTOLAND_MAX_DECOMPRESSED_BYTES example 1TiB",
        "PROTOLAND_PART_SIZE default 8MiB",
        "PROTOLAND_RETRY_BACKOFF example 1s",
        "PROTOLAND_PROTO_NAMES default false",
        "--max-frame-bytes default 64MiB",
        "--max-frame-bytes 300",
        "--wait-seconds 1",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} not found in {checked:#?}"
        );
    }
}
