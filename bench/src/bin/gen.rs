//! Writes the benchmark's data sets (and the examples), deterministically
//! from a seed, and the descriptor set the pq and Python contenders load.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use protoland_bench::generate::{
    self, ByteSize, Compression, Dataset, Framing, GENERATOR_VERSION, Limit, Spec,
};

#[derive(Parser)]
#[command(about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a data set.
    Data(DataArgs),
    /// Compile .proto files into a binary FileDescriptorSet (with imports),
    /// for tools that need one (pq, Python).
    DescriptorSet {
        /// Import path (repeatable).
        #[arg(short = 'I', long = "include", required = true)]
        includes: Vec<PathBuf>,
        /// .proto files, relative to an import path.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write the descriptor set.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(clap::Args)]
struct DataArgs {
    /// Which messages.
    #[arg(long, value_enum)]
    dataset: DatasetArg,
    /// The seed: same seed, same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop once the uncompressed stream reaches this size (150MB, 1GiB).
    #[arg(long, conflicts_with = "count", required_unless_present = "count")]
    size: Option<ByteSize>,
    /// Stop after this many messages.
    #[arg(long)]
    count: Option<u64>,
    #[arg(long, value_enum, default_value_t = FramingArg::Varint)]
    framing: FramingArg,
    #[arg(long, value_enum, default_value_t = CompressionArg::Gzip)]
    compression: CompressionArg,
    /// Write independent gzip members (zstd frames) of about this many
    /// uncompressed bytes each, compressed in parallel; default: one member.
    #[arg(long)]
    member_size: Option<ByteSize>,
    /// Threads for multi-member output.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Also write what was generated (and from what) as JSON here.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Do nothing when the output and its manifest exist and the manifest
    /// says they were made with the same settings by the same generator
    /// version.
    #[arg(long, requires = "manifest")]
    if_changed: bool,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum DatasetArg {
    Clicks,
    Telemetry,
}

#[derive(Clone, Copy, ValueEnum)]
enum FramingArg {
    Varint,
    Fixed32,
    Single,
}

#[derive(Clone, Copy, ValueEnum)]
enum CompressionArg {
    None,
    Gzip,
    Zstd,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Data(args) => data(args),
        Command::DescriptorSet {
            includes,
            files,
            output,
        } => {
            let mut compiler = protox::Compiler::new(&includes)?;
            compiler.include_imports(true);
            for file in &files {
                compiler
                    .open_file(file)
                    .with_context(|| format!("compiling {}", file.display()))?;
            }
            std::fs::write(&output, compiler.encode_file_descriptor_set())
                .with_context(|| format!("writing {}", output.display()))
        }
    }
}

fn data(args: DataArgs) -> Result<()> {
    let spec = Spec {
        dataset: match args.dataset {
            DatasetArg::Clicks => Dataset::Clicks,
            DatasetArg::Telemetry => Dataset::Telemetry,
        },
        seed: args.seed,
        limit: match (args.size, args.count) {
            (Some(size), _) => Limit::Bytes(size.0),
            (None, Some(count)) => Limit::Messages(count),
            (None, None) => unreachable!("clap requires one of --size and --count"),
        },
        framing: match args.framing {
            FramingArg::Varint => Framing::Varint,
            FramingArg::Fixed32 => Framing::Fixed32,
            FramingArg::Single => Framing::Single,
        },
        compression: match args.compression {
            CompressionArg::None => Compression::None,
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Zstd => Compression::Zstd,
        },
        member_bytes: args.member_size.map(|m| m.0),
    };
    let settings = serde_json::json!({
        "generator_version": GENERATOR_VERSION,
        "dataset": format!("{:?}", spec.dataset).to_lowercase(),
        "message": spec.dataset.message_name(),
        "seed": spec.seed,
        "limit": format!("{:?}", spec.limit),
        "framing": format!("{:?}", spec.framing).to_lowercase(),
        "compression": format!("{:?}", spec.compression).to_lowercase(),
        "member_bytes": spec.member_bytes,
    });
    if args.if_changed
        && let Some(path) = &args.manifest
        && args.output.exists()
        && let Ok(text) = std::fs::read_to_string(path)
        && let Ok(old) = serde_json::from_str::<serde_json::Value>(&text)
        && old.get("settings") == Some(&settings)
    {
        writeln!(std::io::stderr(), "{}: up to date", args.output.display())?;
        return Ok(());
    }

    // The old manifest goes first, so that it never describes new data.
    if let Some(path) = &args.manifest {
        let _ = std::fs::remove_file(path);
    }
    // Write under a temporary name: an interrupted run never leaves a
    // truncated file that looks finished.
    let partial = with_suffix(&args.output, ".partial");
    let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let summary = generate::generate(&spec, args.threads, &mut out)
        .with_context(|| format!("writing {}", partial.display()))?;
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &args.output)
        .with_context(|| format!("renaming {} into place", partial.display()))?;

    if let Some(path) = &args.manifest {
        let manifest = serde_json::json!({
            "settings": settings,
            "messages": summary.messages,
            "uncompressed_bytes": summary.uncompressed_bytes,
            "written_bytes": summary.written_bytes,
            "members": summary.members,
        });
        let mut text = serde_json::to_string_pretty(&manifest)?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    writeln!(
        std::io::stderr(),
        "{}: {} messages, {} bytes uncompressed, {} bytes written",
        args.output.display(),
        summary.messages,
        summary.uncompressed_bytes,
        summary.written_bytes
    )?;
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
