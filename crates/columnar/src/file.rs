//! Parquet files of [`Columns`]' rows: [`ParquetFile`].

use std::io::Write;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression, Encoding, GzipLevel, Type as PhysicalType, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};

use crate::error::ColumnarError;
use crate::options::{PageCompression, ParquetOptions};
use crate::schema::Columns;

/// The most a column's dictionary page holds in a row group before the
/// column's later pages are written without it (64 KiB: 8,192 64-bit
/// values, or about 2,000 strings of 30 bytes).
///
/// Low-cardinality columns (enum names, countries, tags) fit and stay
/// dictionary-encoded. A column of mostly distinct values (IDs, URLs,
/// timestamps, measurements) fills it early: every value is written
/// twice, in the dictionary and as an index into it, and hashed on the
/// way. At arrow-rs's default (1 MiB) that waste took each row group's
/// first 131,072 doubles; on `bench/run`'s data, 64 KiB
/// alone makes the files 5% (clickstream) and 21% (telemetry) smaller,
/// and the telemetry's about a quarter cheaper to write.
pub const DICTIONARY_PAGE_BYTES: usize = 64 << 10;

/// What the files' `created_by` says: a constant, so that the same rows
/// give the same bytes whatever the run (the writer adds no timestamps).
pub const CREATED_BY: &str = "protoland";

/// A Parquet file being written to `W`, one row group at a time.
///
/// Columns are dictionary-encoded until the dictionary outgrows
/// [`DICTIONARY_PAGE_BYTES`], then written in their fallback encoding
/// (`DELTA_BINARY_PACKED`, `DELTA_BYTE_ARRAY` or `PLAIN`), every column
/// chunk and page carries min/max statistics, pages are compressed as
/// [`ParquetOptions::compression`] says, and a row group is flushed once
/// it reaches [`ParquetOptions::row_group_bytes`] so memory stays bounded
/// whatever the object's size. The same batches give the same bytes.
pub struct ParquetFile<W: Write + Send> {
    writer: ArrowWriter<W>,
    row_group_bytes: usize,
}

/// Gives each column the encoding its pages take once its dictionary is
/// given up (see [`DICTIONARY_PAGE_BYTES`]): `DELTA_BINARY_PACKED` for 32-
/// and 64-bit integers (timestamps included), `DELTA_BYTE_ARRAY` for
/// strings and bytes (prefixes shared with the value before are written
/// once); floats, booleans and fixed-length decimals stay `PLAIN`. These are
/// the fallbacks of Parquet's 2.0 writer version, in version 1 data pages;
/// on the clickstream data they take another 7% off. Spark reads them
/// vectorized from 3.3 on. `BYTE_STREAM_SPLIT`, which would shrink random
/// doubles by a quarter, is left out: Spark 3's vectorized reader (Glue's)
/// refuses it (docs/parquet.md).
fn fallback_encodings(
    mut builder: WriterPropertiesBuilder,
    schema: &Schema,
) -> Result<WriterPropertiesBuilder, ColumnarError> {
    let parquet = ArrowSchemaConverter::new().convert(schema)?;
    for column in parquet.columns() {
        let encoding = match column.physical_type() {
            PhysicalType::INT32 | PhysicalType::INT64 => Encoding::DELTA_BINARY_PACKED,
            PhysicalType::BYTE_ARRAY => Encoding::DELTA_BYTE_ARRAY,
            _ => continue,
        };
        builder = builder.set_column_encoding(column.path().clone(), encoding);
    }
    Ok(builder)
}

impl<W: Write + Send> std::fmt::Debug for ParquetFile<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetFile")
            .field("row_group_bytes", &self.row_group_bytes)
            .field("in_progress_bytes", &self.writer.in_progress_size())
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send> ParquetFile<W> {
    /// Starts a file of `columns`' rows (nothing is written before the
    /// first row group but the magic bytes).
    ///
    /// # Errors
    ///
    /// [`ColumnarError::Parquet`] when the writer refuses the schema or
    /// writing the header fails.
    pub fn new(
        columns: &Columns,
        options: &ParquetOptions,
        out: W,
    ) -> Result<ParquetFile<W>, ColumnarError> {
        let level = options
            .compression
            .effective_level(options.level)
            .unwrap_or_default();
        let compression = match options.compression {
            PageCompression::Zstd => Compression::ZSTD(ZstdLevel::try_new(
                i32::try_from(level).unwrap_or(i32::MAX),
            )?),
            PageCompression::Snappy => Compression::SNAPPY,
            PageCompression::Gzip => Compression::GZIP(GzipLevel::try_new(level)?),
            PageCompression::None => Compression::UNCOMPRESSED,
        };
        let row_group_bytes = options.row_group_bytes.max(1);
        let schema = columns.arrow_schema();
        let props = fallback_encodings(WriterProperties::builder(), &schema)?
            .set_created_by(CREATED_BY.to_owned())
            .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES)
            .set_compression(compression)
            .set_dictionary_enabled(true)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(None)
            .set_max_row_group_bytes(Some(row_group_bytes))
            .build();
        let writer = ArrowWriter::try_new(out, schema, Some(props))?;
        Ok(ParquetFile {
            writer,
            row_group_bytes,
        })
    }

    /// Writes `batch`'s rows (a batch of these columns), closing the row
    /// group when it is full.
    ///
    /// # Errors
    ///
    /// [`ColumnarError::Parquet`]: a batch of another schema, or the
    /// destination failing.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ColumnarError> {
        self.writer.write(batch)?;
        // The writer closes row groups by their estimated encoded size;
        // its memory (pages waiting for the row group, dictionaries) is
        // capped here too.
        if self.writer.memory_size() >= self.row_group_bytes {
            self.writer.flush()?;
        }
        Ok(())
    }

    /// The row groups written so far (the one in progress not included).
    pub fn row_groups(&self) -> usize {
        self.writer.flushed_row_groups().len()
    }

    /// About how many bytes the row group in progress takes in memory.
    pub fn buffered_bytes(&self) -> usize {
        self.writer.memory_size()
    }

    /// Writes the last row group and the footer, and returns the
    /// destination.
    ///
    /// # Errors
    ///
    /// [`ColumnarError::Parquet`] when writing fails.
    pub fn finish(self) -> Result<W, ColumnarError> {
        Ok(self.writer.into_inner()?)
    }
}
