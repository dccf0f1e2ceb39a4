//! Parquet files: read back with arrow-rs's reader, the same bytes for
//! the same input, row groups closed by size.

use arrow_array::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding};
use protoland_columnar::{
    DICTIONARY_PAGE_BYTES, PageCompression, ParquetFile, ParquetOptions, RowsBuilder,
};

use crate::support::{columns, message, wire};

const EVENTS: &str = r#"
syntax = "proto3";
package t;
import "google/protobuf/timestamp.proto";
message Event {
  string user = 1;
  uint64 id = 2;
  google.protobuf.Timestamp at = 3;
  map<string, string> attrs = 4;
  repeated double scores = 5;
}
"#;

fn events(n: usize) -> Vec<Vec<u8>> {
    let m = message(EVENTS, "Event");
    (0..n)
        .map(|i| {
            wire(
                &m,
                &format!(
                    r#"user: "user-{}" id: {} at {{ seconds: {} nanos: {} }} attrs {{ key: "k{}" value: "v{i}" }} scores: {} scores: 0.5"#,
                    i % 50,
                    u64::MAX - i as u64,
                    1_700_000_000 + i,
                    i * 1000,
                    i % 3,
                    i as f64 / 7.0
                ),
            )
        })
        .collect()
}

fn write(options: &ParquetOptions, messages: &[Vec<u8>], batch_rows: usize) -> (Vec<u8>, usize) {
    let c = columns(EVENTS, "Event");
    let mut rows = RowsBuilder::new(&c);
    let mut file = ParquetFile::new(&c, options, Vec::new()).unwrap();
    let mut most = 0;
    for chunk in messages.chunks(batch_rows) {
        for m in chunk {
            rows.append(m).unwrap();
        }
        file.write(&rows.finish()).unwrap();
        most = most.max(file.buffered_bytes());
    }
    (file.finish().unwrap(), most)
}

fn read(bytes: Vec<u8>) -> (Vec<RecordBatch>, parquet::file::metadata::ParquetMetaData) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).unwrap();
    let meta = builder.metadata().as_ref().clone();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (batches, meta)
}

/// Writes `messages` with the default options in batches of
/// `batch_rows`, reads the file back, checks that it holds the rows the
/// builder made of them, and returns its metadata.
fn round_trip(messages: &[Vec<u8>], batch_rows: usize) -> parquet::file::metadata::ParquetMetaData {
    let (bytes, _) = write(&ParquetOptions::default(), messages, batch_rows);
    let (batches, meta) = read(bytes);
    let c = columns(EVENTS, "Event");
    let mut rows = RowsBuilder::new(&c);
    for m in messages {
        rows.append(m).unwrap();
    }
    assert_eq!(arrow_select_concat(&batches), rows.finish());
    meta
}

#[test]
fn writes_what_it_reads_back_with_zstd_dictionaries_and_statistics() {
    let meta = round_trip(&events(300), 64);
    assert_eq!(
        meta.file_metadata().created_by(),
        Some(protoland_columnar::CREATED_BY)
    );
    let rg = meta.row_group(0);
    let user = rg.column(0);
    assert!(matches!(user.compression(), Compression::ZSTD(_)));
    assert!(
        user.dictionary_page_offset().is_some(),
        "strings are dictionary-encoded"
    );
    assert!(
        user.statistics()
            .is_some_and(|s| s.min_bytes_opt().is_some())
    );
}

/// Columns of more distinct values than [`DICTIONARY_PAGE_BYTES`] holds
/// go on in their fallback encodings, and the file still reads back as
/// written; a column of few values keeps its dictionary.
#[test]
fn columns_outgrowing_the_dictionary_go_on_in_delta_encodings() {
    // As many distinct timestamps (8 bytes each) and attribute values
    // (`v0`, `v1`, … and a 4-byte length) as make twice the page.
    let meta = round_trip(&events(DICTIONARY_PAGE_BYTES / 4), 1000);
    let rg = meta.row_group(0);
    let encodings = |path: &str| -> Vec<Encoding> {
        let column = (0..rg.num_columns())
            .map(|i| rg.column(i))
            .find(|c| c.column_path().string() == path)
            .unwrap_or_else(|| panic!("no column {path}"));
        column.encodings().collect()
    };
    let at = encodings("at");
    assert!(at.contains(&Encoding::DELTA_BINARY_PACKED), "{at:?}");
    let values = encodings("attrs.key_value.value");
    assert!(values.contains(&Encoding::DELTA_BYTE_ARRAY), "{values:?}");
    for few in ["user", "attrs.key_value.key"] {
        let kept = encodings(few);
        assert!(kept.contains(&Encoding::RLE_DICTIONARY), "{few}: {kept:?}");
        assert!(
            !kept.contains(&Encoding::DELTA_BYTE_ARRAY),
            "{few}: {kept:?}"
        );
    }
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    // One batch of all rows: what the reader returns in chunks.
    let schema = batches[0].schema();
    let columns = (0..schema.fields().len())
        .map(|i| {
            let arrays: Vec<&dyn arrow_array::Array> =
                batches.iter().map(|b| b.column(i).as_ref()).collect();
            arrow_select::concat::concat(&arrays).unwrap()
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

#[test]
fn the_same_rows_give_the_same_bytes() {
    let messages = events(200);
    for compression in [
        PageCompression::Zstd,
        PageCompression::Snappy,
        PageCompression::Gzip,
        PageCompression::None,
    ] {
        let options = ParquetOptions {
            compression,
            ..ParquetOptions::default()
        };
        let (a, _) = write(&options, &messages, 50);
        let (b, _) = write(&options, &messages, 50);
        assert!(a == b, "{compression}: two runs differ");
    }
}

#[test]
fn the_page_level_is_the_one_chosen() {
    let messages = events(2000);
    let with = |compression, level| {
        let options = ParquetOptions {
            compression,
            level,
            ..ParquetOptions::default()
        };
        write(&options, &messages, 500).0
    };
    for (compression, default) in [(PageCompression::Zstd, 1), (PageCompression::Gzip, 6)] {
        let unset = with(compression, None);
        assert!(
            unset == with(compression, Some(default)),
            "{compression}: no level is level {default}"
        );
        let best = with(compression, Some(9));
        assert!(best != unset, "{compression}: level 9 wrote the same bytes");
        assert_eq!(read(best).0, read(unset).0, "{compression}: the same rows");
    }
}

#[test]
fn row_groups_close_by_size_so_memory_stays_bounded() {
    let messages = events(4000);
    let options = ParquetOptions {
        row_group_bytes: 32 << 10,
        ..ParquetOptions::default()
    };
    let (bytes, most) = write(&options, &messages, 100);
    let (batches, meta) = read(bytes);
    assert!(
        meta.num_row_groups() >= 3,
        "{} row groups",
        meta.num_row_groups()
    );
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 4000);
    // What a row group holds before it closes: about the limit plus one batch.
    assert!(most < 3 * (32 << 10), "{most} bytes buffered");
}
