//! The columns of a Parquet landing table: the Arrow schema the Parquet
//! files are written with, in Hive types (as `ParquetHiveSerDe` reads them).
//!
//! | Arrow | Hive |
//! |---|---|
//! | `Boolean` | `boolean` |
//! | `Int8`, `Int16`, `Int32`, `Int64` | `tinyint`, `smallint`, `int`, `bigint` |
//! | `UInt8`, `UInt16`, `UInt32` | `smallint`, `int`, `bigint` (the next wider signed type) |
//! | `Float32`, `Float64` | `float`, `double` |
//! | `Decimal128(p, s)`, `Decimal256(p, s)` up to precision 38 | `decimal(p,s)` |
//! | `Utf8`, `LargeUtf8`, `Utf8View` | `string` |
//! | `Binary`, `LargeBinary`, `BinaryView` | `binary` |
//! | `Date32` | `date` |
//! | `Timestamp(any unit, any zone)` | `timestamp` |
//! | `List`, `LargeList` | `array<…>` |
//! | `Struct` | `struct<…>` |
//! | `Map` | `map<…,…>` (a primitive key) |
//! | `Dictionary(_, V)` | `V`'s type |
//!
//! Anything else (`UInt64`, `Float16`, times of day, durations, intervals,
//! unions, fixed-size types, empty structs) is an error naming the column:
//! the writer should not produce it for a table.

use arrow_schema::{DataType, Field, Schema};

use crate::error::TableError;
use crate::hive::{Column, HiveType};

/// The widest decimal Hive (and Athena) reads.
const MAX_DECIMAL_PRECISION: u8 = 38;

/// The table's columns for Parquet files written with `schema`.
///
/// # Errors
///
/// [`TableError::UnsupportedArrowType`] naming the first column (with its
/// path, `page.geo.latitude`) whose type has no Hive type.
pub fn parquet_columns(schema: &Schema) -> Result<Vec<Column>, TableError> {
    schema
        .fields()
        .iter()
        .map(|field| column(field, field.name()))
        .collect()
}

fn column(field: &Field, path: &str) -> Result<Column, TableError> {
    Ok(Column::new(
        field.name().clone(),
        hive_type(field.data_type(), path)?,
    ))
}

