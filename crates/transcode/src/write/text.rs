//! JSON strings: escaping (a word at a time where it can), short strings
//! and keys stored as whole words, invalid UTF-8 in Python's `bytes` repr,
//! and base64.

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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// What a writer writes, as text.
    pub(in crate::write) fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
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
}
