//! Partitions from a key template's `name=value` segments, with Athena
//! partition projection: Athena computes the partitions from the table's
//! properties instead of listing them in the catalog, so a new day's
//! objects are queryable without `MSCK REPAIR TABLE` or a crawler.
//!
//! | value | projection | values |
//! |---|---|---|
//! | `{date}` | `date`, format `yyyy-MM-dd`, 1 day apart | from the start date to today (`NOW`) |
//! | `{year}` | `date`, format `yyyy`, 1 year apart | from the start date's year to this year |
//! | `{month}` | `integer`, 2 digits | `01` to `12` |
//! | `{day}` | `integer`, 2 digits | `01` to `31` |
//! | `{hour}` | `integer`, 2 digits | `00` to `23` |
//! | `{bucket}` | `injected` | the value a query's `WHERE` gives (the source bucket names are not known here) |
//!
//! A segment whose value is text (`env=prod`) stays part of the path; a
//! value naming the object (`{key}`, `{file}`, …) or mixing placeholders
//! (`dt={year}{month}`) is an error, and so is a partition segment after a
//! segment that varies per object, since `storage.location.template` can
//! only name the partition values.

use chrono::{Datelike, NaiveDate};
use protoland_pipeline_core::KeyTemplate;

use crate::error::TableError;

/// A partition column (of type `string`) and how Athena projects its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    pub projection: Projection,
}

/// The partition projection of one column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Projection {
    /// Dates from `start` to `NOW`, one `unit` apart, written as `format`.
    Date {
        format: &'static str,
        start: String,
        unit: &'static str,
    },
    /// Integers from `min` to `max`, zero-padded to `digits`.
    Integer { min: u32, max: u32, digits: u8 },
    /// Any value, given by each query.
    Injected,
}

impl Partition {
    /// The table properties that project this column.
    pub fn properties(&self) -> Vec<(String, String)> {
        let key = |what: &str| format!("projection.{}.{what}", self.name);
        match &self.projection {
            Projection::Date {
                format,
                start,
                unit,
            } => vec![
                (key("type"), "date".to_owned()),
                (key("format"), (*format).to_owned()),
                (key("range"), format!("{start},NOW")),
                (key("interval"), "1".to_owned()),
                (key("interval.unit"), (*unit).to_owned()),
            ],
            Projection::Integer { min, max, digits } => vec![
                (key("type"), "integer".to_owned()),
                (key("range"), format!("{min},{max}")),
                (key("digits"), digits.to_string()),
            ],
            Projection::Injected => vec![(key("type"), "injected".to_owned())],
        }
    }
}

/// The partitions of a key template, and the path under the table's
/// location that holds one partition (`dt=${dt}/hour=${hour}/`), or `None`
/// when the template has no partition segment.
///
/// `start` is the first date a `{date}` or `{year}` projection covers.
///
/// # Errors
///
/// [`TableError::Partition`] for a segment that cannot be projected (see the
/// module docs).
pub(crate) fn partitions(
    template: &KeyTemplate,
    start: NaiveDate,
) -> Result<(Vec<Partition>, Option<String>), TableError> {
    let fail = |reason: String| TableError::Partition {
        template: template.as_str().to_owned(),
        reason,
    };
    let mut found = Vec::new();
    let mut path = String::new();
    // The first segment that varies per object, after which no partition
    // segment can be placed in the location template.
    let mut varying: Option<&str> = None;
    for (i, segment) in template.as_str().split('/').enumerate() {
        if segment.is_empty() || (i == 0 && segment == "{prefix}") {
            continue;
        }
        let Some((name, value)) = segment
            .split_once('=')
            .filter(|(name, value)| !name.contains('{') && value.contains('{'))
        else {
            // Text (`clicks`, `env=prod`) is part of every partition's path;
            // anything else varies per object.
            if segment.contains('{') {
                varying.get_or_insert(segment);
            } else if varying.is_none() {
                path.push_str(segment);
                path.push('/');
            }
            continue;
        };
        let placeholder = value
            .strip_prefix('{')
            .and_then(|v| v.strip_suffix('}'))
            .filter(|p| !p.contains(['{', '}']))
            .ok_or_else(|| {
                fail(format!(
                    "the segment `{segment}`: a partition's value is one placeholder (`{name}={{date}}`)"
                ))
            })?;
        if let Some(before) = varying {
            return Err(fail(format!(
                "the partition segment `{segment}` comes after `{before}`, which varies per object: partition segments go right after {{prefix}}"
            )));
        }
        let projection = projection(placeholder, start).ok_or_else(|| {
            fail(format!(
                "the segment `{segment}`: `{{{placeholder}}}` names the object, not a partition (partition values: {{date}}, {{year}}, {{month}}, {{day}}, {{hour}}, {{bucket}})"
            ))
        })?;
        if let Some(other) = found
            .iter()
            .find(|p: &&Partition| p.name.eq_ignore_ascii_case(name))
        {
            return Err(fail(format!(
                "the partition `{name}` is there twice (as `{}`)",
                other.name
            )));
        }
        path.push_str(&format!("{name}=${{{name}}}/"));
        found.push(Partition {
            name: name.to_owned(),
            projection,
        });
    }
    if found.is_empty() {
        return Ok((found, None));
    }
    Ok((found, Some(path)))
}

