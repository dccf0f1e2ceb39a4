//! The `protoland` binary end to end: stdout, stderr and exit code pinned
//! as snapshots. Inputs are built at test time from a `.proto` and
//! messages made with prost-reflect.

// Test helpers outside `#[test]` functions: a failed setup should panic.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;

use assert_cmd::Command;
use prost::Message as _;
use prost_reflect::{DynamicMessage, Value};
use protoland_schema::Schema;
use tempfile::TempDir;

const CLICK_PROTO: &str = r#"syntax = "proto3";
package acme;

message Click {
  string url = 1;
  int64 user_id = 2;
  repeated string tags = 3;
  Kind kind = 4;
}

enum Kind {
  KIND_UNSPECIFIED = 0;
  KIND_VIEW = 1;
  KIND_BUY = 2;
}
"#;

fn clicks() -> Vec<Vec<u8>> {
    let schema = Schema::from_proto_source("click.proto", CLICK_PROTO).unwrap();
    let descriptor = schema.message("acme.Click").unwrap();
    (0..5)
        .map(|i| {
            let mut m = DynamicMessage::new(descriptor.clone());
            m.set_field_by_name("url", Value::String(format!("/page/{i}")));
            if i % 2 == 1 {
                m.set_field_by_name("user_id", Value::I64(1000 + i));
            }
            if i == 3 {
                m.set_field_by_name(
                    "tags",
                    Value::List(vec![
                        Value::String("new".into()),
                        Value::String("ad".into()),
                    ]),
                );
            }
            m.set_field_by_name("kind", Value::EnumNumber((i % 3) as i32));
            m.encode_to_vec()
        })
        .collect()
}

fn varint(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        prost::encoding::encode_varint(m.len() as u64, &mut out);
        out.extend_from_slice(m);
    }
    out
}

