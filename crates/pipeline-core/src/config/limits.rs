//! What S3, SQS, Lambda and CloudWatch accept: part sizes, visibility
//! timeouts, long-poll waits, function timeouts and metric namespaces. A
//! setting outside them would fail at the first request, far from its cause.

use std::time::Duration;

use crate::units::format_duration;

/// The smallest multipart part S3 accepts (except the last).
pub const MIN_PART_SIZE: usize = 5 << 20;
/// The largest multipart part S3 accepts.
pub const MAX_PART_SIZE: usize = 5 << 30;
/// The longest SQS keeps a received message invisible: a visibility
/// timeout, a retry delay, and the time one message may be held (the
/// heartbeat cannot extend it past 12 hours from its receive).
pub const SQS_MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 3600);
/// The longest long-poll wait SQS accepts.
pub const SQS_MAX_WAIT_TIME: Duration = Duration::from_secs(20);
/// The longest timeout a Lambda function can have.
pub const LAMBDA_MAX_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// CloudWatch's rules for a namespace: 1 to 255 characters of
/// `0-9A-Za-z.-_/#: `, not only spaces, not starting with `AWS/` (reserved).
/// CloudWatch drops EMF lines with any other namespace without a word.
pub(super) fn check_metrics_namespace(namespace: &str) -> Result<(), String> {
    if namespace.trim().is_empty() {
        return Err("a CloudWatch namespace needs a character other than a space".to_owned());
    }
    if namespace.len() > 255 {
        return Err(format!(
            "{} characters, over CloudWatch's 255 for a namespace",
            namespace.len()
        ));
    }
    if let Some(c) = namespace
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ".-_/#: ".contains(*c)))
    {
        return Err(format!(
            "`{c}` is not allowed in a CloudWatch namespace (letters, digits, `.-_/#:` and spaces)"
        ));
    }
    if namespace.starts_with("AWS/") {
        return Err("namespaces starting with `AWS/` are reserved for AWS".to_owned());
    }
    Ok(())
}

/// Checks a visibility timeout for SQS: whole seconds, 1s to 12h.
///
/// # Errors
///
/// A message saying which limit the duration breaks.
pub fn check_visibility_timeout(timeout: Duration) -> Result<Duration, String> {
    check_sqs_seconds(timeout, Duration::from_secs(1), SQS_MAX_VISIBILITY_TIMEOUT)
        .map_err(|limits| format!("{limits}, the visibility timeouts SQS accepts"))
}

/// Checks a retry delay (a failed message's new visibility timeout): whole
/// seconds, 0s to 12h.
///
/// # Errors
///
/// A message saying which limit the duration breaks.
pub fn check_retry_delay(delay: Duration) -> Result<Duration, String> {
    check_sqs_seconds(delay, Duration::ZERO, SQS_MAX_VISIBILITY_TIMEOUT)
        .map_err(|limits| format!("{limits}, the visibility timeouts SQS accepts"))
}

/// Checks a long-poll wait: whole seconds, 0s to 20s.
///
/// # Errors
///
/// A message saying which limit the duration breaks.
pub fn check_wait_time(wait: Duration) -> Result<Duration, String> {
    check_sqs_seconds(wait, Duration::ZERO, SQS_MAX_WAIT_TIME)
        .map_err(|limits| format!("{limits}, the long-poll waits SQS accepts"))
}

fn check_sqs_seconds(value: Duration, min: Duration, max: Duration) -> Result<Duration, String> {
    let range = format!("{} to {}", format_duration(min), format_duration(max));
    if value.subsec_nanos() != 0 {
        return Err(format!("must be whole seconds from {range}"));
    }
    if value < min || value > max {
        return Err(format!("must be {range}"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_durations_are_whole_seconds_within_sqs_limits() {
        let s = Duration::from_secs;
        assert_eq!(check_visibility_timeout(s(30)), Ok(s(30)));
        assert_eq!(check_visibility_timeout(s(43_200)), Ok(s(43_200)));
        assert_eq!(
            check_visibility_timeout(s(0)),
            Err("must be 1s to 12h, the visibility timeouts SQS accepts".into())
        );
        assert_eq!(
            check_visibility_timeout(s(43_201)),
            Err("must be 1s to 12h, the visibility timeouts SQS accepts".into())
        );
        assert_eq!(
            check_visibility_timeout(Duration::from_millis(1500)),
            Err("must be whole seconds from 1s to 12h, the visibility timeouts SQS accepts".into())
        );
        assert_eq!(check_retry_delay(s(0)), Ok(s(0)));
        assert!(check_retry_delay(s(13 * 3600)).is_err());
        assert_eq!(check_wait_time(s(20)), Ok(s(20)));
        assert_eq!(
            check_wait_time(s(21)),
            Err("must be 0s to 20s, the long-poll waits SQS accepts".into())
        );
    }
}
