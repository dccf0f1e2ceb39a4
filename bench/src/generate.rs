//! Data sets: messages, framed and compressed, written in chunks.
//!
//! Output is cut into chunks of about [`CHUNK_BYTES`]; chunk `k` draws from
//! its own random stream (`Rng::new(seed, k)`), so chunks can be generated on
//! any thread, and a smaller data set of the same seed is a prefix of a
//! larger one (the Python and pq contenders run on such a prefix). A
//! multi-member file compresses groups of chunks as independent gzip members
//! (or zstd frames) on several threads.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use crate::clicks::Clicks;
use crate::telemetry::Telemetry;
use crate::wire::Wire;

/// Bump when the bytes generated for a given seed change, so that
/// `bench/run` regenerates data made by an older generator.
pub const GENERATOR_VERSION: u32 = 1;

/// Uncompressed bytes per chunk (one random stream each).
pub const CHUNK_BYTES: usize = 4 << 20;

/// Which schema's messages to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// `acme.clicks.Click` (examples/schema/acme/clicks.proto).
    Clicks,
    /// `acme.telemetry.Report` (bench/schemas/telemetry.proto).
    Telemetry,
}

impl Dataset {
    /// The fully-qualified message type.
    pub fn message_name(self) -> &'static str {
        match self {
            Dataset::Clicks => "acme.clicks.Click",
            Dataset::Telemetry => "acme.telemetry.Report",
        }
    }
}

/// How messages are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Length as a varint before each message.
    Varint,
    /// Length as 4 bytes big-endian before each message.
    Fixed32,
    /// Exactly one message, nothing around it.
    Single,
}

/// How the framed stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    /// gzip, compression level 6 (gzip's default, what producers use).
    Gzip,
    /// zstd, level 3 (zstd's default).
    Zstd,
}

/// When to stop generating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// After the message that brings the uncompressed stream to at least
    /// this many bytes.
    Bytes(u64),
    /// After this many messages.
    Messages(u64),
}

/// Everything that decides the bytes of a data set.
#[derive(Debug, Clone)]
pub struct Spec {
    pub dataset: Dataset,
    pub seed: u64,
    pub limit: Limit,
    pub framing: Framing,
    pub compression: Compression,
    /// Uncompressed bytes per gzip member / zstd frame (rounded up to whole
    /// chunks); `None` writes one member.
    pub member_bytes: Option<u64>,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub messages: u64,
    /// Bytes of the framed stream before compression.
    pub uncompressed_bytes: u64,
    /// Bytes written to the output.
    pub written_bytes: u64,
    /// gzip members or zstd frames (1 for a single-member file, 0 when not
    /// compressed).
    pub members: u64,
}

/// One chunk of framed messages.
#[derive(Debug, Default)]
struct Chunk {
    bytes: Vec<u8>,
    messages: u64,
}

/// Generates chunk `k`, stopping early when `budget` (what is left of the
/// limit) runs out. Without a budget the chunk is exactly what any larger
/// data set holds at that place.
fn chunk(spec: &Spec, k: u64, budget: Option<Limit>) -> Chunk {
    enum Source {
        Clicks(Clicks),
        Telemetry(Telemetry),
    }
    let mut source = match spec.dataset {
        Dataset::Clicks => Source::Clicks(Clicks::new(spec.seed, k)),
        Dataset::Telemetry => Source::Telemetry(Telemetry::new(spec.seed, k)),
    };
    let mut message = Wire::default();
    let mut out = Chunk {
        bytes: Vec::with_capacity(CHUNK_BYTES + (64 << 10)),
        messages: 0,
    };
    loop {
        message.buf.clear();
        match &mut source {
            Source::Clicks(c) => c.write_next(&mut message),
            Source::Telemetry(t) => t.write_next(&mut message),
        }
        match spec.framing {
            Framing::Varint => crate::wire::put_varint(&mut out.bytes, message.buf.len() as u64),
            Framing::Fixed32 => out
                .bytes
                .extend_from_slice(&(message.buf.len() as u32).to_be_bytes()),
            Framing::Single => {}
        }
        out.bytes.extend_from_slice(&message.buf);
        out.messages += 1;
        let done = match budget {
            Some(Limit::Bytes(b)) => out.bytes.len() as u64 >= b,
            Some(Limit::Messages(m)) => out.messages >= m,
            None => false,
        };
        if done || spec.framing == Framing::Single || out.bytes.len() >= CHUNK_BYTES {
            return out;
        }
    }
}

