//! Counters for one batch (or one backfill), printed as a CloudWatch
//! Embedded Metric Format line: CloudWatch Logs turns such a line on stdout
//! into metrics, with no API call and no agent in Lambda.
//!
//! Metrics (namespace `protoland` unless set, one dimension `Mode` =
//! `lambda`, `worker` or `backfill`): `Objects`, `Messages`, `BytesIn`,
//! `BytesOut`, `Failures`, `Missing`, `Quarantined`, `Skipped`,
//! `NotStarted`, `DurationMs`.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Objects converted and landed.
    pub objects: u64,
    /// JSON lines written.
    pub messages: u64,
    /// Bytes read from sources (compressed, as stored).
    pub bytes_in: u64,
    /// Bytes written to landing objects (compressed, as stored).
    pub bytes_out: u64,
    /// Objects (or bodies) reported as failed.
    pub failures: u64,
    /// Objects that no longer existed.
    pub missing: u64,
    /// Objects whose error report went to quarantine.
    pub quarantined: u64,
    /// Records acknowledged without work (test events, removals).
    pub skipped: u64,
    /// Objects not started because the deadline was near.
    pub not_started: u64,
    /// Objects acknowledged without converting them because protoland
    /// wrote them (landing objects, reports): above zero, the landing or
    /// quarantine location is inside the notified one.
    pub own_output: u64,
    pub duration: Duration,
}

impl BatchStats {
    /// Adds another batch's counters.
    pub fn add(&mut self, other: &BatchStats) {
        self.objects += other.objects;
        self.messages += other.messages;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.failures += other.failures;
        self.missing += other.missing;
        self.quarantined += other.quarantined;
        self.skipped += other.skipped;
        self.not_started += other.not_started;
        self.own_output += other.own_output;
        self.duration += other.duration;
    }

    /// The EMF document for these counters.
    pub fn to_emf(&self, namespace: &str, mode: &str, timestamp_ms: i64) -> serde_json::Value {
        let names = [
            ("Objects", "Count"),
            ("Messages", "Count"),
            ("BytesIn", "Bytes"),
            ("BytesOut", "Bytes"),
            ("Failures", "Count"),
            ("Missing", "Count"),
            ("Quarantined", "Count"),
            ("Skipped", "Count"),
            ("NotStarted", "Count"),
            ("OwnOutput", "Count"),
            ("DurationMs", "Milliseconds"),
        ];
        let metrics: Vec<_> = names
            .iter()
            .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["Mode"]],
                    "Metrics": metrics,
                }],
            },
            "Mode": mode,
            "Objects": self.objects,
            "Messages": self.messages,
            "BytesIn": self.bytes_in,
            "BytesOut": self.bytes_out,
            "Failures": self.failures,
            "Missing": self.missing,
            "Quarantined": self.quarantined,
            "Skipped": self.skipped,
            "NotStarted": self.not_started,
            "OwnOutput": self.own_output,
            "DurationMs": u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Prints the EMF line to stdout (one `write` of one line, so lines from
    /// concurrent batches never interleave).
    pub fn emit(&self, namespace: &str, mode: &str) {
        let doc = self.to_emf(namespace, mode, chrono::Utc::now().timestamp_millis());
        let mut line = doc.to_string();
        line.push('\n');
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        if let Err(e) = lock.write_all(line.as_bytes()).and_then(|()| lock.flush()) {
            tracing::warn!(error = %e, "could not print metrics");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_every_counter_with_its_emf_declaration() {
        let stats = BatchStats {
            objects: 3,
            messages: 120,
            bytes_in: 4096,
            bytes_out: 20000,
            failures: 1,
            duration: Duration::from_millis(1500),
            ..BatchStats::default()
        };
        let doc = stats.to_emf("protoland", "lambda", 1_709_847_723_456);
        insta::assert_json_snapshot!(doc);
        // Every declared metric has a value at the top level.
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics array");
        for metric in declared {
            let name = metric["Name"].as_str().expect("name");
            assert!(doc[name].is_u64(), "{name}");
        }
    }
}
