//! Parquet through the converter: read back with parquet's own reader, the
//! rows are the NDJSON lines through the documented mapping
//! (`docs/parquet.md`), whatever the threads; bad messages are skipped or
//! stop the conversion as for NDJSON.

use std::num::NonZeroUsize;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};

use super::super::{ConvertOptions, ConvertReport, Converter, Progress};
use super::{assert_the_bad_message, many_clicks, with_a_bad_message, with_an_oversized_message};
use crate::error::ConvertError;
use crate::testing::{click_plan, clicks, frame_varint, gzip};
use crate::{OutputFormat, ParquetOptions};

fn parquet_converter(threads: usize, options: ConvertOptions) -> Converter {
    Converter::new(click_plan(), options)
        .with_threads(NonZeroUsize::new(threads).unwrap())
        .with_parquet(ParquetOptions::default())
        .unwrap()
}

fn to_parquet(
    threads: usize,
    input: &[u8],
    options: ConvertOptions,
) -> (Vec<u8>, Result<ConvertReport, ConvertError>) {
    let mut out = Vec::new();
    let result = parquet_converter(threads, options).convert(input, &mut out, &Progress::default());
    (out, result)
}

/// The NDJSON of `input`, each line parsed.
fn ndjson_rows(input: &[u8], options: ConvertOptions) -> Vec<Value> {
    let mut out = Vec::new();
    Converter::new(click_plan(), options)
        .convert(input, &mut out, &Progress::default())
        .unwrap();
    out.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect()
}

/// A Click line as its row holds it (`docs/parquet.md`): fields without
/// presence hold their default when unset, `repeated` is an empty list,
/// int64 (a JSON string) is a number.
fn as_row(line: &Value) -> Value {
    let user_id = line["userId"]
        .as_str()
        .map_or(0, |s| s.parse::<i64>().unwrap());
    json!({
        "url": line.get("url").cloned().unwrap_or(json!("")),
        "userId": user_id,
        "tags": line.get("tags").cloned().unwrap_or(json!([])),
        "score": line.get("score").and_then(Value::as_f64).unwrap_or(0.0),
    })
}

/// The rows of a Parquet file, read by parquet's reader.
fn parquet_rows(file: &[u8]) -> Vec<Value> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(file))
        .unwrap()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        rows.extend(batch_rows(&batch.unwrap()));
    }
    rows
}

fn batch_rows(batch: &RecordBatch) -> Vec<Value> {
    let column = |name: &str| batch.column_by_name(name).unwrap();
    let url = column("url").as_string::<i32>();
    let user_id = column("userId").as_primitive::<Int64Type>();
    let tags = column("tags").as_list::<i32>();
    let score = column("score").as_primitive::<Float64Type>();
    (0..batch.num_rows())
        .map(|i| {
            let list = tags.value(i);
            let tags: Vec<&str> = list.as_string::<i32>().iter().map(Option::unwrap).collect();
            assert!(!url.is_null(i) && !user_id.is_null(i) && !score.is_null(i));
            json!({
                "url": url.value(i),
                "userId": user_id.value(i),
                "tags": tags,
                "score": score.value(i),
            })
        })
        .collect()
}

#[test]
fn rows_are_the_ndjson_lines_through_the_mapping() {
    let input = gzip(&frame_varint(&many_clicks()));
    let options = ConvertOptions::default();
    let (file, report) = to_parquet(2, &input, options);
    let report = report.unwrap();
    assert_eq!(report.messages, 60_000);
    assert_eq!(report.bytes_out, file.len() as u64);
    let expected: Vec<Value> = ndjson_rows(&input, options).iter().map(as_row).collect();
    assert!(parquet_rows(&file) == expected);
}

#[test]
fn bytes_do_not_depend_on_the_threads() {
    let input = frame_varint(&many_clicks());
    let (one, _) = to_parquet(1, &input, ConvertOptions::default());
    for threads in [2, 4] {
        let (file, report) = to_parquet(threads, &input, ConvertOptions::default());
        report.unwrap();
        assert!(file == one, "{threads} threads");
    }
}

#[test]
fn row_groups_are_flushed_by_size() {
    let input = frame_varint(&many_clicks());
    let small = ParquetOptions {
        row_group_bytes: 256 << 10,
        ..ParquetOptions::default()
    };
    let mut out = Vec::new();
    Converter::new(click_plan(), ConvertOptions::default())
        .with_parquet(small)
        .unwrap()
        .convert(&input[..], &mut out, &Progress::default())
        .unwrap();
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(&out)).unwrap();
    assert!(reader.metadata().num_row_groups() > 1);
    let rows: i64 = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .sum();
    assert_eq!(rows, 60_000);
}

