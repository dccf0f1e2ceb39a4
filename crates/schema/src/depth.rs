//! A bound on how deeply a `.proto` file's option values nest, checked on
//! the source text before protox compiles it.
//!
//! An aggregate option value (`option (shape) = { inner { inner { … } } };`)
//! is text format, which protox hands to prost-reflect's text-format
//! parser; that parser recurses once per level with no limit of its own,
//! so a value nested a few thousand levels deep overflows the stack and
//! aborts the process (no error, no unwinding). [`check_source`] finds
//! every aggregate value in the source and refuses one that nests deeper
//! than [`MAX_OPTION_DEPTH`] levels, counting `{ }`, `[ ]` and `< >` (the
//! three kinds of brackets text format nests with; the value's own braces
//! are level 1), with the line and column of the first bracket past the
//! limit.
//!
//! The scan reads the source as protox's lexer does: `//`, `#` and `/* */`
//! comments and `"`/`'` string literals (with backslash escapes) are not
//! code, so brackets in them do not count; an aggregate value starts at a
//! `{` that follows `=` (comments and white space between), the only place
//! protox's grammar takes one, and ends at its matching `}` (protox counts
//! only braces to find the end, and so does the scan). Where the scan and
//! protox could read a file differently (an unterminated string or
//! comment, a nested block comment), protox refuses the file before it
//! interprets any option.
//!
//! Descriptor sets can carry the same values uninterpreted
//! (`UninterpretedOption.aggregate_value`), which prost-reflect parses with
//! the same parser when it builds the pool: [`check_text_format`] bounds
//! them alike.
//!
//! Other nesting in `.proto` sources is bounded already: protox refuses
//! message and group declarations nested deeper than 31 levels (protoc's
//! limit), and no other declaration nests. Descriptor sets decode with
//! prost's limit of 100 nested messages.

/// How deeply an aggregate option value may nest. protoc cannot go
/// further either: its own descriptors of a value nested 100 levels fail
/// to parse again (protobuf's default recursion limit), and it aborts.
pub const MAX_OPTION_DEPTH: usize = 100;

/// Where an option value nests too deeply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep {
    /// 1-based line and column (in characters) of the first bracket past
    /// the limit.
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Checks every aggregate option value of `source` against
/// [`MAX_OPTION_DEPTH`].
pub(crate) fn check_source(source: &str) -> Result<(), TooDeep> {
    let bytes = source.as_bytes();
    let mut i = 0;
    // The last code token was `=`: a `{` now opens an aggregate value.
    let mut after_equals = false;
    // Inside an aggregate value: its braces (to find its end, as protox
    // does) and its depth in brackets of any kind.
    let mut braces = 0usize;
    let mut depth = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = line_end(bytes, i);
                continue;
            }
            b'#' => {
                i = line_end(bytes, i);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = memfind(bytes, i + 2, b"*/").map_or(bytes.len(), |end| end + 2);
                continue;
            }
            b'"' | b'\'' => {
                i = string_end(bytes, i);
                after_equals = false;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if braces == 0 {
            if b == b'{' && after_equals {
                braces = 1;
                depth = 1;
            }
        } else {
            match b {
                b'{' | b'[' | b'<' => {
                    braces += usize::from(b == b'{');
                    depth += 1;
                    if depth > MAX_OPTION_DEPTH {
                        return Err(position(source, i));
                    }
                }
                b'}' | b']' | b'>' => {
                    depth = depth.saturating_sub(1);
                    if b == b'}' {
                        braces -= 1;
                        if braces == 0 {
                            depth = 0;
                        }
                    }
                }
                _ => {}
            }
        }
        after_equals = b == b'=';
        i += 1;
    }
    Ok(())
}

/// Checks the text of an aggregate option value as a descriptor set holds
/// it (`UninterpretedOption.aggregate_value`, the text between the braces,
/// which prost-reflect parses as text format when it builds the pool)
/// against [`MAX_OPTION_DEPTH`], the value itself being level 1. Brackets
/// in strings and `#` comments do not count (text format has no others).
pub(crate) fn check_text_format(text: &str) -> Result<(), TooDeep> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut depth = 1usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => {
                i = line_end(bytes, i);
                continue;
            }
            b'"' | b'\'' => {
                i = string_end(bytes, i);
                continue;
            }
            b'{' | b'[' | b'<' => {
                depth += 1;
                if depth > MAX_OPTION_DEPTH {
                    return Err(position(text, i));
                }
            }
            b'}' | b']' | b'>' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The index just past the line that `i` is on (or the end).
fn line_end(bytes: &[u8], i: usize) -> usize {
    memfind(bytes, i, b"\n").map_or(bytes.len(), |end| end + 1)
}

/// The index just past the string literal opening at `start`: its closing
/// quote, a newline (an error to protox) or the end.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'\n' => return i,
            _ if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn memfind(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// The 1-based line and column of byte `i`.
fn position(source: &str, i: usize) -> TooDeep {
    let before = &source[..i];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    TooDeep {
        line,
        column: source[line_start..i].chars().count() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!(
            "message M {{\n  option (o) = {{ {}{} }};\n}}\n",
            "a { ".repeat(levels - 1),
            "} ".repeat(levels - 1)
        )
    }

    #[test]
    fn accepts_values_up_to_the_limit_and_locates_the_first_bracket_past_it() {
        assert_eq!(check_source(&nested(MAX_OPTION_DEPTH)), Ok(()));
        let source = nested(MAX_OPTION_DEPTH + 1);
        let err = check_source(&source).unwrap_err();
        // `  option (o) = { ` is 17 characters; each level adds `a { `.
        assert_eq!(
            err,
            TooDeep {
                line: 2,
                column: 17 + 4 * (MAX_OPTION_DEPTH - 1) + 3
            }
        );
    }

    #[test]
    fn counts_every_kind_of_bracket_but_not_those_in_strings_or_comments() {
        let mixed = format!(
            "option (o) = {{ {} }};",
            "a [ b < c { ".repeat(MAX_OPTION_DEPTH / 3 + 1)
        );
        assert!(check_source(&mixed).is_err());
        let quoted = format!(
            "option (o) = {{ s: \"{}\" t: '{}' }}; // {}\n/* {} */ # {}",
            "{".repeat(500),
            "[\\'<".repeat(500),
            "{".repeat(500),
            "<".repeat(500),
            "{".repeat(500)
        );
        assert_eq!(check_source(&quoted), Ok(()));
    }

    #[test]
    fn declarations_are_not_option_values() {
        // Message bodies and field options nest without an `= {`.
        let source = format!(
            "{}int32 x = 1 [(o) = {{ a {{ }} }}, deprecated = true];{}",
            "message M { ".repeat(30),
            "}".repeat(30)
        );
        assert_eq!(check_source(&source), Ok(()));
        // `=` then a comment, then the value.
        let source = format!(
            "option (o) = /* c */ {{ {} }};",
            "a { ".repeat(MAX_OPTION_DEPTH)
        );
        assert!(check_source(&source).is_err());
    }

    #[test]
    fn unclosed_values_still_count() {
        // protox takes everything to the end of the file as the value; the
        // text-format parser would recurse on each opener.
        let source = format!("option (o) = {{ {}", "a < ".repeat(MAX_OPTION_DEPTH + 5));
        assert!(check_source(&source).is_err());
    }
}
