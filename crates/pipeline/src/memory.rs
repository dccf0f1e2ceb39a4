//! Whether the objects converted at once fit in the memory the process
//! may use, at the worst case the limits allow.
//!
//! Each object's conversion holds at most
//! [`conversion_memory`] (a zstd
//! window, two frames, a long line per transcoding thread and the
//! writer's, and fixed buffers), and its output up to three parts and a
//! compressor. A Lambda knows its memory (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`);
//! when `PROTOLAND_CONCURRENCY` objects at their worst would not fit in
//! it, [`fit`] lowers the concurrency to what does (the pipeline warns at
//! start-up), and refuses to start when not even one object fits: a
//! function that one hostile object can get OOM-killed loses the whole
//! batch (every message of it is retried, and with it the object) instead
//! of failing that object with an error naming the limit.
//!
//! Lowering rather than refusing: the limits are worst cases that real
//! data seldom comes near, and a function that converts fewer objects at
//! once still converts every object; refusing would stop a running
//! deployment over a memory size that was always too small for its limits.

use std::num::NonZeroUsize;

use protoland_stream::{
    CompressOptions, MAX_THREADS, OutputFormat, compression_memory, conversion_memory,
    parquet_memory,
};

use protoland_pipeline_core::{ConfigError, Settings, vars};

/// What the process takes besides its objects: the runtime, the compiled
/// schemas, the HTTP clients (the soak measures 20 MiB before the first
/// object).
pub(crate) const BASELINE: u64 = 32 << 20;

/// Per object besides the conversion, the output compressor and the
/// output parts: the chunks between the network and the converter (32 of
/// up to 64 KiB), request buffers.
const OBJECT_IO: u64 = 8 << 20;

/// Transcoding threads per object: the cores shared between the objects
/// converted at once (at least one each), so that memory grows with the
/// cores, not with cores × objects.
pub(crate) fn transcoding_threads(cores: usize, concurrency: usize) -> NonZeroUsize {
    NonZeroUsize::new(cores / concurrency.max(1)).unwrap_or(NonZeroUsize::MIN)
}

/// Threads that compress one object's output: every core, up to the
/// converter's [`MAX_THREADS`], whatever the concurrency. Unlike a
/// transcoding thread, an idle compression thread holds nothing (the
/// chunks in flight are bounded per object, see
/// [`compression_memory`]), and the bytes do not depend on the count; so
/// one large object, or the last of a batch, gets every core for its
/// output, which is where most of the CPU time goes.
pub(crate) fn compression_threads(cores: usize) -> NonZeroUsize {
    transcoding_threads(cores.min(MAX_THREADS), 1)
}

/// How landing objects are compressed on `cores` cores.
pub(crate) fn compress_options(settings: &Settings, cores: usize) -> CompressOptions {
    CompressOptions {
        compression: settings.output_compression.compression(),
        level: settings.output_level,
        threads: compression_threads(cores),
    }
}

/// The most one object can take, converted with `threads` transcoding
/// threads under `settings`' limits, its output compressed on `cores`
/// cores.
pub(crate) fn per_object(settings: &Settings, threads: usize, cores: usize) -> u64 {
    let parts = 3u64.saturating_mul(settings.part_size as u64);
    // A Parquet object also holds its row group in progress.
    let parquet = if writes_parquet(settings) {
        parquet_memory(&settings.parquet)
    } else {
        0
    };
    conversion_memory(&settings.limits, threads)
        .saturating_add(compression_memory(&compress_options(settings, cores)))
        .saturating_add(parquet)
        .saturating_add(parts)
        .saturating_add(OBJECT_IO)
}

/// Whether any route (or the default) writes Parquet.
fn writes_parquet(settings: &Settings) -> bool {
    settings.output_format == OutputFormat::Parquet
        || settings
            .routes
            .iter()
            .any(|r| r.format == Some(OutputFormat::Parquet))
}

/// How many objects at once fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fit {
    /// Objects converted at once: the configured concurrency, or lower.
    pub concurrency: usize,
    /// What each may take at most.
    pub per_object: u64,
    /// The configured concurrency, when it was lowered.
    pub lowered_from: Option<usize>,
    /// The memory the check used.
    pub memory: u64,
}

impl Fit {
    /// The start-up warning when the concurrency was lowered.
    pub(crate) fn warning(&self) -> Option<String> {
        let from = self.lowered_from?;
        Some(format!(
            "{} lowered from {from} to {}: {} MB of memory hold {} {} at the worst case of the limits ({} MiB each: {}), besides {} MiB for the process",
            vars::CONCURRENCY,
            self.concurrency,
            self.memory >> 20,
            self.concurrency,
            if self.concurrency == 1 {
                "object"
            } else {
                "objects"
            },
            self.per_object.div_ceil(1 << 20),
            LIMITS,
            BASELINE >> 20,
        ))
    }
}

/// The settings whose values make up an object's worst case.
const LIMITS: &str = "2 x PROTOLAND_MAX_FRAME_BYTES, (transcoding threads + 1) x PROTOLAND_MAX_LINE_BYTES, PROTOLAND_MAX_ZSTD_WINDOW, 3 x PROTOLAND_PART_SIZE, the output compressor (PROTOLAND_OUTPUT_COMPRESSION, PROTOLAND_OUTPUT_LEVEL), for Parquet PROTOLAND_PARQUET_ROW_GROUP_BYTES and 17 MiB, and about 50 MiB of buffers";

