//! Test support (feature `test-support`): real servers on loopback for the
//! pipeline's and the Lambda's integration tests.
//!
//! - [`Moto`]: moto's S3 + SQS server on a free port, stopped on drop, with
//!   setup through boto3 (buckets, queues with a dead-letter queue, a real
//!   bucket notification configuration);
//! - [`FaultProxy`]: an HTTP proxy in front of it that injects S3 failures
//!   (503 SlowDown, 500, bodies cut mid-stream, dropped connections,
//!   delays) on matching requests or on a random fraction of them.
//!
//! Both tools come from the workspace's `.venv` (made by `scripts/test`);
//! when missing, the harness panics with "run scripts/test".

#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use protoland_schema::Schema;
use protoland_stream::Framing;
use protoland_transcode::{JsonOptions, Plan};

use crate::{SchemaSource, StorageOptions};

// Test messages: `acme.test.Click`, built as wire bytes.

pub const CLICK_PROTO: &str = r#"
syntax = "proto3";
package acme.test;
message Click {
  enum Kind { KIND_UNSPECIFIED = 0; VIEW = 1; BUY = 2; }
  string url = 1;
  int64 user_id = 2;
  repeated string tags = 3;
  double score = 4;
  Kind kind = 5;
}
"#;
pub const CLICK_MESSAGE: &str = "acme.test.Click";

pub fn click_schema_source() -> SchemaSource {
    SchemaSource::Bytes {
        name: "click.proto".into(),
        bytes: Arc::from(CLICK_PROTO.as_bytes()),
    }
}

pub fn click_plan() -> Plan {
    let schema = Schema::from_proto_source("click.proto", CLICK_PROTO).unwrap();
    Plan::new(
        &schema.message(CLICK_MESSAGE).unwrap(),
        JsonOptions::default(),
    )
}

pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn string_field(field: u32, s: &str, out: &mut Vec<u8>) {
    varint(u64::from(field << 3 | 2), out);
    varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

/// Click number `i` (wire bytes of `acme.test.Click`), with text of `pad` pseudo-random characters.
pub fn click(i: u64, pad: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let noise: String = (0..pad)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
        })
        .collect();
    string_field(1, &format!("/page/{i}/{noise}"), &mut out);
    varint(2 << 3, &mut out);
    varint(i * 7919, &mut out);
    string_field(3, "tag é ✓", &mut out);
    string_field(3, &format!("t{}", i % 5), &mut out);
    out.push(4 << 3 | 1);
    out.extend_from_slice(&(i as f64 / 3.0).to_le_bytes());
    varint(5 << 3, &mut out);
    varint(i % 3, &mut out);
    out
}

pub fn frame(messages: &[Vec<u8>], framing: Framing) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        match framing {
            Framing::Varint => varint(m.len() as u64, &mut out),
            Framing::Fixed32 => out.extend_from_slice(&(m.len() as u32).to_be_bytes()),
            _ => {}
        }
        out.extend_from_slice(m);
    }
    out
}

/// `data` as one gzip member (default level).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_at(data, flate2::Compression::default())
}

/// `data` as one gzip member at `level`.
pub fn gzip_at(data: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Decompresses every gzip member of `data` (panics on corrupt data).
pub fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The expected landing object content: the transcoder's output per message.
pub fn expected_ndjson(messages: &[Vec<u8>]) -> Vec<u8> {
    let plan = click_plan();
    let mut out = Vec::new();
    for m in messages {
        plan.transcode(m, &mut out).unwrap();
        out.push(b'\n');
    }
    out
}

/// An SQS event (as the Lambda gets it) with one S3 notification per key,
/// message ids `m0`, `m1`, …; keys are form-encoded as S3 sends them.
pub fn sqs_event(bucket: &str, keys: &[&str]) -> crate::Invocation {
    let messages = keys
        .iter()
        .enumerate()
        .map(|(i, key)| crate::QueueMessage::from_body(format!("m{i}"), &notification(bucket, key)))
        .collect();
    crate::Invocation::Sqs(messages)
}

/// The body S3 sends to a queue when `bucket/key` is created.
pub fn notification(bucket: &str, key: &str) -> String {
    let encoded: String = key
        .bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'.' | b'-' | b'_' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2024-03-07T21:42:03.000Z",
        "s3": {"bucket": {"name": bucket}, "object": {"key": encoded}}
    }]})
    .to_string()
}

