//! JSON numbers: integers (64-bit ones quoted, as ProtoJSON wants them)
//! and doubles and floats as their shortest round-tripping text.

use super::text::put;

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
    use super::super::text::tests::s;
    use super::*;

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
