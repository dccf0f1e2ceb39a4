//! `protoland table`: the table definition that makes a landing prefix
//! queryable, as Athena DDL or a Glue `TableInput` (`--glue`), on stdout.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use protoland_columnar::{Columns, ParquetOptions};
use protoland_pipeline::{DEFAULT_TEMPLATE, KeyTemplate};
use protoland_schema::{MessageDescriptor, Schema};
use protoland_table::arrow_schema;
use protoland_table::{
    DEFAULT_PROJECTION_START, Format, Table, TableSpec, default_table_name, ndjson_columns,
    parquet_columns,
};
use protoland_transcode::JsonOptions;

use crate::args::{JsonArgs, ParquetShapeArgs, SchemaArgs};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TableFormat {
    /// Newline-delimited JSON (gzip'd, zstd-compressed or plain).
    Ndjson,
    /// Parquet files.
    Parquet,
}

#[derive(Debug, Args)]
pub(crate) struct TableArgs {
    #[command(flatten)]
    schema: SchemaArgs,

    /// What the landing objects are.
    #[arg(long, value_enum)]
    format: TableFormat,

    /// The landing location the objects were written to (where {prefix} of
    /// the key template points): s3://bucket/prefix/.
    #[arg(long, value_name = "URL")]
    location: String,

    /// The table's name (ASCII letters, digits, underscores). [default: the
    /// message's name in snake_case, e.g. click]
    #[arg(long, value_name = "TABLE")]
    name: Option<String>,

    /// The key template the objects were written with: its name={...}
    /// segments (dt={date}, hour={hour}) become partitions that Athena
    /// projects, so new objects are queryable as they land.
    #[arg(long, value_name = "TEMPLATE", default_value = DEFAULT_TEMPLATE)]
    key_template: String,

    /// The first date a {date} or {year} partition projects (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", default_value = DEFAULT_PROJECTION_START)]
    projection_start: String,

    /// The JSON options the objects were written with (--proto-names names
    /// the columns as the .proto does; --enum-numbers makes enums int
    /// columns; --emit-defaults changes no column).
    #[command(flatten)]
    json: JsonArgs,

    /// How the Parquet files were written (Parquet only).
    #[command(flatten)]
    parquet: ParquetShapeArgs,

    /// Print the table as a Glue TableInput (JSON, for aws glue
    /// create-table --table-input) instead of Athena DDL.
    #[arg(long)]
    glue: bool,
}

pub(crate) fn run(args: TableArgs) -> Result<ExitCode> {
    let schema = Schema::load(&args.schema.schema, &args.schema.include)?;
    let message = schema.message(&args.schema.message)?;
    let options = args.json.options();
    let (format, columns) = match args.format {
        TableFormat::Ndjson => (Format::Ndjson, ndjson_columns(&message, &options)?),
        TableFormat::Parquet => (
            Format::Parquet,
            parquet_columns(&parquet_schema(
                &message,
                &options,
                &args.parquet.options(),
            )?)?,
        ),
    };
    let key_template = KeyTemplate::parse(&args.key_template)
        .with_context(|| format!("--key-template `{}`", args.key_template))?;
    let projection_start = args
        .projection_start
        .parse()
        .map_err(|_| protoland_table::TableError::ProjectionStart(args.projection_start.clone()))?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| default_table_name(message.full_name()));
    let table = Table::new(
        &TableSpec {
            name: &name,
            location: &args.location,
            format,
            key_template: &key_template,
            projection_start,
        },
        columns,
    )?;
    let text = if args.glue {
        let mut json = serde_json::to_string_pretty(&table.glue_table_input())?;
        json.push('\n');
        json
    } else {
        table.ddl()
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The Arrow schema Parquet landing files of `message` are written with:
/// the columnar crate's, from the same descriptor and JSON options.
fn parquet_schema(
    message: &MessageDescriptor,
    options: &JsonOptions,
    parquet: &ParquetOptions,
) -> Result<arrow_schema::Schema> {
    let columns = Columns::new(message, *options, parquet)?;
    Ok(columns.arrow_schema().as_ref().clone())
}
