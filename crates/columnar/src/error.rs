/// Why a message type cannot become columns, or Parquet could not be
/// written. Decoding a message fails with a
/// [`TranscodeError`](protoland_transcode::TranscodeError) instead (byte
/// offset and field path, as the JSON path reports them).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ColumnarError {
    /// A schema construct without a column mapping.
    #[error("`{field_path}` cannot be a column: {reason}")]
    Unmappable { field_path: String, reason: String },
    /// Two columns of one struct whose names differ only in ASCII case:
    /// Athena (and Hive, Glue) treat them as the same column.
    #[error(
        "columns `{first}` and `{second}` have the same name ignoring case, which Athena treats as one column"
    )]
    NameClash { first: String, second: String },
    /// Recursive fields expanded `max_depth` levels deep give more columns
    /// than [`ParquetOptions::MAX_COLUMNS`](crate::ParquetOptions::MAX_COLUMNS).
    #[error(
        "the message expands to more than {max} columns at recursion depth {max_depth} (reached at `{field_path}`); lower the Parquet max depth",
        max = crate::ParquetOptions::MAX_COLUMNS
    )]
    TooManyColumns {
        field_path: String,
        max_depth: usize,
    },
    /// The Parquet writer failed (the destination's I/O error included).
    #[error("writing Parquet: {0}")]
    Parquet(parquet::errors::ParquetError),
}

impl From<parquet::errors::ParquetError> for ColumnarError {
    fn from(e: parquet::errors::ParquetError) -> ColumnarError {
        ColumnarError::Parquet(e)
    }
}

/// A column of one batch would pass the 2 GiB that 32-bit offsets address.
pub(crate) fn too_big() -> protoland_transcode::TranscodeError {
    protoland_transcode::TranscodeError::new(
        protoland_transcode::ErrorKind::Other(
            "a column of the batch would pass 2 GiB (finish batches by buffered_bytes)".into(),
        ),
        0,
        "",
    )
}
