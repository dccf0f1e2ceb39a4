//! Converts one file to NDJSON with the library alone (no CLI), then prints
//! the report and the process's peak RSS on stderr: a quick way to measure
//! memory and throughput on a generated file.
//!
//! ```text
//! cargo run --release -p protoland-stream --example convert_file -- \
//!     SCHEMA.proto MESSAGE INPUT [OUTPUT]
//! ```
//!
//! OUTPUT defaults to discarding the JSON (`/dev/null`-like sink).

use std::fs::File;
use std::io::{self, Write};
use std::time::Instant;

use protoland_schema::Schema;
use protoland_stream::{ConvertOptions, Converter, Progress};
use protoland_transcode::{JsonOptions, Plan};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [schema, message, input, rest @ ..] = args.as_slice() else {
        return Err("usage: convert_file SCHEMA MESSAGE INPUT [OUTPUT]".into());
    };
    let schema = Schema::load([schema], Vec::<String>::new())?;
    let plan = Plan::new(&schema.message(message)?, JsonOptions::default());
    let output: Box<dyn Write + Send> = match rest.first() {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::sink()),
    };
    let start = Instant::now();
    let report = Converter::new(plan, ConvertOptions::default()).convert(
        File::open(input)?,
        output,
        &Progress::default(),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let mut err = io::stderr().lock();
    writeln!(err, "{report:#?}")?;
    writeln!(
        err,
        "{:.2} s; {:.1} MiB/s decompressed, {:.1} MiB/s compressed, {:.0} messages/s",
        seconds,
        mib(report.bytes_decompressed) / seconds,
        mib(report.bytes_in) / seconds,
        report.messages as f64 / seconds
    )?;
    // VmHWM: the peak resident set size, as the kernel counts it.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines().filter(|l| l.starts_with("VmHWM")) {
            writeln!(err, "{line}")?;
        }
    }
    Ok(())
}
