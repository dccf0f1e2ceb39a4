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

use std::mem::MaybeUninit;

use base64::Engine as _;

/// Appends `s` (valid UTF-8) as a JSON string, quotes included.
#[inline]
pub(crate) fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    escape(out, s);
    out.push(b'"');
}

/// Appends `s` as a JSON string if it is valid UTF-8, in one pass that
/// checks for bytes to escape and for non-ASCII bytes together (only a
/// string with non-ASCII bytes is then validated as UTF-8). Otherwise
/// appends nothing and returns the index of the first invalid byte.
#[inline]
pub(crate) fn checked_string(out: &mut Vec<u8>, s: &[u8]) -> Result<(), usize> {
    if plain(s) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
        return Ok(());
    }
    escaped_string(out, s)
}

/// [`checked_string`] for strings with bytes to escape or non-ASCII bytes.
#[inline(never)]
fn escaped_string(out: &mut Vec<u8>, s: &[u8]) -> Result<(), usize> {
    let start = out.len();
    out.reserve(s.len() + 2);
    out.push(b'"');
    let high = escape(out, s);
    out.push(b'"');
    if high & HIGH != 0 && simdutf8::basic::from_utf8(s).is_err() {
        out.truncate(start);
        return Err(match simdutf8::compat::from_utf8(s) {
            Ok(_) => 0,
            Err(e) => e.valid_up_to(),
        });
    }
    Ok(())
}

/// Appends `buf[start..end]` as a JSON string if it is valid UTF-8 (see
/// [`checked_string`]).
///
/// Short ASCII strings without anything to escape (most keys and many
/// values) take a branch-light path: the 16 bytes from `start` are loaded
/// as two words (reading past `end` is fine while inside `buf`), the bytes
/// past `end` masked to a harmless filler, both words stored whole and the
/// filler truncated away.
#[inline(always)]
pub(crate) fn string_at(
    out: &mut Vec<u8>,
    buf: &[u8],
    start: usize,
    end: usize,
) -> Result<(), usize> {
    match short_plain(buf, start, end) {
        Some((a, b)) => {
            short_ascii(out, a, b, end - start);
            Ok(())
        }
        None => checked_string(out, &buf[start..end]),
    }
}

/// `buf[start..end]` as two words (filler past `end`) when it is at most
/// 16 plain bytes (see [`plain_bits`]) and 16 bytes can be read from
/// `start`.
#[inline(always)]
pub(crate) fn short_plain(buf: &[u8], start: usize, end: usize) -> Option<(u64, u64)> {
    let n = end - start;
    if n > 16 {
        return None;
    }
    let bytes = buf.get(start..)?.first_chunk::<16>()?;
    let ma = if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    };
    let mb = if n >= 16 {
        u64::MAX
    } else if n > 8 {
        (1u64 << (8 * (n - 8))) - 1
    } else {
        0
    };
    let (lo, hi) = bytes.split_at(8);
    let lo = lo.first_chunk::<8>().map_or(0, |b| u64::from_le_bytes(*b));
    let hi = hi.first_chunk::<8>().map_or(0, |b| u64::from_le_bytes(*b));
    let a = (lo & ma) | (FILLER & !ma);
    let b = (hi & mb) | (FILLER & !mb);
    ((plain_bits(a) | plain_bits(b)) == 0).then_some((a, b))
}

/// Appends `"k":"v"` for plain strings of `kn` bytes (words 0 and 1) and
/// `n` bytes (words 2 and 3).
#[inline(always)]
pub(crate) fn short_string_pair(out: &mut Vec<u8>, w: [u64; 4], kn: usize, n: usize) {
    short_ascii(out, w[0], w[1], kn);
    out.push(b':');
    short_ascii(out, w[2], w[3], n);
}

/// Appends a key of `kn` bytes (words 0 and 1) and a string of `n` plain
/// bytes (words 2 and 3), quoted.
#[inline(always)]
pub(crate) fn key_and_short_string(out: &mut Vec<u8>, w: [u64; 4], kn: usize, n: usize) {
    store16(out, w[0], w[1], kn);
    short_ascii(out, w[2], w[3], n);
}

