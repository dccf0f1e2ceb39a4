//! The pipeline end to end: every compression and framing, order on
//! any number of threads, skipping, limits and errors.

mod parquet;

use std::io::{self, Read, Write};
use std::num::NonZeroUsize;
use std::sync::atomic::Ordering;

use super::memory::JSON_CHUNK;
use super::{ConvertOptions, ConvertReport, Converter, Progress};
use crate::error::ConvertError;
use crate::limits::Limits;
use crate::settings::{Compression, Framing};
use crate::testing::{
    ShortReads, click_plan, clicks, frame_fixed32, frame_varint, gzip, zstd_frame,
};

/// The expected NDJSON for `messages`, one `Plan::transcode` each.
fn expected_ndjson(messages: &[Vec<u8>]) -> Vec<u8> {
    let plan = click_plan();
    let mut out = Vec::new();
    for m in messages {
        plan.transcode(m, &mut out).unwrap();
        out.push(b'\n');
    }
    out
}

fn convert(
    input: &[u8],
    options: ConvertOptions,
) -> Result<(Vec<u8>, ConvertReport), ConvertError> {
    let mut out = Vec::new();
    let report =
        Converter::new(click_plan(), options).convert(input, &mut out, &Progress::default())?;
    Ok((out, report))
}

fn compress(data: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::Gzip => {
            // Two members, split mid-stream: both must be read.
            let mid = data.len() / 2;
            let mut out = gzip(&data[..mid]);
            out.extend(gzip(&data[mid..]));
            out
        }
        Compression::Zstd => {
            let mid = data.len() / 3;
            let mut out = zstd_frame(&data[..mid]);
            out.extend(zstd_frame(&data[mid..]));
            out
        }
        _ => data.to_vec(),
    }
}

#[test]
fn round_trips_every_compression_and_framing() {
    let messages = clicks(3000);
    let expected = expected_ndjson(&messages);
    for framing in [Framing::Varint, Framing::Fixed32] {
        let framed = match framing {
            Framing::Varint => frame_varint(&messages),
            _ => frame_fixed32(&messages),
        };
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let input = compress(&framed, compression);
            for (c, f) in [(Compression::Auto, Framing::Auto), (compression, framing)] {
                let options = ConvertOptions {
                    compression: c,
                    framing: f,
                    ..ConvertOptions::default()
                };
                let (out, report) = convert(&input, options).unwrap();
                assert!(out == expected, "{compression} {framing} as {c} {f}");
                assert_eq!(report.compression, compression);
                assert_eq!(report.framing, framing);
                assert_eq!(report.messages, 3000);
                assert_eq!(report.bytes_in, input.len() as u64);
                assert_eq!(report.bytes_decompressed, framed.len() as u64);
                assert_eq!(report.bytes_out, expected.len() as u64);
            }
        }
    }
}

/// Messages enough for many batches (and several Parquet row groups):
/// ~6 MB, each a little different.
fn many_clicks() -> Vec<Vec<u8>> {
    clicks(300).into_iter().cycle().take(60_000).collect()
}

/// [`many_clicks`] with message 45,001 undecodable (a lone end-group tag)
/// in a later batch: the messages, their varint framing, and the offset of
/// the bad message's bytes.
fn with_a_bad_message() -> (Vec<Vec<u8>>, Vec<u8>, u64) {
    let mut messages = many_clicks();
    messages[45_001] = vec![0x0f];
    let input = frame_varint(&messages);
    let offset = frame_varint(&messages[..45_001]).len() as u64 + 1;
    (messages, input, offset)
}

/// `err` is [`with_a_bad_message`]'s decode error, at `offset`.
fn assert_the_bad_message(err: &ConvertError, offset: u64) {
    assert!(
        matches!(err, ConvertError::Transcode { index: 45_001, offset: o, .. } if *o == offset),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("message 45001 at byte {offset} does not decode")
    );
}

/// 20 clicks with message 7 replaced by `tags` empty tags (field 3), two
/// wire bytes each and more in the output than a small limit allows: the
/// messages' varint framing, the offset of message 7's bytes, and the
/// messages that remain once it is skipped.
fn with_an_oversized_message(tags: usize) -> (Vec<u8>, u64, Vec<Vec<u8>>) {
    let mut messages = clicks(20);
    messages[7] = [0x1a, 0x00].repeat(tags);
    let input = frame_varint(&messages);
    let offset = frame_varint(&messages[..7]).len() as u64 + 3;
    let mut kept = messages.clone();
    kept.remove(7);
    (input, offset, kept)
}

