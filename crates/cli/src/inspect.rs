//! `protoland inspect`: what an object is. One report per input on
//! stdout; exit code 1 when any input has a problem (no framing fits, a
//! bad frame or compressed data, a message that does not decode).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use protoland_stream::{ConvertError, Framing, InspectReport, inspect};
use protoland_transcode::JsonOptions;

use crate::args::{StreamArgs, load_plan};
use crate::convert::chain;
use crate::eprint_line;
use crate::input::{check_stdin_once, open_input};

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A .proto file or a binary FileDescriptorSet (repeatable). With a
    /// schema, every message is decoded; without, frames are only checked
    /// for well-formed wire data.
    #[arg(
        short = 's',
        long = "schema",
        value_name = "PATH",
        requires = "message"
    )]
    schema: Vec<PathBuf>,

    /// An import directory for .proto files, like protoc -I (repeatable).
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    include: Vec<PathBuf>,

    /// The fully-qualified message type, e.g. acme.Click (with --schema).
    #[arg(short = 'm', long, value_name = "NAME", requires = "schema")]
    message: Option<String>,

    #[command(flatten)]
    stream: StreamArgs,

    /// Input files; - for stdin (at most once).
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<String>,
}

pub(crate) fn run(args: InspectArgs) -> Result<ExitCode> {
    check_stdin_once(&args.inputs)?;
    let plan = match &args.message {
        Some(message) => Some(load_plan(
            &args.schema,
            &args.include,
            message,
            JsonOptions::default(),
        )?),
        None => None,
    };
    let options = args.stream.options(false);
    let mut code = ExitCode::SUCCESS;
    let stdout = std::io::stdout();
    for (i, spec) in args.inputs.iter().enumerate() {
        let result = open_input(spec).and_then(|input| {
            inspect(input, &options, plan.as_ref()).with_context(|| format!("inspecting {spec}"))
        });
        match result {
            Ok(report) => {
                if report.has_problems() {
                    code = ExitCode::FAILURE;
                }
                let mut text = String::new();
                if i > 0 {
                    text.push('\n');
                }
                render(
                    &mut text,
                    spec,
                    &report,
                    args.message.as_deref(),
                    args.stream.framing,
                );
                stdout.lock().write_all(text.as_bytes())?;
            }
            Err(e) => {
                eprint_line(format_args!("error: {e:#}"));
                code = ExitCode::FAILURE;
            }
        }
    }
    stdout.lock().flush()?;
    Ok(code)
}

/// The report as people read it.
fn render(
    out: &mut String,
    spec: &str,
    report: &InspectReport,
    message: Option<&str>,
    asked: Framing,
) {
    let _ = writeln!(out, "{spec}");
    let _ = writeln!(
        out,
        "  compression  {} ({} bytes, {} decompressed)",
        report.compression, report.bytes_in, report.bytes_decompressed
    );
    match (report.framing, asked) {
        (Some(framing), Framing::Auto) => {
            let _ = writeln!(out, "  framing      {framing} (detected)");
        }
        (Some(framing), _) => {
            let _ = writeln!(out, "  framing      {framing} (explicit)");
        }
        (None, _) if report.detection.is_none() => {
            let _ = writeln!(out, "  framing      not detected (reading stopped first)");
        }
        (None, _) => {
            let _ = writeln!(out, "  framing      none of the layouts fits");
        }
    }
    if let (Framing::Auto, Some(detection)) = (asked, &report.detection) {
        for layout in &detection.layouts {
            let ranked_lower = if layout.is_candidate() && Some(layout.framing) != detection.framing
            {
                " (fits too, ranked lower)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    {:<9}{}{ranked_lower}",
                format!("{}:", layout.framing),
                layout.summary
            );
        }
    }
    if report.framing.is_some() {
        let _ = write!(out, "  messages     {}", report.messages);
        if let (Some(min), Some(max), Some(mean)) = (
            report.min_frame_bytes,
            report.max_frame_bytes,
            report.mean_frame_bytes(),
        ) {
            let _ = write!(out, " (sizes: min {min}, max {max}, mean {mean:.1} bytes)");
        }
        out.push('\n');
        let good = report.messages - report.decode_errors;
        match message {
            Some(name) => {
                let _ = write!(
                    out,
                    "  schema       {name}: {good} of {} decode",
                    report.messages
                );
                if report.unknown_fields > 0 {
                    let _ = write!(out, ", {} unknown fields", report.unknown_fields);
                }
                out.push('\n');
            }
            None => {
                let _ = writeln!(
                    out,
                    "  wire format  {good} of {} are well-formed protobuf (no schema given)",
                    report.messages
                );
            }
        }
    }
    if let Some(error) = &report.first_decode_error {
        let _ = writeln!(out, "  first error  {}", describe_decode_error(error));
    }
    if let Some(error) = &report.stream_error {
        let _ = writeln!(out, "  stopped by   {}", chain(error));
    }
    if let Some(hint) = &report.hint {
        let _ = writeln!(out, "  hint         {hint}");
    }
}

/// `message 12 at byte 4096: invalid wire type 7 (byte 3 of the message,
/// field `items`)`.
fn describe_decode_error(error: &ConvertError) -> String {
    match error {
        ConvertError::Transcode {
            index,
            offset,
            source,
        } => {
            let mut text = format!(
                "message {index} at byte {offset}: {} (byte {} of the message",
                source.kind, source.offset
            );
            if !source.field_path.is_empty() {
                let _ = write!(text, ", field `{}`", source.field_path);
            }
            text.push(')');
            text
        }
        other => chain(other),
    }
}