/// Appends `"` + the first `n` bytes of words `a`, `b` + `"`.
#[inline(always)]
fn short_ascii(out: &mut Vec<u8>, a: u64, b: u64, n: usize) {
    let mut bytes = [b'"'; 18];
    bytes[1..9].copy_from_slice(&a.to_le_bytes());
    bytes[9..17].copy_from_slice(&b.to_le_bytes());
    put(out, bytes, n + 1);
    out.push(b'"');
}

/// Appends the first `n` (at most 16) bytes of words `a`, `b`.
#[inline(always)]
fn store16(out: &mut Vec<u8>, a: u64, b: u64, n: usize) {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    put(out, bytes, n);
}

/// Appends the first `n` bytes of `bytes` (`n <= N`) with one capacity
/// check and no call: what `Vec::extend_from_slice` does, except that LLVM
/// keeps it inline in the large functions that write JSON (it does not
/// inline `Vec`'s own helpers there, and a call per small write costs more
/// than the write).
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn put<const N: usize>(out: &mut Vec<u8>, bytes: [u8; N], n: usize) {
    out.reserve(N);
    let len = out.len();
    // (A copy of a constant size, which LLVM does in a few wide moves.)
    out.spare_capacity_mut()[..N].copy_from_slice(&bytes.map(MaybeUninit::new));
    // SAFETY: `reserve(N)` made room for N bytes after `len`, and the copy
    // above initialized all N of them (the slice of the spare capacity is
    // exactly those N slots: it would have panicked otherwise); `n.min(N)`
    // keeps the new length within the initialized bytes.
    unsafe { out.set_len(len + n.min(N)) };
}

/// Appends pre-encoded bytes stored as little-endian words (`len` of them
/// are meant; the rest of the last word is filler): whole-word stores
/// instead of a call to `memcpy`.
#[inline(always)]
pub(crate) fn words(out: &mut Vec<u8>, words: &[u64], len: usize) {
    match words {
        [] => {}
        [a] => store16(out, *a, FILLER, len),
        [a, b] => store16(out, *a, *b, len),
        _ => long_words(out, words, len),
    }
}

#[inline(never)]
fn long_words(out: &mut Vec<u8>, words: &[u64], len: usize) {
    let base = out.len();
    for w in words {
        put(out, w.to_le_bytes(), 8);
    }
    out.truncate(base + len);
}

