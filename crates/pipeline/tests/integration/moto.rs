//! The pipeline against moto's S3 and SQS servers: a real bucket notification configuration feeding a queue,
//! the worker draining it, landing objects checked line by line against the
//! transcoder's output for the same messages; and fault tests through a
//! proxy that breaks S3 responses.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use protoland_pipeline::Pipeline;
use protoland_pipeline::{BadObjectPolicy, Settings};
use protoland_pipeline::{Invocation, QueueMessage};
use protoland_pipeline::{Location, StorageOptions};
use protoland_pipeline::{WorkerOptions, run_worker};
use protoland_stream::Framing;
use protoland_test_kit::{
    Fault, FaultKind, FaultProxy, Moto, click, expected_ndjson, frame, get, gunzip, gzip, keys,
    put, sqs_event, store,
};
use serde_json::json;

use crate::{click_settings, failed, no_failures, response_json, runtime_test};

fn settings(moto: &Moto, storage: StorageOptions) -> Settings {
    let mut s = click_settings(Location::parse("s3://landing/ndjson").unwrap());
    s.storage = storage;
    s.retry_backoff = Duration::from_millis(20);
    let _ = moto;
    s
}

/// A moto server of this test's own with the buckets `raw` and `landing`,
/// and their stores.
struct Stack {
    moto: Moto,
    raw: Arc<dyn ObjectStore>,
    landing: Arc<dyn ObjectStore>,
}

impl Stack {
    fn start() -> Stack {
        let moto = Moto::start();
        moto.create_buckets(&["raw", "landing"]);
        Stack {
            raw: store(&moto, "raw"),
            landing: store(&moto, "landing"),
            moto,
        }
    }
}

/// (source key, object bytes, its messages, expected landing key)
type Case<'a> = (&'a str, Vec<u8>, &'a [Vec<u8>], &'a str);

#[test]
fn worker_drains_a_notifying_queue_into_the_landing_bucket() {
    needs_moto!();
    runtime_test(async {
        let moto = Moto::start();
        moto.create_buckets(&["raw", "landing"]);
        let (queue_url, dlq_url) = moto.notifying_queue("raw", "raw-events", 2, 30);
        let raw = store(&moto, "raw");
        let landing = store(&moto, "landing");

        let small: Vec<Vec<u8>> = (0..100).map(|i| click(i, 8)).collect();
        let one = vec![click(7, 20)];
        let fixed: Vec<Vec<u8>> = (0..50).map(|i| click(i + 1000, 4)).collect();
        // Large enough that the gzip output spans several 5 MiB parts.
        let large: Vec<Vec<u8>> = (0..60_000).map(|i| click(i, 300)).collect();
        let cases: Vec<Case<'_>> = vec![
            (
                "clicks/a b+c/café ✓.pb.gz",
                gzip(&frame(&small, Framing::Varint)),
                &small,
                "ndjson/clicks/a b+c/café ✓.pb.gz.ndjson.gz",
            ),
            (
                "clicks/one single.pb",
                frame(&one, Framing::Single),
                &one,
                "ndjson/clicks/one single.pb.ndjson.gz",
            ),
            (
                "clicks/fixed.bin.zst",
                zstd::encode_all(&frame(&fixed, Framing::Fixed32)[..], 3).unwrap(),
                &fixed,
                "ndjson/clicks/fixed.bin.zst.ndjson.gz",
            ),
            (
                "clicks/large.pb",
                frame(&large, Framing::Varint),
                &large,
                "ndjson/clicks/large.pb.ndjson.gz",
            ),
        ];
        for (key, data, _, _) in &cases {
            put(&raw, key, data.clone()).await;
        }
        // Not protobuf at all: every framing fails to parse.
        put(
            &raw,
            "clicks/corrupt.pb",
            b"\xff\xff\xff\xff this is not protobuf \x00\x01".to_vec(),
        )
        .await;

        let mut s = settings(&moto, moto.storage_options());
        s.part_size = 5 << 20;
        let pipeline = Pipeline::start(s, "worker").await.unwrap();
        let mut options = draining(&queue_url);
        options.retry_delay = Some(Duration::ZERO);
        let summary = run_worker(
            &pipeline,
            &moto.sqs_client(),
            &options,
            std::future::pending(),
        )
        .await
        .unwrap();
        eprintln!("{summary:?}");

        let mut expected_keys: Vec<String> = cases.iter().map(|c| c.3.to_owned()).collect();
        expected_keys.sort();
        assert_eq!(
            keys(&landing).await,
            expected_keys,
            "exactly the good objects landed"
        );
        for (key, _, messages, landing_key) in &cases {
            let got = gunzip(&get(&landing, landing_key).await);
            assert!(
                got == expected_ndjson(messages),
                "{key}: landing lines differ from the transcoder's"
            );
        }
        assert_eq!(summary.stats.objects, 4);
        assert_eq!(summary.in_flight_at_exit, Some(0), "{summary:?}");
        assert!(
            summary.stats.bytes_out > 10 << 20,
            "the large object went multipart: {summary:?}"
        );
        assert!(moto.open_multipart_uploads("landing").is_empty());

        // The corrupt object's notification ended in the dead-letter queue.
        let dead = moto.queue_bodies(&dlq_url);
        assert_eq!(dead.len(), 1, "{dead:?}");
        let records = protoland_pipeline::parse_body(&dead[0]).unwrap();
        assert!(
            matches!(&records[..], [protoland_pipeline::Record::Created(o)] if o.key == "clicks/corrupt.pb"),
            "{}",
            dead[0]
        );
        assert!(moto.queue_bodies(&queue_url).is_empty());
    });
}

