//! `protoland backfill`: convert objects that already exist under a prefix.

use std::process::ExitCode;

use anyhow::Context as _;
use protoland_pipeline::Location;
use protoland_pipeline::Pipeline;
use protoland_pipeline::{BackfillOptions, ObjectOutcomeOrSkip, backfill};

use crate::worker::{PipelineArgs, config_error, init_logging, runtime};

/// Convert every object under s3://bucket/prefix (or a local directory),
/// skipping those whose landing object exists
#[derive(Debug, clap::Args)]
pub(crate) struct BackfillArgs {
    /// s3://bucket/prefix or a local directory
    source: String,
    /// Convert even when the landing object already exists
    #[arg(long)]
    force: bool,
    /// Read files of a local SOURCE reached through symlinks (by default
    /// they are skipped with a warning naming the link: a link may point
    /// anywhere, such as /etc)
    #[arg(long)]
    follow_symlinks: bool,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

pub(crate) fn run(args: BackfillArgs) -> anyhow::Result<ExitCode> {
    init_logging()?;
    let source = Location::parse(&args.source).map_err(|e| anyhow::anyhow!("SOURCE: {e}"))?;
    let settings = args.pipeline.settings("off")?;
    let runtime = runtime()?;
    runtime.block_on(async {
        let pipeline = Pipeline::start(settings, "backfill")
            .await
            .map_err(|e| config_error(&e))?;
        let options = BackfillOptions {
            force: args.force,
            concurrency: None,
            follow_symlinks: args.follow_symlinks,
        };
        // The pipeline logs each conversion; only skips are new here.
        let summary = backfill(&pipeline, &source, &options, |source, result| {
            if let ObjectOutcomeOrSkip::Exists = result {
                tracing::debug!(source, "landing object exists; skipped");
            }
        })
        .await
        .with_context(|| format!("backfilling {source}"))?;
        if pipeline.settings().metrics.enabled {
            summary.stats.emit(&pipeline.settings().metrics.namespace, "backfill");
        }
        let s = &summary.stats;
        let line = format!(
            "backfill {source}: {} objects listed, {} converted, {} already landed, {} quarantined, {} missing, {} failed; {} messages, {} bytes in, {} bytes out, {:.1}s",
            summary.listed,
            s.objects,
            summary.existing,
            s.quarantined,
            s.missing,
            s.failures,
            s.messages,
            s.bytes_in,
            s.bytes_out,
            s.duration.as_secs_f64()
        );
        for failure in &summary.failures {
            crate::eprint_line(format_args!("failed: {failure}"));
        }
        crate::eprint_line(format_args!("{line}"));
        Ok(if s.failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    })
}