/// `bytes` as little-endian words, the last padded with filler.
pub(crate) fn to_words(bytes: &[u8]) -> Box<[u64]> {
    bytes
        .chunks(8)
        .map(|c| {
            let mut w = FILLER.to_le_bytes();
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect()
}

/// `aaaaaaaa`: ASCII, nothing to escape.
pub(crate) const FILLER: u64 = 0x6161_6161_6161_6161;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of the little-endian word `w` is below 0x20, `"` or `\`
/// (exact: the classic SWAR "has a byte less than n" / "has a zero byte"
/// tests, never a false negative or, for the word as a whole, a false
/// positive).
/// Zero when every byte of the little-endian word `w` is printable ASCII
/// other than `"` and `\` (the bytes a JSON string takes as they are).
///
/// Exact for the word as a whole: below the lowest byte that is not plain
/// no subtraction borrows, so that byte sets its high bit in one of the
/// terms (`< 0x20` in the first, `"` and `\` in the second and third,
/// non-ASCII in `w` itself); plain bytes set none.
#[inline(always)]
fn plain_bits(w: u64) -> u64 {
    (w.wrapping_sub(ONES * 0x20)
        | (w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES)
        | (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES)
        | w)
        & HIGH
}

/// Whether `s` is all plain bytes (see [`plain_bits`]): ASCII, nothing to
/// escape.
#[inline]
fn plain(s: &[u8]) -> bool {
    let n = s.len();
    if n < 8 {
        return s
            .iter()
            .all(|&c| (0x20..0x80).contains(&c) && c != b'"' && c != b'\\');
    }
    let word = |at: usize| {
        s.get(at..)
            .and_then(|rest| rest.first_chunk::<8>())
            .map_or(0, |b| u64::from_le_bytes(*b))
    };
    // (A plain loop over whole words, which LLVM vectorizes.)
    let mut bits = plain_bits(word(n - 8));
    for chunk in s.chunks_exact(8) {
        bits |= plain_bits(
            chunk
                .first_chunk::<8>()
                .map_or(0, |b| u64::from_le_bytes(*b)),
        );
    }
    bits == 0
}

#[cfg(test)]
fn word_needs_escape(w: u64) -> bool {
    escape_bits(w) != 0
}

/// Non-zero when the little-endian word `w` has a byte to escape (see
/// `word_needs_escape`).
#[inline(always)]
fn escape_bits(w: u64) -> u64 {
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let b = w ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b;
    (control | quote | backslash) & HIGH
}

#[inline(always)]
fn byte_needs_escape(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\'
}

/// Appends the JSON-escaped form of `s` without quotes; returns the OR of
/// all its bytes spread over a word (non-ASCII input has a high bit set).
///
/// The common string needs no escape: it is scanned eight bytes at a time
/// (the last word overlapping the one before) and copied in one go.
#[inline]
pub(crate) fn escape(out: &mut Vec<u8>, s: &[u8]) -> u64 {
    let (clean, high) = scan(s);
    if clean {
        out.extend_from_slice(s);
    } else {
        escape_bytes(out, s);
    }
    high
}

/// Whether `s` has no byte to escape, and the OR of its bytes.
///
/// Strings of 8 to 16 bytes (most keys and values) take two overlapping
/// word loads and no loop.
#[inline(always)]
fn scan(s: &[u8]) -> (bool, u64) {
    let n = s.len();
    if n < 8 {
        let (mut high, mut dirty) = (0u64, false);
        for &c in s {
            high |= u64::from(c);
            dirty |= byte_needs_escape(c);
        }
        return (!dirty, high);
    }
    let word = |at: usize| {
        s.get(at..)
            .and_then(|rest| rest.first_chunk::<8>())
            .map_or(0, |b| u64::from_le_bytes(*b))
    };
    let (first, last) = (word(0), word(n - 8));
    let mut high = first | last;
    let mut dirty = escape_bits(first) | escape_bits(last);
    let mut at = 8;
    while at + 8 < n {
        let w = word(at);
        high |= w;
        dirty |= escape_bits(w);
        at += 8;
    }
    (dirty == 0, high)
}

#[inline]
fn escape_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut done = 0;
    for (k, &c) in bytes.iter().enumerate() {
        if byte_needs_escape(c) {
            out.extend_from_slice(&bytes[done..k]);
            escape_byte(out, c);
            done = k + 1;
        }
    }
    out.extend_from_slice(&bytes[done..]);
}

#[cold]
fn escape_byte(out: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match c {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(c >> 4)],
            HEX[usize::from(c & 0xf)],
        ]),
    }
}

/// Appends, as a JSON string, what Google's Python `json_format` prints for
/// a proto2 `string` field holding invalid UTF-8: upb hands Python the raw
/// `bytes`, and `str(value)` makes that their repr (`b'a\xffb'`).
#[cold]
pub(crate) fn python_bytes_repr(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut repr = Vec::with_capacity(bytes.len() + 3);
    repr.push(b'b');
    repr.push(quote);
    for &c in bytes {
        match c {
            b'\\' => repr.extend_from_slice(b"\\\\"),
            b'\t' => repr.extend_from_slice(b"\\t"),
            b'\n' => repr.extend_from_slice(b"\\n"),
            b'\r' => repr.extend_from_slice(b"\\r"),
            _ if c == quote => repr.extend_from_slice(&[b'\\', c]),
            0x20..=0x7e => repr.push(c),
            _ => repr.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]),
        }
    }
    repr.push(quote);
    string(out, &repr);
}

