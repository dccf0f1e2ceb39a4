//! The progress bar: on stderr, only when stderr is a terminal (bytes and
//! messages per second); silent otherwise, so logs and pipes stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use protoland_stream::Progress;

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// Runs `work` with a [`Progress`] it updates, drawing a bar for `label`
/// meanwhile when stderr is a terminal. `total` is the input size when
/// known.
pub(crate) fn with_progress<T>(
    label: &str,
    total: Option<u64>,
    work: impl FnOnce(&Progress) -> T,
) -> T {
    let progress = Progress::default();
    if !std::io::stderr().is_terminal() {
        return work(&progress);
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template = if total.is_some() {
        "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}"
    } else {
        "{spinner} {prefix} {bytes} {binary_bytes_per_sec} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_owned());
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                update(&bar, &progress);
                std::thread::sleep(TICK);
            }
        });
        let result = work(&progress);
        done.store(true, Ordering::Relaxed);
        result
    });
    update(&bar, &progress);
    bar.finish_and_clear();
    result
}

fn update(bar: &ProgressBar, progress: &Progress) {
    let messages = progress.messages.load(Ordering::Relaxed);
    let seconds = bar.elapsed().as_secs_f64().max(0.001);
    bar.set_position(progress.bytes_in.load(Ordering::Relaxed));
    bar.set_message(format!(
        "{messages} messages ({:.0}/s)",
        messages as f64 / seconds
    ));
}
