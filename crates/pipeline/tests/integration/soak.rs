//! A bounded soak: objects of mixed sizes, framings and
//! compressions (some corrupt) land in a bucket whose notifications feed a
//! queue; the SQS worker drains it through fault-injecting proxies, which
//! fail a fraction of all S3 requests (500, 503 SlowDown, dropped
//! connections, bodies cut mid-stream) and of the worker's SQS requests
//! (500, 503, dropped connections, answers lost after SQS acted). At the end: every good object's
//! landing object is exactly the transcoder's NDJSON, every bad object's
//! notification is in the dead-letter queue, nothing else landed, no
//! multipart upload is open, and memory stayed within a bound derived from
//! the design (see `memory_bound`).
//!
//! Sized for CI by default; `PROTOLAND_SOAK_OBJECTS=N` runs more (and
//! `PROTOLAND_SOAK_FAULT_ONE_IN=K` sets the S3 fault rate to 1 request in K,
//! `PROTOLAND_SOAK_SQS_FAULT_ONE_IN=K` the SQS one).
//! The figures are printed at the end (run with `--nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use protoland_pipeline::Location;
use protoland_pipeline::Pipeline;
use protoland_pipeline::{Record, parse_body};
use protoland_pipeline::{WorkerOptions, run_worker};
use protoland_stream::Framing;
use protoland_test_kit::{
    FaultKind, FaultProxy, Moto, RandomFaults, click, expected_ndjson, frame, get, gunzip, gzip_at,
    keys, put, sqs_client_for, store, string_field, varint,
};

/// Objects in the default (CI) run.
const DEFAULT_OBJECTS: usize = 300;
/// One S3 request in this many gets a fault by default.
const DEFAULT_FAULT_ONE_IN: u64 = 12;
/// One SQS request of the workers in this many gets a fault by default.
const DEFAULT_SQS_FAULT_ONE_IN: u64 = 8;
/// Workers draining the queue at once, and objects each converts at once.
/// One worker: moto's SQS is not safe under concurrent receives (two
/// receives moving the same message to the dead-letter queue fail with 500
/// after marking other messages received; enough of those send good
/// messages to the dead-letter queue unprocessed, which real SQS does not).
const WORKERS: usize = 1;
const CONCURRENCY: usize = 8;
const PART_SIZE: usize = 5 << 20;

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// What object `i` is. Every 20th is corrupt; one in 400 is large enough
/// for a multipart upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Corrupt(u8),
    Empty,
    Single,
    Gzip,
    Zstd,
    MultiMember,
    Plain,
    Medium,
    OddKey,
    Large,
}

fn kind(i: usize) -> Kind {
    if i % 400 == 3 {
        return Kind::Large;
    }
    match i % 20 {
        0 => Kind::Corrupt(((i / 20) % 4) as u8),
        1 => Kind::Empty,
        2 => Kind::Single,
        3 | 4 => Kind::Gzip,
        5 | 6 => Kind::Zstd,
        7 => Kind::MultiMember,
        18 => Kind::Medium,
        19 => Kind::OddKey,
        _ => Kind::Plain,
    }
}

/// The messages of object `i` (good objects only).
fn messages(i: usize) -> Vec<Vec<u8>> {
    let base = (i as u64) * 100_000;
    let (count, pad) = match kind(i) {
        Kind::Empty | Kind::Corrupt(_) => (0, 0),
        Kind::Single => (1, 40),
        Kind::Medium => (3000, 60),
        Kind::Large => (40_000, 300),
        _ => (1 + (i * 37) % 200, (i * 13) % 120),
    };
    (0..count).map(|j| click(base + j as u64, pad)).collect()
}

/// One gzip member at the fastest level (the soak makes thousands).
fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_at(data, flate2::Compression::fast())
}

