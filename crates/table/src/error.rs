//! Why a table definition cannot be made.

use protoland_pipeline_core::TemplateError;

/// Why a table definition cannot be made, naming what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// Two names of one struct equal ignoring case (Athena lower-cases
    /// names; the JSON SerDe matches keys ignoring case).
    #[error("`{first}` and `{second}` in {place} are one name to Athena, which lower-cases names")]
    NameClash {
        place: String,
        first: String,
        second: String,
    },
    #[error("{place} has a field with an empty name, which no Athena column can have")]
    EmptyName { place: String },
    /// A well-known type at the top level prints as a JSON string, number
    /// or free-form object, not as an object with one key per field.
    #[error(
        "{message} prints as {prints} in ProtoJSON, not as an object with a key per field: it cannot be a table's row"
    )]
    NotAnObject {
        message: String,
        prints: &'static str,
    },
    #[error("{message} has no fields: a table needs at least one column")]
    NoColumns { message: String },
    #[error("column `{column}`: the Arrow type {data_type} has no Hive type here")]
    UnsupportedArrowType { column: String, data_type: String },
    #[error("the location `{0}` is not an s3:// URL with a bucket (s3://bucket/prefix/)")]
    Location(String),
    #[error("`{0}` is not a table name: Athena takes ASCII letters, digits and underscores")]
    TableName(String),
    #[error("`{0}` is not a date (YYYY-MM-DD)")]
    ProjectionStart(String),
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A key template whose `name=value` segments cannot be projected.
    #[error("key template `{template}`: {reason}")]
    Partition { template: String, reason: String },
}