fn convert_on(
    threads: usize,
    input: &[u8],
    options: ConvertOptions,
) -> (Vec<u8>, Result<ConvertReport, ConvertError>) {
    let mut out = Vec::new();
    let threads = NonZeroUsize::new(threads).unwrap();
    let result = Converter::new(click_plan(), options)
        .with_threads(threads)
        .convert(input, &mut out, &Progress::default());
    (out, result)
}

#[test]
fn output_is_in_input_order_whatever_the_threads() {
    let messages = many_clicks();
    let input = gzip(&frame_varint(&messages));
    let expected = expected_ndjson(&messages);
    for threads in [1, 2, 3, 8] {
        let (out, report) = convert_on(threads, &input, ConvertOptions::default());
        let report = report.unwrap();
        assert!(out == expected, "{threads} threads");
        assert_eq!(report.messages, messages.len() as u64);
    }
}

#[test]
fn stops_at_a_bad_message_in_a_later_batch_on_several_threads() {
    let (messages, input, offset) = with_a_bad_message();
    for threads in [1, 3] {
        let (out, result) = convert_on(threads, &input, ConvertOptions::default());
        assert_the_bad_message(&result.unwrap_err(), offset);
        assert!(
            out == expected_ndjson(&messages[..45_001]),
            "{threads} threads"
        );
    }
}

#[test]
fn skips_bad_messages_in_every_batch_on_several_threads() {
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
    let good: Vec<Vec<u8>> = messages
        .iter()
        .enumerate()
        .filter(|(i, _)| !bad.contains(i))
        .map(|(_, m)| m.clone())
        .collect();
    let (out, report) = convert_on(2, &input, options);
    let report = report.unwrap();
    assert_eq!(report.skipped, 4);
    let indexes: Vec<_> = report
        .first_skipped
        .iter()
        .map(|e| e.message_index())
        .collect();
    assert_eq!(indexes, bad.map(|i| Some(i as u64)));
    assert!(out == expected_ndjson(&good));
}

#[test]
fn frames_larger_than_a_batch_and_the_budget() {
    // Messages of 3 MiB and 9 MiB (over the whole budget) among small
    // ones: each waits its turn, and the output is complete.
    let big = |n: usize| {
        let mut m = vec![0x0a];
        prost::encoding::encode_varint(n as u64, &mut m);
        m.extend(std::iter::repeat_n(b'x', n));
        m
    };
    let mut messages = clicks(50);
    messages.insert(10, big(3 << 20));
    messages.insert(30, big(9 << 20));
    messages.insert(31, big(3 << 20));
    let input = frame_varint(&messages);
    let (out, report) = convert_on(2, &input, ConvertOptions::default());
    assert_eq!(report.unwrap().messages, 53);
    assert!(out == expected_ndjson(&messages));
}

#[test]
fn endless_empty_frames_are_batched_by_count() {
    // Zero-length frames add no bytes to a batch: the count alone must
    // send it, or the writer would never see one. Stopped by the cap.
    let options = ConvertOptions {
        framing: Framing::Varint,
        limits: Limits {
            max_decompressed_bytes: 1 << 20,
            ..Limits::default()
        },
        ..ConvertOptions::default()
    };
    let mut out = Vec::new();
    let err = Converter::new(click_plan(), options)
        .convert(std::io::repeat(0), &mut out, &Progress::default())
        .unwrap_err();
    assert!(matches!(err, ConvertError::TooLarge { .. }), "{err}");
    // A `{}` line per zero byte read before the cap.
    assert!(!out.is_empty() && out.len() <= 3 << 20, "{}", out.len());
    assert!(out.chunks(3).all(|line| line == b"{}\n"));
}

#[test]
fn round_trips_a_single_message() {
    let message = clicks(5).remove(4);
    let expected = expected_ndjson(std::slice::from_ref(&message));
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let input = compress(&message, compression);
        let (out, report) = convert(&input, ConvertOptions::default()).unwrap();
        assert_eq!(out, expected, "{compression}");
        assert_eq!(report.framing, Framing::Single, "{}", report.framing_reason);
    }
}

