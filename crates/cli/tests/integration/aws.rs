//! The `protoland` binary against a local S3 and SQS (moto's server, started
//! per test on loopback): `convert s3://…`, `worker` and `backfill`. The
//! expected NDJSON is what `protoland convert` prints for the same bytes as a
//! local file, itself checked against Google's json_format in tests/cli.rs.

// Test helpers outside `#[test]` functions: a failed setup should panic.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use protoland_test_kit::{Moto, workspace_root};

const MESSAGE: &str = "acme.clicks.Click";

fn schema() -> PathBuf {
    workspace_root().join("examples/schema/acme/clicks.proto")
}

fn example(name: &str) -> PathBuf {
    workspace_root().join("examples/raw").join(name)
}

fn protoland(moto: &Moto, args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("protoland").unwrap();
    cmd.args(args).env("RUST_LOG", "warn");
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// What `protoland convert` prints for a local file.
fn local_ndjson(path: &Path) -> String {
    let out = Command::cargo_bin("protoland")
        .unwrap()
        .args(["convert", "-s"])
        .arg(schema())
        .args(["-m", MESSAGE])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() > 0, "the example {path:?} is empty");
    text
}

fn upload(moto: &Moto, bucket: &str, key: &str, file: &Path) {
    moto.boto(&format!(
        "s3.upload_file({:?}, '{bucket}', '{key}')",
        file.to_str().unwrap()
    ));
}

fn upload_bytes(moto: &Moto, bucket: &str, key: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("object");
    std::fs::write(&path, bytes).unwrap();
    upload(moto, bucket, key, &path);
}

/// Keys in a bucket, sorted.
fn keys(moto: &Moto, bucket: &str) -> Vec<String> {
    let listed = moto.boto(&format!(
        "result = sorted(o['Key'] for o in s3.list_objects_v2(Bucket='{bucket}').get('Contents', []))"
    ));
    serde_json::from_value(listed).unwrap()
}