fn hive_type(data_type: &DataType, path: &str) -> Result<HiveType, TableError> {
    let unsupported = || TableError::UnsupportedArrowType {
        column: path.to_owned(),
        data_type: data_type.to_string(),
    };
    Ok(match data_type {
        DataType::Boolean => HiveType::Boolean,
        DataType::Int8 => HiveType::TinyInt,
        DataType::Int16 | DataType::UInt8 => HiveType::SmallInt,
        DataType::Int32 | DataType::UInt16 => HiveType::Int,
        DataType::Int64 | DataType::UInt32 => HiveType::BigInt,
        DataType::Float32 => HiveType::Float,
        DataType::Float64 => HiveType::Double,
        DataType::Decimal128(precision, scale) | DataType::Decimal256(precision, scale) => {
            match u8::try_from(*scale) {
                Ok(scale) if *precision <= MAX_DECIMAL_PRECISION && scale <= *precision => {
                    HiveType::Decimal {
                        precision: *precision,
                        scale,
                    }
                }
                _ => return Err(unsupported()),
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => HiveType::String,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => HiveType::Binary,
        DataType::Date32 => HiveType::Date,
        DataType::Timestamp(_, _) => HiveType::Timestamp,
        DataType::List(element) | DataType::LargeList(element) => HiveType::Array(Box::new(
            hive_type(element.data_type(), &format!("{path}[]"))?,
        )),
        DataType::Struct(fields) if !fields.is_empty() => HiveType::Struct(
            fields
                .iter()
                .map(|f| column(f, &format!("{path}.{}", f.name())))
                .collect::<Result<_, _>>()?,
        ),
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(unsupported());
            };
            let [key, value] = &kv.iter().collect::<Vec<_>>()[..] else {
                return Err(unsupported());
            };
            let key_type = hive_type(key.data_type(), &format!("{path}{{key}}"))?;
            if matches!(
                key_type,
                HiveType::Array(_) | HiveType::Map(..) | HiveType::Struct(_)
            ) {
                return Err(unsupported());
            }
            HiveType::Map(
                Box::new(key_type),
                Box::new(hive_type(value.data_type(), &format!("{path}{{}}"))?),
            )
        }
        DataType::Dictionary(_, value) => hive_type(value, path)?,
        _ => return Err(unsupported()),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_schema::{Fields, TimeUnit};

    use super::*;

    fn field(name: &str, data_type: DataType) -> Field {
        Field::new(name, data_type, true)
    }

    fn types(schema: &Schema) -> Vec<(String, String)> {
        parquet_columns(schema)
            .expect("supported")
            .into_iter()
            .map(|c| (c.name, c.data_type.to_string()))
            .collect()
    }

    fn map_of(key: DataType, value: DataType) -> DataType {
        DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", key, false),
                    field("value", value),
                ])),
                false,
            )),
            false,
        )
    }

    /// The mapping the columnar crate writes (message → struct, repeated →
    /// list, map → Map; int32 → Int32, uint32 → Int64, uint64 →
    /// Decimal128(20,0), Timestamp → microseconds in UTC, …).
    #[test]
    fn maps_the_columnar_crates_types() {
        let page = DataType::Struct(Fields::from(vec![
            field("url", DataType::Utf8),
            field("scrollDepthPct", DataType::Int64),
        ]));
        let item = DataType::Struct(Fields::from(vec![
            field("sku", DataType::Utf8),
            field("priceMicros", DataType::Int64),
            field(
                "categories",
                DataType::List(Arc::new(field("item", DataType::Utf8))),
            ),
        ]));
        let schema = Schema::new(vec![
            field("i32", DataType::Int32),
            field("i64", DataType::Int64),
            field("u64", DataType::Decimal128(20, 0)),
            field("f", DataType::Float32),
            field("d", DataType::Float64),
            field("b", DataType::Boolean),
            field("s", DataType::Utf8),
            field("by", DataType::Binary),
            field(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            field("page", page),
            field("items", DataType::List(Arc::new(field("item", item)))),
            field("attributes", map_of(DataType::Utf8, DataType::Utf8)),
            field(
                "counts",
                map_of(
                    DataType::Int64,
                    DataType::List(Arc::new(field("item", DataType::Int32))),
                ),
            ),
        ]);
        let expected = [
            ("i32", "int"),
            ("i64", "bigint"),
            ("u64", "decimal(20,0)"),
            ("f", "float"),
            ("d", "double"),
            ("b", "boolean"),
            ("s", "string"),
            ("by", "binary"),
            ("ts", "timestamp"),
            ("page", "struct<url:string,scrollDepthPct:bigint>"),
            (
                "items",
                "array<struct<sku:string,priceMicros:bigint,categories:array<string>>>",
            ),
            ("attributes", "map<string,string>"),
            ("counts", "map<bigint,array<int>>"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        assert_eq!(types(&schema), expected);
    }

    #[test]
    fn maps_the_other_types_it_knows() {
        let schema = Schema::new(vec![
            field("a", DataType::Int8),
            field("b", DataType::Int16),
            field("c", DataType::UInt8),
            field("d", DataType::UInt16),
            field("e", DataType::UInt32),
            field("f", DataType::LargeUtf8),
            field("g", DataType::Utf8View),
            field("h", DataType::LargeBinary),
            field("i", DataType::BinaryView),
            field("j", DataType::Date32),
            field("k", DataType::Timestamp(TimeUnit::Nanosecond, None)),
            field("l", DataType::Decimal256(38, 10)),
            field(
                "m",
                DataType::LargeList(Arc::new(field("item", DataType::Boolean))),
            ),
            field(
                "n",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            ),
        ]);
        let got: Vec<String> = types(&schema).into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            got,
            [
                "tinyint",
                "smallint",
                "smallint",
                "int",
                "bigint",
                "string",
                "string",
                "binary",
                "binary",
                "date",
                "timestamp",
                "decimal(38,10)",
                "array<boolean>",
                "string"
            ]
        );
    }

    #[test]
    fn rejects_types_it_does_not_map_naming_the_column() {
        let nested = |inner: DataType| {
            Schema::new(vec![field(
                "page",
                DataType::Struct(Fields::from(vec![field(
                    "geo",
                    DataType::List(Arc::new(field("item", inner))),
                )])),
            )])
        };
        let cases = [
            (DataType::UInt64, "UInt64"),
            (DataType::Float16, "Float16"),
            (DataType::Decimal128(39, 0), "Decimal128(39, 0)"),
            (DataType::Decimal128(10, -2), "Decimal128(10, -2)"),
            (DataType::Duration(TimeUnit::Second), "Duration(s)"),
            (DataType::Struct(Fields::empty()), "Struct()"),
            (DataType::Null, "Null"),
        ];
        for (inner, shown) in cases {
            let err = parquet_columns(&nested(inner)).unwrap_err();
            assert_eq!(
                err,
                TableError::UnsupportedArrowType {
                    column: "page.geo[]".into(),
                    data_type: shown.into()
                }
            );
        }
        let struct_key = Schema::new(vec![field(
            "m",
            map_of(
                DataType::Struct(Fields::from(vec![field("a", DataType::Int32)])),
                DataType::Utf8,
            ),
        )]);
        assert!(matches!(
            parquet_columns(&struct_key),
            Err(TableError::UnsupportedArrowType { column, .. }) if column == "m"
        ));
        assert_eq!(
            parquet_columns(&Schema::new(vec![field("x", DataType::UInt64)]))
                .unwrap_err()
                .to_string(),
            "column `x`: the Arrow type UInt64 has no Hive type here"
        );
    }
}