#[test]
fn explicit_settings_are_reported_as_explicit() {
    let input = frame_varint(&clicks(3));
    let options = ConvertOptions {
        framing: Framing::Varint,
        ..ConvertOptions::default()
    };
    let (_, report) = convert(&input, options).unwrap();
    assert_eq!(report.framing_reason, "explicit");
    let (_, report) = convert(&input, ConvertOptions::default()).unwrap();
    assert!(
        report
            .framing_reason
            .starts_with("varint: 3 length-prefixed"),
        "{}",
        report.framing_reason
    );
}

#[test]
fn output_does_not_depend_on_read_sizes() {
    let messages = clicks(500);
    let input = gzip(&frame_varint(&messages));
    let expected = expected_ndjson(&messages);
    for step in [1, 13, 1000] {
        let mut out = Vec::new();
        Converter::new(click_plan(), ConvertOptions::default())
            .convert(
                ShortReads::every(&input, step),
                &mut out,
                &Progress::default(),
            )
            .unwrap();
        assert!(out == expected, "reads of {step}");
    }
}

#[test]
fn larger_than_the_probe_window_and_the_channel() {
    // ~6 MiB of frames: several probe windows and many chunks.
    let messages: Vec<Vec<u8>> = clicks(200).into_iter().cycle().take(300_000).collect();
    let input = zstd_frame(&frame_varint(&messages));
    let (out, report) = convert(&input, ConvertOptions::default()).unwrap();
    assert_eq!(report.messages, 300_000);
    assert!(
        report
            .framing_reason
            .contains("up to the end of the first 1 MiB"),
        "{}",
        report.framing_reason
    );
    assert!(out == expected_ndjson(&messages));
}

#[test]
fn stops_at_a_bad_message_after_writing_the_ones_before() {
    let mut messages = clicks(10);
    messages[4] = vec![0x0f];
    let input = frame_varint(&messages);
    let mut out = Vec::new();
    let err = Converter::new(click_plan(), ConvertOptions::default())
        .convert(&input[..], &mut out, &Progress::default())
        .unwrap_err();
    let offset = frame_varint(&messages[..4]).len() as u64 + 1;
    assert!(
        matches!(err, ConvertError::Transcode { index: 4, offset: o, .. } if o == offset),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("message 4 at byte {offset} does not decode")
    );
    assert_eq!(out, expected_ndjson(&messages[..4]));
}

#[test]
fn skips_invalid_messages_when_asked() {
    let mut messages = clicks(30);
    messages[4] = vec![0x0f];
    messages[20] = vec![0x0a, 0x05];
    let input = frame_varint(&messages);
    let options = ConvertOptions {
        skip_invalid: true,
        ..ConvertOptions::default()
    };
    let (out, report) = convert(&input, options).unwrap();
    assert_eq!(report.messages, 28);
    assert_eq!(report.skipped, 2);
    let indexes: Vec<_> = report
        .first_skipped
        .iter()
        .map(|e| e.message_index())
        .collect();
    assert_eq!(indexes, [Some(4), Some(20)]);
    let good: Vec<Vec<u8>> = messages
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4 && *i != 20)
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(out, expected_ndjson(&good));
}

#[test]
fn skips_oversized_frames_when_asked() {
    let mut messages = clicks(5);
    messages[2] = vec![0x08; 2000]; // field 1 varint... repeated: not valid, but too large first
    let input = frame_fixed32(&messages);
    let options = ConvertOptions {
        framing: Framing::Fixed32,
        skip_invalid: true,
        limits: Limits {
            max_frame_bytes: 1000,
            ..Limits::default()
        },
        ..ConvertOptions::default()
    };
    let (_, report) = convert(&input, options).unwrap();
    assert_eq!(report.messages, 4);
    assert_eq!(report.skipped, 1);
    assert!(
        report.first_skipped[0]
            .to_string()
            .ends_with("is 2000 bytes, over the 1000 bytes limit")
    );
}

