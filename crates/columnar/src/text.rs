//! The content of a JSON string as ProtoJSON prints it (Duration,
//! FieldMask and Timestamp-as-text columns hold the string, not its
//! quotes).

/// The string a JSON string literal `json` holds; `None` if `json` is not
/// one string.
pub(crate) fn unquote(json: &[u8]) -> Option<String> {
    let inner = json.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let text = std::str::from_utf8(inner).ok()?;
    if !text.contains('\\') {
        return Some(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hi = hex4(&mut chars)?;
                let c = if (0xd800..0xdc00).contains(&hi) {
                    if chars.next()? != '\\' || chars.next()? != 'u' {
                        return None;
                    }
                    let lo = hex4(&mut chars)?;
                    char::from_u32(0x10000 + ((hi - 0xd800) << 10) + lo.checked_sub(0xdc00)?)?
                } else {
                    char::from_u32(hi)?
                };
                out.push(c);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn unquotes_json_strings() {
        assert_eq!(unquote(br#""1.5s""#).as_deref(), Some("1.5s"));
        assert_eq!(
            unquote(br#""a\"b\\c\u00e9\ud83d\ude00""#).as_deref(),
            Some("a\"b\\c\u{e9}\u{1f600}")
        );
        assert_eq!(unquote(b"{}"), None);
        assert_eq!(unquote(br#""\x""#), None);
    }
}
