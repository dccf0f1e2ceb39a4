//! A counting global allocator: the fuzz targets measure the peak of live
//! heap bytes during one call.
//!
//! Each binary that wants the numbers installs it:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: protoland_fuzz::alloc::Counting = protoland_fuzz::alloc::Counting;
//! ```
//!
//! The counters are global (all threads), so work on helper threads (the
//! converter's reader thread, the transcoder's deep-nesting thread) counts
//! too; a measurement is only meaningful while nothing else allocates,
//! which holds under libFuzzer (one input at a time) and in the corpus test
//! (one test function). A `realloc` counts the change in size, not the
//! moment where old and new block coexist inside the system allocator.
//! Memory that C code allocates with its own `malloc` (zstd's decoder) is
//! not seen here.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting live bytes and their peak.
#[derive(Debug, Clone, Copy)]
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static USED: AtomicBool = AtomicBool::new(false);

fn grow(n: usize) {
    let now = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

fn shrink(n: usize) {
    LIVE.fetch_sub(n, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counters are side effects only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        USED.store(true, Relaxed);
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        USED.store(true, Relaxed);
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// Whether [`Counting`] is the global allocator of this binary (checked by
/// allocating).
pub fn installed() -> bool {
    let probe = std::hint::black_box(vec![0u8; 16]);
    drop(probe);
    USED.load(Relaxed)
}

/// Live heap bytes now.
pub fn live() -> usize {
    LIVE.load(Relaxed)
}

/// Runs `f` and returns its result with the peak of live bytes during the
/// call above the live bytes at its start.
pub fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let result = f();
    let peak = PEAK.load(Relaxed);
    (result, peak.saturating_sub(base))
}
