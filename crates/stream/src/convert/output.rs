//! Where a conversion's output goes, open across several inputs (`protoland
//! convert a.pb b.pb -o out` writes both into one output): NDJSON lines go
//! to the writer as they come; rows go into one Parquet file, whose row
//! groups are written as they fill and whose footer is written by
//! [`OutputWriter::finish`].

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arrow_array::RecordBatch;
use protoland_columnar::{ColumnarError, Columns, ParquetFile, ParquetOptions};

use super::write::{Cut, Sink};
use crate::error::ConvertError;
use crate::settings::OutputFormat;

/// A [`Converter`](crate::Converter)'s output, open across inputs: made by
/// [`Converter::output_writer`](crate::Converter::output_writer), filled by
/// [`Converter::convert_to`](crate::Converter::convert_to), closed by
/// [`OutputWriter::finish`].
#[derive(Debug)]
pub struct OutputWriter<W: Write + Send> {
    pub(super) dest: Dest<W>,
}

#[derive(Debug)]
pub(super) enum Dest<W: Write + Send> {
    Ndjson(W),
    Parquet {
        /// Boxed: the writer's state is large beside a writer.
        file: Box<ParquetFile<Tracked<W>>>,
        /// The rows' columns, for the transcoding threads' builders.
        columns: Columns,
        written: Arc<Written>,
    },
}

impl<W: Write + Send> OutputWriter<W> {
    /// NDJSON, or (with `parquet`) a Parquet file of `columns`' rows.
    pub(super) fn new(
        parquet: Option<(&Columns, &ParquetOptions)>,
        output: W,
    ) -> Result<OutputWriter<W>, ConvertError> {
        let dest = match parquet {
            None => Dest::Ndjson(output),
            Some((columns, options)) => {
                let written = Arc::new(Written::default());
                let tracked = Tracked {
                    inner: output,
                    written: Arc::clone(&written),
                };
                let file =
                    ParquetFile::new(columns, options, tracked).map_err(|e| written.error(e))?;
                Dest::Parquet {
                    file: Box::new(file),
                    columns: columns.clone(),
                    written,
                }
            }
        };
        Ok(OutputWriter { dest })
    }

    /// What this output holds.
    pub fn format(&self) -> OutputFormat {
        match self.dest {
            Dest::Ndjson(_) => OutputFormat::Ndjson,
            Dest::Parquet { .. } => OutputFormat::Parquet,
        }
    }

    /// Flushes the output (for Parquet: writes the last row group and the
    /// footer), and returns the writer. A Parquet file that is not
    /// finished has no footer: no reader takes it for a complete file.
    ///
    /// # Errors
    ///
    /// [`ConvertError::Write`], or [`ConvertError::Parquet`] when the
    /// Parquet writer fails on its own.
    pub fn finish(self) -> Result<W, ConvertError> {
        self.finish_counted().map(|(output, _)| output)
    }

    /// [`OutputWriter::finish`], and the bytes it wrote.
    pub(super) fn finish_counted(self) -> Result<(W, u64), ConvertError> {
        match self.dest {
            Dest::Ndjson(mut output) => {
                output.flush().map_err(ConvertError::Write)?;
                Ok((output, 0))
            }
            Dest::Parquet { file, written, .. } => {
                let before = written.bytes();
                let tracked = (*file).finish().map_err(|e| written.error(e))?;
                Ok((tracked.inner, written.bytes() - before))
            }
        }
    }
}

/// What a Parquet file's writer passed on to the output: its bytes, and
/// the output's first error (the Parquet writer wraps it in its own; the
/// conversion reports the output's, which says whether it is transient).
#[derive(Debug, Default)]
pub(super) struct Written {
    bytes: AtomicU64,
    error: Mutex<Option<io::Error>>,
}

impl Written {
    pub(super) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The output's error if it had one, else the Parquet writer's own.
    pub(super) fn error(&self, e: ColumnarError) -> ConvertError {
        let mut error = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        match error.take() {
            Some(io) => ConvertError::Write(io),
            None => ConvertError::Parquet(e),
        }
    }
}

/// The output under a Parquet file, counting its bytes and keeping its
/// first error.
#[derive(Debug)]
pub(super) struct Tracked<W> {
    inner: W,
    written: Arc<Written>,
}

impl<W: Write> Tracked<W> {
    fn keep(&self, e: io::Error) -> io::Error {
        let copy = io::Error::new(e.kind(), e.to_string());
        let mut error = self
            .written
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        error.get_or_insert(e);
        copy
    }
}

impl<W: Write> Write for Tracked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.write(buf) {
            Ok(n) => {
                self.written.bytes.fetch_add(n as u64, Ordering::Relaxed);
                Ok(n)
            }
            Err(e) => Err(self.keep(e)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.keep(e))
    }
}

/// Parquet: each chunk's rows into the file, whose row groups go out as
/// they fill.
pub(super) struct Parquet<'f, W: Write + Send> {
    pub(super) file: &'f mut ParquetFile<Tracked<W>>,
    pub(super) written: &'f Written,
}

impl<W: Write + Send> Sink<Option<RecordBatch>> for Parquet<'_, W> {
    fn put(&mut self, rows: Option<RecordBatch>, cut: Option<Cut>) -> Result<u64, ConvertError> {
        let Some(rows) = rows else {
            return Ok(0);
        };
        let rows = match cut {
            Some(cut) => {
                let before = usize::try_from(cut.messages).unwrap_or(usize::MAX);
                rows.slice(0, before.min(rows.num_rows()))
            }
            None => rows,
        };
        let before = self.written.bytes();
        if rows.num_rows() > 0 {
            self.file.write(&rows).map_err(|e| self.written.error(e))?;
        }
        Ok(self.written.bytes() - before)
    }

    /// Nothing to flush before the file is finished: a row group goes out
    /// whole, when it is full or at the end.
    fn flush(&mut self) -> Result<(), ConvertError> {
        Ok(())
    }
}
