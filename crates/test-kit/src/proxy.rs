//! An HTTP proxy on loopback that injects faults into the requests it
//! forwards: 503 SlowDown, 500, bodies cut mid-stream, dropped
//! connections, delays; on matching requests or on a random fraction.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
