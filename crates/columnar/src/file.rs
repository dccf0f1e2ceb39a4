//! Parquet files of [`Columns`]' rows: [`ParquetFile`].

use std::io::Write;

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::error::ColumnarError;
use crate::options::{PageCompression, ParquetOptions};
use crate::schema::Columns;

/// What the files' `created_by` says: a constant, so that the same rows
/// give the same bytes whatever the run (the writer adds no timestamps).
pub const CREATED_BY: &str = "protoland";

/// A Parquet file being written to `W`, one row group at a time.
///
/// Strings are dictionary-encoded (falling back to plain pages when a
/// column's dictionary grows past the writer's limit), every column
/// chunk and page carries min/max statistics, pages are compressed as
/// [`ParquetOptions::compression`] says, and a row group is flushed once
/// it reaches [`ParquetOptions::row_group_bytes`] so memory stays bounded
/// whatever the object's size. The same batches give the same bytes.
pub struct ParquetFile<W: Write + Send> {
    writer: ArrowWriter<W>,
    row_group_bytes: usize,
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
        let compression = match options.compression {
            PageCompression::Zstd => {
                Compression::ZSTD(ZstdLevel::try_new(PageCompression::ZSTD_LEVEL)?)
            }
            PageCompression::Snappy => Compression::SNAPPY,
            PageCompression::Gzip => Compression::GZIP(GzipLevel::default()),
            PageCompression::None => Compression::UNCOMPRESSED,
        };
        let row_group_bytes = options.row_group_bytes.max(1);
        let props = WriterProperties::builder()
            .set_created_by(CREATED_BY.to_owned())
            .set_compression(compression)
            .set_dictionary_enabled(true)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(None)
            .set_max_row_group_bytes(Some(row_group_bytes))
            .build();
        let writer = ArrowWriter::try_new(out, columns.arrow_schema(), Some(props))?;
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
