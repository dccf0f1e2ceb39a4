//! The table definition that makes a landing prefix queryable: Athena's
//! `CREATE EXTERNAL TABLE` statement, or the same table as a Glue
//! `TableInput` for `aws glue create-table`.
//!
//! - Columns for NDJSON landing objects come from the message descriptor,
//!   typed for what ProtoJSON prints ([`ndjson_columns`]); for Parquet from
//!   the Arrow schema the files are written with ([`parquet_columns`]).
//! - A [`Table`] adds the location, the format's SerDe and, for a key
//!   template with `name={placeholder}` segments (`dt={date}`), projected
//!   partitions ([`Partition`]): Athena computes them from the table's
//!   properties, so new objects are queryable as they land.
//! - [`Table::ddl`] and [`Table::glue_table_input`] write it.
//!
//! ```
//! use protoland_pipeline_core::KeyTemplate;
//! use protoland_schema::Schema;
//! use protoland_table::{Format, Table, TableSpec, ndjson_columns};
//!
//! let schema = Schema::from_proto_source("c.proto", r#"
//!     syntax = "proto3";
//!     package acme;
//!     message Click { string user_id = 1; uint64 count = 2; }
//! "#)?;
//! let columns = ndjson_columns(&schema.message("acme.Click")?, &Default::default())?;
//! let template = KeyTemplate::parse("{prefix}/dt={date}/{key}{ext}")?;
//! let table = Table::new(&TableSpec {
//!     name: "clicks",
//!     location: "s3://landing/clicks",
//!     format: Format::Ndjson,
//!     key_template: &template,
//!     projection_start: "2024-01-01".parse()?,
//! }, columns)?;
//! let ddl = table.ddl();
//! assert!(ddl.starts_with("CREATE EXTERNAL TABLE `clicks` (\n  `userId` string,\n  `count` string\n)"));
//! assert!(ddl.contains("'storage.location.template'='s3://landing/clicks/dt=${dt}/'"));
//! assert_eq!(table.glue_table_input()["PartitionKeys"][0]["Name"], "dt");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod hive;
mod ndjson;
mod parquet;
mod partition;
mod table;

/// The Arrow schema types [`parquet_columns`] reads, re-exported so that
/// callers name the same version.
pub use arrow_schema;

pub use crate::error::TableError;
pub use crate::hive::{Column, HiveType};
pub use crate::ndjson::ndjson_columns;
pub use crate::parquet::parquet_columns;
pub use crate::partition::{Partition, Projection};
pub use crate::table::{DEFAULT_PROJECTION_START, Format, Table, TableSpec, default_table_name};
