//! `protoland convert`: protobuf objects to NDJSON (or Parquet) on stdout,
//! in a file or in a directory (one `<stem>.ndjson` or `<stem>.parquet`
//! per input). Several inputs into one output make one NDJSON stream, or
//! one Parquet file.
//!
//! A regular file is written under a temporary name in its directory and
//! renamed only when every input converted: a failure never leaves a
//! half-written file under the final name. A symlink to a regular file is
//! followed, and its target replaced the same way (the link stays). Anything
//! else (`/dev/null`, a FIFO, `/dev/stdout` on a pipe) is written straight
//! through, never replaced.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use protoland_pipeline::{OutputCompression, output_extension};
use protoland_stream::{
    CompressOptions, ConvertReport, Converter, OutputFormat, OutputWriter, check_level,
    compress_writer,
};
use tempfile::NamedTempFile;

use crate::args::{FormatArgs, JsonArgs, SchemaArgs, StreamArgs, load_plan};
use crate::eprint_line;
use crate::input::{check_stdin_once, expand_inputs, input_size, open_input, output_name};
use crate::progress::with_progress;

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    #[command(flatten)]
    schema: SchemaArgs,

    #[command(flatten)]
    stream: StreamArgs,

    #[command(flatten)]
    json: JsonArgs,

    /// Skip messages that do not decode, and frames over --max-frame-bytes:
    /// count them and report them on stderr instead of stopping.
    #[arg(long)]
    skip_invalid: bool,

    #[command(flatten)]
    format: FormatArgs,

    /// Where to write: a file (replaced whole once every input converted;
    /// a device or FIFO such as /dev/null is written straight through), an
    /// existing directory (one <stem>.ndjson or <stem>.parquet per input,
    /// compression and protobuf suffixes removed, .gz or .zst added with
    /// --output-compression), or - for stdout. [default: stdout]
    #[arg(short = 'o', long, value_name = "PATH")]
    output: Option<PathBuf>,

    /// Compress the output: none, gzip or zstd (one stream per output,
    /// compressed on as many threads as transcode, the same bytes on any
    /// number).
    #[arg(long, value_name = "COMPRESSION", default_value = "none", value_parser = parse_output_compression)]
    output_compression: OutputCompression,

    /// The output's compression level: gzip 1 to 9, zstd 1 to 19.
    /// [default: gzip 6, zstd 1]
    #[arg(long, value_name = "LEVEL")]
    output_level: Option<u32>,

    /// Input files; - for stdin (at most once); s3://bucket/key for an
    /// object, s3://bucket/prefix/ for every object under the prefix, or
    /// s3://bucket/prefix/*.pb.gz for those whose key matches the glob
    /// (* and ? within a /-separated segment, ** across). Quote globs so that
    /// the shell leaves them alone.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<String>,
}

pub(crate) fn run(args: ConvertArgs) -> Result<ExitCode> {
    check_stdin_once(&args.inputs)?;
    if let Some(level) = args.output_level {
        check_level(args.output_compression.compression(), level)
            .map_err(|e| anyhow!("--output-level: {e}"))?;
    }
    if let Some(output) = &args.output {
        check_output(output)?;
    }
    let inputs = expand_inputs(&args.inputs)?;
    let plan = load_plan(
        &args.schema.schema,
        &args.schema.include,
        &args.schema.message,
        args.json.options(),
    )?;
    let converter = args
        .format
        .converter(plan, args.stream.options(args.skip_invalid))?;
    if converter.format() == OutputFormat::Parquet
        && args.output_compression != OutputCompression::None
    {
        bail!(
            "--output-compression {} applies to NDJSON: Parquet compresses its pages inside the file (--parquet-compression)",
            args.output_compression
        );
    }
    let output = Compressed {
        options: CompressOptions {
            compression: args.output_compression.compression(),
            level: args.output_level,
            threads: converter.threads(),
        },
        extension: output_extension(converter.format(), args.output_compression),
    };
    match &args.output {
        None => to_stdout(&converter, &inputs, &output)?,
        Some(path) if path.as_os_str() == "-" => to_stdout(&converter, &inputs, &output)?,
        Some(dir) if dir.is_dir() => to_directory(&converter, &inputs, dir, &output)?,
        Some(file) => to_file(&converter, &inputs, file, &output)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `--output-compression`: the names the worker takes.
fn parse_output_compression(text: &str) -> Result<OutputCompression, String> {
    text.parse()
}

/// How each output is compressed, and the file name extension that says so.
#[derive(Debug)]
struct Compressed {
    options: CompressOptions,
    extension: &'static str,
}

/// Refuses, before any input is read, an output that cannot be written
/// where it is meant to go: a name ending in `/` that is not an existing
/// directory (`-o out/` meant a directory; as a file name it would fail
/// only at the final rename, after all the work), and a file whose
/// directory does not exist.
fn check_output(output: &Path) -> Result<()> {
    if output.as_os_str() == "-" || output.is_dir() {
        return Ok(());
    }
    let text = output.as_os_str().to_string_lossy();
    if text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) {
        bail!(
            "output directory {} does not exist: create it first (mkdir -p {})",
            output.display(),
            output.display()
        );
    }
    if let Some(parent) = output.parent()
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        bail!(
            "output {}: directory {} does not exist",
            output.display(),
            parent.display()
        );
    }
    Ok(())
}

