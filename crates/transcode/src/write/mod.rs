//! Writing JSON values into a byte buffer: strings, numbers, base64.
//!
//! Text style (the values are Google's; the spelling is ours, chosen once):
//! floating-point numbers are the shortest text that parses back to the same
//! 64-bit value (doubles) or 32-bit value (floats), without a trailing `.0`
//! and with a signed exponent for very large or small magnitudes (`1`,
//! `0.1`, `1e+21`, `1e-7`) — the style of Google's C++, Go and upb
//! printers — except negative zero, written `-0.0` because common JSON
//! readers (Python's `json`, serde_json) read `-0` as the integer 0 and
//! lose the sign ProtoJSON keeps; NaN and the infinities are the strings `"NaN"`,
//! `"Infinity"`, `"-Infinity"`. Strings escape `"`, `\` and the control
//! characters below U+0020 (`\n`, `\t`, … or `\u00XX`) and leave all other
//! UTF-8 as is.
//!
//! `text` writes strings, keys, escapes and base64; `number` writes
//! integers and floating-point numbers.

mod number;
mod text;

pub(crate) use number::{PAIRS, bool, f32, f64, int, quoted_int};
pub(crate) use text::{
    base64, json_string_len, key_and_short_string, put, python_bytes_repr, short_plain,
    short_string_pair, string, string_at, to_words, words,
};
