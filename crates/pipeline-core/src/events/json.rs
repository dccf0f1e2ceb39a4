//! Reading the fields of an event's JSON: a string at a path, a time, the
//! name of what was found instead, each failure an [`EventError`] naming
//! the field and where it was looked for.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::error::EventError;

pub(super) fn str_at<'a>(
    value: &'a Value,
    path: &[&str],
    context: &'static str,
    field: &'static str,
) -> Result<&'a str, EventError> {
    let mut current = value;
    for step in path {
        current = current
            .get(step)
            .ok_or(EventError::MissingField { context, field })?;
    }
    match current {
        Value::String(s) => Ok(s),
        Value::Null => Err(EventError::MissingField { context, field }),
        other => Err(EventError::WrongType {
            context,
            field,
            found: type_name(other).to_owned(),
        }),
    }
}

/// RFC 3339; a time without an offset (some emulators) is taken as UTC.
pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_event_times_with_and_without_an_offset() {
        assert_eq!(
            parse_time("2024-03-07T21:42:03.123Z").map(|t| t.to_rfc3339()),
            Some("2024-03-07T21:42:03.123+00:00".to_owned())
        );
        assert_eq!(
            parse_time("2024-03-07T21:42:03.761998").map(|t| t.to_rfc3339()),
            Some("2024-03-07T21:42:03.761998+00:00".to_owned())
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
