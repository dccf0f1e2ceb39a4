//! moto's S3 and SQS server on a free port, stopped on drop, with setup
//! through boto3 (buckets, queues with a dead-letter queue, a real bucket
//! notification configuration), and object store helpers for its buckets.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use protoland_pipeline::{StorageOptions, Stores};
use serde_json::Value;

use crate::tools::{free_port, python, venv_tool, wait_for_port};

/// The region, access key and secret moto is reached with.
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

/// An object store client for a bucket of this moto server.
pub fn store(moto: &Moto, bucket: &str) -> Arc<dyn ObjectStore> {
    Stores::new(moto.storage_options()).bucket(bucket).unwrap()
}

/// Writes an object.
pub async fn put(store: &Arc<dyn ObjectStore>, key: &str, data: Vec<u8>) {
    use object_store::ObjectStoreExt;
    store
        .put(&object_store::path::Path::parse(key).unwrap(), data.into())
        .await
        .unwrap();
}

/// Reads an object (panics naming the key when it is missing).
pub async fn get(store: &Arc<dyn ObjectStore>, key: &str) -> Vec<u8> {
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
pub async fn keys(store: &Arc<dyn ObjectStore>) -> Vec<String> {
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