/// The length of `s` (valid UTF-8) as a JSON string written by [`string`]
/// or [`checked_string`], quotes included: for checking a length limit
/// before writing a long string.
pub(crate) fn json_string_len(s: &[u8]) -> usize {
    2 + s
        .iter()
        .map(|&c| match c {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Appends standard base64 with padding, quoted.
#[inline]
pub(crate) fn base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    // 4 output bytes per 3 input bytes, rounded up; cannot overflow for any
    // slice that fits in memory.
    let len = bytes.len().div_ceil(3) * 4;
    out.resize(start + len, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

/// An integer as its sign and magnitude.
pub(crate) trait Integer: Copy {
    fn sign_and_magnitude(self) -> (bool, u64);
}

macro_rules! integer {
    (signed $($t:ty),*; unsigned $($u:ty),*) => {
        $(impl Integer for $t {
            #[inline(always)]
            fn sign_and_magnitude(self) -> (bool, u64) {
                (self < 0, u64::from(self.unsigned_abs()))
            }
        })*
        $(impl Integer for $u {
            #[inline(always)]
            fn sign_and_magnitude(self) -> (bool, u64) {
                (false, u64::from(self))
            }
        })*
    };
}
integer!(signed i32, i64; unsigned u32, u64);

/// `"00"` to `"99"` (also for the digits of Timestamps and Durations).
pub(crate) const PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// How many decimal digits `v` has (1 for 0), without a loop or a call
/// (`u64::ilog10` is both): from the bit length (log10(2) ≈ 1233 / 4096),
/// corrected by one comparison.
#[inline(always)]
fn decimal_len(v: u64) -> usize {
    const POWERS: [u64; 20] = {
        let mut p = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            p[i] = p[i - 1] * 10;
            i += 1;
        }
        p
    };
    // (`v | 1` has as many digits as `v`, and 0 gets one.)
    let v = v | 1;
    let guess = (((64 - v.leading_zeros()) * 1233) >> 12) as usize;
    guess + usize::from(v >= POWERS[guess])
}

/// Writes the decimal digits of `v` into `text` from `at` (the 20 digits
/// of `u64::MAX` fit from any `at <= 4`); returns where they end.
#[inline(always)]
fn digits(text: &mut [u8; 24], at: usize, mut v: u64) -> usize {
    let end = at + decimal_len(v);
    let mut i = end;
    // Four digits a round (half the divisions of two at a time).
    while v >= 10_000 {
        let quad = (v % 10_000) as usize;
        v /= 10_000;
        let (hi, lo) = (quad / 100 * 2, quad % 100 * 2);
        i -= 4;
        text[i..i + 2].copy_from_slice(&PAIRS[hi..hi + 2]);
        text[i + 2..i + 4].copy_from_slice(&PAIRS[lo..lo + 2]);
    }
    if v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        text[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        text[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        text[at] = b'0' + v as u8;
    }
    end
}

/// Appends an integer, in quotes when `quoted`. The text is built in a
/// fixed-size array and stored whole ([`put`]): integers are the commonest
/// values, and a call to `memcpy` per value costs more than the digits.
#[inline(always)]
fn integer(out: &mut Vec<u8>, negative: bool, magnitude: u64, quoted: bool) {
    let mut text = [b'"'; 24];
    let at = usize::from(quoted);
    text[at] = b'-';
    let end = digits(&mut text, at + usize::from(negative), magnitude);
    // (The closing quote is already there: `text` starts all quotes.)
    put(out, text, end + usize::from(quoted));
}

#[inline]
pub(crate) fn int<I: Integer>(out: &mut Vec<u8>, v: I) {
    let (negative, magnitude) = v.sign_and_magnitude();
    integer(out, negative, magnitude, false);
}

/// 64-bit integers are JSON strings in ProtoJSON.
#[inline]
pub(crate) fn quoted_int<I: Integer>(out: &mut Vec<u8>, v: I) {
    let (negative, magnitude) = v.sign_and_magnitude();
    integer(out, negative, magnitude, true);
}

#[inline]
pub(crate) fn bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

#[cold]
fn non_finite(out: &mut Vec<u8>, nan: bool, negative: bool) {
    out.extend_from_slice(if nan {
        b"\"NaN\""
    } else if negative {
        b"\"-Infinity\""
    } else {
        b"\"Infinity\""
    });
}

/// A double as the shortest text that round-trips it.
#[inline]
pub(crate) fn f64(out: &mut Vec<u8>, v: f64) {
    if cents(out, v) {
        return;
    }
    if v.is_finite() {
        let mut b = zmij::Buffer::new();
        shortest(out, b.format_finite(v).as_bytes());
    } else {
        non_finite(out, v.is_nan(), v < 0.0);
    }
}

/// Writes `v` if it has at most two decimals (prices, percentages: the
/// common case in event data), without zmij: when `k / 100.0 == v` for the
/// integer `k = round(v * 100)`, the text of `k / 100` parses back to `v`
/// exactly (both are the double nearest to the rational `k / 100`: the
/// division is correctly rounded). Returns whether it wrote.
#[inline]
fn cents(out: &mut Vec<u8>, v: f64) -> bool {
    // Rounds to an integer by adding and taking away 1.5 * 2^52, past which
    // a double has no fraction bits (`f64::round` is a call on x86-64
    // without SSE4.1). Exact for |v * 100| < 2^51; larger values come out
    // wrong but above 10^15, which the check below rejects. (How a tie
    // rounds does not matter: at a tie `k / 100` is 0.005 away from `v`.)
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let k = (v * 100.0 + SHIFT) - SHIFT;
    // |k| < 10^15 keeps k exact, and the text at most 15 significant
    // digits, which no other double's shortest text has (DBL_DIG): so it is
    // the shortest text of `v` too. v == 0.0 keeps -0.0 on zmij's path.
    // (NaN and the infinities fail `k.abs() < 1e15`.)
    let exact = k.abs() < 1e15 && k / 100.0 == v;
    if !exact || v == 0.0 {
        return false;
    }
    let k = k as i64;
    // At most a sign, 13 digits, a point and two decimals.
    let mut text = [b'-'; 24];
    let m = k.unsigned_abs();
    let end = digits(&mut text, usize::from(k < 0), m / 100);
    let c = (m % 100) as usize * 2;
    text[end] = b'.';
    text[end + 1..end + 3].copy_from_slice(&PAIRS[c..c + 2]);
    let len = match c {
        0 => end,
        _ if c.is_multiple_of(20) => end + 2,
        _ => end + 3,
    };
    put(out, text, len);
    true
}

/// A float as the shortest text that round-trips the 32-bit value.
#[inline]
pub(crate) fn f32(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        let mut b = zmij::Buffer::new();
        shortest(out, b.format_finite(v).as_bytes());
    } else {
        non_finite(out, v.is_nan(), v < 0.0);
    }
}

/// Appends zmij's text of a finite float in this module's style. zmij
/// writes the shortest digits that round-trip, the same text as ryu (the
/// tests check it) except that its exponents already carry a sign
/// (`1e+16`, `1.5e-7`); integral values come with `.0`, which goes
/// (`1.0` → `1`), except in `-0.0`.
#[inline(always)]
fn shortest(out: &mut Vec<u8>, s: &[u8]) {
    let n = match s {
        b"-0.0" => 4,
        [.., b'.', b'0'] => s.len() - 2,
        _ => s.len(),
    };
    short_text(out, &s[..n]);
}

/// Appends `s`, at most 24 bytes (a number's text), with a few overlapping
/// fixed-size copies and one store ([`put`]) instead of a call to `memcpy`.
#[inline(always)]
fn short_text(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    let mut text = [0u8; 24];
    if n >= 8 {
        // The first and last eight bytes, and the eight between them when
        // that leaves a gap.
        text[..8].copy_from_slice(&s[..8]);
        if n > 16 {
            text[8..16].copy_from_slice(&s[8..16]);
        }
        text[n - 8..n].copy_from_slice(&s[n - 8..]);
    } else if n >= 4 {
        text[..4].copy_from_slice(&s[..4]);
        text[n - 4..n].copy_from_slice(&s[n - 4..]);
    } else {
        for (t, &c) in text.iter_mut().zip(s) {
            *t = c;
        }
    }
    put(out, text, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("writers produce UTF-8")
    }

    #[test]
    fn escapes_quotes_backslashes_and_control_characters() {
        assert_eq!(s(|o| string(o, b"plain")), r#""plain""#);
        assert_eq!(s(|o| string(o, b"a\"b\\c")), r#""a\"b\\c""#);
        assert_eq!(
            s(|o| string(o, b"\x00\x01\x08\x09\x0a\x0c\x0d\x1f\x20")),
            r#""\u0000\u0001\b\t\n\f\r\u001f ""#
        );
    }

    #[test]
    fn leaves_delete_and_non_ascii_as_is() {
        let text = "\u{7f}é\u{2028}😀";
        assert_eq!(s(|o| string(o, text.as_bytes())), format!("\"{text}\""));
    }

    #[test]
    fn escapes_at_every_position_of_a_word() {
        for len in 0..20 {
            for at in 0..len {
                let mut input = vec![b'x'; len];
                input[at] = b'"';
                let mut expected = String::from("\"");
                expected.push_str(&"x".repeat(at));
                expected.push_str("\\\"");
                expected.push_str(&"x".repeat(len - at - 1));
                expected.push('"');
                assert_eq!(s(|o| string(o, &input)), expected, "len {len} at {at}");
            }
        }
    }

    #[test]
    fn plain_test_matches_bytewise_test() {
        let is_plain = |c: u8| (0x20..0x80).contains(&c) && c != b'"' && c != b'\\';
        for c in 0..=255u8 {
            for pos in 0..8 {
                for fill in [b'a', b' ', b'~', 0x7f] {
                    let mut w = [fill; 8];
                    w[pos] = c;
                    assert_eq!(
                        plain_bits(u64::from_le_bytes(w)) == 0,
                        is_plain(c),
                        "{c:#x} at {pos}"
                    );
                }
            }
        }
        for len in 0..40 {
            for at in 0..len {
                let mut s = vec![b'x'; len];
                s[at] = b'\n';
                assert!(!plain(&s), "len {len} at {at}");
            }
            assert!(plain(&vec![b'x'; len]));
        }
    }

    #[test]
    fn swar_test_matches_bytewise_test() {
        for c in 0..=255u8 {
            for pos in 0..8 {
                let mut w = [b'a'; 8];
                w[pos] = c;
                assert_eq!(
                    word_needs_escape(u64::from_le_bytes(w)),
                    byte_needs_escape(c),
                    "byte {c:#x} at {pos}"
                );
            }
        }
    }

    #[test]
    fn writes_short_strings_from_within_a_buffer() {
        let text = b"0123456789abcdefghij\"klmnop\xc3\xa9qrstuvwxyz0123456789";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let mut fast = Vec::new();
                let mut general = Vec::new();
                let a = string_at(&mut fast, text, start, end);
                let b = checked_string(&mut general, &text[start..end]);
                assert_eq!(a, b, "{start}..{end}");
                assert_eq!(fast, general, "{start}..{end}");
            }
        }
    }

    #[test]
    fn writes_short_keys_and_values_in_one_go() {
        let buf = b"key\x01value-of-sixteen-bytes.....";
        let (a, b) = short_plain(buf, 0, 3).expect("plain");
        let (c, d) = short_plain(buf, 4, 20).expect("plain");
        let mut out = b"{".to_vec();
        short_string_pair(&mut out, [a, b, c, d], 3, 16);
        assert_eq!(out, b"{\"key\":\"value-of-sixteen\"");
        let mut out = Vec::new();
        let key = to_words(b",\"k\":");
        key_and_short_string(&mut out, [key[0], FILLER, c, d], 5, 5);
        assert_eq!(out, b",\"k\":\"value\"");
        assert_eq!(short_plain(buf, 0, 4), None, "\\x01 is not plain");
        assert_eq!(
            short_plain(buf, 20, 25),
            None,
            "too near the end to read 16 bytes"
        );
    }

    #[test]
    fn puts_the_first_bytes_of_an_array() {
        let mut out = Vec::new();
        for n in 0..=8 {
            put(&mut out, *b"abcdefgh", n);
        }
        assert_eq!(out, b"aababcabcdabcdeabcdefabcdefgabcdefgh");
        // Past the array, as much as there is.
        put(&mut out, *b"xy", 5);
        assert!(out.ends_with(b"hxy"));
        // Growing from empty capacity.
        let mut out = Vec::new();
        put(&mut out, [b'z'; 64], 64);
        assert_eq!(out, [b'z'; 64]);
    }

    #[test]
    fn stores_bytes_as_words() {
        for len in 0..30 {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = b"x".to_vec();
            words(&mut out, &to_words(&bytes), len);
            assert_eq!(&out[1..], &bytes[..]);
        }
    }

    #[test]
    fn checks_utf8_while_escaping() {
        assert_eq!(
            s(|o| checked_string(o, "déjà vu \"quoted\" 😀".as_bytes()).expect("valid")),
            r#""déjà vu \"quoted\" 😀""#
        );
        let mut out = b"kept".to_vec();
        assert_eq!(checked_string(&mut out, b"0123456789\xc3("), Err(10));
        assert_eq!(checked_string(&mut out, b"\xff"), Err(0));
        assert_eq!(checked_string(&mut out, b"abcdefgh\xe2\x82"), Err(8));
        assert_eq!(out, b"kept");
    }

    #[test]
    fn escapes_strings_of_every_length() {
        for len in 0..40usize {
            for bad in [None, Some(len.saturating_sub(1)), Some(len / 2)] {
                let mut input: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                if let Some(at) = bad.filter(|&at| at < len) {
                    input[at] = b'\n';
                }
                let text = String::from_utf8(input.clone()).expect("ascii");
                let expected = serde_json::to_string(&text).expect("serializes");
                assert_eq!(s(|o| string(o, &input)), expected, "len {len} bad {bad:?}");
            }
        }
    }

    #[test]
    fn prints_python_bytes_repr_for_invalid_proto2_strings() {
        assert_eq!(
            s(|o| python_bytes_repr(o, b"a\xffb\xc3")),
            r#""b'a\\xffb\\xc3'""#
        );
        assert_eq!(
            s(|o| python_bytes_repr(o, b"it's\xff")),
            r#""b\"it's\\xff\"""#
        );
        assert_eq!(
            s(|o| python_bytes_repr(o, b"'\"\xff\t\\")),
            r#""b'\\'\"\\xff\\t\\\\'""#
        );
    }

    #[test]
    fn encodes_base64_with_padding() {
        assert_eq!(s(|o| base64(o, b"")), r#""""#);
        assert_eq!(s(|o| base64(o, b"\x00")), r#""AA==""#);
        assert_eq!(s(|o| base64(o, b"\x00\x01")), r#""AAE=""#);
        assert_eq!(s(|o| base64(o, b"\x00\x01\x02\x03\xff")), r#""AAECA/8=""#);
        assert_eq!(s(|o| base64(o, &[0xfb, 0xff])), r#""+/8=""#);
    }

    #[test]
    fn prints_integers_and_quoted_64_bit_integers() {
        assert_eq!(s(|o| int(o, i32::MIN)), "-2147483648");
        assert_eq!(s(|o| int(o, u32::MAX)), "4294967295");
        assert_eq!(s(|o| quoted_int(o, i64::MIN)), r#""-9223372036854775808""#);
        assert_eq!(s(|o| quoted_int(o, u64::MAX)), r#""18446744073709551615""#);
    }

    #[test]
    fn prints_integers_of_every_length() {
        let mut values = vec![0u64, u64::MAX];
        for k in 0..20 {
            let p = 10u64.pow(k);
            values.extend([p - 1, p, p + 1, p.saturating_mul(7) / 3]);
        }
        for v in values {
            assert_eq!(decimal_len(v), v.to_string().len(), "{v}");
            assert_eq!(s(|o| int(o, v)), v.to_string());
            assert_eq!(s(|o| quoted_int(o, v)), format!("\"{v}\""));
            let (i, u) = (v as i64, v as u32);
            assert_eq!(s(|o| quoted_int(o, i)), format!("\"{i}\""));
            assert_eq!(s(|o| int(o, u)), u.to_string());
            assert_eq!(s(|o| int(o, u as i32)), (u as i32).to_string());
        }
    }

    #[test]
    fn prints_doubles_shortest_without_trailing_zero() {
        assert_eq!(s(|o| f64(o, 0.0)), "0");
        assert_eq!(s(|o| f64(o, -0.0)), "-0.0");
        assert_eq!(s(|o| f64(o, 1.0)), "1");
        assert_eq!(s(|o| f64(o, 0.1)), "0.1");
        assert_eq!(s(|o| f64(o, 1e21)), "1e+21");
        assert_eq!(s(|o| f64(o, 1e16)), "1e+16");
        assert_eq!(s(|o| f64(o, 1.5e-7)), "1.5e-7");
        assert_eq!(s(|o| f64(o, 5e-324)), "5e-324");
        assert_eq!(s(|o| f64(o, f64::MAX)), "1.7976931348623157e+308");
        assert_eq!(s(|o| f64(o, 123456.789)), "123456.789");
    }

    #[test]
    fn prints_doubles_with_two_decimals_exactly() {
        for k in (-100_000i64..100_000).chain([i64::from(i32::MAX), 900_719_925_474_099]) {
            let v = k as f64 / 100.0;
            let text = s(|o| f64(o, v));
            let back: f64 = text.parse().expect("parses");
            assert_eq!(back.to_bits(), v.to_bits(), "{k}: {text}");
            if k != 0 {
                assert_eq!(text, shortest_text(v), "{k}");
            }
        }
        assert_eq!(s(|o| f64(o, 12.3)), "12.3");
        assert_eq!(s(|o| f64(o, -0.05)), "-0.05");
        assert_eq!(s(|o| f64(o, 1e13)), "10000000000000");
    }

    /// ryu's text in the chosen style (without a trailing `.0`, with a
    /// signed exponent): the reference zmij's text is checked against.
    fn ryu_text(s: &str) -> String {
        match s.split_once('e') {
            Some((digits, exp)) if !exp.starts_with('-') => format!("{digits}e+{exp}"),
            Some(_) => s.to_owned(),
            None => match s.strip_suffix(".0") {
                Some("-0") | None => s.to_owned(),
                Some(integral) => integral.to_owned(),
            },
        }
    }

    fn shortest_text(v: f64) -> String {
        ryu_text(ryu::Buffer::new().format_finite(v))
    }

    #[test]
    fn float_text_is_ryus_shortest_text_in_the_chosen_style() {
        let mut doubles = vec![0.0, -0.0, 1.0, 0.1, 1e15, 1e16, 1e21, 1e-5, 1e-7, 5e-324];
        doubles.extend([f64::MAX, f64::MIN_POSITIVE, 123_456.0, 0.000_012_345]);
        doubles.extend((-30..30).flat_map(|e| [10f64.powi(e), 1.25 * 10f64.powi(e)]));
        // Spread over every exponent.
        doubles.extend(
            (0..u64::MAX)
                .step_by(0x0000_1234_5678_9abd)
                .map(f64::from_bits),
        );
        for v in doubles.into_iter().filter(|v| v.is_finite()) {
            assert_eq!(s(|o| f64(o, v)), shortest_text(v), "{v:e}");
        }
        let mut floats = vec![0.0f32, -0.0, 1.0, 0.1, 1e7, 1e8, 1e9, 1e16, 1e-5, 1e-7];
        floats.extend([f32::MAX, f32::MIN_POSITIVE, f32::from_bits(1)]);
        floats.extend((-30..30).map(|e| 10f32.powi(e)));
        floats.extend((0..u32::MAX).step_by(1_234_567).map(f32::from_bits));
        for v in floats.into_iter().filter(|v| v.is_finite()) {
            let text = s(|o| f32(o, v));
            assert_eq!(text, ryu_text(ryu::Buffer::new().format_finite(v)), "{v:e}");
        }
    }

    #[test]
    fn prints_non_finite_doubles_as_strings() {
        assert_eq!(s(|o| f64(o, f64::NAN)), r#""NaN""#);
        assert_eq!(s(|o| f64(o, -f64::NAN)), r#""NaN""#);
        assert_eq!(s(|o| f64(o, f64::INFINITY)), r#""Infinity""#);
        assert_eq!(s(|o| f64(o, f64::NEG_INFINITY)), r#""-Infinity""#);
    }

    #[test]
    fn prints_floats_as_shortest_32_bit_text() {
        assert_eq!(s(|o| f32(o, 0.1)), "0.1");
        assert_eq!(s(|o| f32(o, 1.0 / 3.0)), "0.33333334");
        assert_eq!(s(|o| f32(o, f32::MAX)), "3.4028235e+38");
        assert_eq!(s(|o| f32(o, f32::from_bits(1))), "1e-45");
        assert_eq!(s(|o| f32(o, -0.0)), "-0.0");
        assert_eq!(s(|o| f32(o, f32::NAN)), r#""NaN""#);
        assert_eq!(s(|o| f32(o, f32::NEG_INFINITY)), r#""-Infinity""#);
    }

    #[test]
    fn float_text_round_trips_every_exponent() {
        for bits in (0..u32::MAX).step_by(7_919_993) {
            let v = f32::from_bits(bits);
            if v.is_finite() {
                let text = s(|o| f32(o, v));
                let back: f32 = text.parse().expect("parses");
                assert_eq!(back.to_bits(), v.to_bits(), "{text}");
            }
        }
        for bits in (0..u64::MAX).step_by(0x0001_2345_6789_abcd) {
            let v = f64::from_bits(bits);
            if v.is_finite() {
                let text = s(|o| f64(o, v));
                let back: f64 = text.parse().expect("parses");
                assert_eq!(back.to_bits(), v.to_bits(), "{text}");
            }
        }
    }
}