/// Objects whose key contains this panic while being converted (after their
/// output is written, before it is uploaded): the handler's test-only
/// panic hook, compiled only with the `test-support` feature.
pub const PANIC_MARKER: &str = "protoland-test-panic";

/// Panics when `source` names a [`PANIC_MARKER`] object (see there).
pub fn panic_hook(source: &str) {
    if source.contains(PANIC_MARKER) {
        panic!("test-support panic hook for {source}");
    }
}

/// An object store client for a bucket of this moto server.
pub fn store(moto: &Moto, bucket: &str) -> std::sync::Arc<dyn object_store::ObjectStore> {
    crate::storage::Stores::new(moto.storage_options())
        .bucket(bucket)
        .unwrap()
}

pub async fn put(store: &std::sync::Arc<dyn object_store::ObjectStore>, key: &str, data: Vec<u8>) {
    use object_store::ObjectStoreExt;
    store
        .put(&object_store::path::Path::parse(key).unwrap(), data.into())
        .await
        .unwrap();
}

pub async fn get(store: &std::sync::Arc<dyn object_store::ObjectStore>, key: &str) -> Vec<u8> {
    use object_store::ObjectStoreExt;
    store
        .get(&object_store::path::Path::parse(key).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"))
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

/// Every key in a store, sorted.
pub async fn keys(store: &std::sync::Arc<dyn object_store::ObjectStore>) -> Vec<String> {
    use futures::TryStreamExt;
    let mut keys: Vec<String> = store
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A tool from PATH or the workspace's `.venv/bin`; panics naming
/// `scripts/test` when absent.
pub fn venv_tool(name: &str) -> PathBuf {
    let venv = workspace_root().join(".venv/bin").join(name);
    if venv.is_file() {
        return venv;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "`{name}` is not installed (not in .venv/bin nor on PATH): run scripts/test, which installs the test tools"
    );
}

/// The Python with boto3 (`PROTOLAND_PYTHON`, else `.venv/bin/python`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PROTOLAND_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/bin/python");
    if venv.is_file() {
        return venv;
    }
    panic!("no Python with boto3 (PROTOLAND_PYTHON unset, no .venv/bin/python): run scripts/test");
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

/// Waits until something accepts connections on `port`.
pub fn wait_for_port(port: u16, what: &str, timeout: Duration) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < timeout,
            "{what} did not start listening on port {port} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";

/// moto's server, stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    pub port: u16,
    /// For [`Moto::shared`]: the watchdog's stdin, whose end (at process
    /// exit) stops the server.
    watchdog: Option<std::process::ChildStdin>,
}

/// Runs moto_server and kills it when stdin ends, i.e. when the test
/// process that holds the other end exits, however it exits.
const WATCHDOG: &str = "import subprocess, sys\n\
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
try:\n    sys.stdin.buffer.read()\nfinally:\n    p.kill()\n    p.wait()\n";

impl Moto {
    /// One server for the whole test process (tests share it with their own
    /// bucket and queue names): started on first use, stopped when the
    /// process exits. Saves the server's start-up (seconds of Python) per
    /// test.
    pub fn shared() -> &'static Moto {
        static SHARED: std::sync::OnceLock<Moto> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let port = free_port();
            let mut child = Command::new(python())
                .args(["-c", WATCHDOG])
                .arg(venv_tool("moto_server"))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting moto_server (run scripts/test)");
            let watchdog = child.stdin.take();
            let moto = Moto {
                child,
                port,
                watchdog,
            };
            wait_for_port(port, "moto_server", Duration::from_secs(60));
            moto
        })
    }

    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new(venv_tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server (run scripts/test)");
        let moto = Moto {
            child,
            port,
            watchdog: None,
        };
        wait_for_port(port, "moto_server", Duration::from_secs(60));
        moto
    }

    /// Creates a bucket with one plain HTTP request (moto does not check
    /// signatures), without the second a boto3 process takes.
    pub fn create_bucket(&self, name: &str) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "creating bucket {name}: {response}"
        );
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Storage options that reach this server (or a proxy on `port`)
    /// without reading the environment.
    pub fn storage_options_via(&self, port: u16) -> StorageOptions {
        let mut options = StorageOptions {
            read_env: false,
            ..StorageOptions::default()
        };
        options.s3_config = vec![
            ("aws_endpoint".into(), format!("http://127.0.0.1:{port}")),
            ("aws_region".into(), REGION.into()),
            ("aws_access_key_id".into(), ACCESS_KEY.into()),
            ("aws_secret_access_key".into(), SECRET_KEY.into()),
        ];
        options
    }

    pub fn storage_options(&self) -> StorageOptions {
        self.storage_options_via(self.port)
    }

    /// The environment a separate process needs to reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_DEFAULT_REGION".into(), REGION.into()),
            ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
        ]
    }

    /// Runs Python with boto3 clients `s3` and `sqs` bound to this server;
    /// the snippet sets `result`, returned as JSON.
    pub fn boto(&self, snippet: &str) -> Value {
        let prelude = format!(
            "import boto3, json, sys\n\
             kw = dict(endpoint_url='{}', region_name='{REGION}', aws_access_key_id='{ACCESS_KEY}', aws_secret_access_key='{SECRET_KEY}')\n\
             s3 = boto3.client('s3', **kw)\n\
             sqs = boto3.client('sqs', **kw)\n\
             result = None\n",
            self.endpoint()
        );
        let script = format!("{prelude}{snippet}\nprint(json.dumps(result))\n");
        let output = Command::new(python())
            .args(["-c", &script])
            .output()
            .expect("running python (run scripts/test)");
        assert!(
            output.status.success(),
            "boto3 snippet failed:\n{snippet}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or("null");
        serde_json::from_str(last).unwrap_or_else(|e| panic!("boto3 snippet printed `{last}`: {e}"))
    }

    pub fn create_buckets(&self, names: &[&str]) {
        let list = serde_json::to_string(names).unwrap();
        self.boto(&format!("for b in {list}:\n    s3.create_bucket(Bucket=b)"));
    }

    /// A queue with a dead-letter queue (`maxReceiveCount` receives), and
    /// the bucket's notifications for created objects sent to it. Returns
    /// (queue URL, dead-letter queue URL).
    pub fn notifying_queue(
        &self,
        bucket: &str,
        queue: &str,
        max_receive: u32,
        visibility_s: u32,
    ) -> (String, String) {
        let result = self.boto(&format!(
            r#"
dlq = sqs.create_queue(QueueName='{queue}-dlq')['QueueUrl']
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
q = sqs.create_queue(QueueName='{queue}', Attributes={{
    'VisibilityTimeout': '{visibility_s}',
    'RedrivePolicy': json.dumps({{'deadLetterTargetArn': dlq_arn, 'maxReceiveCount': '{max_receive}'}}),
}})['QueueUrl']
arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
s3.put_bucket_notification_configuration(Bucket='{bucket}', NotificationConfiguration={{
    'QueueConfigurations': [{{'Id': 'protoland', 'QueueArn': arn, 'Events': ['s3:ObjectCreated:*', 's3:ObjectRemoved:*']}}],
}})
result = [q, dlq]
"#
        ));
        (
            result[0].as_str().unwrap().to_owned(),
            result[1].as_str().unwrap().to_owned(),
        )
    }

    /// Bodies of every message in a queue (received with a short wait, and
    /// made visible again).
    pub fn queue_bodies(&self, queue_url: &str) -> Vec<String> {
        let result = self.boto(&format!(
            r#"
bodies = []
while True:
    r = sqs.receive_message(QueueUrl='{queue_url}', MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30)
    ms = r.get('Messages', [])
    if not ms:
        break
    bodies += [m['Body'] for m in ms]
result = bodies
"#
        ));
        result
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub fn open_multipart_uploads(&self, bucket: &str) -> Vec<String> {
        let result = self.boto(&format!(
            "result = [u['Key'] for u in s3.list_multipart_uploads(Bucket='{bucket}').get('Uploads', [])]"
        ));
        result
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // Closing the watchdog's stdin makes it stop the server it started.
        if self.watchdog.take().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// What a [`FaultProxy`] does to a matching request.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answer `503 SlowDown` without forwarding.
    SlowDown,
    /// Forward, then send the response head and only this many body bytes
    /// before closing the connection.
    CutBody { after: usize },
    /// Forward after waiting this long.
    Delay(Duration),
    /// Answer with this status (500 `InternalError`, 503 `SlowDown`,
    /// anything else `ServiceUnavailable`) without forwarding.
    Status(u16),
    /// Close the connection without answering (and without forwarding).
    Drop,
}

impl FaultKind {
    /// A short name for counting faults by kind.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::SlowDown => "503 SlowDown",
            FaultKind::CutBody { .. } => "body cut",
            FaultKind::Delay(_) => "delay",
            FaultKind::Status(500) => "500 InternalError",
            FaultKind::Status(_) => "other status",
            FaultKind::Drop => "connection dropped",
        }
    }
}

