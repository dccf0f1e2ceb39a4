//! One object from start to outcome: attempts with backoff for transient
//! failures, the invocation's deadline, and the missing-object and
//! bad-object policies.

use std::time::Duration;

use protoland_pipeline_core::{ObjectOutcome, ObjectRef};
use tokio::time::Instant;

use super::error::ErrorClass;
use super::quarantine::quarantine;
use super::{Pipeline, SourceStore};

impl Pipeline {
    /// Converts one object: route, read, convert, write, with retries for
    /// transient failures and the bad-object and missing-object policies.
    /// `source` overrides the S3 bucket store (a local directory). Stops
    /// before starting when the deadline is within the margin.
    pub async fn process(
        &self,
        object: &ObjectRef,
        source: Option<&SourceStore>,
        deadline: Option<Instant>,
    ) -> ObjectOutcome {
        let settings = &self.inner.settings;
        let source_url = match source {
            Some(s) => s.location.display_key(&object.key),
            None => object.url(),
        };
        let mut attempt = 1u32;
        loop {
            if let Some(deadline) = deadline {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining < settings.deadline_margin {
                    let remaining_ms = u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX);
                    tracing::warn!(source = %source_url, remaining_ms, attempt, "deadline near: not starting");
                    return ObjectOutcome::NotStarted { remaining_ms };
                }
            }
            let attempt_result = match deadline {
                // In-flight work stops a moment before the deadline so the
                // response still goes out; what was cut is a failure.
                Some(deadline) => {
                    let cut = deadline
                        .checked_sub(CUT_BEFORE_DEADLINE)
                        .unwrap_or(deadline);
                    match tokio::time::timeout_at(
                        cut,
                        self.convert_once(object, source, &source_url),
                    )
                    .await
                    {
                        Ok(result) => result,
                        Err(_) => {
                            tracing::error!(source = %source_url, "deadline reached while converting; upload aborted");
                            return ObjectOutcome::Failed {
                                error: format!(
                                    "{source_url}: the invocation deadline was reached while converting"
                                ),
                                transient: true,
                            };
                        }
                    }
                }
                None => self.convert_once(object, source, &source_url).await,
            };
            let error = match attempt_result {
                Ok(outcome) => return outcome,
                Err(e) => e,
            };
            if error.is_not_found() {
                tracing::warn!(source = %source_url, "object not found (deleted after the notification?)");
                return ObjectOutcome::Missing;
            }
            let class = error.class();
            if class == ErrorClass::Transient && attempt < settings.max_attempts {
                let backoff = settings
                    .retry_backoff
                    .saturating_mul(1 << (attempt - 1).min(16));
                tracing::warn!(source = %source_url, attempt, error = %error, backoff_ms = backoff.as_millis() as u64, "transient failure; retrying");
                tokio::time::sleep(backoff).await;
                attempt += 1;
                continue;
            }
            let text = error.to_string();
            if class == ErrorClass::BadObject
                && let Some(store) = &self.inner.quarantine
            {
                return match quarantine(
                    settings,
                    store,
                    object,
                    self.source_id(object, source),
                    source.is_some(),
                    &source_url,
                    &error,
                )
                .await
                {
                    Ok(report) => {
                        tracing::warn!(source = %source_url, report = %report, error = %text, "bad object quarantined");
                        ObjectOutcome::Quarantined {
                            report,
                            error: text,
                        }
                    }
                    Err(e) => {
                        tracing::error!(source = %source_url, error = %text, quarantine_error = %e, "bad object; writing its quarantine report failed");
                        ObjectOutcome::Failed {
                            error: format!("{text}; writing the quarantine report failed: {e}"),
                            transient: true,
                        }
                    }
                };
            }
            tracing::error!(source = %source_url, error = %text, attempts = attempt, "object failed");
            return ObjectOutcome::Failed {
                error: text,
                transient: class == ErrorClass::Transient,
            };
        }
    }
}

/// How long before the deadline in-flight objects are cut.
const CUT_BEFORE_DEADLINE: Duration = Duration::from_millis(500);