/// Key and bytes of object `i`.
fn object(i: usize) -> (String, Vec<u8>) {
    let m = messages(i);
    match kind(i) {
        Kind::Corrupt(c) => {
            let good: Vec<Vec<u8>> = (0..20).map(|j| click(j, 10)).collect();
            let data = match c {
                // A gzip cut in half.
                0 => {
                    let z = gzip(&frame(&good, Framing::Varint));
                    z[..z.len() / 2].to_vec()
                }
                // Invalid UTF-8 in message 20's url.
                1 => {
                    let mut bad = Vec::new();
                    varint(1 << 3 | 2, &mut bad);
                    varint(3, &mut bad);
                    bad.extend_from_slice(b"\xff\xfe/");
                    let mut all = good.clone();
                    all.push(bad);
                    frame(&all, Framing::Varint)
                }
                // Not protobuf at all.
                2 => b"\xff\xff\xff\xff this is not protobuf \x00\x01".repeat(10),
                // A length prefix of 2^40 after good frames.
                _ => {
                    let mut data = frame(&good, Framing::Varint);
                    varint(1 << 40, &mut data);
                    string_field(1, "x", &mut data);
                    data
                }
            };
            (format!("soak/{i:05}-corrupt.pb"), data)
        }
        Kind::Empty => (format!("soak/{i:05}-empty.pb"), Vec::new()),
        Kind::Single => (format!("soak/{i:05}-single.pb"), frame(&m, Framing::Single)),
        Kind::Gzip | Kind::Medium => (
            format!("soak/{i:05}-gzip.pb.gz"),
            gzip(&frame(&m, Framing::Varint)),
        ),
        Kind::Zstd => (
            format!("soak/{i:05}-zstd.bin.zst"),
            zstd::encode_all(&frame(&m, Framing::Fixed32)[..], 3).unwrap(),
        ),
        Kind::MultiMember => {
            let (a, b) = m.split_at(m.len() / 2);
            let mut data = gzip(&frame(a, Framing::Varint));
            data.extend(gzip(&frame(b, Framing::Varint)));
            (format!("soak/{i:05}-members.pb.gz"), data)
        }
        Kind::Plain | Kind::Large => (format!("soak/{i:05}-plain.pb"), frame(&m, Framing::Varint)),
        Kind::OddKey => (
            format!("soak/{i:05} odd+key é✓.pb"),
            frame(&m, Framing::Varint),
        ),
    }
}

/// Where a good object lands: the whole key and `.ndjson.gz`, under
/// `ndjson/`.
fn landing_key(key: &str) -> String {
    format!("ndjson/{key}.ndjson.gz")
}

/// Resident memory of this process, from /proc/self/status.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The most memory the workers may add over the baseline, from the design
/// (docs/pipeline.md, crates/stream/src/convert.rs), not from a measurement:
/// per object in flight at most three upload parts (one filling, one queued,
/// one uploading), the read channel (32 body chunks, at most 64 KiB each),
/// the converter (4 + 4 recycled 256 KiB chunks, a 1 MiB detection window,
/// a 1 MiB output buffer) and the codecs' state (zstd level 3 and gzip:
/// under 4 MiB together) — 15 + 2 + 4 + 4 = 25 MiB; times the objects in
/// flight (workers × concurrency), plus 64 MiB for the runtime, threads'
/// stacks and allocator arenas. Memory that grew with the number of objects
/// or their size would break it in a long run.
fn memory_bound_kib() -> u64 {
    let per_object = 3 * PART_SIZE as u64 + (2 << 20) + (4 << 20) + (4 << 20);
    ((WORKERS * CONCURRENCY) as u64 * per_object + (64 << 20)) / 1024
}

/// Counts the pipeline's and object_store's retry log lines.
#[derive(Default)]
struct RetryCounter {
    /// object_store retrying one HTTP request (`Encountered …`).
    request_retries: AtomicU64,
    /// The AWS SDK retrying an SQS request (the injected faults; moto's
    /// threaded server also answers some concurrent SQS requests with 500).
    sqs_retries: AtomicU64,
    /// The pipeline retrying a whole object (`transient failure; retrying`).
    object_retries: AtomicU64,
    /// Objects reported as failed (`object failed`).
    object_failures: AtomicU64,
    /// Warnings and errors, for the message of a failed assertion.
    log: Mutex<Vec<String>>,
}

struct MessageText(String, String);