/// The objects at once that fit in `memory` bytes with `cores` cores: the
/// configured concurrency, or the largest lower one that fits.
///
/// # Errors
///
/// [`ConfigError`] for [`vars::LAMBDA_MEMORY_SIZE`], naming the settings to
/// lower, when not even one object fits.
pub(crate) fn fit(settings: &Settings, memory: u64, cores: usize) -> Result<Fit, ConfigError> {
    let available = memory.saturating_sub(BASELINE);
    let configured = settings.concurrency.max(1);
    for concurrency in (1..=configured).rev() {
        let threads = transcoding_threads(cores, concurrency).get();
        let per_object = per_object(settings, threads, cores);
        if (concurrency as u64).saturating_mul(per_object) <= available {
            return Ok(Fit {
                concurrency,
                per_object,
                lowered_from: (concurrency < configured).then_some(configured),
                memory,
            });
        }
    }
    let one = per_object(settings, transcoding_threads(cores, 1).get(), cores);
    Err(ConfigError::Invalid {
        var: vars::LAMBDA_MEMORY_SIZE,
        message: format!(
            "{} MB cannot hold one object at the worst case of the limits ({} MiB: {LIMITS}) and {} MiB for the process; lower those limits or give the function more memory",
            memory >> 20,
            one.div_ceil(1 << 20),
            BASELINE >> 20,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protoland_pipeline_core::Location;

    fn settings(concurrency: usize) -> Settings {
        let mut s = Settings::new(Location::parse("/tmp/landing").expect("a local path"));
        s.concurrency = concurrency;
        s
    }

    /// The defaults at the template's 512 MB: one object's worst case is
    /// two 64 MiB frames, two or three 64 MiB lines, an 8 MiB window,
    /// three 8 MiB parts and buffers, so 4 objects do not fit and 1 does.
    #[test]
    fn lowers_the_concurrency_to_what_fits() {
        let fit = fit(&settings(4), 512 << 20, 2).expect("one object fits");
        assert_eq!((fit.concurrency, fit.lowered_from), (1, Some(4)));
        let one = per_object(&settings(1), 2, 2);
        assert_eq!(fit.per_object, one);
        assert!(one <= (512 << 20) - BASELINE, "{one}");
        let warning = fit.warning().expect("lowered");
        assert!(
            warning.starts_with("PROTOLAND_CONCURRENCY lowered from 4 to 1: 512 MB of memory hold 1 object at the worst case of the limits ("),
            "{warning}"
        );
        // At 1769 MB (one vCPU) the defaults fit 4 objects as configured.
        let fit = super::fit(&settings(4), 1769 << 20, 2).expect("fits");
        assert_eq!((fit.concurrency, fit.lowered_from), (4, None));
        assert_eq!(fit.warning(), None);
    }

    #[test]
    fn smaller_limits_fit_more_objects() {
        let mut s = settings(4);
        s.limits.max_frame_bytes = 8 << 20;
        s.limits.max_line_bytes = 8 << 20;
        s.part_size = 5 << 20;
        let fit = fit(&s, 512 << 20, 2).expect("fits");
        assert_eq!((fit.concurrency, fit.lowered_from), (4, None));
    }

    #[test]
    fn refuses_to_start_when_one_object_does_not_fit() {
        let err = fit(&settings(4), 128 << 20, 2).expect_err("too small");
        assert_eq!(err.var(), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
        assert!(
            err.to_string().starts_with(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 128 MB cannot hold one object at the worst case of the limits ("
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("PROTOLAND_MAX_LINE_BYTES"),
            "{err}"
        );
    }

    /// Writing Parquet adds the row group in progress, the chunk of rows
    /// that crossed it and the writer's working memory beside it.
    #[test]
    fn parquet_adds_its_row_group_and_writer() {
        let ndjson = per_object(&settings(1), 1, 1);
        let mut s = settings(1);
        s.output_format = OutputFormat::Parquet;
        let parquet = per_object(&s, 1, 1);
        assert_eq!(parquet - ndjson, (64 << 20) + (1 << 20) + (16 << 20));
        s.parquet.row_group_bytes = 128 << 20;
        assert_eq!(per_object(&s, 1, 1) - parquet, 64 << 20);
        // The template's default memory holds one such object.
        let fit = fit(&s, 1769 << 20, 1).expect("fits");
        assert_eq!((fit.concurrency, fit.lowered_from), (1, None));
    }

    /// The worst case adds up what each stage may hold; a larger window,
    /// frame or line limit raises it by that much (or by that much per
    /// thread, for lines).
    #[test]
    fn the_worst_case_grows_with_each_limit() {
        let base = per_object(&settings(1), 1, 1);
        let mut s = settings(1);
        s.limits.max_zstd_window = 128 << 20;
        assert_eq!(per_object(&s, 1, 1) - base, 120 << 20);
        let mut s = settings(1);
        s.limits.max_line_bytes = 128 << 20;
        assert_eq!(per_object(&s, 1, 1) - base, 2 * (64 << 20));
        assert_eq!(
            per_object(&s, 3, 1) - per_object(&settings(1), 3, 1),
            4 * (64 << 20)
        );
        let mut s = settings(1);
        s.limits.max_frame_bytes = 128 << 20;
        assert_eq!(per_object(&s, 1, 1) - base, 2 * (64 << 20));
    }
}
