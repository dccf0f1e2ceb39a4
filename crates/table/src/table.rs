//! A table over a landing prefix, written as Athena DDL or as a Glue
//! `TableInput`.

use chrono::NaiveDate;
use protoland_pipeline_core::KeyTemplate;
use serde_json::{Value, json};

use crate::error::TableError;
use crate::hive::{Column, check_names, quote};
use crate::partition::{Partition, partitions};

/// What the landing objects are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Newline-delimited ProtoJSON, read by the OpenX JSON SerDe. Gzip'd or
    /// zstd-compressed objects need no setting: Athena picks the codec by
    /// the `.gz` / `.zst` extension.
    Ndjson,
    /// Parquet files, read by `ParquetHiveSerDe`.
    Parquet,
}

impl Format {
    fn serde(self) -> &'static str {
        match self {
            // The OpenX SerDe rather than Hive's own
            // (org.apache.hive.hcatalog.data.JsonSerDe): it matches keys
            // ignoring case, so lowerCamelCase JSON names find Athena's
            // lower-cased columns, and it reads the quoted "NaN" and
            // "Infinity" that ProtoJSON prints into double columns; Hive's
            // SerDe does neither.
            Format::Ndjson => "org.openx.data.jsonserde.JsonSerDe",
            Format::Parquet => "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        }
    }

    fn input_format(self) -> &'static str {
        match self {
            Format::Ndjson => "org.apache.hadoop.mapred.TextInputFormat",
            Format::Parquet => "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        }
    }

    fn output_format(self) -> &'static str {
        match self {
            Format::Ndjson => "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            Format::Parquet => "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        }
    }

    fn classification(self) -> &'static str {
        match self {
            Format::Ndjson => "json",
            Format::Parquet => "parquet",
        }
    }

    /// The SerDe's settings. For JSON, matching keys ignoring case (the
    /// OpenX SerDe's default, written out because the columns rely on it:
    /// `eventId` in the data is the column `eventid` to Athena).
    fn serde_parameters(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Format::Ndjson => vec![("case.insensitive", "TRUE")],
            Format::Parquet => vec![],
        }
    }
}

/// What a table is made from, besides its columns.
#[derive(Debug, Clone)]
pub struct TableSpec<'a> {
    /// The table's name; ASCII letters, digits and underscores (written
    /// lower-cased, as Athena stores it).
    pub name: &'a str,
    /// Where `{prefix}` of the key template points: `s3://bucket/prefix`
    /// (a trailing `/` is added when missing).
    pub location: &'a str,
    pub format: Format,
    /// The key template the landing objects were written with: its
    /// `name={placeholder}` segments become projected partitions.
    pub key_template: &'a KeyTemplate,
    /// The first date a `{date}` or `{year}` partition projects.
    pub projection_start: NaiveDate,
}

/// The first date projected by default: old enough for most landing
/// prefixes, recent enough that a query without a partition filter does
/// not walk decades of empty dates.
pub const DEFAULT_PROJECTION_START: &str = "2020-01-01";

/// A table definition over a landing prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    name: String,
    location: String,
    format: Format,
    columns: Vec<Column>,
    partitions: Vec<Partition>,
    parameters: Vec<(String, String)>,
}

impl Table {
    /// Checks and assembles a table.
    ///
    /// # Errors
    ///
    /// [`TableError::TableName`], [`TableError::Location`],
    /// [`TableError::Partition`] for a key template that cannot be projected,
    /// and [`TableError::NameClash`] for two columns (or partitions, or
    /// struct fields) whose names are equal ignoring case.
    pub fn new(spec: &TableSpec<'_>, columns: Vec<Column>) -> Result<Table, TableError> {
        let name = spec.name.to_ascii_lowercase();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(TableError::TableName(spec.name.to_owned()));
        }
        let location = normalize_location(spec.location)?;
        let (partitions, path) = partitions(spec.key_template, spec.projection_start)?;
        let mut all = columns.clone();
        all.extend(
            partitions
                .iter()
                .map(|p| Column::new(p.name.clone(), crate::HiveType::String)),
        );
        check_names(&all, &format!("table {name}"))?;
        let mut parameters = vec![(
            "classification".to_owned(),
            spec.format.classification().to_owned(),
        )];
        if let Some(path) = path {
            parameters.push(("projection.enabled".to_owned(), "true".to_owned()));
            parameters.extend(partitions.iter().flat_map(Partition::properties));
            parameters.push((
                "storage.location.template".to_owned(),
                format!("{location}{path}"),
            ));
        }
        Ok(Table {
            name,
            location,
            format: spec.format,
            columns,
            partitions,
            parameters,
        })
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn partitions(&self) -> &[Partition] {
        &self.partitions
    }