fn projection(placeholder: &str, start: NaiveDate) -> Option<Projection> {
    let two_digits = |min, max| Projection::Integer {
        min,
        max,
        digits: 2,
    };
    Some(match placeholder {
        "date" => Projection::Date {
            format: "yyyy-MM-dd",
            start: start.format("%Y-%m-%d").to_string(),
            unit: "DAYS",
        },
        "year" => Projection::Date {
            format: "yyyy",
            start: format!("{:04}", start.year()),
            unit: "YEARS",
        },
        "month" => two_digits(1, 12),
        "day" => two_digits(1, 31),
        "hour" => two_digits(0, 23),
        "bucket" => Projection::Injected,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> NaiveDate {
        NaiveDate::from_ymd_opt(2021, 6, 1).expect("a date")
    }

    fn parts(template: &str) -> Result<(Vec<Partition>, Option<String>), TableError> {
        partitions(&KeyTemplate::parse(template).expect("valid"), start())
    }

    #[test]
    fn has_no_partitions_without_name_value_segments() {
        for template in [
            "{prefix}/{key}{ext}",
            "{prefix}/{year}/{month}/{key}{ext}",
            "{prefix}/env=prod/{key}{ext}",
        ] {
            assert_eq!(parts(template).expect("fine"), (vec![], None), "{template}");
        }
    }

    #[test]
    fn projects_each_time_placeholder() {
        let (found, path) = parts("{prefix}/dt={date}/hour={hour}/{key}{ext}").expect("fine");
        assert_eq!(path.as_deref(), Some("dt=${dt}/hour=${hour}/"));
        let properties: Vec<_> = found.iter().flat_map(Partition::properties).collect();
        let expected = [
            ("projection.dt.type", "date"),
            ("projection.dt.format", "yyyy-MM-dd"),
            ("projection.dt.range", "2021-06-01,NOW"),
            ("projection.dt.interval", "1"),
            ("projection.dt.interval.unit", "DAYS"),
            ("projection.hour.type", "integer"),
            ("projection.hour.range", "0,23"),
            ("projection.hour.digits", "2"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(properties, expected);

        let (found, path) =
            parts("{prefix}/landing/year={year}/month={month}/day={day}/src={bucket}/{file}")
                .expect("fine");
        assert_eq!(
            path.as_deref(),
            Some("landing/year=${year}/month=${month}/day=${day}/src=${src}/")
        );
        let projections: Vec<_> = found.into_iter().map(|p| p.projection).collect();
        assert_eq!(
            projections,
            [
                Projection::Date {
                    format: "yyyy",
                    start: "2021".into(),
                    unit: "YEARS"
                },
                Projection::Integer {
                    min: 1,
                    max: 12,
                    digits: 2
                },
                Projection::Integer {
                    min: 1,
                    max: 31,
                    digits: 2
                },
                Projection::Injected,
            ]
        );
    }

    #[test]
    fn keeps_literal_segments_in_the_path() {
        let (_, path) = parts("{prefix}/env=prod/clicks/dt={date}/{key}{ext}").expect("fine");
        assert_eq!(path.as_deref(), Some("env=prod/clicks/dt=${dt}/"));
    }

    #[test]
    fn rejects_segments_it_cannot_project() {
        let reason = |template: &str| match parts(template) {
            Err(TableError::Partition { reason, .. }) => reason,
            other => panic!("{template}: {other:?}"),
        };
        assert_eq!(
            reason("{prefix}/dt={year}-{month}/{key}"),
            "the segment `dt={year}-{month}`: a partition's value is one placeholder (`dt={date}`)"
        );
        assert_eq!(
            reason("{prefix}/f={file_stem}/{key}"),
            "the segment `f={file_stem}`: `{file_stem}` names the object, not a partition (partition values: {date}, {year}, {month}, {day}, {hour}, {bucket})"
        );
        assert_eq!(
            reason("{prefix}/{dir}/dt={date}/{file}"),
            "the partition segment `dt={date}` comes after `{dir}`, which varies per object: partition segments go right after {prefix}"
        );
        assert_eq!(
            reason("{prefix}/dt={date}/DT={hour}/{key}"),
            "the partition `DT` is there twice (as `dt`)"
        );
        assert_eq!(
            parts("{prefix}/dt={date}/{key}{ext}")
                .map(|_| ())
                .and_then(|()| parts("{prefix}/x={year}{month}/{key}").map(|_| ()))
                .unwrap_err()
                .to_string(),
            "key template `{prefix}/x={year}{month}/{key}`: the segment `x={year}{month}`: a partition's value is one placeholder (`x={date}`)"
        );
    }
}