/// What is left of `limit` after `written` bytes and `messages` messages.
fn remaining(limit: Limit, written: u64, messages: u64) -> Limit {
    match limit {
        Limit::Bytes(b) => Limit::Bytes(b.saturating_sub(written)),
        Limit::Messages(m) => Limit::Messages(m.saturating_sub(messages)),
    }
}

fn exhausted(limit: Limit) -> bool {
    matches!(limit, Limit::Bytes(0) | Limit::Messages(0))
}

/// Generates chunks `first..first + count` (fewer when the limit is reached
/// within them) into one buffer. `budget` is the limit left at `first`;
/// `None` ignores the limit (a member that ends before it).
fn chunks(spec: &Spec, first: u64, count: u64, budget: Option<Limit>) -> Chunk {
    let mut out = Chunk::default();
    for k in first..first + count {
        let left = budget.map(|b| remaining(b, out.bytes.len() as u64, out.messages));
        if left.is_some_and(exhausted) {
            break;
        }
        let c = chunk(spec, k, left);
        out.bytes.extend_from_slice(&c.bytes);
        out.messages += c.messages;
    }
    out
}

/// Compresses one member (or the whole stream).
fn compress(compression: Compression, bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    match compression {
        Compression::None => out.extend_from_slice(bytes),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(&mut out, flate2::Compression::new(6));
            enc.write_all(bytes)?;
            enc.finish()?;
        }
        Compression::Zstd => {
            let mut enc = zstd::Encoder::new(&mut out, 3)?;
            enc.write_all(bytes)?;
            enc.finish()?;
        }
    }
    Ok(out)
}

/// Writes the data set `spec` to `out`, using up to `threads` threads.
///
/// # Errors
///
/// When writing to `out` fails.
pub fn generate(spec: &Spec, threads: usize, out: &mut impl Write) -> io::Result<Summary> {
    if spec.framing == Framing::Single {
        let c = chunk(spec, 0, None);
        let written = compress(spec.compression, &c.bytes)?;
        out.write_all(&written)?;
        return Ok(Summary {
            messages: 1,
            uncompressed_bytes: c.bytes.len() as u64,
            written_bytes: written.len() as u64,
            members: u64::from(spec.compression != Compression::None),
        });
    }
    match spec.member_bytes {
        Some(member) if spec.compression != Compression::None => {
            let per_member = member.div_ceil(CHUNK_BYTES as u64).max(1);
            members(spec, per_member, threads.max(1), out)
        }
        _ => single_stream(spec, out),
    }
}

/// One compressed stream (or a plain one), chunk after chunk.
fn single_stream(spec: &Spec, out: &mut impl Write) -> io::Result<Summary> {
    let mut summary = Summary {
        members: u64::from(spec.compression != Compression::None),
        ..Summary::default()
    };
    let mut counting = Counting {
        inner: out,
        bytes: 0,
    };
    {
        let mut sink: Box<dyn Write + '_> = match spec.compression {
            Compression::None => Box::new(&mut counting),
            Compression::Gzip => Box::new(flate2::write::GzEncoder::new(
                &mut counting,
                flate2::Compression::new(6),
            )),
            Compression::Zstd => Box::new(zstd::Encoder::new(&mut counting, 3)?.auto_finish()),
        };
        for k in 0.. {
            let left = remaining(spec.limit, summary.uncompressed_bytes, summary.messages);
            if exhausted(left) {
                break;
            }
            let c = chunk(spec, k, Some(left));
            sink.write_all(&c.bytes)?;
            summary.uncompressed_bytes += c.bytes.len() as u64;
            summary.messages += c.messages;
        }
        sink.flush()?;
        // Dropping the encoder writes the gzip trailer / zstd epilogue.
    }
    counting.flush()?;
    summary.written_bytes = counting.bytes;
    Ok(summary)
}

