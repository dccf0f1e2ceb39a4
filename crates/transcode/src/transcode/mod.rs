//! Walking wire bytes and writing JSON.
//!
//! **Fast path** (`fast`). A message's fields are written as they are read
//! while they arrive in ascending field-number order without repeats (a run
//! of one repeated or map field counts as one). That is what every
//! mainstream serializer produces, so it is the common case, and it costs
//! one pass and no allocation per field.
//!
//! **Slow path** (`slow`). On the first field that breaks the order (a
//! lower or repeated number, a second member of a oneof, a second
//! occurrence of a singular message, a duplicate map key), or a value the
//! JSON printer would refuse (which a later field might still overwrite),
//! the fast path gives up ([`Fault::Bail`]); the whole call restarts in
//! slow mode, where each message's fields are first gathered as spans in a
//! reusable scratch stack, ordered stably by field number and then merged
//! the way Google's parser merges: last one wins for singular scalars,
//! repeated elements join one array in wire order, occurrences of a
//! singular message merge (recursively: their spans are transcoded as one
//! message), a later oneof member clears the earlier ones, the last map
//! entry for a key wins. Restarting the whole call (instead of just the
//! message that bailed) bounds the work at two passes, whatever the
//! nesting.
//!
//! The other parts: `state` holds the scratch memory and the records both
//! paths keep; `read` reads fields and values off the wire; `walker` holds
//! the walk's state, its limits and the dispatch per message; `values`
//! writes scalars, enums and strings; `maps` reads, deduplicates and writes
//! map entries; `well_known` reads Timestamp, Duration, FieldMask and Any;
//! `check` validates without writing (messages Google's parser reads but
//! does not print, and [`Plan::check`](crate::Plan::check)).
//!
//! Memory: the output, plus in slow mode 12 bytes of scratch per field
//! occurrence; the scratch is reused across calls on a thread.

mod check;
mod fast;
mod maps;
mod read;
mod slow;
mod state;
#[cfg(test)]
mod testing;
mod values;
mod walker;
mod well_known;

pub use check::Check;
pub(crate) use check::check;

use crate::compile::Compiled;
use crate::error::{ErrorKind, Fault, TranscodeError};
use check::too_large;
use state::{Src, with_scratch};
use walker::Walker;

/// `max_len`: the longest JSON allowed (see [`Plan::transcode_limited`](crate::Plan::transcode_limited)).
pub(crate) fn transcode(
    c: &Compiled,
    buf: &[u8],
    out: &mut Vec<u8>,
    max_len: usize,
) -> Result<(), TranscodeError> {
    if u32::try_from(buf.len()).is_err() {
        return Err(too_large(buf.len()));
    }
    let entry = out.len();
    let full_cap = entry.saturating_add(max_len);
    let result = with_scratch(|s| {
        let mut w = Walker {
            c,
            buf,
            nesting: 0,
            on_big_stack: false,
            slow: false,
            s,
            cap: full_cap,
            full_cap,
            scratch: 0,
            max_len,
        };
        let r = match w.message(c.root, Src::One(0, buf.len()), 0, out) {
            Err(Fault::Bail) => {
                out.truncate(entry);
                w.s.clear();
                w.nesting = 0;
                w.slow = true;
                w.scratch = 0;
                w.cap = full_cap;
                w.message(c.root, Src::One(0, buf.len()), 0, out)
            }
            r => r,
        };
        // The tail (closing braces, the top level's defaults) after the
        // last check. Whichever path finished, its output is the JSON.
        match r {
            Ok(()) if out.len() > full_cap => Err(Fault::new(
                ErrorKind::LineTooLong { limit: max_len },
                buf.len(),
            )),
            r => r,
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(f) => {
            out.truncate(entry);
            Err(match f {
                Fault::Error(e) => *e,
                Fault::Bail => TranscodeError::new(
                    ErrorKind::Other("internal error: the slow path gave up".into()),
                    0,
                    "",
                ),
            })
        }
    }
}