impl tracing::field::Visit for MessageText {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        } else {
            self.1.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

impl tracing::Subscriber for RetryCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.is_event()
            && (*metadata.level() <= tracing::Level::WARN
                || metadata.target().starts_with("object_store")
                || metadata
                    .target()
                    .starts_with("aws_smithy_runtime::client::retries::strategy"))
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = MessageText(String::new(), String::new());
        event.record(&mut text);
        if *event.metadata().level() <= tracing::Level::WARN {
            self.log
                .lock()
                .unwrap()
                .push(format!("{}{}", text.0, text.1));
        }
        let counter = if text.0.starts_with("Encountered") {
            &self.request_retries
        } else if text.0.contains("retrying after") {
            &self.sqs_retries
        } else if text.0 == "transient failure; retrying" {
            &self.object_retries
        } else if text.0 == "object failed" {
            &self.object_failures
        } else {
            return;
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn soak_through_the_worker_with_s3_and_sqs_faults() {
    protoland_test_kit::require_tools!("moto_server", "python");
    let _alone = crate::alone();
    let objects: usize = env_number("PROTOLAND_SOAK_OBJECTS", DEFAULT_OBJECTS);
    let one_in: u64 = env_number("PROTOLAND_SOAK_FAULT_ONE_IN", DEFAULT_FAULT_ONE_IN);
    let sqs_one_in: u64 = env_number("PROTOLAND_SOAK_SQS_FAULT_ONE_IN", DEFAULT_SQS_FAULT_ONE_IN);
    let counter = Arc::new(RetryCounter::default());
    tracing::subscriber::set_global_default(ArcSubscriber(Arc::clone(&counter))).unwrap();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(soak(objects, (one_in, sqs_one_in), &counter));
}

/// `Arc<RetryCounter>` as the global subscriber (kept for reading).
struct ArcSubscriber(Arc<RetryCounter>);

impl tracing::Subscriber for ArcSubscriber {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        self.0.enabled(metadata)
    }
    fn new_span(&self, attributes: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        self.0.new_span(attributes)
    }
    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        self.0.record(span, values);
    }
    fn record_follows_from(&self, span: &tracing::span::Id, follows: &tracing::span::Id) {
        self.0.record_follows_from(span, follows);
    }
    fn event(&self, event: &tracing::Event<'_>) {
        self.0.event(event);
    }
    fn enter(&self, span: &tracing::span::Id) {
        self.0.enter(span);
    }
    fn exit(&self, span: &tracing::span::Id) {
        self.0.exit(span);
    }
}

/// Messages in a queue, visible or in flight.
async fn queued(client: &aws_sdk_sqs::Client, queue_url: &str) -> u64 {
    protoland_pipeline::queue_depth(client, queue_url)
        .await
        .unwrap()
        .total()
}