#[test]
fn quarantines_bad_objects_and_acknowledges_them() {
    needs_moto!();
    runtime_test(async {
        let Stack { moto, raw, landing } = Stack::start();
        let good: Vec<Vec<u8>> = (0..3).map(|i| click(i, 3)).collect();
        put(&raw, "clicks/good.pb", frame(&good, Framing::Varint)).await;
        // A valid first message, then a string field whose length runs past the end.
        let mut bad = frame(&good, Framing::Varint);
        bad.extend_from_slice(b"\x05\x0a\x7fabc");
        put(&raw, "clicks/bad.pb", bad).await;

        let mut s = settings(&moto, moto.storage_options());
        s.framing = Framing::Varint;
        s.on_bad_object = BadObjectPolicy::Quarantine;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event("raw", &["clicks/good.pb", "clicks/bad.pb"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!((stats.objects, stats.quarantined), (1, 1));
        assert_eq!(
            keys(&landing).await,
            [
                "ndjson/_quarantine/raw/clicks/bad.pb.error.json",
                "ndjson/clicks/good.pb.ndjson.gz"
            ]
        );
        let report: serde_json::Value = serde_json::from_slice(
            &get(&landing, "ndjson/_quarantine/raw/clicks/bad.pb.error.json").await,
        )
        .unwrap();
        assert_eq!(report["source"], "s3://raw/clicks/bad.pb");
        assert_eq!(report["key"], "clicks/bad.pb");
        assert_eq!(report["messageIndex"], 3);
        assert!(report["byteOffset"].is_u64(), "{report}");
        assert!(
            report["error"].as_str().unwrap().contains("clicks/bad.pb"),
            "{report}"
        );
    });
}

#[test]
fn redelivered_message_rewrites_the_same_object_with_the_same_bytes() {
    needs_moto!();
    runtime_test(async {
        let Stack { moto, raw, landing } = Stack::start();
        let messages: Vec<Vec<u8>> = (0..500).map(|i| click(i, 16)).collect();
        put(
            &raw,
            "clicks/again.pb.gz",
            gzip(&frame(&messages, Framing::Varint)),
        )
        .await;
        for output in ["gzip", "zstd"] {
            let mut s = settings(&moto, moto.storage_options());
            s.output_compression = output.parse().unwrap();
            let pipeline = Pipeline::start(s, "lambda").await.unwrap();
            let key = format!(
                "ndjson/clicks/again.pb.gz.ndjson.{}",
                if output == "gzip" { "gz" } else { "zst" }
            );
            let (first, _) = pipeline
                .handle(sqs_event("raw", &["clicks/again.pb.gz"]), None)
                .await;
            let first_bytes = get(&landing, &key).await;
            let (second, _) = pipeline
                .handle(sqs_event("raw", &["clicks/again.pb.gz"]), None)
                .await;
            assert_eq!(response_json(&first), no_failures());
            assert_eq!(response_json(&second), no_failures());
            assert_eq!(
                get(&landing, &key).await,
                first_bytes,
                "{output}: same bytes on redelivery"
            );
        }
        assert_eq!(
            keys(&landing).await.len(),
            2,
            "one object per output compression, no duplicates"
        );
    });
}

#[test]
fn acknowledges_missing_objects_removals_and_test_events() {
    needs_moto!();
    runtime_test(async {
        let moto = Moto::start();
        moto.create_buckets(&["raw", "landing"]);
        let pipeline = Pipeline::start(settings(&moto, moto.storage_options()), "lambda")
            .await
            .unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event("raw", &["clicks/gone.pb"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.missing, 1);
        for fixture in ["sqs-test-event.json", "sqs-s3-removed.json"] {
            let text = std::fs::read_to_string(format!(
                "{}/../../testdata/events/{fixture}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            let event = Invocation::from_value(serde_json::from_str(&text).unwrap()).unwrap();
            let (response, stats) = pipeline.handle(event, None).await;
            assert_eq!(response_json(&response), no_failures(), "{fixture}");
            assert_eq!(stats.skipped, 1, "{fixture}");
        }
        assert!(keys(&store(&moto, "landing")).await.is_empty());
    });
}

#[test]
fn recovers_from_s3_errors_mid_stream() {
    needs_moto!();
    runtime_test(async {
        let Stack { moto, raw, landing } = Stack::start();
        let proxy = FaultProxy::start(moto.port).await;
        let messages: Vec<Vec<u8>> = (0..2000).map(|i| click(i, 40)).collect();
        put(&raw, "clicks/flaky.pb", frame(&messages, Framing::Varint)).await;
        // The first GET is cut after 10 kB, the next answered with SlowDown.
        proxy.add(Fault {
            method: "GET",
            path_contains: "flaky".into(),
            kind: FaultKind::CutBody { after: 10_000 },
            times: 1,
        });
        proxy.add(Fault {
            method: "GET",
            path_contains: "flaky".into(),
            kind: FaultKind::SlowDown,
            times: 1,
        });
        let mut s = settings(&moto, moto.storage_options_via(proxy.port));
        s.storage.retry.backoff.init_backoff = Duration::from_millis(10);
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, stats) = pipeline
            .handle(sqs_event("raw", &["clicks/flaky.pb"]), None)
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.objects, 1);
        assert_eq!(proxy.injected(), 2);
        assert!(
            gunzip(&get(&landing, "ndjson/clicks/flaky.pb.ndjson.gz").await)
                == expected_ndjson(&messages)
        );
    });
}

#[test]
fn reports_persistent_s3_failures_after_bounded_retries() {
    needs_moto!();
    runtime_test(async {
        let Stack { moto, raw, landing } = Stack::start();
        let proxy = FaultProxy::start(moto.port).await;
        put(&raw, "clicks/ok.pb", click(1, 1)).await;
        put(&raw, "clicks/throttled.pb", click(2, 1)).await;
        proxy.add(Fault {
            method: "GET",
            path_contains: "throttled".into(),
            kind: FaultKind::SlowDown,
            times: usize::MAX,
        });
        let mut s = settings(&moto, moto.storage_options_via(proxy.port));
        s.framing = Framing::Single;
        s.storage.retry.max_retries = 1;
        s.storage.retry.backoff.init_backoff = Duration::from_millis(5);
        s.max_attempts = 2;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let started = std::time::Instant::now();
        let (response, stats) = pipeline
            .handle(
                sqs_event("raw", &["clicks/ok.pb", "clicks/throttled.pb"]),
                None,
            )
            .await;
        assert_eq!(response_json(&response), failed(&["m1"]));
        assert_eq!((stats.objects, stats.failures), (1, 1));
        // 2 attempts × (1 request + 1 retry).
        assert_eq!(proxy.injected(), 4);
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(keys(&landing).await, ["ndjson/clicks/ok.pb.ndjson.gz"]);
    });
}

#[test]
fn aborts_the_multipart_upload_when_a_part_fails() {
    needs_moto!();
    runtime_test(async {
        let Stack { moto, raw, landing } = Stack::start();
        let proxy = FaultProxy::start(moto.port).await;
        let messages: Vec<Vec<u8>> = (0..40_000).map(|i| click(i, 300)).collect();
        put(&raw, "clicks/big.pb", frame(&messages, Framing::Varint)).await;
        // Every part upload (PUT with partNumber) is refused.
        proxy.add(Fault {
            method: "PUT",
            path_contains: "partNumber=".into(),
            kind: FaultKind::SlowDown,
            times: usize::MAX,
        });
        let mut s = settings(&moto, moto.storage_options_via(proxy.port));
        s.part_size = 5 << 20;
        s.output_compression = "none".parse().unwrap();
        s.storage.retry.max_retries = 0;
        s.max_attempts = 1;
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let (response, _) = pipeline
            .handle(sqs_event("raw", &["clicks/big.pb"]), None)
            .await;
        assert_eq!(response_json(&response), failed(&["m0"]));
        assert!(proxy.injected() >= 1);
        assert!(keys(&landing).await.is_empty(), "no partial object");
        assert!(
            moto.open_multipart_uploads("landing").is_empty(),
            "the upload was aborted"
        );
    });
}

#[test]
fn stops_starting_objects_when_the_deadline_is_near() {
    needs_moto!();
    runtime_test(async {
        let Stack { moto, raw, landing } = Stack::start();
        let proxy = FaultProxy::start(moto.port).await;
        for key in ["clicks/1.pb", "clicks/2.pb", "clicks/3.pb"] {
            put(&raw, key, click(1, 1)).await;
        }
        proxy.add(Fault {
            method: "GET",
            path_contains: "clicks/1.pb".into(),
            kind: FaultKind::Delay(Duration::from_secs(2)),
            times: 1,
        });
        let mut s = settings(&moto, moto.storage_options_via(proxy.port));
        s.concurrency = 1;
        // The first object (delayed 2 s) must end after the margin is
        // reached (1.5 s in) and before in-flight work is cut (5.5 s in):
        // wide enough for a loaded machine.
        s.deadline_margin = Duration::from_millis(4500);
        let pipeline = Pipeline::start(s, "lambda").await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
        let (response, stats) = pipeline
            .handle(
                sqs_event("raw", &["clicks/1.pb", "clicks/2.pb", "clicks/3.pb"]),
                Some(deadline),
            )
            .await;
        assert_eq!(response_json(&response), failed(&["m1", "m2"]));
        assert_eq!((stats.objects, stats.not_started), (1, 2));
        assert!(
            tokio::time::Instant::now() < deadline,
            "answered before the deadline"
        );
        // Objects start in the batch's order, so the one that ran is the first.
        assert_eq!(keys(&landing).await, ["ndjson/clicks/1.pb.ndjson.gz"]);
    });
}

#[test]
fn reads_s3_urls_through_a_blocking_reader() {
    needs_moto!();
    let moto = Moto::start();
    moto.create_buckets(&["raw"]);
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(put(&store(&moto, "raw"), "big file ✓.pb", data.clone()));
    let mut reader =
        protoland_pipeline::UrlReader::open("s3://raw/big file ✓.pb", moto.storage_options())
            .unwrap();
    assert_eq!(reader.size(), data.len() as u64);
    let mut read = Vec::new();
    reader.read_to_end(&mut read).unwrap();
    assert!(read == data);
    let missing = protoland_pipeline::UrlReader::open("s3://raw/nope.pb", moto.storage_options())
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(protoland_pipeline::UrlReader::open("s3://raw", moto.storage_options()).is_err());
}

/// Worker options that drain `queue_url` and stop, with 1 s receives.
fn draining(queue_url: &str) -> WorkerOptions {
    let mut options = WorkerOptions::new(queue_url);
    options.until_empty = true;
    options.wait_time = Duration::from_secs(1);
    options
}

/// One receive from `queue_url`, as another consumer would (1 s wait).
async fn receive(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput {
    client
        .receive_message()
        .queue_url(queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap()
}

/// Buckets `raw` and `landing`, and a queue `name` that `raw`'s
/// notifications feed (5 receives, then its dead-letter queue), emptied of
/// the s3:TestEvent sent when the notification was configured. Returns the
/// queue's URL and a client.
async fn raw_queue(moto: &Moto, name: &str, visibility_s: u32) -> (String, aws_sdk_sqs::Client) {
    moto.create_buckets(&["raw", "landing"]);
    let (queue_url, _) = moto.notifying_queue("raw", name, 5, visibility_s);
    let client = moto.sqs_client();
    let _ = client.purge_queue().queue_url(&queue_url).send().await;
    (queue_url, client)
}

#[test]
fn worker_until_empty_reports_the_messages_another_consumer_holds() {
    needs_moto!();
    runtime_test(async {
        let moto = Moto::start();
        let (queue_url, client) = raw_queue(&moto, "held-events", 60).await;
        let raw = store(&moto, "raw");
        put(&raw, "clicks/held.pb", click(1, 1)).await;
        // Another consumer holds the first notification for a minute.
        let held = receive(&client, &queue_url).await;
        assert_eq!(held.messages().len(), 1, "{held:?}");
        put(&raw, "clicks/free.pb", click(2, 1)).await;

        let pipeline = Pipeline::start(settings(&moto, moto.storage_options()), "worker")
            .await
            .unwrap();
        let options = draining(&queue_url);
        let summary = run_worker(&pipeline, &client, &options, std::future::pending())
            .await
            .unwrap();
        assert_eq!((summary.received, summary.deleted), (1, 1), "{summary:?}");
        assert_eq!(summary.in_flight_at_exit, Some(1), "{summary:?}");
        assert_eq!(
            keys(&store(&moto, "landing")).await,
            ["ndjson/clicks/free.pb.ndjson.gz"]
        );
    });
}

#[test]
fn worker_keeps_a_long_conversion_invisible_to_other_consumers() {
    needs_moto!();
    runtime_test(async {
        let moto = Moto::start();
        // A 3 s visibility timeout and a conversion held up for 7 s: without
        // the heartbeat another consumer would receive the message.
        let (queue_url, client) = raw_queue(&moto, "slow-events", 3).await;
        let proxy = FaultProxy::start(moto.port).await;
        proxy.add(Fault {
            method: "GET",
            path_contains: "slow.pb".into(),
            kind: FaultKind::Delay(Duration::from_secs(7)),
            times: 1,
        });
        put(&store(&moto, "raw"), "clicks/slow.pb", click(1, 1)).await;

        let pipeline = Pipeline::start(
            settings(&moto, moto.storage_options_via(proxy.port)),
            "worker",
        )
        .await
        .unwrap();
        let options = draining(&queue_url);
        let worker = tokio::spawn({
            let client = client.clone();
            async move { run_worker(&pipeline, &client, &options, std::future::pending()).await }
        });
        tokio::time::sleep(Duration::from_millis(4500)).await;
        let other = receive(&client, &queue_url).await;
        assert!(
            other.messages().is_empty(),
            "redelivered while in progress: {other:?}"
        );
        let summary = worker.await.unwrap().unwrap();
        assert_eq!((summary.received, summary.deleted), (1, 1), "{summary:?}");
        assert_eq!(proxy.injected(), 1);
        assert_eq!(
            keys(&store(&moto, "landing")).await,
            ["ndjson/clicks/slow.pb.ndjson.gz"]
        );
    });
}

#[test]
fn converts_an_object_named_twice_in_a_batch_once() {
    needs_moto!();
    runtime_test(async {
        let moto = Moto::start();
        moto.create_buckets(&["raw", "landing"]);
        put(&store(&moto, "raw"), "clicks/twice.pb", click(3, 3)).await;
        let pipeline = Pipeline::start(settings(&moto, moto.storage_options()), "lambda")
            .await
            .unwrap();
        let (response, stats) = pipeline
            .handle(
                sqs_event("raw", &["clicks/twice.pb", "clicks/twice.pb"]),
                None,
            )
            .await;
        assert_eq!(response_json(&response), no_failures());
        assert_eq!(stats.objects, 1);
    });
}

#[test]
fn worker_finishes_the_batch_in_progress_on_shutdown() {
    needs_moto!();
    runtime_test(async {
        let moto = Moto::start();
        let (queue_url, client) = raw_queue(&moto, "stop-events", 30).await;
        let proxy = FaultProxy::start(moto.port).await;
        proxy.add(Fault {
            method: "GET",
            path_contains: "first.pb".into(),
            kind: FaultKind::Delay(Duration::from_secs(3)),
            times: 1,
        });
        let raw = store(&moto, "raw");
        put(&raw, "clicks/first.pb", click(1, 1)).await;
        let pipeline = Pipeline::start(
            settings(&moto, moto.storage_options_via(proxy.port)),
            "worker",
        )
        .await
        .unwrap();
        let mut options = WorkerOptions::new(queue_url.clone());
        options.wait_time = Duration::from_secs(1);
        // SIGTERM arrives 1.5 s in, while the first object is converting;
        // another object lands after it.
        let shutdown = tokio::time::sleep(Duration::from_millis(1500));
        let worker = tokio::spawn({
            let client = client.clone();
            async move { run_worker(&pipeline, &client, &options, shutdown).await }
        });
        tokio::time::sleep(Duration::from_millis(2000)).await;
        put(&raw, "clicks/second.pb", click(2, 1)).await;
        let summary = worker.await.unwrap().unwrap();
        assert_eq!((summary.received, summary.deleted), (1, 1), "{summary:?}");
        assert_eq!(
            keys(&store(&moto, "landing")).await,
            ["ndjson/clicks/first.pb.ndjson.gz"]
        );
        let left = moto.queue_bodies(&queue_url);
        assert_eq!(
            left.len(),
            1,
            "the second object's notification waits for the next worker"
        );
        assert!(left[0].contains("second.pb"), "{}", left[0]);
    });
}

/// An event naming bucket `../etc` was read: the path-style request
/// `endpoint/../etc/key` is normalised to bucket `etc`, and its object
/// converted. Now the message naming it fails (to the dead-letter queue
/// after `maxReceiveCount`), nothing is read from `etc`, and the other
/// messages of the batch convert.
#[test]
fn a_bucket_name_that_s3_would_not_send_fails_only_its_message() {
    needs_moto!();
    runtime_test(async {
        let moto = Moto::start();
        moto.create_buckets(&["raw", "etc", "landing"]);
        let messages: Vec<Vec<u8>> = (0..3).map(|i| click(i, 3)).collect();
        put(
            &store(&moto, "raw"),
            "clicks/a.pb",
            frame(&messages, Framing::Varint),
        )
        .await;
        put(
            &store(&moto, "etc"),
            "clicks/secret.pb",
            frame(&messages, Framing::Varint),
        )
        .await;
        let pipeline = Pipeline::start(settings(&moto, moto.storage_options()), "lambda")
            .await
            .unwrap();
        let body = |bucket: &str, key: &str| {
            json!({"Records": [{
                "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key}}
            }]})
            .to_string()
        };
        let event = Invocation::Sqs(vec![
            QueueMessage::from_body("good", &body("raw", "clicks/a.pb")),
            QueueMessage::from_body("traversal", &body("../etc", "clicks/secret.pb")),
        ]);
        let (response, stats) = pipeline.handle(event, None).await;
        assert_eq!(response_json(&response), failed(&["traversal"]));
        assert_eq!((stats.objects, stats.failures), (1, 1));
        assert_eq!(
            keys(&store(&moto, "landing")).await,
            ["ndjson/clicks/a.pb.ndjson.gz"]
        );

        // A direct invocation says which bucket and why.
        let direct: serde_json::Value =
            serde_json::from_str(&body("../etc", "clicks/secret.pb")).unwrap();
        let error = pipeline.handle_value(direct, None).await.unwrap_err();
        assert!(
            error
                .to_string()
                .contains("bucket `../etc` is not a valid S3 bucket name: it contains '/'"),
            "{error}"
        );
        assert_eq!(
            keys(&store(&moto, "landing")).await,
            ["ndjson/clicks/a.pb.ndjson.gz"]
        );
    });
}