fn to_stdout(converter: &Converter, inputs: &[String], output: &Compressed) -> Result<()> {
    convert_all(converter, inputs, std::io::stdout(), output)
}

/// Every input into one output (see [`Output`]).
fn to_file(
    converter: &Converter,
    inputs: &[String],
    path: &Path,
    compressed: &Compressed,
) -> Result<()> {
    let mut output = Output::open(path)?;
    convert_all(converter, inputs, output.file(), compressed)?;
    output.finish()
}

/// Every input into `out`, one after the other, compressed as
/// `compressed` says (for Parquet: one file, finished once every input
/// converted).
fn convert_all(
    converter: &Converter,
    inputs: &[String],
    out: impl Write + Send,
    compressed: &Compressed,
) -> Result<()> {
    let mut output = converter.output_writer(compress_writer(out, compressed.options))?;
    for spec in inputs {
        convert_one(converter, spec, &mut output)?;
    }
    output.finish()?.finish().context("writing the output")?;
    Ok(())
}

/// One file per input; each renamed into place when it is complete.
fn to_directory(
    converter: &Converter,
    inputs: &[String],
    dir: &Path,
    compressed: &Compressed,
) -> Result<()> {
    // `<stem>.ndjson` or `<stem>.parquet`, and the compression's suffix.
    let suffix = compressed
        .extension
        .trim_start_matches(".ndjson")
        .trim_start_matches(".parquet");
    let names: Vec<String> = inputs
        .iter()
        .map(|spec| output_name(spec, converter.format()) + suffix)
        .collect();
    for (i, name) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|other| other == name) {
            bail!(
                "inputs {} and {} would both be written to {}",
                inputs[j],
                inputs[i],
                dir.join(name).display()
            );
        }
    }
    for (spec, name) in inputs.iter().zip(&names) {
        let mut output = Output::open(&dir.join(name))?;
        convert_all(
            converter,
            std::slice::from_ref(spec),
            output.file(),
            compressed,
        )?;
        output.finish()?;
    }
    Ok(())
}

/// Where an output path's bytes go.
#[derive(Debug)]
enum Output {
    /// A regular file, new or existing (or the one a symlink names): written
    /// under a temporary name next to it, renamed over it when complete.
    Replace { temp: NamedTempFile, path: PathBuf },
    /// Anything else that takes writes (a character device, a FIFO, a
    /// socket): replacing it would turn `/dev/null` into a regular file
    /// (as root) or cut a FIFO's reader off, so it is written in place.
    Through(File),
}

impl Output {
    fn open(path: &Path) -> Result<Output> {
        let link = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta.file_type().is_symlink(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Output::replace(path.to_owned());
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        // The file itself, through any symlinks.
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if link && e.kind() == std::io::ErrorKind::NotFound => {
                let target = std::fs::read_link(path).unwrap_or_default();
                bail!(
                    "output {} is a symlink to {}, which does not exist",
                    path.display(),
                    target.display()
                );
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        if meta.is_file() {
            // Replace the link's target, next to it; the link stays a link.
            let target = if link {
                std::fs::canonicalize(path)
                    .with_context(|| format!("resolving the symlink {}", path.display()))?
            } else {
                path.to_owned()
            };
            return Output::replace(target);
        }
        if meta.is_dir() {
            bail!("output {} is a directory", path.display());
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("opening {} for writing", path.display()))?;
        Ok(Output::Through(file))
    }

    fn replace(path: PathBuf) -> Result<Output> {
        Ok(Output::Replace {
            temp: temporary_for(&path)?,
            path,
        })
    }

    fn file(&mut self) -> &mut File {
        match self {
            Output::Replace { temp, .. } => temp.as_file_mut(),
            Output::Through(file) => file,
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Output::Replace { temp, path } => persist(temp, &path),
            Output::Through(mut file) => Ok(file.flush()?),
        }
    }
}

fn convert_one<W: Write + Send>(
    converter: &Converter,
    spec: &str,
    out: &mut OutputWriter<W>,
) -> Result<ConvertReport> {
    let input = open_input(spec)?;
    let report = with_progress(spec, input_size(spec), |progress| {
        converter.convert_to(input, out, progress)
    })
    .with_context(|| format!("converting {spec}"))?;
    if report.skipped > 0 {
        let noun = if report.skipped == 1 {
            "message"
        } else {
            "messages"
        };
        eprint_line(format_args!(
            "warning: {spec}: skipped {} invalid {noun}",
            report.skipped
        ));
        for error in &report.first_skipped {
            eprint_line(format_args!("  {}", chain(error)));
        }
        let unlisted = report.skipped - report.first_skipped.len() as u64;
        if unlisted > 0 {
            eprint_line(format_args!("  and {unlisted} more"));
        }
    }
    Ok(report)
}

/// An error and its causes on one line, `: `-separated.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A temporary file next to `path` (same directory, so the final rename
/// cannot cross file systems), named `.<file name>.<random>.tmp`, deleted
/// if dropped.
fn temporary_for(path: &Path) -> Result<NamedTempFile> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("output {} is not a file name", path.display()))?;
    let prefix = format!(".{}.", name.to_string_lossy());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        // The usual mode of a new file (the umask still applies), not the
        // owner-only mode of temporary files.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))
}

fn persist(temp: NamedTempFile, path: &Path) -> Result<()> {
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming the output into place as {}", path.display()))?;
    Ok(())
}
