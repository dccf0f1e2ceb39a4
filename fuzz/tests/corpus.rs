//! The fuzz targets' checks over the committed corpora (`fuzz/corpus/`):
//! what CI runs instead of libFuzzer (see `fuzz/README.md`). Every file of
//! every target must pass; the counting allocator is installed so the
//! memory bounds are checked too.
//!
//! One test function on purpose: the allocation counters are global, and
//! parallel tests would add their allocations to each other's peaks.

use std::path::{Path, PathBuf};

#[global_allocator]
static ALLOC: protoland_fuzz::alloc::Counting = protoland_fuzz::alloc::Counting;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e} (run fuzz/run --seeds)", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes =
                std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

fn run_all(target: &str, mut run: impl FnMut(&[u8])) -> usize {
    let inputs = inputs(target);
    assert!(
        !inputs.is_empty(),
        "no corpus for {target} (run fuzz/run --seeds)"
    );
    for (path, bytes) in &inputs {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(bytes)));
        if let Err(panic) = result {
            eprintln!("{target}: {} fails", path.display());
            std::panic::resume_unwind(panic);
        }
    }
    inputs.len()
}

#[test]
fn every_target_holds_on_its_corpus() {
    assert!(
        protoland_fuzz::alloc::installed(),
        "the counting allocator is not installed"
    );
    let mut ok = 0;
    let mut compared = 0;
    let mut allowed = std::collections::BTreeSet::new();
    let mut worst_ratio = 0.0f64;
    let n = run_all("transcode", |data| {
        let outcome = protoland_fuzz::transcode::run(data);
        ok += usize::from(outcome.ok);
        compared += usize::from(outcome.compared);
        allowed.extend(outcome.allowed);
        let scratch = outcome.peak.saturating_sub(2 * outcome.json_len);
        worst_ratio = worst_ratio.max(scratch as f64 / data.len().max(1) as f64);
    });
    eprintln!(
        "transcode: {n} inputs, {ok} transcoded, {compared} compared with prost-reflect, \
         allowed differences {allowed:?}, worst non-output heap bytes per input byte {worst_ratio:.1}"
    );
    assert!(compared > 0, "no input was compared with prost-reflect");

    let n = run_all("framing", protoland_fuzz::framing::run);
    eprintln!("framing: {n} inputs");
    let n = run_all("events", protoland_fuzz::events::run);
    eprintln!("events: {n} inputs");
    let mut loaded = 0;
    let n = run_all("schema", |data| loaded += usize::from(protoland_fuzz::schema::run(data)));
    eprintln!("schema: {n} inputs, {loaded} loaded");
    assert!(loaded > 0, "no schema input loaded");
}
