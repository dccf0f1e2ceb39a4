//! `protoland`: Protocol Buffers objects to newline-delimited JSON.
//!
//! One module per subcommand (`convert`, `inspect`, `worker`, `backfill`,
//! `table`);
//! `input` opens what
//! INPUT names, `args` holds the flags several subcommands share and
//! `progress` the progress bar. Data goes to stdout, diagnostics to stderr.

// Flag doc comments are clap's --help text, printed as written (`<stem>`,
// `<landing>` are placeholders there), not rustdoc HTML.
#![allow(rustdoc::invalid_html_tags)]

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod backfill;
mod convert;
mod input;
mod inspect;
mod progress;
mod table;
mod worker;

/// Protocol Buffers objects (single messages or length-delimited streams;
/// gzip, zstd or plain) to newline-delimited canonical ProtoJSON, against a
/// schema loaded at run time.
#[derive(Debug, Parser)]
#[command(name = "protoland", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert protobuf objects to newline-delimited JSON (one JSON object
    /// per message, in input order).
    #[command(
        after_help = "Exit codes: 0 every input converted (messages skipped with \
--skip-invalid included), or stdout closed by its reader (| head); 1 an error, which stops \
the run at the first failing input; 2 a usage error."
    )]
    Convert(convert::ConvertArgs),
    /// Tell what an object is: compression, framing (and why), message
    /// count and sizes and, with a schema, the first message that does not
    /// decode.
    #[command(
        after_help = "Exit codes: 0 no input has a problem; 1 an input has a problem \
(or cannot be read); 2 a usage error."
    )]
    Inspect(inspect::InspectArgs),
    /// Long-poll an SQS queue of S3 notifications and convert the objects
    /// they name into the landing location (the Lambda function's handler,
    /// for containers and local runs).
    #[command(after_help = "Exit codes: 0 stopped by SIGTERM or Ctrl-C, or with \
--until-empty every message converted or acknowledged; 1 an invalid setting, a queue that \
cannot be read, or with --until-empty a message that failed (it stays on the queue); 2 a \
usage error.")]
    Worker(worker::WorkerArgs),
    /// Convert the objects that already exist under s3://bucket/prefix (or
    /// in a local directory), skipping those whose landing object exists.
    #[command(after_help = "Exit codes: 0 every object converted, already landed, \
quarantined or missing; 1 an invalid setting, a listing that failed, or an object that \
failed; 2 a usage error.")]
    Backfill(backfill::BackfillArgs),
    /// Print the table definition that makes a landing prefix queryable:
    /// Athena's CREATE EXTERNAL TABLE (the default), or with --glue the same
    /// table as a Glue TableInput, with partitions projected from the key
    /// template's name={...} segments.
    #[command(
        after_help = "Exit codes: 0 the definition printed; 1 an error (a schema \
or message that cannot be loaded, names that Athena cannot tell apart, a location or key \
template that does not fit); 2 a usage error."
    )]
    Table(table::TableArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Convert(args) => convert::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Worker(args) => worker::run(args),
        Command::Backfill(args) => backfill::run(args),
        Command::Table(args) => table::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => {
            // The reader of stdout went away (`| head`): not an error of ours.
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_error(&e);
            ExitCode::FAILURE
        }
    }
}

/// Prints `error: ` and the error with its causes, once, on one line.
fn print_error(e: &anyhow::Error) {
    let _ = writeln!(std::io::stderr().lock(), "error: {e:#}");
}

/// Writes one line to stderr; a failing stderr is ignored (there is nowhere
/// left to report it).
pub(crate) fn eprint_line(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<protoland_stream::ConvertError>()
                .is_some_and(|c| {
                    matches!(c, protoland_stream::ConvertError::Write(io)
                        if io.kind() == std::io::ErrorKind::BrokenPipe)
                })
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
