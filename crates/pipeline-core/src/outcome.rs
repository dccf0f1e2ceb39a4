//! How one object ended, and how a landing object was written.

use crate::config::MissingPolicy;
use crate::metrics::BatchStats;

/// How a landing object was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    Put,
    Multipart { parts: usize },
}

/// How one object ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectOutcome {
    /// Landed.
    Converted {
        destination: String,
        messages: u64,
        bytes_in: u64,
        bytes_out: u64,
        upload: UploadKind,
    },
    /// Bad object; its error report is at `report`.
    Quarantined { report: String, error: String },
    /// The object no longer exists (acknowledged by policy).
    Missing,
    /// Not converted: the message is reported as failed.
    Failed { error: String, transient: bool },
    /// Not started because the deadline was near.
    NotStarted { remaining_ms: u64 },
    /// Acknowledged without converting: protoland wrote this object (a
    /// landing object or an error report whose location is inside the
    /// notified one), as its source record says.
    OwnOutput { kind: &'static str },
}

impl ObjectOutcome {
    /// Whether the message holding this object may be acknowledged.
    pub fn is_success(&self, missing: MissingPolicy) -> bool {
        match self {
            ObjectOutcome::Converted { .. }
            | ObjectOutcome::Quarantined { .. }
            | ObjectOutcome::OwnOutput { .. } => true,
            ObjectOutcome::Missing => missing == MissingPolicy::Acknowledge,
            ObjectOutcome::Failed { .. } | ObjectOutcome::NotStarted { .. } => false,
        }
    }

    /// The outcome in words, as responses and logs give it.
    pub fn describe(&self) -> String {
        match self {
            ObjectOutcome::Converted { destination, .. } => format!("converted to {destination}"),
            ObjectOutcome::Quarantined { report, error } => {
                format!("quarantined ({error}); report at {report}")
            }
            ObjectOutcome::Missing => "object not found".to_owned(),
            ObjectOutcome::Failed { error, .. } => error.clone(),
            ObjectOutcome::NotStarted { remaining_ms } => {
                format!("not started: {remaining_ms} ms left before the invocation deadline")
            }
            ObjectOutcome::OwnOutput { kind } => {
                format!("skipped: a {kind} protoland wrote, not a source")
            }
        }
    }

    /// Counts the outcome in `stats`.
    pub fn count(&self, stats: &mut BatchStats) {
        match self {
            ObjectOutcome::Converted {
                messages,
                bytes_in,
                bytes_out,
                ..
            } => {
                stats.objects += 1;
                stats.messages += messages;
                stats.bytes_in += bytes_in;
                stats.bytes_out += bytes_out;
            }
            ObjectOutcome::Quarantined { .. } => stats.quarantined += 1,
            ObjectOutcome::Missing => stats.missing += 1,
            ObjectOutcome::Failed { .. } => stats.failures += 1,
            ObjectOutcome::NotStarted { .. } => {
                stats.not_started += 1;
                stats.failures += 1;
            }
            ObjectOutcome::OwnOutput { .. } => stats.own_output += 1,
        }
    }
}