/// Faults for a fraction of all requests: each request gets, with
/// probability `1 / one_in`, one of the `kinds` listed for its method
/// (chosen pseudo-randomly, reproducibly from `seed`). Applies when no
/// [`Fault`] matches first.
#[derive(Debug, Clone)]
pub struct RandomFaults {
    pub one_in: u64,
    /// (HTTP method, fault) pairs.
    pub kinds: Vec<(&'static str, FaultKind)>,
    pub seed: u64,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// One fault: requests whose method and path match get `kind`, `times`
/// times (`usize::MAX`: always).
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    /// Substring of the (percent-encoded) request path.
    pub path_contains: String,
    pub kind: FaultKind,
    pub times: usize,
}

/// An HTTP/1.1 proxy on loopback in front of a server, injecting faults.
/// Every request is forwarded on its own upstream connection with
/// `Connection: close`.
#[derive(Debug)]
pub struct FaultProxy {
    pub port: u16,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct ProxyState {
    faults: Mutex<Vec<Fault>>,
    random: Mutex<Option<RandomFaults>>,
    requests: AtomicUsize,
    injected: AtomicUsize,
    by_kind: Mutex<std::collections::BTreeMap<&'static str, usize>>,
}

impl ProxyState {
    /// The fault for request number `n`, if any (and counts it).
    fn pick(&self, n: usize, method: &str, path: &str) -> Option<FaultKind> {
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            faults
                .iter_mut()
                .find(|f| f.times > 0 && f.method == method && path.contains(&f.path_contains))
                .map(|f| {
                    if f.times != usize::MAX {
                        f.times -= 1;
                    }
                    f.kind.clone()
                })
        };
        let fault = fault.or_else(|| {
            let random = self.random.lock().unwrap();
            let r = random.as_ref()?;
            let kinds: Vec<&FaultKind> = r
                .kinds
                .iter()
                .filter(|(m, _)| *m == method)
                .map(|(_, k)| k)
                .collect();
            let x = splitmix64(r.seed ^ n as u64);
            (!kinds.is_empty() && x.is_multiple_of(r.one_in.max(1)))
                .then(|| kinds[((x >> 32) % kinds.len() as u64) as usize].clone())
        })?;
        self.injected.fetch_add(1, Ordering::SeqCst);
        *self
            .by_kind
            .lock()
            .unwrap()
            .entry(fault.name())
            .or_default() += 1;
        Some(fault)
    }
}

impl FaultProxy {
    /// Starts the proxy on the current runtime.
    pub async fn start(upstream_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state: Arc<ProxyState> = Arc::default();
        let task = tokio::spawn({
            let state = Arc::clone(&state);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let state = Arc::clone(&state);
                    tokio::spawn(async move {
                        let _ = serve(client, upstream_port, &state).await;
                    });
                }
            }
        });
        FaultProxy { port, state, task }
    }

    pub fn add(&self, fault: Fault) {
        self.state.faults.lock().unwrap().push(fault);
    }

    /// Faults for a fraction of all requests (replacing earlier ones).
    pub fn set_random(&self, random: Option<RandomFaults>) {
        *self.state.random.lock().unwrap() = random;
    }

    pub fn clear(&self) {
        self.state.faults.lock().unwrap().clear();
        self.set_random(None);
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> usize {
        self.state.injected.load(Ordering::SeqCst)
    }

    /// Faults injected so far, by [`FaultKind::name`].
    pub fn injected_by_kind(&self) -> std::collections::BTreeMap<&'static str, usize> {
        self.state.by_kind.lock().unwrap().clone()
    }

    /// Requests received so far (with or without a fault).
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some(end + 4));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 1 << 20 {
            return Err(std::io::Error::other("request head too large"));
        }
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn serve(
    mut client: TcpStream,
    upstream_port: u16,
    state: &ProxyState,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    {
        let Some(head_len) = read_head(&mut client, &mut buf).await? else {
            return Ok(());
        };
        let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
        let body_len = content_length(&head);
        while buf.len() < head_len + body_len {
            let mut chunk = vec![0u8; 65536];
            let n = client.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[head_len..head_len + body_len].to_vec();
        buf.drain(..head_len + body_len);

        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let n = state.requests.fetch_add(1, Ordering::SeqCst);
        let fault = state.pick(n, &method, &path);
        let status = match fault {
            Some(FaultKind::SlowDown) => Some((
                503,
                "Slow Down",
                "SlowDown",
                "Please reduce your request rate.",
            )),
            Some(FaultKind::Status(500)) => Some((
                500,
                "Internal Server Error",
                "InternalError",
                "We encountered an internal error. Please try again.",
            )),
            Some(FaultKind::Status(code)) => Some((
                code,
                "Service Unavailable",
                "ServiceUnavailable",
                "Service is unable to handle request.",
            )),
            _ => None,
        };
        if let Some((code, reason, error_code, message)) = status {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{error_code}</Code><Message>{message}</Message></Error>"
            );
            let response = format!(
                "HTTP/1.1 {code} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(response.as_bytes()).await?;
            return Ok(());
        }
        if let Some(FaultKind::Drop) = fault {
            // Dropping `client` closes the connection unanswered.
            return Ok(());
        }
        if let Some(FaultKind::Delay(d)) = fault {
            tokio::time::sleep(d).await;
        }
        // Forward with Connection: close and read the whole response.
        let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).await?;
        let mut forwarded = String::new();
        forwarded.push_str(&request_line);
        forwarded.push_str("\r\n");
        for line in lines.filter(|l| !l.is_empty()) {
            let name = line.split(':').next().unwrap_or_default().trim();
            if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
                continue;
            }
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
        forwarded.push_str("Connection: close\r\n\r\n");
        upstream.write_all(forwarded.as_bytes()).await?;
        upstream.write_all(&body).await?;
        let mut response = Vec::new();
        upstream.read_to_end(&mut response).await?;
        let response_head_len = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(response.len(), |p| p + 4);
        match fault {
            Some(FaultKind::CutBody { after }) => {
                let end = (response_head_len + after).min(response.len());
                client.write_all(&response[..end]).await?;
                client.flush().await?;
                Ok(())
            }
            _ => {
                // Tell the client this connection ends here too.
                let head = String::from_utf8_lossy(&response[..response_head_len]).into_owned();
                let mut rewritten = String::new();
                for line in head.split("\r\n").filter(|l| !l.is_empty()) {
                    let name = line.split(':').next().unwrap_or_default().trim();
                    if name.eq_ignore_ascii_case("connection") {
                        continue;
                    }
                    rewritten.push_str(line);
                    rewritten.push_str("\r\n");
                }
                rewritten.push_str("Connection: close\r\n\r\n");
                client.write_all(rewritten.as_bytes()).await?;
                client.write_all(&response[response_head_len..]).await?;
                client.flush().await?;
                Ok(())
            }
        }
    }
}

/// An SQS client for this server (feature `sqs`).
#[cfg(feature = "sqs")]
impl Moto {
    pub fn sqs_client(&self) -> aws_sdk_sqs::Client {
        sqs_client_for(&self.endpoint())
    }
}

/// An SQS client for a moto server at `endpoint` (feature `sqs`).
#[cfg(feature = "sqs")]
pub fn sqs_client_for(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "moto",
        ))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}