    /// The table properties (`TBLPROPERTIES`, Glue's `Parameters`).
    pub fn parameters(&self) -> &[(String, String)] {
        &self.parameters
    }

    /// The `CREATE EXTERNAL TABLE` statement for Athena (Hive DDL), without
    /// a final semicolon.
    pub fn ddl(&self) -> String {
        let mut out = format!("CREATE EXTERNAL TABLE {} (\n", quote(&self.name));
        push_list(
            &mut out,
            self.columns
                .iter()
                .map(|c| format!("{} {}", quote(&c.name), c.data_type)),
        );
        out.push_str(")\n");
        if !self.partitions.is_empty() {
            out.push_str("PARTITIONED BY (\n");
            push_list(
                &mut out,
                self.partitions
                    .iter()
                    .map(|p| format!("{} string", quote(&p.name))),
            );
            out.push_str(")\n");
        }
        out.push_str(&format!(
            "ROW FORMAT SERDE {}\n",
            literal(self.format.serde())
        ));
        let serde_parameters = self.format.serde_parameters();
        if !serde_parameters.is_empty() {
            out.push_str("WITH SERDEPROPERTIES (\n");
            push_list(
                &mut out,
                serde_parameters
                    .iter()
                    .map(|(k, v)| format!("{}={}", literal(k), literal(v))),
            );
            out.push_str(")\n");
        }
        out.push_str(&format!(
            "STORED AS INPUTFORMAT {}\nOUTPUTFORMAT {}\n",
            literal(self.format.input_format()),
            literal(self.format.output_format())
        ));
        out.push_str(&format!("LOCATION {}\n", literal(&self.location)));
        out.push_str("TBLPROPERTIES (\n");
        push_list(
            &mut out,
            self.parameters
                .iter()
                .map(|(k, v)| format!("{}={}", literal(k), literal(v))),
        );
        out.push_str(")\n");
        out
    }

    /// The table as a Glue `TableInput`, for `aws glue create-table
    /// --database-name DB --table-input file://table.json`.
    pub fn glue_table_input(&self) -> Value {
        let mut parameters = vec![("EXTERNAL", "TRUE")];
        parameters.extend(
            self.parameters
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        json!({
            "Name": self.name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": string_map(parameters),
            "PartitionKeys": glue_columns(
                self.partitions.iter().map(|p| (p.name.as_str(), "string".to_owned()))
            ),
            "StorageDescriptor": {
                "Columns": glue_columns(
                    self.columns.iter().map(|c| (c.name.as_str(), c.data_type.to_string()))
                ),
                "Location": self.location,
                "InputFormat": self.format.input_format(),
                "OutputFormat": self.format.output_format(),
                "SerdeInfo": {
                    "SerializationLibrary": self.format.serde(),
                    "Parameters": string_map(self.format.serde_parameters()),
                },
            },
        })
    }
}

/// Glue `Column`s: `[{"Name": …, "Type": …}]`.
fn glue_columns<'a>(columns: impl Iterator<Item = (&'a str, String)>) -> Value {
    columns
        .map(|(name, data_type)| json!({"Name": name, "Type": data_type}))
        .collect()
}

/// A JSON object of strings, in the order given.
fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect(),
    )
}

/// Lines of a parenthesised list: indented, comma-separated.
fn push_list(out: &mut String, items: impl Iterator<Item = String>) {
    let lines: Vec<String> = items.map(|item| format!("  {item}")).collect();
    out.push_str(&lines.join(",\n"));
    out.push('\n');
}

/// A single-quoted Hive string literal (backslash escapes, as Hive reads
/// them).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `s3://bucket/prefix/`: checked, with exactly one trailing slash.
fn normalize_location(location: &str) -> Result<String, TableError> {
    let bad = || TableError::Location(location.to_owned());
    let rest = location.strip_prefix("s3://").ok_or_else(bad)?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() || location.chars().any(char::is_control) {
        return Err(bad());
    }
    let prefix = prefix.trim_end_matches('/');
    Ok(if prefix.is_empty() {
        format!("s3://{bucket}/")
    } else {
        format!("s3://{bucket}/{prefix}/")
    })
}