fn fixed32(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(&(m.len() as u32).to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// A directory with the schema and one input per layout:
/// - `clicks.pb`: varint, plain
/// - `clicks.pb.gz`: varint, gzip in two members
/// - `clicks.pb.zst`: varint, zstd
/// - `clicks.bin`: fixed32, plain
/// - `one.pb`: a single message
/// - `truncated.pb.gz`: `clicks.pb.gz` without its last 5 bytes
/// - `bad.pb`: varint, message 2 does not decode
fn fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let messages = clicks();
    let stream = varint(&messages);
    let mut two_members = gzip(&stream[..20]);
    two_members.extend(gzip(&stream[20..]));
    let mut bad = messages.clone();
    bad[2] = vec![0x0a, 0x02, b'o', b'k', 0x0f]; // ends with wire type 7
    let files: [(&str, Vec<u8>); 8] = [
        ("click.proto", CLICK_PROTO.as_bytes().to_vec()),
        ("clicks.pb", stream.clone()),
        ("clicks.pb.gz", two_members.clone()),
        ("clicks.pb.zst", zstd(&stream)),
        ("clicks.bin", fixed32(&messages)),
        ("one.pb", messages[3].clone()),
        (
            "truncated.pb.gz",
            two_members[..two_members.len() - 5].to_vec(),
        ),
        ("bad.pb", varint(&bad)),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

/// Runs `protoland` in `dir` with `args` (and `stdin`) and renders exit
/// code, stdout and stderr for a snapshot.
fn run(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> String {
    let mut cmd = Command::cargo_bin("protoland").unwrap();
    cmd.current_dir(dir).args(args);
    if let Some(stdin) = stdin {
        cmd.write_stdin(stdin);
    }
    let output = cmd.output().unwrap();
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or("signal".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

/// Files in `dir`, sorted, excluding the fixture's own.
fn new_files(dir: &Path) -> Vec<String> {
    let fixture = [
        "click.proto",
        "clicks.pb",
        "clicks.pb.gz",
        "clicks.pb.zst",
        "clicks.bin",
        "one.pb",
        "truncated.pb.gz",
        "bad.pb",
        "cut.pb",
        "claims-4gib.pb",
        "long.pb.zst",
    ];
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !fixture.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

const CONVERT: [&str; 5] = ["convert", "-s", "click.proto", "-m", "acme.Click"];

fn convert_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    CONVERT
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect()
}

/// Transcoder messages are the transcoder's to word (and pinned by its own
/// tests); here only their place in our output is.
macro_rules! assert_cli_snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"does not decode: [^\n]*", "does not decode: [transcoder error]"),
            (r"does not decode as one message \([^\n]*\)", "does not decode as one message ([transcoder error])"),
            (r"(frame \d+ at byte \d+) fails: [^\n]*\)", "$1 fails: [transcoder error])"),
        ]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

#[test]
fn convert_writes_ndjson_to_stdout() {
    let dir = fixture();
    assert_cli_snapshot!(
        "convert_stdout",
        run(dir.path(), &convert_args(&["clicks.pb.gz"]), None)
    );
}

#[test]
fn convert_reads_every_compression_and_framing_alike() {
    let dir = fixture();
    let expected = run(dir.path(), &convert_args(&["clicks.pb"]), None);
    for input in ["clicks.pb.gz", "clicks.pb.zst", "clicks.bin"] {
        assert_eq!(
            run(dir.path(), &convert_args(&[input]), None),
            expected,
            "{input}"
        );
    }
    for (input, flags) in [
        ("clicks.pb.gz", ["-c", "gzip", "-f", "varint"]),
        ("clicks.pb.zst", ["-c", "zstd", "-f", "varint"]),
        ("clicks.bin", ["-c", "none", "-f", "fixed32"]),
    ] {
        let mut args = convert_args(&flags);
        args.push(input);
        assert_eq!(run(dir.path(), &args, None), expected, "{input} {flags:?}");
    }
}

#[test]
fn convert_concatenates_inputs_in_order() {
    let dir = fixture();
    assert_cli_snapshot!(
        "convert_two_inputs",
        run(dir.path(), &convert_args(&["one.pb", "clicks.bin"]), None)
    );
}

#[test]
fn convert_reads_stdin() {
    let dir = fixture();
    let input = std::fs::read(dir.path().join("clicks.pb.zst")).unwrap();
    let from_stdin = run(dir.path(), &convert_args(&["-"]), Some(input));
    assert_eq!(
        from_stdin,
        run(dir.path(), &convert_args(&["clicks.pb"]), None)
    );
}

#[test]
fn convert_writes_a_file_atomically() {
    let dir = fixture();
    let out = run(
        dir.path(),
        &convert_args(&[
            "--proto-names",
            "--enum-numbers",
            "-o",
            "out.ndjson",
            "clicks.pb",
        ]),
        None,
    );
    assert_cli_snapshot!("convert_to_file", out);
    assert_eq!(new_files(dir.path()), ["out.ndjson"]);
    assert_cli_snapshot!(
        "convert_to_file_contents",
        std::fs::read_to_string(dir.path().join("out.ndjson")).unwrap()
    );
}

#[test]
fn convert_writes_one_file_per_input_into_a_directory() {
    let dir = fixture();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let out = run(
        dir.path(),
        &convert_args(&["-o", "out", "clicks.pb.gz", "one.pb", "-"]),
        Some(std::fs::read(dir.path().join("clicks.bin")).unwrap()),
    );
    assert_cli_snapshot!("convert_to_directory", out);
    assert_eq!(
        new_files(&dir.path().join("out")),
        ["clicks.ndjson", "one.ndjson", "stdin.ndjson"]
    );
    let clicks = std::fs::read_to_string(dir.path().join("out/clicks.ndjson")).unwrap();
    let stdin = std::fs::read_to_string(dir.path().join("out/stdin.ndjson")).unwrap();
    assert_eq!(clicks, stdin);
    assert_eq!(clicks.lines().count(), 5);
}

#[test]
fn convert_refuses_two_inputs_for_one_output_file() {
    let dir = fixture();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    assert_cli_snapshot!(
        "convert_directory_collision",
        run(
            dir.path(),
            &convert_args(&["-o", "out", "clicks.pb", "clicks.pb.gz"]),
            None
        )
    );
    assert!(new_files(&dir.path().join("out")).is_empty());
}

#[test]
fn convert_fails_on_a_truncated_input_and_leaves_no_file() {
    let dir = fixture();
    assert_cli_snapshot!(
        "convert_truncated_stdout",
        run(dir.path(), &convert_args(&["truncated.pb.gz"]), None)
    );
    assert_cli_snapshot!(
        "convert_truncated_to_file",
        run(
            dir.path(),
            &convert_args(&["-o", "out.ndjson", "truncated.pb.gz"]),
            None
        )
    );
    assert!(
        new_files(dir.path()).is_empty(),
        "{:?}",
        new_files(dir.path())
    );
}

#[test]
fn convert_stops_at_a_message_that_does_not_decode() {
    let dir = fixture();
    assert_cli_snapshot!(
        "convert_bad_message",
        run(dir.path(), &convert_args(&["-f", "varint", "bad.pb"]), None)
    );
}

#[test]
fn convert_skips_invalid_messages_when_asked() {
    let dir = fixture();
    assert_cli_snapshot!(
        "convert_skip_invalid",
        run(
            dir.path(),
            &convert_args(&["--skip-invalid", "-f", "varint", "bad.pb"]),
            None
        )
    );
}

/// `--skip-invalid` skips messages that are there but do not convert; a
/// stream that ends early is an error whatever it says: a varint stream
/// without its last 5 bytes gave 4 of 5 lines, a warning and exit 0, and a
/// frame claiming 4 GiB in the middle swallowed the rest of the input and
/// was reported only as over the limit.
#[test]
fn convert_skip_invalid_never_hides_a_truncated_stream() {
    let dir = fixture();
    let stream = varint(&clicks());
    std::fs::write(dir.path().join("cut.pb"), &stream[..stream.len() - 5]).unwrap();
    let messages = clicks();
    let mut claims = varint(&messages[..2]);
    prost::encoding::encode_varint(1 << 32, &mut claims);
    claims.extend(varint(&messages[2..]));
    std::fs::write(dir.path().join("claims-4gib.pb"), claims).unwrap();
    assert_cli_snapshot!(
        "convert_skip_invalid_truncated",
        run(
            dir.path(),
            &convert_args(&["--skip-invalid", "-f", "varint", "cut.pb"]),
            None
        )
    );
    assert_cli_snapshot!(
        "convert_skip_invalid_oversized_and_truncated",
        run(
            dir.path(),
            &convert_args(&["--skip-invalid", "-f", "varint", "claims-4gib.pb"]),
            None
        )
    );
}

/// The limits that stop a message or an object from taking unbounded
/// memory: a JSON line over `--max-line-bytes`, and a zstd window over
/// `--max-zstd-window` (the `zstd` tool writes 128 MiB windows with
/// `--long`).
#[test]
fn convert_names_the_line_and_window_limits() {
    let dir = fixture();
    assert_cli_snapshot!(
        "convert_line_limit",
        run(
            dir.path(),
            &convert_args(&["--max-line-bytes", "40", "clicks.pb"]),
            None
        )
    );
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.long_distance_matching(true).unwrap();
    e.window_log(27).unwrap();
    e.write_all(&varint(&clicks())).unwrap();
    std::fs::write(dir.path().join("long.pb.zst"), e.finish().unwrap()).unwrap();
    assert_cli_snapshot!(
        "convert_zstd_window",
        run(dir.path(), &convert_args(&["long.pb.zst"]), None)
    );
    let output = run(
        dir.path(),
        &convert_args(&["--max-zstd-window", "128MiB", "long.pb.zst"]),
        None,
    );
    assert_eq!(output, run(dir.path(), &convert_args(&["clicks.pb"]), None));
}

#[test]
fn convert_rejects_frames_over_the_limit() {
    let dir = fixture();
    assert_cli_snapshot!(
        "convert_frame_limit",
        run(
            dir.path(),
            &convert_args(&["-f", "fixed32", "--max-frame-bytes", "16", "clicks.bin"]),
            None
        )
    );
}

/// `convert --max-frame-size` and the worker's `--max-frame-bytes` were
/// one setting under two names (and `--max-decompressed-size` /
/// `--max-decompressed-bytes`): the names are now the worker's and
/// `PROTOLAND_*`'s, and the old ones hidden aliases that still work.
#[test]
fn size_flags_have_one_name_and_keep_the_old_one_as_an_alias() {
    let dir = fixture();
    for (framing, new, old, value, input, error) in [
        (
            "fixed32",
            "--max-frame-bytes",
            "--max-frame-size",
            "16",
            "clicks.bin",
            "over the 16 bytes limit",
        ),
        (
            "varint",
            "--max-decompressed-bytes",
            "--max-decompressed-size",
            "40",
            "clicks.pb.gz",
            "over the 40 bytes limit",
        ),
    ] {
        let by_name = run(
            dir.path(),
            &convert_args(&["-f", framing, new, value, input]),
            None,
        );
        let by_alias = run(
            dir.path(),
            &convert_args(&["-f", framing, old, value, input]),
            None,
        );
        assert!(
            by_name.starts_with("exit: 1\n") && by_name.contains(error),
            "{by_name}"
        );
        assert_eq!(by_alias, by_name, "{old}");
        for command in ["convert", "inspect"] {
            let help = run(dir.path(), &[command, "--help"], None);
            assert!(help.contains(new), "{command} --help: {help}");
            assert!(
                !help.contains(old),
                "{command} --help shows the alias {old}"
            );
        }
    }
    let inspect = [
        "inspect",
        "-f",
        "fixed32",
        "--max-frame-size",
        "16",
        "clicks.bin",
    ];
    assert_eq!(
        run(dir.path(), &inspect, None),
        run(
            dir.path(),
            &[
                "inspect",
                "-f",
                "fixed32",
                "--max-frame-bytes",
                "16",
                "clicks.bin"
            ],
            None
        )
    );
}

/// One parser for every size: `5M` is 5 MiB (binary, as the pipeline's
/// `--part-size 5M` now is too), `5MB` 5,000,000 bytes.
#[test]
fn size_flags_read_units_as_documented() {
    let dir = fixture();
    // The fixed32 frames are 9 to 21 bytes: a limit of 20 stops frame 3.
    let limit = |value: &str| {
        run(
            dir.path(),
            &convert_args(&["-f", "fixed32", "--max-frame-bytes", value, "clicks.bin"]),
            None,
        )
    };
    assert_eq!(limit("20"), limit("20B"));
    assert_eq!(limit("20"), limit("20 b"));
    assert!(limit("1K").starts_with("exit: 0\n"));
    assert!(limit("1KB").starts_with("exit: 0\n"));
    assert_cli_snapshot!("convert_bad_size", limit("12 parsecs"));
}

/// `convert - -` read stdin twice, the second time finding it at its end:
/// an empty second input, silently.
#[test]
fn stdin_may_be_named_once() {
    let dir = fixture();
    let input = std::fs::read(dir.path().join("clicks.pb")).unwrap();
    assert_cli_snapshot!(
        "convert_stdin_twice",
        run(
            dir.path(),
            &convert_args(&["-", "clicks.pb", "-"]),
            Some(input.clone())
        )
    );
    let inspect = run(dir.path(), &["inspect", "-", "-"], Some(input));
    assert!(
        inspect.contains(
            "error: stdin (-) is named 2 times among the inputs; it can be read only once"
        ),
        "{inspect}"
    );
}

/// `-o /dev/null` replaced /dev/null with a regular file (temporary file in
/// /dev, renamed over it), as root. Devices are written straight through.
#[cfg(unix)]
#[test]
fn output_to_a_device_writes_through_it() {
    use std::os::unix::fs::FileTypeExt;
    let dir = fixture();
    let out = run(
        dir.path(),
        &convert_args(&["-o", "/dev/null", "clicks.pb"]),
        None,
    );
    assert_eq!(out, "exit: 0\n--- stdout\n--- stderr\n");
    let meta = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "{meta:?}");
    let leftovers: Vec<_> = std::fs::read_dir("/dev")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".null."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `-o FIFO` renamed a regular file over the FIFO, so its reader never saw a
/// byte. Now the FIFO gets the lines and stays a FIFO.
#[cfg(unix)]
#[test]
fn output_to_a_fifo_writes_through_it() {
    use std::os::unix::fs::FileTypeExt;
    let dir = fixture();
    let fifo = dir.path().join("out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let received = dir.path().join("received.ndjson");
    let mut reader = std::process::Command::new("cat")
        .arg(&fifo)
        .stdout(std::fs::File::create(&received).unwrap())
        .spawn()
        .unwrap();
    let out = run(
        dir.path(),
        &convert_args(&["-o", "out.fifo", "clicks.pb"]),
        None,
    );
    // The reader ends when the writer closes; it must not wait forever when
    // nothing was written to the FIFO.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = reader.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            reader.kill().unwrap();
            reader.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(out, "exit: 0\n--- stdout\n--- stderr\n");
    assert!(
        status.is_some_and(|s| s.success()),
        "the FIFO's reader got no end of file"
    );
    let expected = run(dir.path(), &convert_args(&["clicks.pb"]), None);
    let lines = std::fs::read_to_string(&received).unwrap();
    assert_eq!(
        format!("exit: 0\n--- stdout\n{lines}--- stderr\n"),
        expected
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

/// `-o LINK` replaced the symlink with a regular file. Now the link's target
/// is replaced (atomically, next to the target) and the link stays.
#[cfg(unix)]
#[test]
fn output_through_a_symlink_replaces_its_target_and_keeps_the_link() {
    let dir = fixture();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("target.ndjson"), "old\n").unwrap();
    std::os::unix::fs::symlink("elsewhere/target.ndjson", dir.path().join("link.ndjson")).unwrap();
    let out = run(
        dir.path(),
        &convert_args(&["-o", "link.ndjson", "clicks.pb"]),
        None,
    );
    assert_eq!(out, "exit: 0\n--- stdout\n--- stderr\n");
    let link = std::fs::symlink_metadata(dir.path().join("link.ndjson")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(
        std::fs::read_link(dir.path().join("link.ndjson")).unwrap(),
        Path::new("elsewhere/target.ndjson")
    );
    let expected = run(dir.path(), &convert_args(&["clicks.pb"]), None);
    let written = std::fs::read_to_string(elsewhere.join("target.ndjson")).unwrap();
    assert_eq!(
        format!("exit: 0\n--- stdout\n{written}--- stderr\n"),
        expected
    );
    // No temporary file left, here or next to the target.
    assert_eq!(new_files(dir.path()), ["elsewhere", "link.ndjson"]);
    assert_eq!(new_files(&elsewhere), ["target.ndjson"]);

    // A link to nothing is refused, and stays as it was.
    std::os::unix::fs::symlink("nowhere/x.ndjson", dir.path().join("dangling")).unwrap();
    assert_cli_snapshot!(
        "convert_dangling_symlink",
        run(
            dir.path(),
            &convert_args(&["-o", "dangling", "clicks.pb"]),
            None
        )
    );
    assert!(
        std::fs::symlink_metadata(dir.path().join("dangling"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// A boolean flag takes every boolean spelling after `=`, as the worker's
/// flags and the `PROTOLAND_*` variables do (`--proto-names=yes` was an
/// error: the flag took no value).
#[test]
fn boolean_flags_take_a_value_after_equals() {
    let dir = fixture();
    let on = run(
        dir.path(),
        &convert_args(&["--proto-names", "--enum-numbers", "clicks.pb"]),
        None,
    );
    let off = run(dir.path(), &convert_args(&["clicks.pb"]), None);
    assert_ne!(on, off);
    for (flags, expected) in [
        (["--proto-names=yes", "--enum-numbers=ON"], &on),
        (["--proto-names=1", "--enum-numbers=true"], &on),
        (["--proto-names=off", "--enum-numbers=No"], &off),
        (["--proto-names=0", "--enum-numbers=false"], &off),
    ] {
        let mut args = convert_args(&flags);
        args.push("clicks.pb");
        assert_eq!(&run(dir.path(), &args, None), expected, "{flags:?}");
    }
    let bad = run(
        dir.path(),
        &convert_args(&["--proto-names=maybe", "clicks.pb"]),
        None,
    );
    assert!(
        bad.starts_with("exit: 2\n--- stdout\n--- stderr\nerror: invalid value 'maybe' for '--proto-names[=<BOOL>]': not a boolean: true/false, 1/0, yes/no or on/off\n"),
        "{bad}"
    );
}

#[test]
fn convert_suggests_the_closest_message_name() {
    let dir = fixture();
    assert_cli_snapshot!(
        "convert_unknown_message",
        run(
            dir.path(),
            &[
                "convert",
                "-s",
                "click.proto",
                "-m",
                "acme.Clik",
                "clicks.pb"
            ],
            None
        )
    );
}

#[test]
fn convert_names_a_missing_input() {
    let dir = fixture();
    let out = run(dir.path(), &convert_args(&["missing.pb"]), None);
    // The OS's wording of "not found" follows the colon.
    assert!(
        out.starts_with("exit: 1\n--- stdout\n--- stderr\nerror: opening missing.pb: "),
        "{out}"
    );
}

#[test]
fn inspect_explains_the_detected_framing() {
    let dir = fixture();
    assert_cli_snapshot!(
        "inspect_auto",
        run(
            dir.path(),
            &[
                "inspect",
                "-s",
                "click.proto",
                "-m",
                "acme.Click",
                "clicks.pb.gz",
                "clicks.bin",
                "one.pb",
            ],
            None
        )
    );
}

#[test]
fn inspect_hints_when_the_explicit_framing_fails() {
    let dir = fixture();
    assert_cli_snapshot!(
        "inspect_hint",
        run(
            dir.path(),
            &[
                "inspect",
                "-s",
                "click.proto",
                "-m",
                "acme.Click",
                "-f",
                "single",
                "clicks.pb"
            ],
            None
        )
    );
}

#[test]
fn inspect_without_a_schema_checks_the_wire_format() {
    let dir = fixture();
    assert_cli_snapshot!(
        "inspect_no_schema",
        run(dir.path(), &["inspect", "clicks.pb.zst", "bad.pb"], None)
    );
}

#[test]
fn inspect_reports_the_first_decode_error_and_truncation() {
    let dir = fixture();
    assert_cli_snapshot!(
        "inspect_problems",
        run(
            dir.path(),
            &[
                "inspect",
                "-s",
                "click.proto",
                "-m",
                "acme.Click",
                "-f",
                "varint",
                "bad.pb",
                "truncated.pb.gz",
            ],
            None
        )
    );
}

#[test]
fn help_is_written_from_the_doc_comments() {
    let dir = fixture();
    assert_cli_snapshot!(
        "convert_help",
        run(dir.path(), &["convert", "--help"], None)
    );
    assert_cli_snapshot!(
        "inspect_help",
        run(dir.path(), &["inspect", "--help"], None)
    );
}

/// Prints each message of a varint-delimited file as Google's json_format
/// does, one per line.
const ORACLE: &str = r#"
import sys
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.internal.decoder import _DecodeVarint32

descriptor_set, name, path, proto_names, emit_defaults, enum_numbers = sys.argv[1:]
pool = descriptor_pool.Default()
for f in descriptor_pb2.FileDescriptorSet.FromString(open(descriptor_set, "rb").read()).file:
    if not f.name.startswith("google/protobuf/"):
        pool.Add(f)
cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
data = open(path, "rb").read()
pos = 0
while pos < len(data):
    size, pos = _DecodeVarint32(data, pos)
    message = cls.FromString(data[pos:pos + size])
    pos += size
    print(json_format.MessageToJson(
        message,
        indent=None,
        preserving_proto_field_name=proto_names == "1",
        always_print_fields_with_no_presence=emit_defaults == "1",
        use_integers_for_enums=enum_numbers == "1",
    ))
"#;

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn convert_output_matches_google_json_format() {
    protoland_test_kit::require_tools!("python");
    let dir = fixture();
    let schema = Schema::from_proto_source("click.proto", CLICK_PROTO).unwrap();
    std::fs::write(
        dir.path().join("click.binpb"),
        schema.encode_descriptor_set(),
    )
    .unwrap();
    for bits in 0..8u8 {
        let flags = [
            (bits & 1 != 0, "--proto-names"),
            (bits & 2 != 0, "--emit-defaults"),
            (bits & 4 != 0, "--enum-numbers"),
        ];
        let oracle = std::process::Command::new(protoland_test_kit::python())
            .current_dir(dir.path())
            .args(["-c", ORACLE, "click.binpb", "acme.Click", "clicks.pb"])
            .args(flags.iter().map(|(on, _)| if *on { "1" } else { "0" }))
            .output()
            .unwrap();
        assert!(
            oracle.status.success(),
            "{}",
            String::from_utf8_lossy(&oracle.stderr)
        );
        let expected = json_lines(&String::from_utf8(oracle.stdout).unwrap());
        assert_eq!(expected.len(), 5);
        for input in ["clicks.pb.gz", "clicks.pb.zst", "clicks.bin"] {
            let mut args = vec!["convert", "-s", "click.binpb", "-m", "acme.Click"];
            args.extend(flags.iter().filter(|(on, _)| *on).map(|(_, flag)| *flag));
            args.push(input);
            let output = Command::cargo_bin("protoland")
                .unwrap()
                .current_dir(dir.path())
                .args(&args)
                .output()
                .unwrap();
            assert!(output.status.success(), "{args:?}");
            let got = json_lines(&String::from_utf8(output.stdout).unwrap());
            assert_eq!(got, expected, "{args:?}");
        }
    }
}

/// `-o out/` with no `out` directory used to convert everything into a
/// temporary file and fail only at the final rename ("Not a directory"); a
/// missing directory for a file output likewise. Both are refused before
/// any input is opened (the input here does not even exist).
#[test]
fn convert_refuses_a_missing_output_directory_before_any_work() {
    let dir = fixture();
    for (output, error) in [
        (
            "out/",
            "error: output directory out/ does not exist: create it first (mkdir -p out/)\n",
        ),
        (
            "missing/all.ndjson",
            "error: output missing/all.ndjson: directory missing does not exist\n",
        ),
    ] {
        let out = Command::cargo_bin("protoland")
            .unwrap()
            .current_dir(dir.path())
            .args(convert_args(&["-o", output, "no-such-input.pb"]))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{output}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), error);
        assert!(new_files(dir.path()).is_empty(), "{output}");
    }
}

/// Reads the NDJSON (`argv[1]`) and the Parquet file (`argv[2]`) of the
/// same example objects: pyarrow's rows hold each line's values through
/// the documented mapping (defaults where a line leaves a field out,
/// uint64 as decimal, enums as names), and DuckDB counts and sums them.
const PARQUET_READERS: &str = r#"
import decimal, json, sys
import duckdb
import pyarrow.parquet as pq
lines = [json.loads(l) for l in open(sys.argv[1])]
rows = pq.read_table(sys.argv[2]).to_pylist()
assert len(rows) == len(lines), (len(rows), len(lines))
for line, row in zip(lines, rows):
    assert row["eventId"] == line.get("eventId", ""), (row, line)
    assert row["type"] == line.get("type", "EVENT_TYPE_UNSPECIFIED"), (row, line)
    assert row["userId"] == decimal.Decimal(line.get("userId", "0")), (row, line)
    assert row["sequence"] == line.get("sequence", 0), (row, line)
    assert row["value"] == line.get("value", 0.0), (row, line)
    assert row["consent"] == line.get("consent", False), (row, line)
    assert (row["page"] is None) == ("page" not in line), (row, line)
    if row["page"] is not None:
        assert row["page"]["url"] == line["page"].get("url", ""), (row, line)
    assert [i["sku"] for i in row["items"]] == [i.get("sku", "") for i in line.get("items", [])]
    assert dict(row["attributes"]) == line.get("attributes", {}), (row, line)
    if "eventTime" in line:
        assert row["eventTime"].strftime("%Y-%m-%dT%H:%M:%S") == line["eventTime"][:19], (row, line)
count, total = duckdb.sql(
    f"select count(*), sum(sequence) from read_parquet('{sys.argv[2]}')"
).fetchall()[0]
assert count == len(lines), count
assert total == sum(l.get("sequence", 0) for l in lines), total
print(count)
"#;

/// `convert --output-format parquet` of every example object into one
/// file: pyarrow and DuckDB read it, and its rows are the NDJSON's.
#[test]
fn convert_writes_parquet_that_pyarrow_and_duckdb_read() {
    protoland_test_kit::require_tools!("python");
    let root = protoland_test_kit::workspace_root();
    let dir = TempDir::new().unwrap();
    let mut inputs: Vec<_> = std::fs::read_dir(root.join("examples/raw"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    let convert = |extra: &[&str]| {
        let output = Command::cargo_bin("protoland")
            .unwrap()
            .current_dir(&root)
            .args([
                "convert",
                "-s",
                "examples/schema/acme/clicks.proto",
                "-m",
                "acme.clicks.Click",
            ])
            .args(extra)
            .args(&inputs)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    let ndjson = dir.path().join("clicks.ndjson");
    std::fs::write(&ndjson, convert(&[])).unwrap();
    let parquet = dir.path().join("clicks.parquet");
    convert(&[
        "--output-format",
        "parquet",
        "-o",
        parquet.to_str().unwrap(),
    ]);
    let read = std::process::Command::new(protoland_test_kit::python())
        .args(["-c", PARQUET_READERS])
        .args([&ndjson, &parquet])
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let lines = std::fs::read_to_string(&ndjson).unwrap().lines().count();
    assert!(lines > 100, "{lines}");
    assert_eq!(
        String::from_utf8(read.stdout).unwrap().trim(),
        lines.to_string()
    );
    // The same bytes on stdout as in the file.
    let stdout = convert(&["--output-format", "parquet"]);
    assert!(stdout == std::fs::read(&parquet).unwrap());
}

/// A Parquet page level the compression does not take is refused before
/// anything is read, naming the flag and the range.
#[test]
fn convert_refuses_a_parquet_level_its_compression_lacks() {
    let dir = fixture();
    for (extra, words) in [
        (
            &["--parquet-level", "20"][..],
            "--parquet-level: 20 is not a Parquet zstd level: expected 1 to 19",
        ),
        (
            &["--parquet-compression", "snappy", "--parquet-level", "3"][..],
            "--parquet-level: Parquet snappy pages have no level",
        ),
    ] {
        let mut args = convert_args(&["--output-format", "parquet"]);
        args.extend_from_slice(extra);
        args.push("clicks.pb");
        let out = run(dir.path(), &args, None);
        assert!(out.starts_with("exit: 1\n"), "{out}");
        assert!(out.contains(words), "{out}");
    }
}
