//! Which message type (and schema) decodes which object, chosen by key.
//!
//! `PROTOLAND_ROUTES` lists routes separated by `;` (or newlines), each
//! `PATTERN=MESSAGE` or `PATTERN=MESSAGE@SCHEMA`, optionally followed by
//! ` as FORMAT` (`ndjson` or `parquet`) for the route's own output format:
//!
//! ```text
//! clicks/=acme.Click; orders/**/*.pb.gz=acme.Order@s3://schemas/orders.binpb as parquet
//! ```
//!
//! A pattern with any of `*?[{` is a glob over the whole key (`*` stays
//! within one `/` segment, `**` crosses them); any other pattern is a key
//! prefix. Routes are tried in order and the first match wins; a key that
//! no route matches uses `PROTOLAND_MESSAGE` when it is set, and is a bad
//! object otherwise. A route without `@SCHEMA` uses `PROTOLAND_SCHEMA`, and
//! one without ` as FORMAT` uses `PROTOLAND_OUTPUT_FORMAT`.

use protoland_stream::OutputFormat;

use crate::glob::Glob;

/// One route as written.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub pattern: String,
    matcher: Matcher,
    /// Fully-qualified message type.
    pub message: String,
    /// Its own schema (a path or `s3://` URL), if not the default.
    pub schema: Option<String>,
    /// Its own output format (` as FORMAT`), if not the default.
    pub format: Option<OutputFormat>,
}

#[derive(Debug, Clone)]
enum Matcher {
    Prefix(String),
    Glob(Glob),
}

/// Why a routes setting does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    #[error("route {index} `{route}` has no `=`; write PATTERN=MESSAGE or PATTERN=MESSAGE@SCHEMA")]
    NoEquals { index: usize, route: String },
    #[error("route {index} `{route}` has an empty pattern")]
    EmptyPattern { index: usize, route: String },
    #[error("route {index} `{route}` names no message type")]
    EmptyMessage { index: usize, route: String },
    #[error("route {index} `{route}` has an empty schema after `@`")]
    EmptySchema { index: usize, route: String },
    #[error(
        "route {index} `{route}` ends in ` as {format}`, which is not an output format (ndjson, parquet)"
    )]
    BadFormat {
        index: usize,
        route: String,
        format: String,
    },
    #[error("route {index} pattern `{pattern}` is not a valid glob: {message}")]
    BadGlob {
        index: usize,
        pattern: String,
        message: String,
    },
}

impl RouteSpec {
    /// Whether this route's pattern matches a key.
    pub fn matches(&self, key: &str) -> bool {
        match &self.matcher {
            Matcher::Prefix(prefix) => key.starts_with(prefix.as_str()),
            Matcher::Glob(glob) => glob.is_match(key),
        }
    }
}