/// A table name from a message's name: `acme.clicks.Click` → `click`,
/// `HTTPRequestLog` → `http_request_log`.
pub fn default_table_name(message: &str) -> String {
    let short = message.rsplit('.').next().unwrap_or(message);
    let chars: Vec<char> = short.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push('_');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HiveType;

    fn spec<'a>(template: &'a KeyTemplate, format: Format) -> TableSpec<'a> {
        TableSpec {
            name: "Clicks",
            location: "s3://landing/ndjson",
            format,
            key_template: template,
            projection_start: NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date"),
        }
    }

    fn columns() -> Vec<Column> {
        vec![
            Column::new("eventId", HiveType::String),
            Column::new(
                "page",
                HiveType::Struct(vec![Column::new("url", HiveType::String)]),
            ),
        ]
    }

    #[test]
    fn writes_ndjson_ddl_with_projected_partitions() {
        let template = KeyTemplate::parse("{prefix}/dt={date}/{key}{ext}").expect("valid");
        let table = Table::new(&spec(&template, Format::Ndjson), columns()).expect("table");
        assert_eq!(
            table.ddl(),
            "\
CREATE EXTERNAL TABLE `clicks` (
  `eventId` string,
  `page` struct<url:string>
)
PARTITIONED BY (
  `dt` string
)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
WITH SERDEPROPERTIES (
  'case.insensitive'='TRUE'
)
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://landing/ndjson/'
TBLPROPERTIES (
  'classification'='json',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2020-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://landing/ndjson/dt=${dt}/'
)
"
        );
    }

    #[test]
    fn writes_the_same_table_as_glue_table_input() {
        let template = KeyTemplate::parse("{prefix}/dt={date}/{key}{ext}").expect("valid");
        let table = Table::new(&spec(&template, Format::Parquet), columns()).expect("table");
        let input = table.glue_table_input();
        assert_eq!(input["Name"], "clicks");
        assert_eq!(input["TableType"], "EXTERNAL_TABLE");
        assert_eq!(
            input["PartitionKeys"],
            json!([{"Name": "dt", "Type": "string"}])
        );
        let sd = &input["StorageDescriptor"];
        assert_eq!(
            sd["Columns"],
            json!([
                {"Name": "eventId", "Type": "string"},
                {"Name": "page", "Type": "struct<url:string>"}
            ])
        );
        assert_eq!(sd["Location"], "s3://landing/ndjson/");
        assert_eq!(
            sd["SerdeInfo"]["SerializationLibrary"],
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        );
        assert_eq!(
            sd["InputFormat"],
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
        );
        // Every table property, plus EXTERNAL.
        let parameters = input["Parameters"].as_object().expect("an object");
        assert_eq!(parameters.len(), table.parameters().len() + 1);
        assert_eq!(parameters["classification"], "parquet");
        assert_eq!(
            parameters["storage.location.template"],
            "s3://landing/ndjson/dt=${dt}/"
        );
        assert_eq!(parameters["EXTERNAL"], "TRUE");
    }

    #[test]
    fn has_no_partitions_or_projection_by_default() {
        let template = KeyTemplate::default();
        let table = Table::new(&spec(&template, Format::Ndjson), columns()).expect("table");
        assert!(table.partitions().is_empty());
        assert_eq!(
            table.parameters(),
            [("classification".to_owned(), "json".to_owned())]
        );
        assert!(!table.ddl().contains("PARTITIONED BY"));
        assert_eq!(table.glue_table_input()["PartitionKeys"], json!([]));
    }

    #[test]
    fn normalizes_and_checks_the_location() {
        let cases = [
            ("s3://b", "s3://b/"),
            ("s3://b/", "s3://b/"),
            ("s3://b/p", "s3://b/p/"),
            ("s3://b/p//", "s3://b/p/"),
            ("s3://b/a'b", "s3://b/a'b/"),
        ];
        for (given, expected) in cases {
            assert_eq!(normalize_location(given).expect(given), expected);
        }
        for bad in ["b/p", "s3:///p", "file:///tmp", "s3://b/a\nb"] {
            assert_eq!(
                normalize_location(bad).unwrap_err(),
                TableError::Location(bad.into())
            );
        }
        assert_eq!(literal(r"s3://b/a'b\c/"), r"'s3://b/a\'b\\c/'");
    }

    #[test]
    fn rejects_a_partition_that_clashes_with_a_column_and_bad_names() {
        let template = KeyTemplate::parse("{prefix}/EventID={date}/{key}{ext}").expect("valid");
        assert_eq!(
            Table::new(&spec(&template, Format::Ndjson), columns())
                .unwrap_err()
                .to_string(),
            "`eventId` and `EventID` in table clicks are one name to Athena, which lower-cases names"
        );
        let template = KeyTemplate::default();
        let mut bad = spec(&template, Format::Ndjson);
        bad.name = "my-table";
        assert_eq!(
            Table::new(&bad, columns()).unwrap_err(),
            TableError::TableName("my-table".into())
        );
    }

    #[test]
    fn names_tables_after_the_message() {
        let cases = [
            ("acme.clicks.Click", "click"),
            ("HTTPRequestLog", "http_request_log"),
            ("a.PageView2Event", "page_view2_event"),
            ("x.Snake_Case", "snake_case"),
        ];
        for (message, expected) in cases {
            assert_eq!(default_table_name(message), expected, "{message}");
        }
    }
}