/// `one_in`: the S3 and the SQS fault rates.
async fn soak(objects: usize, one_in: (u64, u64), counter: &RetryCounter) {
    let (one_in, sqs_one_in) = one_in;
    let started = Instant::now();
    let moto = Moto::start();
    moto.create_buckets(&["raw", "landing"]);
    // Four receives, then the dead-letter queue; a good object would need
    // four whole failed attempts in a row (each with its own retries) to
    // get there. A 10 s visibility timeout (the workers' heartbeat keeps
    // conversions in progress invisible) brings back soon the messages
    // whose receive answer was lost (see `drain`).
    let (queue_url, dlq_url) = moto.notifying_queue("raw", "soak", 4, 10);
    let client = moto.sqs_client();
    // Drop the s3:TestEvent sent when the notification was configured.
    client
        .purge_queue()
        .queue_url(&queue_url)
        .send()
        .await
        .unwrap();
    let raw = store(&moto, "raw");
    let landing = store(&moto, "landing");

    let mut good = BTreeMap::new();
    let mut bad = BTreeSet::new();
    let mut input_bytes = 0u64;
    let puts = futures::stream::iter(0..objects)
        .map(|i| {
            let raw = Arc::clone(&raw);
            async move {
                let (key, data) = object(i);
                let len = data.len() as u64;
                put(&raw, &key, data).await;
                (i, key, len)
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    for (i, key, len) in puts {
        input_bytes += len;
        if matches!(kind(i), Kind::Corrupt(_)) {
            bad.insert(key);
        } else {
            good.insert(landing_key(&key), i);
        }
    }
    let setup = started.elapsed();
    assert_eq!(
        queued(&client, &queue_url).await,
        objects as u64,
        "one notification per object"
    );

    let proxy = FaultProxy::start(moto.port).await;
    let mut kinds = Vec::new();
    for method in ["GET", "PUT", "POST"] {
        kinds.push((method, FaultKind::Status(500)));
        kinds.push((method, FaultKind::SlowDown));
        kinds.push((method, FaultKind::Drop));
    }
    // Cut bodies only where the request was a read: a cut answer to a
    // CreateMultipartUpload leaves an upload the client never learns of
    // (see docs/hardening.md).
    kinds.push(("GET", FaultKind::CutBody { after: 3000 }));
    proxy.set_random(Some(RandomFaults {
        one_in,
        kinds,
        seed: 7,
    }));

    let mut s = crate::click_settings(Location::parse("s3://landing/ndjson").unwrap());
    s.storage = moto.storage_options_via(proxy.port);
    s.storage.retry.backoff.init_backoff = Duration::from_millis(10);
    s.storage.retry.backoff.max_backoff = Duration::from_millis(200);
    s.retry_backoff = Duration::from_millis(20);
    s.part_size = PART_SIZE;
    s.concurrency = CONCURRENCY;
    let pipeline = Pipeline::start(s, "worker").await.unwrap();

    // The workers' SQS client goes through a proxy of its own (the test's
    // bookkeeping uses `client`, straight to moto). Faults before SQS acts
    // (500, 503, a dropped connection) are retried by the SDK and, past its
    // attempts, by the worker (a receive) or by redelivery (a delete, after
    // the visibility timeout: converted again to the same bytes). An answer
    // cut after SQS acted loses a receive (its messages come back after the
    // visibility timeout, see `drain`) or a delete's reply (the SDK's retry
    // deletes again).
    let sqs_proxy = FaultProxy::start(moto.port).await;
    sqs_proxy.set_random(Some(RandomFaults {
        one_in: sqs_one_in,
        kinds: vec![
            ("POST", FaultKind::Status(500)),
            ("POST", FaultKind::SlowDown),
            ("POST", FaultKind::Drop),
            ("POST", FaultKind::CutBody { after: 0 }),
        ],
        seed: 11,
    }));
    let worker_client = sqs_client_for(&format!("http://127.0.0.1:{}", sqs_proxy.port));

    let baseline = rss_kib();
    let samples: Arc<Mutex<Vec<u64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = std::thread::spawn({
        let samples = Arc::clone(&samples);
        let stop = Arc::clone(&stop);
        move || {
            while !stop.load(Ordering::Relaxed) {
                samples.lock().unwrap().push(rss_kib());
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });

    let run_started = Instant::now();
    let mut options = WorkerOptions::new(queue_url.clone());
    options.until_empty = true;
    options.wait_time = Duration::from_secs(1);
    options.retry_delay = Some(Duration::ZERO);
    // `--until-empty` stops at the first empty receive. A receive whose
    // answer is lost (moto answers some concurrent SQS requests with 500;
    // the SDK retries) leaves its messages in flight until their visibility
    // timeout ends, as after a consumer crash: run the workers again until
    // nothing is left in the queue, visible or not.
    let mut summaries = Vec::new();
    let mut rounds = 0;
    loop {
        rounds += 1;
        let runs = futures::future::join_all(
            (0..WORKERS)
                .map(|_| run_worker(&pipeline, &worker_client, &options, std::future::pending())),
        )
        .await;
        summaries.extend(runs.into_iter().map(Result::unwrap));
        let left = queued(&client, &queue_url).await;
        eprintln!(
            "round {rounds} ended after {:.0} s: {} messages received so far, {left} left in the queue ({:?} in flight as the workers stopped)",
            run_started.elapsed().as_secs_f64(),
            summaries.iter().map(|s| s.received).sum::<u64>(),
            summaries
                .iter()
                .map(|s| s.in_flight_at_exit)
                .collect::<Vec<_>>()
        );
        if left == 0 {
            break;
        }
        // A generous limit (a second per object) so that a stuck run stops.
        assert!(
            run_started.elapsed() < Duration::from_secs(60 + objects as u64),
            "the queue did not drain in {} s",
            60 + objects
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let run_time = run_started.elapsed();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();

    // Every good object landed whole and exactly; nothing else landed.
    let landed = keys(&landing).await;
    let expected_keys: Vec<String> = good.keys().cloned().collect();
    if landed != expected_keys {
        let landed: BTreeSet<&String> = landed.iter().collect();
        let expected: BTreeSet<&String> = expected_keys.iter().collect();
        panic!(
            "landed but not expected: {:?}\nexpected but not landed: {:?}\nworkers: {summaries:?}\ndead letters: {:?}\nwarnings and errors:\n{}",
            landed.difference(&expected).collect::<Vec<_>>(),
            expected.difference(&landed).collect::<Vec<_>>(),
            moto.queue_bodies(&dlq_url).len(),
            counter.log.lock().unwrap().join("\n")
        );
    }
    let mut messages_out = 0u64;
    let mut landing_bytes = 0u64;
    for (key, &i) in &good {
        let body = get(&landing, key).await;
        landing_bytes += body.len() as u64;
        let m = messages(i);
        messages_out += m.len() as u64;
        assert!(
            gunzip(&body) == expected_ndjson(&m),
            "{key}: landing object differs from the transcoder's output"
        );
    }
    assert!(moto.open_multipart_uploads("landing").is_empty());

    // Every bad object's notification is in the dead-letter queue, once.
    let dead: Vec<String> = moto
        .queue_bodies(&dlq_url)
        .iter()
        .flat_map(|body| parse_body(body).unwrap())
        .filter_map(|r| match r {
            Record::Created(o) => Some(o.key),
            _ => None,
        })
        .collect();
    let dead_set: BTreeSet<String> = dead.iter().cloned().collect();
    assert_eq!(dead.len(), dead_set.len(), "one dead letter per bad object");
    assert_eq!(dead_set, bad, "exactly the bad objects are dead letters");
    assert!(moto.queue_bodies(&queue_url).is_empty(), "queue drained");

    // Memory.
    let samples = samples.lock().unwrap().clone();
    let peak = samples.iter().copied().max().unwrap_or(baseline);
    let half = samples.len() / 2;
    let first_half = samples[..half].iter().copied().max().unwrap_or(baseline);
    let second_half = samples[half..].iter().copied().max().unwrap_or(baseline);

    let received: u64 = summaries.iter().map(|s| s.received).sum();
    let deleted: u64 = summaries.iter().map(|s| s.deleted).sum();
    let batches: u64 = summaries.iter().map(|s| s.batches).sum();
    eprintln!(
        "soak: {objects} objects ({} good, {} corrupt; {} MiB in, {} messages out, {} MiB landed), \
         {rounds} worker rounds, {batches} batches, {received} messages received ({} redeliveries), {deleted} deleted, {} dead letters; \
         {} S3 requests through the proxy, {} faults injected {:?}; \
         {} SQS requests of the workers through theirs, {} faults injected {:?}; \
         retries: {} S3 requests (object_store), {} whole objects (pipeline), {} SQS requests (SDK); {} object failures reported; \
         setup {:.1} s, workers {:.1} s, total {:.1} s; \
         RSS baseline {} MiB, peak {} MiB (first half {} MiB, second half {} MiB), bound {} MiB",
        good.len(),
        bad.len(),
        input_bytes >> 20,
        messages_out,
        landing_bytes >> 20,
        received.saturating_sub(objects as u64),
        dead.len(),
        proxy.requests(),
        proxy.injected(),
        proxy.injected_by_kind(),
        sqs_proxy.requests(),
        sqs_proxy.injected(),
        sqs_proxy.injected_by_kind(),
        counter.request_retries.load(Ordering::Relaxed),
        counter.object_retries.load(Ordering::Relaxed),
        counter.sqs_retries.load(Ordering::Relaxed),
        counter.object_failures.load(Ordering::Relaxed),
        setup.as_secs_f64(),
        run_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        baseline >> 10,
        peak >> 10,
        first_half >> 10,
        second_half >> 10,
        (baseline + memory_bound_kib()) >> 10,
    );
    // At least once: a message whose delete answer was lost is converted
    // again (to the same bytes) and deleted again.
    assert!(deleted >= good.len() as u64, "every good message deleted");
    assert!(proxy.injected() > 0, "S3 faults were injected");
    assert!(sqs_proxy.injected() > 0, "SQS faults were injected");
    assert!(
        peak <= baseline + memory_bound_kib(),
        "RSS peaked at {peak} KiB, over the baseline {baseline} KiB + the bound {} KiB",
        memory_bound_kib()
    );
    // Flat: the second half of the run (more objects done) needs no more
    // memory than the first, give or take 32 MiB of allocator noise.
    assert!(
        second_half <= first_half + (32 << 10),
        "RSS grew during the run: {first_half} KiB in the first half, {second_half} KiB in the second"
    );
}