/// `--skip-invalid` skips messages that are there but do not convert;
/// it never turns a stream that ends early into a shorter output: a
/// varint stream without its last 5 bytes gave 299 of 300 lines and
/// no error.
#[test]
fn skip_invalid_never_hides_a_truncated_stream() {
    let messages = clicks(300);
    let full = frame_varint(&messages);
    let last = frame_varint(&messages[..299]).len() as u64;
    let options = ConvertOptions {
        framing: Framing::Varint,
        skip_invalid: true,
        ..ConvertOptions::default()
    };
    let mut out = Vec::new();
    let err = Converter::new(click_plan(), options)
        .convert(&full[..full.len() - 5], &mut out, &Progress::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "frame 299 at byte {last} is truncated: its prefix says {} bytes but the input ends after {}",
            messages[299].len(),
            messages[299].len() - 5
        )
    );
    assert!(out == expected_ndjson(&messages[..299]));
    // In fixed32, a cut inside the last prefix.
    let fixed = frame_fixed32(&messages[..10]);
    let cut = frame_fixed32(&messages[..9]).len() + 2;
    let options = ConvertOptions {
        framing: Framing::Fixed32,
        ..options
    };
    let result = Converter::new(click_plan(), options).convert(
        &fixed[..cut],
        Vec::new(),
        &Progress::default(),
    );
    assert!(
        matches!(
            result,
            Err(ConvertError::Frame {
                index: 9,
                kind: crate::FrameErrorKind::TruncatedPrefix { .. },
                ..
            })
        ),
        "{result:?}"
    );
}

/// A frame claiming 4 GiB in the middle of a stream swallowed the rest
/// of it and was reported only as over the limit: skipped, it is read
/// past, and the input ending inside it is the error, at its offset.
#[test]
fn skip_invalid_stops_at_an_oversized_frame_the_input_cannot_hold() {
    let messages = clicks(300);
    let mut input = frame_varint(&messages[..150]);
    let at = input.len() as u64;
    prost::encoding::encode_varint(1 << 32, &mut input);
    let rest = frame_varint(&messages[150..]);
    input.extend(&rest);
    let options = ConvertOptions {
        framing: Framing::Varint,
        skip_invalid: true,
        ..ConvertOptions::default()
    };
    let mut out = Vec::new();
    let err = Converter::new(click_plan(), options)
        .convert(&input[..], &mut out, &Progress::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "frame 150 at byte {at} is truncated: its prefix says 4294967296 bytes but the input ends after {}",
            rest.len()
        )
    );
    assert!(out == expected_ndjson(&messages[..150]));
}

/// A message whose JSON is over the line limit is an error naming it
/// (not a line of any size), or skipped with `skip_invalid`.
#[test]
fn a_message_over_the_line_limit_is_an_error_or_skipped() {
    // 200,000 empty tags: 400 KB of wire data, 600 KB of JSON.
    let (input, offset, kept) = with_an_oversized_message(200_000);
    let limits = Limits {
        max_line_bytes: 256 << 10,
        ..Limits::default()
    };
    let options = ConvertOptions {
        framing: Framing::Varint,
        limits,
        ..ConvertOptions::default()
    };
    let (out, result) = convert_on(2, &input, options);
    let err = result.unwrap_err();
    assert!(
        matches!(
            &err,
            ConvertError::LineTooLong { index: 7, offset: o, limit, .. }
                if *o == offset && *limit == 256 << 10
        ),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "message 7 at byte {offset} makes a JSON line over the 256 KiB limit (PROTOLAND_MAX_LINE_BYTES, --max-line-bytes), at byte "
        )),
        "{err}"
    );
    assert_eq!(err.message_index(), Some(7));
    assert!(out == expected_ndjson(&kept[..7]));
    let options = ConvertOptions {
        skip_invalid: true,
        ..options
    };
    let (out, report) = convert_on(2, &input, options);
    let report = report.unwrap();
    assert_eq!((report.messages, report.skipped), (19, 1));
    assert!(out == expected_ndjson(&kept));
}

/// Batches whose JSON is many times their input (strings of control
/// characters print six bytes a byte) go out in chunks, and lines
/// longer than a chunk are handed over one at a time: the output is
/// the same, in order, whatever the threads.
#[test]
fn json_many_times_the_input_goes_out_in_order_in_chunks() {
    let tag = |n: usize| {
        let mut t = vec![0x1a];
        prost::encoding::encode_varint(n as u64, &mut t);
        t.extend(std::iter::repeat_n(0x01, n));
        t
    };
    let mut messages: Vec<Vec<u8>> = (0..6000).map(|i| tag(16).repeat(1 + i % 12)).collect();
    // Lines of 1.2 and 3 MB, longer than a chunk.
    messages[100] = tag(200_000);
    messages[3000] = tag(500_000);
    messages[3001] = tag(200_000);
    let input = frame_varint(&messages);
    let expected = expected_ndjson(&messages);
    assert!(expected.len() > 8 * JSON_CHUNK, "{}", expected.len());
    for threads in [1, 2, 3] {
        let (out, report) = convert_on(threads, &input, ConvertOptions::default());
        assert_eq!(report.unwrap().messages, 6000);
        assert!(out == expected, "{threads} threads");
    }
}