/// An object's text, gunzipped when its key ends in `.gz`.
fn text(moto: &Moto, bucket: &str, key: &str) -> String {
    let value = moto.boto(&format!(
        "import gzip\n\
         body = s3.get_object(Bucket='{bucket}', Key='{key}')['Body'].read()\n\
         result = (gzip.decompress(body) if '{key}'.endswith('.gz') else body).decode()"
    ));
    value.as_str().unwrap().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn convert_streams_an_s3_object_like_a_local_file() {
    protoland_test_kit::require_tools!("moto_server", "python");
    let moto = Moto::start();
    moto.create_buckets(&["raw"]);
    let file = example("clicks-0001.pb.gz");
    upload(&moto, "raw", "in/clicks 0001.pb.gz", &file);

    let schema = schema();
    let out = protoland(
        &moto,
        &[
            "convert",
            "-s",
            schema.to_str().unwrap(),
            "-m",
            MESSAGE,
            "s3://raw/in/clicks 0001.pb.gz",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), local_ndjson(&file));
}

/// What a user types for an ad-hoc run: a glob or a prefix of a bucket,
/// into a directory. Only the matching keys are converted, each into its own
/// file, and a glob that matches nothing is an error, not an empty success.
#[test]
fn convert_lists_s3_globs_and_prefixes_into_a_directory() {
    protoland_test_kit::require_tools!("moto_server", "python");
    let moto = Moto::start();
    moto.create_buckets(&["raw"]);
    let gz = example("clicks-0001.pb.gz");
    let zst = example("clicks-0003.pb.zst");
    upload(&moto, "raw", "2026/11/a.pb.gz", &gz);
    upload(&moto, "raw", "2026/11/b.pb.zst", &zst);
    upload(&moto, "raw", "2026/11/deeper/c.pb.gz", &gz);
    upload(&moto, "raw", "2026/12/d.pb.gz", &gz);
    let schema = schema();
    let schema = schema.to_str().unwrap();
    let files = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };

    // `convert` of the example schema's inputs into a directory.
    let convert_into = |dir: &Path, inputs: &[&str]| {
        let dir = dir.to_str().unwrap();
        let mut args = vec!["convert", "-s", schema, "-m", MESSAGE, "-o", dir];
        args.extend_from_slice(inputs);
        protoland(&moto, &args)
    };

    let glob_out = tempfile::tempdir().unwrap();
    let out = convert_into(glob_out.path(), &["s3://raw/2026/11/*.pb.gz"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(files(glob_out.path()), ["a.ndjson"]);
    assert_eq!(
        std::fs::read_to_string(glob_out.path().join("a.ndjson")).unwrap(),
        local_ndjson(&gz)
    );

    let prefix_out = tempfile::tempdir().unwrap();
    let out = convert_into(
        prefix_out.path(),
        &["s3://raw/2026/11/deeper/", "s3://raw/2026/11/b*"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(files(prefix_out.path()), ["b.ndjson", "c.ndjson"]);
    assert_eq!(
        std::fs::read_to_string(prefix_out.path().join("b.ndjson")).unwrap(),
        local_ndjson(&zst)
    );

    let out = protoland(
        &moto,
        &["convert", "-s", schema, "-m", MESSAGE, "s3://raw/2025/*.pb"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "error: s3://raw/2025/*.pb names no object\n");
}

#[test]
fn convert_names_the_bucket_and_key_of_a_missing_object() {
    protoland_test_kit::require_tools!("moto_server", "python");
    let moto = Moto::start();
    moto.create_buckets(&["raw"]);
    let schema = schema();
    let out = protoland(
        &moto,
        &[
            "convert",
            "-s",
            schema.to_str().unwrap(),
            "-m",
            MESSAGE,
            "s3://raw/nothing-here.pb",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    // One line naming the object, without S3's XML answer.
    assert_eq!(
        stderr(&out),
        "error: opening s3://raw/nothing-here.pb: no such object (S3 answered 404 Not Found)\n"
    );
}

#[test]
fn worker_lands_every_notified_object_and_leaves_the_bad_one_queued() {
    protoland_test_kit::require_tools!("moto_server", "python");
    let moto = Moto::start();
    moto.create_buckets(&["raw", "landing"]);
    let (queue_url, _dlq) = moto.notifying_queue("raw", "events", 5, 30);
    // Drop the s3:TestEvent sent when the notification was configured.
    moto.boto(&format!("sqs.purge_queue(QueueUrl='{queue_url}')"));
    for name in ["clicks-0001.pb.gz", "clicks-0002.pb", "clicks-0003.pb.zst"] {
        upload(&moto, "raw", &format!("clicks/{name}"), &example(name));
    }
    upload_bytes(
        &moto,
        "raw",
        "clicks/broken.pb.gz",
        b"\x1f\x8b\x08\x00broken",
    );

    let schema = schema();
    let out = protoland(
        &moto,
        &[
            "worker",
            "--queue-url",
            &queue_url,
            "--until-empty",
            "--wait-seconds",
            "1",
            "--retry-delay",
            "60",
            "-s",
            schema.to_str().unwrap(),
            "-m",
            MESSAGE,
            "--landing",
            "s3://landing/ndjson",
            "--metrics",
            "off",
        ],
    );
    // A drain that leaves a failure behind exits 1, as a backfill does.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).ends_with(
            "error: 1 message failed, left on the queue for redelivery (see the `object failed` lines)\n"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        keys(&moto, "landing"),
        [
            "ndjson/clicks/clicks-0001.pb.gz.ndjson.gz",
            "ndjson/clicks/clicks-0002.pb.ndjson.gz",
            "ndjson/clicks/clicks-0003.pb.zst.ndjson.gz",
        ]
    );
    for name in ["clicks-0001.pb.gz", "clicks-0002.pb", "clicks-0003.pb.zst"] {
        assert_eq!(
            text(&moto, "landing", &format!("ndjson/clicks/{name}.ndjson.gz")),
            local_ndjson(&example(name)),
            "{name}"
        );
    }
    // The corrupt object's notification was not deleted: it waits (invisible
    // for the retry delay) for its next receive, and then the dead-letter queue.
    let left = moto.boto(&format!(
        "a = sqs.get_queue_attributes(QueueUrl='{queue_url}', AttributeNames=['All'])['Attributes']\n\
         result = [a['ApproximateNumberOfMessages'], a['ApproximateNumberOfMessagesNotVisible']]"
    ));
    assert_eq!(left, serde_json::json!(["0", "1"]));
    let err = stderr(&out);
    assert!(err.contains("s3://raw/clicks/broken.pb.gz"), "{err}");
}

#[test]
fn backfill_converts_a_prefix_once_and_skips_what_has_landed() {
    protoland_test_kit::require_tools!("moto_server", "python");
    let moto = Moto::start();
    moto.create_buckets(&["raw", "landing"]);
    for name in ["clicks-0001.pb.gz", "clicks-0002.pb"] {
        upload(&moto, "raw", &format!("2026/{name}"), &example(name));
    }
    let schema = schema();
    let args = [
        "backfill",
        "s3://raw/2026/",
        "-s",
        schema.to_str().unwrap(),
        "-m",
        MESSAGE,
        "--landing",
        "s3://landing/out",
        "--output-compression",
        "none",
    ];
    let first = protoland(&moto, &args);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("2 objects listed, 2 converted, 0 already landed"),
        "{}",
        stderr(&first)
    );
    assert_eq!(
        keys(&moto, "landing"),
        [
            "out/2026/clicks-0001.pb.gz.ndjson",
            "out/2026/clicks-0002.pb.ndjson"
        ]
    );
    assert_eq!(
        text(&moto, "landing", "out/2026/clicks-0002.pb.ndjson"),
        local_ndjson(&example("clicks-0002.pb"))
    );

    let again = protoland(&moto, &args);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("2 objects listed, 0 converted, 2 already landed"),
        "{}",
        stderr(&again)
    );
}
