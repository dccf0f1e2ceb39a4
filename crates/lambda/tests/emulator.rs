//! The `protoland-lambda` binary under cargo-lambda's runtime emulator:
//! `cargo lambda watch --only-lambda-apis` serves the Lambda
//! runtime API, the binary built by this test run polls it, and
//! `cargo lambda invoke --data-file testdata/events/…` sends the fixtures.
//! The function reads and writes moto's S3 through `AWS_ENDPOINT_URL`. Every
//! response is asserted as exact JSON.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use protoland_stream::Framing;
use protoland_test_kit::{
    CLICK_MESSAGE, Moto, click, expected_ndjson, frame, free_port, get, gunzip, gzip, keys, put,
    store, venv_tool, wait_for_port, workspace_root,
};
use serde_json::{Value, json};

/// A child process killed on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fixture(name: &str) -> PathBuf {
    workspace_root().join("testdata/events").join(name)
}

/// Sends one fixture; returns the function's JSON answer, or the error text.
fn invoke(port: u16, name: &str) -> Result<Value, String> {
    let output = Command::new(venv_tool("cargo-lambda"))
        .args([
            "lambda",
            "invoke",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(port.to_string())
        .arg("--data-file")
        .arg(fixture(name))
        .args(["--output-format", "json", "_"])
        .output()
        .expect("running cargo lambda invoke (run scripts/test)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        return Err(format!("{stdout}{stderr}"));
    }
    serde_json::from_str(stdout.trim()).map_err(|e| format!("{name}: `{stdout}` is not JSON: {e}"))
}

/// The function's command, configured for moto and the emulator on `runtime_port`.
fn function(moto: &Moto, runtime_port: u16, extra: &[(&str, &str)]) -> Command {
    let schema = std::env::temp_dir().join(format!(
        "protoland-lambda-test-{}.proto",
        std::process::id()
    ));
    std::fs::write(&schema, protoland_test_kit::CLICK_PROTO).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_protoland-lambda"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{runtime_port}/.rt"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "_")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("PROTOLAND_SCHEMA", &schema)
        .env("PROTOLAND_MESSAGE", CLICK_MESSAGE)
        .env("PROTOLAND_LANDING", "s3://landing/ndjson")
        .env("PROTOLAND_METRICS", "off")
        .envs(moto.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra {
        command.env(k, v);
    }
    command
}

#[test]
fn answers_fixtures_through_the_runtime_emulator() {
    protoland_test_kit::require_tools!("cargo-lambda", "moto_server", "python");
    // This test's own S3 clients (seeding and reading moto) are built with
    // the function's dependencies: rustls with ring as the provider, which
    // the process must install, as the function's `main` does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let moto = Moto::start();
    moto.create_buckets(&["raw-bucket", "landing"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let raw = store(&moto, "raw-bucket");
    let landing = store(&moto, "landing");
    let messages: Vec<Vec<u8>> = (0..20).map(|i| click(i, 5)).collect();
    let varint = frame(&messages, Framing::Varint);
    runtime.block_on(async {
        for key in ["clicks/2024/one.pb.gz", "clicks/2024/two.pb.gz"] {
            put(&raw, key, gzip(&varint)).await;
        }
        put(&raw, "clicks/2024/three.pb", varint.clone()).await;
        put(&raw, "clicks/good.pb", varint.clone()).await;
        put(&raw, "clicks/a+b c.pb", varint.clone()).await;
        put(&raw, "clicks/day 1/part+1.pb", varint.clone()).await;
        put(&raw, "clicks/café.pb", varint.clone()).await;
        put(
            &raw,
            "orders/2024/03/07/batch 1.pb.zst",
            zstd::encode_all(&varint[..], 3).unwrap(),
        )
        .await;
    });

    let port = free_port();
    let _emulator = Process(
        Command::new(venv_tool("cargo-lambda"))
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(port.to_string())
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting cargo lambda watch (run scripts/test)"),
    );
    wait_for_port(port, "cargo lambda watch", Duration::from_secs(60));
    // The function's logs, shown when an assertion fails.
    let log_path =
        std::env::temp_dir().join(format!("protoland-lambda-test-{}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let _function = Process(
        function(&moto, port, &[])
            .stdout(log)
            .spawn()
            .expect("starting protoland-lambda"),
    );
    eprintln!("function logs: {}", log_path.display());

    let empty = json!({"batchItemFailures": []});
    assert_eq!(invoke(port, "sqs-test-event.json"), Ok(empty.clone()));
    assert_eq!(invoke(port, "sqs-s3-removed.json"), Ok(empty.clone()));
    assert_eq!(invoke(port, "sqs-s3-multi-record.json"), Ok(empty.clone()));
    assert_eq!(invoke(port, "sqs-sns-s3.json"), Ok(empty.clone()));
    assert_eq!(invoke(port, "sqs-eventbridge.json"), Ok(empty.clone()));
    assert_eq!(
        invoke(port, "sqs-partial-bad.json"),
        Ok(json!({"batchItemFailures": [
            {"itemIdentifier": "22222222-2222-4222-8222-222222222222"},
            {"itemIdentifier": "33333333-3333-4333-8333-333333333333"},
        ]}))
    );
    // The EventBridge fixtures name a version of `clicks/a+b c.pb` that
    // this bucket never had: the version is what is read, and a missing
    // object is acknowledged.
    assert_eq!(
        invoke(port, "eventbridge-object-created.json"),
        Ok(json!({"converted": 0, "missing": 1, "quarantined": 0, "skipped": 0, "failures": []}))
    );
    assert_eq!(
        invoke(port, "s3-put.json"),
        Ok(json!({"converted": 1, "missing": 0, "quarantined": 0, "skipped": 0, "failures": []}))
    );
    assert_eq!(
        invoke(port, "batch-operations-2.0.json"),
        Ok(json!({
            "invocationSchemaVersion": "2.0",
            "treatMissingKeysAs": "PermanentFailure",
            "invocationId": "Jr3s8KZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
            "results": [{
                "taskId": "y5R3a2lkZ29lc2hlcmUK",
                "resultCode": "Succeeded",
                "resultString": "converted to s3://landing/ndjson/clicks/café.pb.ndjson.gz",
            }],
        }))
    );

    // Version `1` of the task's object does not exist: acknowledged as missing.
    assert_eq!(
        invoke(port, "batch-operations-1.0.json"),
        Ok(json!({
            "invocationSchemaVersion": "1.0",
            "treatMissingKeysAs": "PermanentFailure",
            "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
            "results": [{
                "taskId": "dGFza2lkZ29lc2hlcmUK",
                "resultCode": "Succeeded",
                "resultString": "object not found",
            }],
        }))
    );

    let expected = expected_ndjson(&messages);
    let landed = runtime.block_on(keys(&landing));
    assert_eq!(
        landed,
        [
            "ndjson/clicks/2024/one.pb.gz.ndjson.gz",
            "ndjson/clicks/2024/three.pb.ndjson.gz",
            "ndjson/clicks/2024/two.pb.gz.ndjson.gz",
            "ndjson/clicks/café.pb.ndjson.gz",
            "ndjson/clicks/day 1/part+1.pb.ndjson.gz",
            "ndjson/clicks/good.pb.ndjson.gz",
            "ndjson/orders/2024/03/07/batch 1.pb.zst.ndjson.gz",
        ]
    );
    for key in &landed {
        let body = gunzip(&runtime.block_on(get(&landing, key)));
        assert!(
            body == expected,
            "{key}: lines differ from the transcoder's"
        );
    }
}

#[test]
fn fails_at_start_up_naming_the_missing_variable() {
    protoland_test_kit::require_tools!("moto_server", "python");
    let moto = Moto::start();
    // No emulator: a bad setting must stop the function before it asks for
    // its first event.
    let output = function(&moto, free_port(), &[("PROTOLAND_LANDING", "")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("running protoland-lambda");
    assert!(!output.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("PROTOLAND_LANDING is not set"), "{text}");
}