/// A window of zero bytes is not detected as empty messages (10 GiB
/// of zeros read as fixed32 printed a `{}` per 4 bytes); an explicit
/// framing still reads it.
#[test]
fn a_window_of_zeros_is_not_detected_as_empty_messages() {
    let err = convert(&[0; 100], ConvertOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no framing fits the input: the input's 100 bytes are all zero, which varint and fixed32 would read as empty messages (give the framing if that is what it holds)"
    );
    let zeros = gzip(&vec![0; 3 << 20]);
    let err = convert(&zeros, ConvertOptions::default()).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "no framing fits the input: the input's first 1048576 bytes are all zero,"
        ),
        "{err}"
    );
    let options = ConvertOptions {
        framing: Framing::Fixed32,
        ..ConvertOptions::default()
    };
    let (out, report) = convert(&[0; 8], options).unwrap();
    assert_eq!((out, report.messages), (b"{}\n{}\n".to_vec(), 2));
}

#[test]
fn truncated_compressed_input_is_an_error_not_a_short_output() {
    let input = gzip(&frame_varint(&clicks(2000)));
    let cut = &input[..input.len() - 20];
    let err = convert(cut, ConvertOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ConvertError::Decompress {
                compression: Compression::Gzip,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_bomb_stops_at_the_cap() {
    let zeros = vec![0u8; 8 << 20];
    let input = gzip(&zeros);
    let options = ConvertOptions {
        framing: Framing::Varint,
        skip_invalid: true,
        limits: Limits {
            max_decompressed_bytes: 1 << 20,
            ..Limits::default()
        },
        ..ConvertOptions::default()
    };
    let err = convert(&input, options).unwrap_err();
    assert_eq!(err.to_string(), "decompressed data is over the 1 MiB limit");
}

#[test]
fn undetectable_input_says_why() {
    let err = convert(&[0xff; 20], ConvertOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("no framing fits the input: varint: frame 0 at byte 0 has an invalid varint length prefix; "), "{err}");
}

#[test]
fn input_errors_stop_the_conversion() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::TimedOut, "slow disk"))
        }
    }
    let input = frame_varint(&clicks(10));
    let mut out = Vec::new();
    let err = Converter::new(click_plan(), ConvertOptions::default())
        .convert((&input[..]).chain(Failing), &mut out, &Progress::default())
        .unwrap_err();
    assert!(
        matches!(&err, ConvertError::Read(e) if e.kind() == io::ErrorKind::TimedOut),
        "{err}"
    );
    assert!(err.is_transient());
}

#[test]
fn output_errors_stop_the_reader_thread() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    // Endless input: the reader thread must stop when the writer fails.
    let endless = std::io::repeat(0);
    let options = ConvertOptions {
        framing: Framing::Varint,
        ..ConvertOptions::default()
    };
    let err = Converter::new(click_plan(), options)
        .convert(endless, Full, &Progress::default())
        .unwrap_err();
    assert!(matches!(err, ConvertError::Write(_)), "{err}");
}

#[test]
fn progress_counts_bytes_and_messages() {
    let input = gzip(&frame_varint(&clicks(100)));
    let progress = Progress::default();
    let mut out = Vec::new();
    let report = Converter::new(click_plan(), ConvertOptions::default())
        .convert(&input[..], &mut out, &progress)
        .unwrap();
    assert_eq!(progress.messages.load(Ordering::Relaxed), 100);
    assert_eq!(
        progress.bytes_in.load(Ordering::Relaxed),
        input.len() as u64
    );
    assert_eq!(
        progress.bytes_decompressed.load(Ordering::Relaxed),
        report.bytes_decompressed
    );
}

#[test]
fn empty_input_writes_nothing() {
    let (out, report) = convert(&[], ConvertOptions::default()).unwrap();
    assert!(out.is_empty());
    assert_eq!(report.messages, 0);
    let options = ConvertOptions {
        framing: Framing::Single,
        ..ConvertOptions::default()
    };
    let (out, _) = convert(&[], options).unwrap();
    assert_eq!(out, b"{}\n");
}