#[test]
fn skips_bad_messages_like_ndjson() {
    let mut messages = many_clicks();
    let bad: [usize; 4] = [7, 20_000, 20_001, 59_999];
    for &i in &bad {
        messages[i] = vec![0x0a, 0x05];
    }
    let input = frame_varint(&messages);
    let options = ConvertOptions {
        skip_invalid: true,
        ..ConvertOptions::default()
    };
    let (file, report) = to_parquet(2, &input, options);
    let report = report.unwrap();
    assert_eq!((report.messages, report.skipped), (59_996, 4));
    let indexes: Vec<_> = report
        .first_skipped
        .iter()
        .map(ConvertError::message_index)
        .collect();
    assert_eq!(indexes, bad.map(|i| Some(i as u64)));
    let expected: Vec<Value> = ndjson_rows(&input, options).iter().map(as_row).collect();
    assert!(parquet_rows(&file) == expected);
}

#[test]
fn a_bad_message_fails_with_its_index_and_offset_and_no_readable_file() {
    let (_, input, offset) = with_a_bad_message();
    for threads in [1, 3] {
        let (file, result) = to_parquet(threads, &input, ConvertOptions::default());
        assert_the_bad_message(&result.unwrap_err(), offset);
        // No footer: no reader takes it for a file.
        assert!(ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file)).is_err());
    }
}

/// A row whose column buffers pass the line limit (plus the chunk before
/// it) fails as a JSON line over it does, while it is being built, or is
/// skipped with `skip_invalid`: a few wire bytes cannot become gigabytes
/// of Arrow buffers.
#[test]
fn a_row_over_the_line_limit_is_an_error_or_skipped() {
    // 400,000 empty tags: 800 KB of wire data, 1.6 MB of list offsets.
    let (input, offset, kept) = with_an_oversized_message(400_000);
    let options = ConvertOptions {
        limits: crate::Limits {
            max_line_bytes: 64 << 10,
            ..crate::Limits::default()
        },
        ..ConvertOptions::default()
    };
    let (_, result) = to_parquet(2, &input, options);
    let err = result.unwrap_err();
    assert!(
        matches!(&err, ConvertError::LineTooLong { row: true, index: 7, offset: o, .. } if *o == offset),
        "{err}"
    );
    // Stopped when the offsets passed the limit plus the 1 MiB chunk:
    // (64 KiB + 1 MiB) / 4 bytes an offset, a multiple of 256 elements; at
    // the tag of the last one, two bytes an element.
    assert_eq!(
        err.to_string(),
        format!(
            "message 7 at byte {offset} makes a Parquet row over the 64 KiB limit (PROTOLAND_MAX_LINE_BYTES, --max-line-bytes), at byte {} in field `tags[278528]`",
            2 * (278_528 - 1)
        )
    );
    let options = ConvertOptions {
        skip_invalid: true,
        ..options
    };
    let (file, report) = to_parquet(2, &input, options);
    let report = report.unwrap();
    assert_eq!((report.messages, report.skipped), (19, 1));
    let expected: Vec<Value> = ndjson_rows(&frame_varint(&kept), ConvertOptions::default())
        .iter()
        .map(as_row)
        .collect();
    assert!(parquet_rows(&file) == expected);
}

#[test]
fn several_inputs_make_one_file() {
    let a = clicks(100);
    let b = clicks(50);
    let converter = parquet_converter(2, ConvertOptions::default());
    assert_eq!(converter.format(), OutputFormat::Parquet);
    let mut output = converter.output_writer(Vec::new()).unwrap();
    for input in [frame_varint(&a), gzip(&frame_varint(&b))] {
        converter
            .convert_to(&input[..], &mut output, &Progress::default())
            .unwrap();
    }
    let file = output.finish().unwrap();
    let mut expected: Vec<Value> = ndjson_rows(&frame_varint(&a), ConvertOptions::default())
        .iter()
        .map(as_row)
        .collect();
    expected.extend(
        ndjson_rows(&frame_varint(&b), ConvertOptions::default())
            .iter()
            .map(as_row),
    );
    assert!(parquet_rows(&file) == expected);
}

#[test]
fn empty_input_is_a_file_without_rows() {
    let (file, report) = to_parquet(1, &[], ConvertOptions::default());
    assert_eq!(report.unwrap().messages, 0);
    assert!(parquet_rows(&file).is_empty());
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file)).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
}
