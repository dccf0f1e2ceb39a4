//! Hive column types, as Athena DDL and the Glue catalog write them, and
//! the name rules both formats share.

use std::collections::HashMap;
use std::fmt;

use crate::error::TableError;

/// A column (or a struct field): its name as the data spells it, and its
/// Hive type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub data_type: HiveType,
}

impl Column {
    pub fn new(name: impl Into<String>, data_type: HiveType) -> Column {
        Column {
            name: name.into(),
            data_type,
        }
    }
}

/// The Hive types a table definition uses. `Display` writes them as the
/// Glue catalog stores them (`struct<url:string,depth:bigint>`), which is
/// also how Athena's DDL takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HiveType {
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal { precision: u8, scale: u8 },
    String,
    Binary,
    Date,
    Timestamp,
    Array(Box<HiveType>),
    Map(Box<HiveType>, Box<HiveType>),
    Struct(Vec<Column>),
}

impl fmt::Display for HiveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HiveType::Boolean => f.write_str("boolean"),
            HiveType::TinyInt => f.write_str("tinyint"),
            HiveType::SmallInt => f.write_str("smallint"),
            HiveType::Int => f.write_str("int"),
            HiveType::BigInt => f.write_str("bigint"),
            HiveType::Float => f.write_str("float"),
            HiveType::Double => f.write_str("double"),
            HiveType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            HiveType::String => f.write_str("string"),
            HiveType::Binary => f.write_str("binary"),
            HiveType::Date => f.write_str("date"),
            HiveType::Timestamp => f.write_str("timestamp"),
            HiveType::Array(element) => write!(f, "array<{element}>"),
            HiveType::Map(key, value) => write!(f, "map<{key},{value}>"),
            HiveType::Struct(fields) => {
                f.write_str("struct<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    // Plain names as they are (as Glue shows them); others
                    // quoted, which Athena's DDL needs for them.
                    if is_plain(&field.name) {
                        f.write_str(&field.name)?;
                    } else {
                        f.write_str(&quote(&field.name))?;
                    }
                    write!(f, ":{}", field.data_type)?;
                }
                f.write_str(">")
            }
        }
    }
}

/// Whether a name is a plain identifier (letters, digits, underscores, not
/// starting with a digit), which a struct type can hold unquoted.
fn is_plain(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A name in backticks, as Athena's DDL quotes identifiers (a backtick in
/// the name doubled).
pub(crate) fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Checks that no name is empty and no two names of one struct (the table's columns are the
/// outermost one) are equal ignoring case, at every depth: Athena and the
/// Glue catalog lower-case names, and the JSON SerDe matches keys ignoring
/// case, so such names would read one field twice.
///
/// `place` names the outermost level in the error (`table clicks`); deeper
/// levels add their path (`page.geo`, `items[]`).
///
/// # Errors
///
/// [`TableError::NameClash`] naming both names and where they are;
/// [`TableError::EmptyName`].
pub(crate) fn check_names(columns: &[Column], place: &str) -> Result<(), TableError> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for column in columns {
        // `int32 _ = 1;` has the JSON name "".
        if column.name.is_empty() {
            return Err(TableError::EmptyName {
                place: place.to_owned(),
            });
        }
        if let Some(first) = seen.insert(column.name.to_lowercase(), &column.name) {
            return Err(TableError::NameClash {
                place: place.to_owned(),
                first: first.to_owned(),
                second: column.name.clone(),
            });
        }
    }
    for column in columns {
        check_type_names(&column.data_type, &format!("{place}.{}", column.name))?;
    }
    Ok(())
}

fn check_type_names(data_type: &HiveType, place: &str) -> Result<(), TableError> {
    match data_type {
        HiveType::Struct(fields) => check_names(fields, place),
        HiveType::Array(element) => check_type_names(element, &format!("{place}[]")),
        HiveType::Map(_, value) => check_type_names(value, &format!("{place}{{}}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_types_as_glue_stores_them() {
        let t = HiveType::Struct(vec![
            Column::new("url", HiveType::String),
            Column::new(
                "tags",
                HiveType::Map(
                    Box::new(HiveType::String),
                    Box::new(HiveType::Array(Box::new(HiveType::Int))),
                ),
            ),
            Column::new(
                "price",
                HiveType::Decimal {
                    precision: 20,
                    scale: 0,
                },
            ),
            Column::new("with space", HiveType::Boolean),
            Column::new("9lives", HiveType::BigInt),
            Column::new("a`b", HiveType::Timestamp),
        ]);
        assert_eq!(
            t.to_string(),
            "struct<url:string,tags:map<string,array<int>>,price:decimal(20,0),`with space`:boolean,`9lives`:bigint,`a``b`:timestamp>"
        );
    }

    #[test]
    fn rejects_names_equal_ignoring_case_at_any_depth() {
        let clash = vec![
            Column::new("userId", HiveType::String),
            Column::new("userid", HiveType::String),
        ];
        assert_eq!(
            check_names(&clash, "table t").unwrap_err().to_string(),
            "`userId` and `userid` in table t are one name to Athena, which lower-cases names"
        );
        let nested = vec![Column::new(
            "items",
            HiveType::Array(Box::new(HiveType::Struct(vec![
                Column::new("Sku", HiveType::String),
                Column::new("SKU", HiveType::String),
            ]))),
        )];
        assert_eq!(
            check_names(&nested, "table t").unwrap_err().to_string(),
            "`Sku` and `SKU` in table t.items[] are one name to Athena, which lower-cases names"
        );
        let fine = vec![
            Column::new("a", HiveType::Struct(vec![Column::new("a", HiveType::Int)])),
            Column::new("b", HiveType::Int),
        ];
        assert!(check_names(&fine, "table t").is_ok());
        let empty = vec![Column::new(
            "a",
            HiveType::Struct(vec![Column::new("", HiveType::Int)]),
        )];
        assert_eq!(
            check_names(&empty, "table t").unwrap_err().to_string(),
            "table t.a has a field with an empty name, which no Athena column can have"
        );
    }
}