/// Parses a routes setting (see the module docs). Routes are numbered from 1
/// in errors.
///
/// # Errors
///
/// [`RouteError`] naming the first bad route.
pub fn parse_routes(text: &str) -> Result<Vec<RouteSpec>, RouteError> {
    let mut routes = Vec::new();
    for (i, raw) in text
        .split([';', '\n'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .enumerate()
    {
        let index = i + 1;
        let route = raw.to_owned();
        let (pattern, target) = raw.split_once('=').ok_or_else(|| RouteError::NoEquals {
            index,
            route: route.clone(),
        })?;
        let pattern = pattern.trim();
        if pattern.is_empty() {
            return Err(RouteError::EmptyPattern { index, route });
        }
        let (target, format) = match target.rsplit_once(" as ") {
            Some((target, format)) => {
                let parsed = format.trim().parse().map_err(|_| RouteError::BadFormat {
                    index,
                    route: route.clone(),
                    format: format.trim().to_owned(),
                })?;
                (target, Some(parsed))
            }
            None => (target, None),
        };
        let (message, schema) = match target.split_once('@') {
            Some((message, schema)) => {
                let schema = schema.trim();
                if schema.is_empty() {
                    return Err(RouteError::EmptySchema { index, route });
                }
                (message.trim(), Some(schema.to_owned()))
            }
            None => (target.trim(), None),
        };
        if message.is_empty() {
            return Err(RouteError::EmptyMessage { index, route });
        }
        let matcher = if pattern.contains(['*', '?', '[', '{']) {
            let glob = Glob::new(pattern).map_err(|e| RouteError::BadGlob {
                index,
                pattern: pattern.to_owned(),
                message: e.to_string(),
            })?;
            Matcher::Glob(glob)
        } else {
            Matcher::Prefix(pattern.to_owned())
        };
        routes.push(RouteSpec {
            pattern: pattern.to_owned(),
            matcher,
            message: message.to_owned(),
            schema,
            format,
        });
    }
    Ok(routes)
}

/// The first route matching `key`, by index.
pub fn find_route(routes: &[RouteSpec], key: &str) -> Option<usize> {
    routes.iter().position(|r| r.matches(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_prefixes_and_globs_in_order() {
        let routes = parse_routes(
            "clicks/=acme.Click; orders/**/*.pb.gz=acme.Order@s3://schemas/orders.binpb\n*.pb=acme.Other",
        )
        .expect("parses");
        assert_eq!(routes.len(), 3);
        assert_eq!(
            routes[1].schema.as_deref(),
            Some("s3://schemas/orders.binpb")
        );
        assert_eq!(find_route(&routes, "clicks/2024/a.pb"), Some(0));
        assert_eq!(find_route(&routes, "orders/2024/03/a.pb.gz"), Some(1));
        assert_eq!(find_route(&routes, "orders/a.pb.gz"), Some(1));
        assert_eq!(find_route(&routes, "top.pb"), Some(2));
        // `*` does not cross `/`.
        assert_eq!(find_route(&routes, "deep/top.pb"), None);
        assert_eq!(find_route(&routes, "orders/a.pb"), None);
    }

    #[test]
    fn names_the_bad_route() {
        assert_eq!(
            parse_routes("clicks/=acme.Click;orders")
                .unwrap_err()
                .to_string(),
            "route 2 `orders` has no `=`; write PATTERN=MESSAGE or PATTERN=MESSAGE@SCHEMA"
        );
        assert!(matches!(
            parse_routes("=acme.X"),
            Err(RouteError::EmptyPattern { index: 1, .. })
        ));
        assert!(matches!(
            parse_routes("a/="),
            Err(RouteError::EmptyMessage { .. })
        ));
        assert!(matches!(
            parse_routes("a/=x.Y@"),
            Err(RouteError::EmptySchema { .. })
        ));
        assert!(matches!(
            parse_routes("a/[=x.Y"),
            Err(RouteError::BadGlob { .. })
        ));
    }

    #[test]
    fn a_route_may_choose_its_output_format() {
        let routes = parse_routes(
            "clicks/=acme.Click as parquet; orders/=acme.Order@s3://schemas/o.binpb as ndjson; x/=acme.X",
        )
        .expect("parses");
        let formats: Vec<_> = routes.iter().map(|r| r.format).collect();
        assert_eq!(
            formats,
            [
                Some(OutputFormat::Parquet),
                Some(OutputFormat::Ndjson),
                None
            ]
        );
        assert_eq!(routes[0].message, "acme.Click");
        assert_eq!(routes[1].schema.as_deref(), Some("s3://schemas/o.binpb"));
        assert_eq!(
            parse_routes("a/=x.Y as csv").unwrap_err().to_string(),
            "route 1 `a/=x.Y as csv` ends in ` as csv`, which is not an output format (ndjson, parquet)"
        );
    }

    #[test]
    fn accepts_an_empty_setting() {
        assert!(parse_routes(" ; \n").expect("parses").is_empty());
    }
}
