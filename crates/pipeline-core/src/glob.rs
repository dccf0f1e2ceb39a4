//! Glob patterns over object keys, for routes and for the CLI's
//! `s3://bucket/*.pb` inputs: `?` and `*` stay within one
//! `/` segment, `**` as a whole segment crosses segments, `[a-z]` / `[!a-z]`
//! classes, `{a,b}` alternatives and `\` escapes — the rules of `globset`
//! with `literal_separator`, which the tests use as the reference.
//!
//! Written here rather than taken from `globset` because that crate brings
//! a regex engine, about a quarter of a megabyte of the Lambda package for
//! matching a handful of short patterns.

/// Most alternatives one pattern may expand to (`{a,b}{c,d}` is four).
const MAX_ALTERNATIVES: usize = 1024;

/// A compiled glob pattern over a whole object key.
///
/// ```
/// use protoland_pipeline_core::Glob;
///
/// let glob = Glob::new("orders/**/*.pb.gz")?;
/// assert!(glob.is_match("orders/2026/11/a.pb.gz"));
/// assert!(!glob.is_match("clicks/a.pb.gz"));
/// # Ok::<(), protoland_pipeline_core::GlobError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Glob {
    /// One token sequence per combination of `{…}` alternatives.
    alternatives: Vec<Vec<Token>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`: one character other than `/`.
    One,
    /// `*`: any run of characters without `/`.
    Star,
    /// `**/` at the start or `/**/` inside: zero or more whole segments.
    /// (`**` that is not a whole segment is a `*`.)
    Segments,
    /// `**` alone or `/**` at the end: anything.
    Rest,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    /// Compiles `pattern`.
    ///
    /// # Errors
    ///
    /// A [`GlobError`] saying what is wrong: an unclosed `[` or `{`, a
    /// nested `{`, a trailing `\`, a backwards range, too many alternatives.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let mut alternatives = Vec::new();
        for expanded in expand_braces(pattern).map_err(GlobError)? {
            alternatives.push(tokenize(&expanded).map_err(GlobError)?);
        }
        Ok(Glob { alternatives })
    }

    /// Whether the whole of `key` matches.
    pub fn is_match(&self, key: &str) -> bool {
        let key: Vec<char> = key.chars().collect();
        self.alternatives.iter().any(|tokens| matches(tokens, &key))
    }
}

/// Why a pattern is not a glob: what is wrong with it (`an unclosed `[``);
/// the caller names the pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GlobError(String);

/// Every combination of the `{a,b}` alternatives, as patterns without
/// braces (escapes kept).
fn expand_braces(pattern: &str) -> Result<Vec<String>, String> {
    let mut results = vec![String::new()];
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let escaped = chars
                    .next()
                    .ok_or_else(|| "a `\\` ends the pattern".to_owned())?;
                for r in &mut results {
                    r.push('\\');
                    r.push(escaped);
                }
            }
            '{' => {
                let mut options = vec![String::new()];
                loop {
                    match chars.next() {
                        None => return Err("an unclosed `{`".to_owned()),
                        Some('}') => break,
                        Some('{') => return Err("a `{` inside `{…}`".to_owned()),
                        Some(',') => options.push(String::new()),
                        Some('\\') => {
                            let escaped = chars
                                .next()
                                .ok_or_else(|| "a `\\` ends the pattern".to_owned())?;
                            if let Some(o) = options.last_mut() {
                                o.push('\\');
                                o.push(escaped);
                            }
                        }
                        Some(other) => {
                            if let Some(o) = options.last_mut() {
                                o.push(other);
                            }
                        }
                    }
                }
                if results.len() * options.len() > MAX_ALTERNATIVES {
                    return Err(format!(
                        "more than {MAX_ALTERNATIVES} combinations of `{{…}}` alternatives"
                    ));
                }
                results = results
                    .iter()
                    .flat_map(|r| options.iter().map(move |o| format!("{r}{o}")))
                    .collect();
            }
            '}' => return Err("a `}` without its `{`".to_owned()),
            other => {
                for r in &mut results {
                    r.push(other);
                }
            }
        }
    }
    Ok(results)
}

fn tokenize(pattern: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                // expand_braces checked that an escape has its character.
                let c = chars.get(i + 1).copied().unwrap_or('\\');
                tokens.push(Token::Literal(c));
                i += 2;
            }
            '?' => {
                tokens.push(Token::One);
                i += 1;
            }
            '*' if chars.get(i + 1) == Some(&'*') => {
                let starts_segment = i == 0 || chars[i - 1] == '/';
                let end = i + 2;
                if !starts_segment || (end < chars.len() && chars[end] != '/') {
                    // Not a whole segment (`a**`): as `*`, like globset.
                    tokens.push(Token::Star);
                    i = end;
                } else if end == chars.len() {
                    tokens.push(Token::Rest);
                    i = end;
                } else {
                    // `**/`: zero or more segments, the `/` included.
                    tokens.push(Token::Segments);
                    i = end + 1;
                }
            }
            '*' => {
                tokens.push(Token::Star);
                i += 1;
            }
            '[' => {
                let (class, next) = class(&chars, i)?;
                tokens.push(class);
                i = next;
            }
            c => {
                tokens.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    Ok(tokens)
}

/// The class opening at `chars[open]` (`[`), and the index after its `]`.
/// A `]` right after `[` or `[!` is a member, as in POSIX.
fn class(chars: &[char], open: usize) -> Result<(Token, usize), String> {
    let mut i = open + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let first = i;
    let mut ranges = Vec::new();
    loop {
        let c = *chars.get(i).ok_or_else(|| "an unclosed `[`".to_owned())?;
        if c == ']' && i > first {
            return Ok((Token::Class { negated, ranges }, i + 1));
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            let end = chars[i + 2];
            if end < c {
                return Err(format!("the range `{c}-{end}` is backwards"));
            }
            ranges.push((c, end));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

/// Runs `tokens` over `key` keeping the set of reachable positions.
fn matches(tokens: &[Token], key: &[char]) -> bool {
    let mut reachable = vec![false; key.len() + 1];
    reachable[0] = true;
    for token in tokens {
        let mut next = vec![false; key.len() + 1];
        for pos in (0..=key.len()).filter(|&p| reachable[p]) {
            let here = key.get(pos).copied();
            match token {
                Token::Literal(c) => {
                    if here == Some(*c) {
                        next[pos + 1] = true;
                    }
                }
                Token::One => {
                    if here.is_some_and(|c| c != '/') {
                        next[pos + 1] = true;
                    }
                }
                Token::Class { negated, ranges } => {
                    if let Some(c) = here {
                        let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                        if c != '/' && inside != *negated {
                            next[pos + 1] = true;
                        }
                    }
                }
                Token::Star => {
                    next[pos] = true;
                    for p in pos..key.len() {
                        if key[p] == '/' {
                            break;
                        }
                        next[p + 1] = true;
                    }
                }
                Token::Segments => {
                    next[pos] = true;
                    for p in pos..key.len() {
                        if key[p] == '/' {
                            next[p + 1] = true;
                        }
                    }
                }
                Token::Rest => {
                    for n in &mut next[pos..] {
                        *n = true;
                    }
                }
            }
        }
        reachable = next;
        if !reachable.contains(&true) {
            return false;
        }
    }
    reachable[key.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATTERNS: &[&str] = &[
        "*.pb",
        "*.pb.gz",
        "orders/**/*.pb.gz",
        "**/*.pb",
        "**",
        "a/**",
        "a/**/b",
        "clicks/*/day=??/*",
        "x[0-9].pb",
        "x[!0-9].pb",
        "x[]a].pb",
        "{clicks,views}/**",
        "raw/{a,b}/{c,d}.pb",
        "lit\\*eral",
        "*/*",
        "a*b*c",
        "é/*.pb",
        "?",
        "a**",
        "**b",
        "a/**b",
    ];

    const KEYS: &[&str] = &[
        "a.pb",
        "deep/a.pb",
        "a.pb.gz",
        "orders/a.pb.gz",
        "orders/2024/03/a.pb.gz",
        "orders/a.pb",
        "a",
        "a/",
        "a/b",
        "a/x/b",
        "a/x/y/b",
        "ab",
        "clicks/2024/day=07/x.pb",
        "clicks/2024/day=7/x.pb",
        "clicks/a/b/day=07/x",
        "x1.pb",
        "xa.pb",
        "x].pb",
        "x/.pb",
        "views/1",
        "clicks",
        "raw/b/c.pb",
        "raw/b/e.pb",
        "lit*eral",
        "litxeral",
        "axbyc",
        "ab/c",
        "é/1.pb",
        "",
        "/",
    ];

    #[test]
    fn agrees_with_globset_on_every_pattern_and_key() {
        for pattern in PATTERNS {
            let ours = Glob::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            let reference = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .unwrap_or_else(|e| panic!("{pattern}: {e}"))
                .compile_matcher();
            for key in KEYS {
                assert_eq!(
                    ours.is_match(key),
                    reference.is_match(key),
                    "pattern `{pattern}`, key `{key}`"
                );
            }
        }
    }

    #[test]
    fn rejects_what_globset_rejects() {
        for pattern in ["a/[b", "a/{b", "x\\", "a}"] {
            assert!(Glob::new(pattern).is_err(), "{pattern}");
            assert!(
                globset::GlobBuilder::new(pattern)
                    .literal_separator(true)
                    .build()
                    .is_err(),
                "{pattern}"
            );
        }
    }

    #[test]
    fn bounds_the_alternatives() {
        let pattern = "{a,b,c,d}".repeat(6);
        assert_eq!(
            Glob::new(&pattern).unwrap_err().to_string(),
            "more than 1024 combinations of `{…}` alternatives"
        );
    }
}
