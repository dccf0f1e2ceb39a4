//! `protoland-lambda`: the AWS Lambda function (packaged as `bootstrap` for
//! `provided.al2023`).
//!
//! Glue only: settings and schemas are loaded once at cold start (a bad
//! setting stops the function there, naming the variable), then every
//! invocation — SQS, S3, SNS, EventBridge or S3 Batch Operations, told apart
//! by shape — goes to the pipeline handler with the invocation's deadline.

mod embedded;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use protoland_pipeline::SchemaSource;
use protoland_pipeline::{Pipeline, Settings};
use serde_json::Value;
use tokio::time::Instant;
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // S3 over TLS goes through rustls with ring (Cargo.toml says why); the
    // HTTP client takes the process's provider, so install it before any
    // client is built. An error means one is installed already: keep it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .with_current_span(false)
        .finish()
        .with(log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .init();

    let embedded = embedded::embedded_schema().map(|(name, bytes)| SchemaSource::Bytes {
        name: name.to_owned(),
        bytes: Arc::from(bytes),
    });
    let pipeline = match Settings::from_lookup(|name| std::env::var(name).ok(), embedded) {
        Ok(settings) => Pipeline::start(settings, "lambda").await,
        Err(e) => Err(e),
    };
    let pipeline = match pipeline {
        Ok(pipeline) => pipeline,
        Err(e) => {
            tracing::error!(variable = e.var(), error = %e, "configuration error");
            return Err(e.into());
        }
    };

    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let pipeline = pipeline.clone();
        async move {
            let deadline = deadline(event.context.deadline, SystemTime::now());
            pipeline
                .handle_value(event.payload, Some(deadline))
                .await
                .map_err(Error::from)
        }
    }))
    .await
}

/// `RUST_LOG` as `tracing_subscriber`'s `Targets`: a level (`debug`) and
/// `target=level` directives (`info,protoland_pipeline=debug`), `info` when
/// unset or unreadable. `Targets` rather than `EnvFilter`, whose span and
/// field filters need a regex engine that only this would link (see
/// docs/deploy.md, "Package size").
fn log_filter(rust_log: Option<&str>) -> Targets {
    rust_log
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO))
}

/// Epoch milliseconds before 2001: no real deadline is that old.
const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;

/// The invocation deadline on tokio's clock. Lambda sends it as epoch
/// milliseconds; runtime emulators (cargo-lambda) send the timeout itself
/// (`600000`), which is taken as that long from now.
fn deadline(deadline_ms: u64, now: SystemTime) -> Instant {
    let left = if deadline_ms < EPOCH_MS_FLOOR {
        Duration::from_millis(deadline_ms)
    } else {
        (UNIX_EPOCH + Duration::from_millis(deadline_ms))
            .duration_since(now)
            .unwrap_or_default()
    };
    Instant::now() + left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_epoch_deadlines_and_emulator_timeouts() {
        let now = UNIX_EPOCH + Duration::from_millis(1_709_847_723_000);
        let left = |d: Instant| d.saturating_duration_since(Instant::now());
        let epoch = left(deadline(1_709_847_723_000 + 30_000, now));
        assert!(epoch > Duration::from_secs(29) && epoch <= Duration::from_secs(30));
        let emulator = left(deadline(600_000, now));
        assert!(emulator > Duration::from_secs(599) && emulator <= Duration::from_secs(600));
        assert_eq!(left(deadline(1_709_847_700_000, now)), Duration::ZERO);
    }

    #[test]
    fn reads_log_levels_and_per_target_directives() {
        let filter = log_filter(Some("warn,protoland_pipeline=debug"));
        assert!(filter.would_enable("protoland_pipeline::handler", &Level::DEBUG));
        assert!(!filter.would_enable("hyper", &Level::INFO));
        assert!(filter.would_enable("hyper", &Level::WARN));
        let level = log_filter(Some("debug"));
        assert!(level.would_enable("anything", &Level::DEBUG));
        assert!(!level.would_enable("anything", &Level::TRACE));
        for unset_or_bad in [None, Some("=nonsense=")] {
            let filter = log_filter(unset_or_bad);
            assert!(filter.would_enable("anything", &Level::INFO));
            assert!(!filter.would_enable("anything", &Level::DEBUG));
        }
    }
}