/// Independent members of `per_member` chunks each, compressed on
/// `threads` threads and written in order.
fn members(
    spec: &Spec,
    per_member: u64,
    threads: usize,
    out: &mut impl Write,
) -> io::Result<Summary> {
    struct Done {
        index: u64,
        raw_len: u64,
        messages: u64,
        compressed: Vec<u8>,
    }
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let mut summary = Summary::default();
    std::thread::scope(|scope| -> io::Result<Summary> {
        // Bounded: at most two finished members per thread wait in memory.
        let (tx, rx) = mpsc::sync_channel::<io::Result<Done>>(threads * 2);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let c = chunks(spec, index * per_member, per_member, None);
                    let done = compress(spec.compression, &c.bytes).map(|compressed| Done {
                        index,
                        raw_len: c.bytes.len() as u64,
                        messages: c.messages,
                        compressed,
                    });
                    if tx.send(done).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut want = 0;
        let result = (|| {
            for done in &rx {
                let done = done?;
                waiting.insert(done.index, done);
                while let Some(done) = waiting.remove(&want) {
                    want += 1;
                    let left = remaining(spec.limit, summary.uncompressed_bytes, summary.messages);
                    let fits = match left {
                        Limit::Bytes(b) => done.raw_len < b,
                        Limit::Messages(m) => done.messages < m,
                    };
                    let (raw_len, messages, compressed) = if fits {
                        (done.raw_len, done.messages, done.compressed)
                    } else {
                        // The last member: generate it again, cut at the limit.
                        let c = chunks(spec, done.index * per_member, per_member, Some(left));
                        let compressed = compress(spec.compression, &c.bytes)?;
                        (c.bytes.len() as u64, c.messages, compressed)
                    };
                    out.write_all(&compressed)?;
                    summary.uncompressed_bytes += raw_len;
                    summary.messages += messages;
                    summary.written_bytes += compressed.len() as u64;
                    summary.members += 1;
                    if !fits {
                        return Ok(());
                    }
                }
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        // Unblock workers waiting to send, then let them finish.
        drop(rx);
        result.map(|()| summary.clone())
    })
}

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A byte count with an optional unit: `150MB` (10^6), `1GiB` (2^30),
/// `64KiB`, `4096`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<ByteSize, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("`{s}` is not a size like 150MB or 1GiB"))?;
        let scale: u64 = match unit.trim() {
            "" | "B" => 1,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{s}` (use B, KB, MB, GB, KiB, MiB or GiB)"
                ));
            }
        };
        n.checked_mul(scale)
            .map(ByteSize)
            .ok_or_else(|| format!("`{s}` is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::io::Read;
    use std::path::Path;

    use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};

    use super::*;
    use crate::frames::FrameReader;

    fn spec(dataset: Dataset, limit: Limit) -> Spec {
        Spec {
            dataset,
            seed: 42,
            limit,
            framing: Framing::Varint,
            compression: Compression::None,
            member_bytes: None,
        }
    }

    fn run(spec: &Spec, threads: usize) -> (Vec<u8>, Summary) {
        let mut out = Vec::new();
        let summary = generate(spec, threads, &mut out).unwrap();
        (out, summary)
    }

    fn schema(dataset: Dataset) -> MessageDescriptor {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (file, include) = match dataset {
            Dataset::Clicks => ("acme/clicks.proto", root.join("../examples/schema")),
            Dataset::Telemetry => ("telemetry.proto", root.join("schemas")),
        };
        let pool = protox::Compiler::new([include])
            .unwrap()
            .open_file(file)
            .unwrap()
            .descriptor_pool();
        pool.get_message_by_name(dataset.message_name()).unwrap()
    }

    fn decode_all(dataset: Dataset, framing: Framing, stream: &[u8]) -> Vec<DynamicMessage> {
        let desc = schema(dataset);
        let mut reader = FrameReader::new(stream, framing);
        let mut frame = Vec::new();
        let mut messages = Vec::new();
        while reader.read_frame(&mut frame).unwrap() {
            messages.push(DynamicMessage::decode(desc.clone(), frame.as_slice()).unwrap());
        }
        messages
    }

    /// Records every field set anywhere in `msg`, and fails on unknown
    /// fields (a field number the generator writes but the schema lacks).
    fn visit(msg: &DynamicMessage, seen: &mut BTreeSet<String>) {
        assert_eq!(
            msg.unknown_fields().count(),
            0,
            "unknown fields in {}",
            msg.descriptor().full_name()
        );
        for (field, value) in msg.fields() {
            seen.insert(field.full_name().to_owned());
            visit_value(value, seen);
        }
    }

    fn visit_value(value: &Value, seen: &mut BTreeSet<String>) {
        match value {
            Value::Message(m) => visit(m, seen),
            Value::List(items) => items.iter().for_each(|v| visit_value(v, seen)),
            Value::Map(entries) => entries.values().for_each(|v| visit_value(v, seen)),
            _ => {}
        }
    }

    /// Every field of every message type of the data set's own package.
    fn all_fields(desc: &MessageDescriptor) -> BTreeSet<String> {
        let package = desc.package_name().to_owned();
        desc.parent_pool()
            .all_messages()
            .filter(|m| m.package_name() == package && !m.is_map_entry())
            .flat_map(|m| {
                m.fields()
                    .map(|f| f.full_name().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn same_seed_gives_same_bytes_and_another_seed_does_not() {
        for dataset in [Dataset::Clicks, Dataset::Telemetry] {
            let s = spec(dataset, Limit::Bytes(200_000));
            let (a, _) = run(&s, 1);
            let (b, _) = run(&s, 1);
            assert_eq!(a, b, "{dataset:?}");
            let (c, _) = run(&Spec { seed: 43, ..s }, 1);
            assert_ne!(a, c, "{dataset:?}");
        }
    }

    #[test]
    fn generated_messages_decode_against_their_schema_and_fill_every_field() {
        for dataset in [Dataset::Clicks, Dataset::Telemetry] {
            let (stream, summary) = run(&spec(dataset, Limit::Messages(3000)), 1);
            let messages = decode_all(dataset, Framing::Varint, &stream);
            assert_eq!(messages.len() as u64, summary.messages);
            assert_eq!(summary.messages, 3000);
            let mut seen = BTreeSet::new();
            for m in &messages {
                visit(m, &mut seen);
            }
            let missing: Vec<_> = all_fields(&schema(dataset))
                .difference(&seen)
                .cloned()
                .collect();
            assert!(
                missing.is_empty(),
                "{dataset:?}: never generated: {missing:?}"
            );
        }
    }

    #[test]
    fn a_smaller_data_set_is_a_prefix_of_a_larger_one() {
        let (small, s) = run(&spec(Dataset::Clicks, Limit::Bytes(5 << 20)), 1);
        let (large, l) = run(&spec(Dataset::Clicks, Limit::Bytes(9 << 20)), 1);
        assert!(s.uncompressed_bytes >= 5 << 20 && l.uncompressed_bytes >= 9 << 20);
        assert!(s.messages < l.messages);
        assert_eq!(&large[..small.len()], small.as_slice());
    }

    #[test]
    fn multi_member_gzip_holds_the_same_stream_whatever_the_threads() {
        let plain = spec(Dataset::Telemetry, Limit::Bytes(10 << 20));
        let (expected, expected_summary) = run(&plain, 1);
        let multi = Spec {
            compression: Compression::Gzip,
            member_bytes: Some(4 << 20),
            ..plain
        };
        let (one_thread, summary) = run(&multi, 1);
        let (two_threads, _) = run(&multi, 2);
        assert_eq!(one_thread, two_threads);
        assert_eq!(summary.members, 3);
        assert_eq!(summary.messages, expected_summary.messages);
        let mut inflated = Vec::new();
        flate2::read::MultiGzDecoder::new(one_thread.as_slice())
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, expected);
        // A single gzip decoder stops after the first member.
        let mut first = Vec::new();
        flate2::read::GzDecoder::new(one_thread.as_slice())
            .read_to_end(&mut first)
            .unwrap();
        assert!(first.len() >= CHUNK_BYTES && first.len() < inflated.len());
        assert_eq!(first, expected[..first.len()]);
    }

    #[test]
    fn fixed32_single_and_zstd_outputs_decode() {
        let fixed = Spec {
            framing: Framing::Fixed32,
            compression: Compression::Zstd,
            ..spec(Dataset::Clicks, Limit::Messages(50))
        };
        let (zst, _) = run(&fixed, 1);
        let stream = zstd::decode_all(zst.as_slice()).unwrap();
        assert_eq!(
            decode_all(Dataset::Clicks, Framing::Fixed32, &stream).len(),
            50
        );

        let single = Spec {
            framing: Framing::Single,
            ..spec(Dataset::Clicks, Limit::Messages(1))
        };
        let (bytes, summary) = run(&single, 1);
        assert_eq!(summary.messages, 1);
        DynamicMessage::decode(schema(Dataset::Clicks), bytes.as_slice()).unwrap();
    }

    #[test]
    fn parses_sizes_with_units() {
        assert_eq!("150MB".parse::<ByteSize>().unwrap().0, 150_000_000);
        assert_eq!("1GiB".parse::<ByteSize>().unwrap().0, 1 << 30);
        assert_eq!("4096".parse::<ByteSize>().unwrap().0, 4096);
        assert!("12 parsecs".parse::<ByteSize>().is_err());
    }
}
