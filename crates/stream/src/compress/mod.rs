//! Output compression for landing objects: gzip or zstd, streamed, on
//! several threads, with the same bytes on any number of them.
//!
//! - gzip: a member for each 1 MiB of output, compressed by libdeflate on
//!   a pool of threads (`gzip`); level [`DEFAULT_GZIP_LEVEL`] unless chosen;
//! - zstd: one frame with a content checksum, on zstd's own worker threads
//!   (`zstd`); level [`DEFAULT_ZSTD_LEVEL`] unless chosen.
//!
//! [`compress_writer`] wraps any [`Write`]; the writes reach it on the
//! calling thread, in order, so it needs to be neither `Send` nor
//! `'static`.

mod gzip;
mod zstd;

use std::fmt;
use std::io::{self, Write};
use std::num::NonZeroUsize;

use crate::settings::Compression;

/// gzip level unless one is chosen. 6 is GNU gzip's, zlib's and
/// libdeflate's default; see docs/bench/results.md, "The deployed path",
/// for level 1 measured against it.
pub const DEFAULT_GZIP_LEVEL: u32 = 6;
/// zstd level unless one is chosen. 1, not the `zstd` tool's 3: on the
/// benchmark's NDJSON level 1 lands objects no larger (35.2 against
/// 35.3 MB of clickstream, 131.6 against 142.6 MB of telemetry, with the
/// 2 MiB jobs of the zstd writer) for 25% and 41% less CPU
/// (docs/bench/results.md, "The deployed path").
pub const DEFAULT_ZSTD_LEVEL: u32 = 1;

/// The gzip levels: 1 (fastest) to 9 (smallest), as zlib numbers them.
/// 0 (stored, no compression) is left out: `none` says that; so are
/// libdeflate's 10 to 12, several times slower for about 1% fewer bytes.
pub const GZIP_LEVELS: std::ops::RangeInclusive<u32> = 1..=9;
/// The zstd levels: 1 to 19. 20 to 22 (`--ultra`) need windows over the
/// 8 MiB that readers accept by default (this one's
/// `--max-zstd-window` included), and far more memory.
pub const ZSTD_LEVELS: std::ops::RangeInclusive<u32> = 1..=19;

/// How output is compressed: format, level and threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressOptions {
    /// The format; [`Compression::Auto`] and [`Compression::None`] write
    /// as is (there is nothing to detect when writing).
    pub compression: Compression,
    /// The level, in [`GZIP_LEVELS`] or [`ZSTD_LEVELS`]; `None` for the
    /// format's default.
    pub level: Option<u32>,
    /// Threads that compress. The bytes do not depend on it.
    pub threads: NonZeroUsize,
}

impl CompressOptions {
    /// `compression` at its default level, on one thread.
    pub fn new(compression: Compression) -> CompressOptions {
        CompressOptions {
            compression,
            level: None,
            threads: NonZeroUsize::MIN,
        }
    }

    /// The level used: the chosen one or the format's default (`None` for
    /// no compression).
    pub fn effective_level(&self) -> Option<u32> {
        match self.compression {
            Compression::Auto | Compression::None => None,
            Compression::Gzip => Some(self.level.unwrap_or(DEFAULT_GZIP_LEVEL)),
            Compression::Zstd => Some(self.level.unwrap_or(DEFAULT_ZSTD_LEVEL)),
        }
    }
}

/// A level that the output compression does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LevelError {
    /// Out of the format's range.
    #[error("{level} is not a {compression} level: expected {} to {}", range.start(), range.end())]
    OutOfRange {
        compression: Compression,
        level: u32,
        range: std::ops::RangeInclusive<u32>,
    },
    /// A level for uncompressed output.
    #[error("uncompressed output has no level: unset it, or choose gzip or zstd")]
    Uncompressed,
}

/// Checks that `compression` has `level`.
///
/// # Errors
///
/// [`LevelError`] naming the range, for a level out of it, or for any
/// level without compression.
pub fn check_level(compression: Compression, level: u32) -> Result<(), LevelError> {
    let range = match compression {
        Compression::Gzip => GZIP_LEVELS,
        Compression::Zstd => ZSTD_LEVELS,
        Compression::Auto | Compression::None => return Err(LevelError::Uncompressed),
    };
    if range.contains(&level) {
        Ok(())
    } else {
        Err(LevelError::OutOfRange {
            compression,
            level,
            range,
        })
    }
}

/// The most memory a [`compress_writer`] with `options` holds (its
/// buffers and the compressor's state), for sizing.
pub fn compression_memory(options: &CompressOptions) -> u64 {
    match options.compression {
        Compression::Auto | Compression::None => 0,
        Compression::Gzip => gzip::gzip_memory(options.threads)
            .saturating_add(options.threads.get() as u64 * gzip::COMPRESSOR_BYTES),
        Compression::Zstd => zstd::zstd_memory(
            options.effective_level().unwrap_or(DEFAULT_ZSTD_LEVEL),
            options.threads,
        ),
    }
}

/// A writer that compresses what it is given; see [`compress_writer`].
/// Call [`CompressWriter::finish`] at the end: dropping it without does not
/// write the compressed stream's end (and does not wait for its threads).
pub struct CompressWriter<W: Write> {
    inner: Inner<W>,
}

enum Inner<W: Write> {
    None(W),
    Gzip(gzip::ParallelGzip<W>),
    Zstd(::zstd::stream::write::Encoder<'static, W>),
    /// The encoder could not be set up (a level out of range, out of
    /// memory): every call fails with this message.
    Failed(W, String),
}

impl<W: Write> fmt::Debug for CompressWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner {
            Inner::None(_) => "none",
            Inner::Gzip(_) => "gzip",
            Inner::Zstd(_) => "zstd",
            Inner::Failed(..) => "failed",
        };
        f.debug_struct("CompressWriter")
            .field("compression", &kind)
            .finish_non_exhaustive()
    }
}

/// Wraps `inner` in a writer that compresses as `options` say. The bytes
/// written to `inner` depend on the input, the format and the level only:
/// not on the thread count, nor on how the input is cut into writes, nor
/// on flushes (a flush passes what is compressed on, it does not cut the
/// stream).
pub fn compress_writer<W: Write>(inner: W, options: CompressOptions) -> CompressWriter<W> {
    let level = options.effective_level();
    if let Some(level) = level
        && let Err(e) = check_level(options.compression, level)
    {
        return CompressWriter {
            inner: Inner::Failed(inner, e.to_string()),
        };
    }
    let inner = match (options.compression, level) {
        (Compression::Gzip, Some(level)) => {
            Inner::Gzip(gzip::ParallelGzip::new(inner, level, options.threads))
        }
        (Compression::Zstd, Some(level)) => {
            // `check_level` bounds it to 19.
            let level = i32::try_from(level).unwrap_or(i32::MAX);
            match zstd::encoder(level, options.threads) {
                Ok(raw) => Inner::Zstd(::zstd::stream::write::Encoder::with_encoder(inner, raw)),
                Err(e) => Inner::Failed(inner, format!("cannot start the zstd encoder: {e}")),
            }
        }
        _ => Inner::None(inner),
    };
    CompressWriter { inner }
}

impl<W: Write> CompressWriter<W> {
    /// Writes the end of the compressed stream, flushes and returns the
    /// inner writer.
    ///
    /// # Errors
    ///
    /// The inner writer's errors, a compression thread that panicked, and
    /// the reason the encoder could not start.
    pub fn finish(self) -> io::Result<W> {
        match self.inner {
            Inner::None(mut w) => {
                w.flush()?;
                Ok(w)
            }
            Inner::Gzip(e) => e.finish(),
            Inner::Zstd(e) => {
                let mut w = e.finish()?;
                w.flush()?;
                Ok(w)
            }
            Inner::Failed(_, message) => Err(io::Error::other(message)),
        }
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        match &self.inner {
            Inner::None(w) | Inner::Failed(w, _) => w,
            Inner::Gzip(e) => e.get_ref(),
            Inner::Zstd(e) => e.get_ref(),
        }
    }
}

impl<W: Write> Write for CompressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::None(w) => w.write(buf),
            Inner::Gzip(e) => e.write(buf),
            Inner::Zstd(e) => e.write(buf),
            Inner::Failed(_, message) => Err(io::Error::other(message.clone())),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.inner {
            Inner::None(w) => w.write_all(buf),
            Inner::Gzip(e) => e.write_all(buf),
            Inner::Zstd(e) => e.write_all(buf),
            Inner::Failed(_, message) => Err(io::Error::other(message.clone())),
        }
    }

    /// Flushes the inner writer. What the compressor holds stays there:
    /// ending a block or a job here would make the bytes depend on when
    /// flushes happen.
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::None(w) => w.flush(),
            Inner::Gzip(e) => e.flush(),
            Inner::Zstd(e) => e.get_mut().flush(),
            Inner::Failed(_, message) => Err(io::Error::other(message.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::Decompressor;

    /// NDJSON-like lines, varied enough that deflate refers back across
    /// chunk boundaries, about `bytes` long.
    fn lines(bytes: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes + 100);
        let mut i = 0u64;
        while out.len() < bytes {
            let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
            out.extend_from_slice(
                format!(
                    "{{\"n\":{i},\"url\":\"/page/{}\",\"user\":\"{x}\",\"tags\":[\"t{}\"]}}\n",
                    x % 997,
                    x % 13
                )
                .as_bytes(),
            );
            i += 1;
        }
        out
    }

    fn options(compression: Compression, level: Option<u32>, threads: usize) -> CompressOptions {
        CompressOptions {
            compression,
            level,
            threads: NonZeroUsize::new(threads).unwrap(),
        }
    }

    /// Compresses `data` cut into writes of `sizes` (cycled), flushing
    /// every `flush_every` writes.
    fn compress(
        data: &[u8],
        options: CompressOptions,
        sizes: &[usize],
        flush_every: usize,
    ) -> Vec<u8> {
        let mut w = compress_writer(Vec::new(), options);
        let mut rest = data;
        for (n, size) in sizes.iter().cycle().enumerate() {
            if rest.is_empty() {
                break;
            }
            let (now, later) = rest.split_at((*size).min(rest.len()));
            w.write_all(now).unwrap();
            rest = later;
            if flush_every > 0 && n % flush_every == 0 {
                w.flush().unwrap();
            }
        }
        w.finish().unwrap()
    }

    fn decompress(compressed: &[u8]) -> (Compression, Vec<u8>) {
        let mut d = Decompressor::new(compressed, Compression::Auto, u64::MAX).unwrap();
        let mut back = Vec::new();
        d.read_to_end(&mut back).unwrap();
        (d.compression(), back)
    }

    #[test]
    fn output_reads_back_with_auto_detection() {
        let data = lines(300_000);
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            for threads in [1, 3] {
                let compressed = compress(&data, options(compression, None, threads), &[999], 0);
                if compression != Compression::None {
                    assert!(compressed.len() < data.len() / 2, "{compression}");
                }
                let (found, back) = decompress(&compressed);
                assert_eq!(found, compression);
                assert!(back == data, "{compression} on {threads} threads");
            }
        }
    }

    #[test]
    fn empty_output_is_a_valid_stream() {
        for compression in [Compression::Gzip, Compression::Zstd] {
            for threads in [1, 2] {
                let compressed = compress_writer(Vec::new(), options(compression, None, threads))
                    .finish()
                    .unwrap();
                let (found, back) = decompress(&compressed);
                assert_eq!(found, compression);
                assert!(back.is_empty());
            }
        }
    }

    /// The property the landing keys rely on: the same input gives the
    /// same bytes, whatever the cores and however the converter's writes
    /// and flushes fall. Several gzip chunks and zstd jobs, an input that
    /// ends mid-chunk, and one that ends on a chunk boundary.
    #[test]
    fn output_is_the_same_on_any_thread_count_and_write_pattern() {
        let mut data = lines(5 * gzip::CHUNK + 12_345);
        let exact = {
            let mut exact = data.clone();
            exact.truncate(3 * gzip::CHUNK);
            exact
        };
        let patterns: [(&[usize], usize); 4] = [
            (&[usize::MAX], 0),
            (&[999], 0),
            (&[1, 7, 65_539, 4096, 300_001, 13], 3),
            (&[gzip::CHUNK], 1),
        ];
        for (compression, level) in [
            (Compression::Gzip, Some(1)),
            (Compression::Gzip, None),
            (Compression::Gzip, Some(9)),
            (Compression::Zstd, Some(1)),
            (Compression::Zstd, None),
        ] {
            for input in [&data, &exact] {
                let reference = compress(input, options(compression, level, 1), patterns[0].0, 0);
                for threads in [1, 2, 4] {
                    for (sizes, flush_every) in patterns {
                        let got = compress(
                            input,
                            options(compression, level, threads),
                            sizes,
                            flush_every,
                        );
                        assert!(
                            got == reference,
                            "{compression} level {level:?} on {threads} threads, writes of {sizes:?}: other bytes"
                        );
                    }
                }
                assert!(decompress(&reference).1 == *input);
            }
        }
        // Incompressible input: stored blocks, still valid members.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for byte in &mut data {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *byte = x as u8;
        }
        let one = compress(&data, options(Compression::Gzip, None, 1), &[70_000], 0);
        let four = compress(&data, options(Compression::Gzip, None, 4), &[usize::MAX], 0);
        assert!(one == four);
        assert!(decompress(&one).1 == data);
    }

    /// The members of a gzip stream, each read alone (its CRC and length
    /// checked by flate2's single-member decoder).
    fn members(mut compressed: &[u8]) -> Vec<Vec<u8>> {
        let mut members = Vec::new();
        while !compressed.is_empty() {
            assert_eq!(&compressed[..4], &[0x1f, 0x8b, 8, 0], "a member's header");
            let mut decoder = flate2::bufread::GzDecoder::new(compressed);
            let mut member = Vec::new();
            decoder.read_to_end(&mut member).unwrap();
            compressed = decoder.into_inner();
            members.push(member);
        }
        members
    }

    /// Hundreds of chunks (4 KiB each here), most compressed while others
    /// wait their turn: the same bytes on one thread and on four, a member
    /// per chunk, in order.
    #[test]
    fn many_small_chunks_keep_their_order() {
        let data = lines(1 << 20);
        let run = |threads: usize, chunk: usize| {
            let threads = NonZeroUsize::new(threads).unwrap();
            let mut w = gzip::ParallelGzip::with_chunk_size(Vec::new(), 6, threads, chunk);
            for piece in data.chunks(1000) {
                w.write_all(piece).unwrap();
            }
            w.finish().unwrap()
        };
        let one = run(1, 4096);
        assert!(run(4, 4096) == one);
        let members = members(&one);
        assert_eq!(members.len(), data.len().div_ceil(4096));
        assert!(members.concat() == data);
    }

    /// A member per chunk of [`gzip::CHUNK`] bytes, the last one shorter,
    /// each with its own CRC and length; an empty stream is one empty
    /// member, and a stream of whole chunks has no empty one at its end.
    #[test]
    fn gzip_output_is_a_member_per_chunk() {
        for (len, sizes) in [
            (
                3 * gzip::CHUNK + 1,
                vec![gzip::CHUNK, gzip::CHUNK, gzip::CHUNK, 1],
            ),
            (2 * gzip::CHUNK, vec![gzip::CHUNK, gzip::CHUNK]),
            (0, vec![0]),
        ] {
            let mut data = lines(len);
            data.truncate(len);
            for threads in [1, 4] {
                let compressed =
                    compress(&data, options(Compression::Gzip, None, threads), &[4096], 0);
                let members = members(&compressed);
                let got: Vec<usize> = members.iter().map(Vec::len).collect();
                assert_eq!(got, sizes, "{len} bytes on {threads} threads");
                assert!(members.concat() == data);
            }
        }
    }

    #[test]
    fn zstd_output_has_a_content_checksum() {
        let compressed = compress(
            &lines(10_000),
            options(Compression::Zstd, None, 2),
            &[100],
            0,
        );
        // Frame header descriptor, after the magic: bit 2 is the checksum flag.
        assert_eq!(compressed[4] & 0b100, 0b100);
    }

    /// A writer that fails once it has taken `room` bytes.
    #[derive(Debug)]
    struct Full {
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn inner_write_errors_reach_the_caller_and_stay() {
        let data = lines(4 * gzip::CHUNK);
        for compression in [Compression::Gzip, Compression::Zstd] {
            for threads in [1, 4] {
                let mut w =
                    compress_writer(Full { room: 1000 }, options(compression, None, threads));
                let mut failed = None;
                for piece in data.chunks(64 << 10) {
                    if let Err(e) = w.write_all(piece) {
                        failed = Some(e);
                        break;
                    }
                }
                let e = match failed {
                    Some(e) => e,
                    None => w.finish().unwrap_err(),
                };
                assert_eq!(
                    e.kind(),
                    io::ErrorKind::StorageFull,
                    "{compression} on {threads}"
                );
                assert!(e.to_string().contains("disk full"), "{e}");
            }
        }
        // After an error, every call fails the same way. (On one thread a
        // full chunk is written at once, so the first write_all meets it.)
        let mut w = compress_writer(Full { room: 0 }, options(Compression::Gzip, None, 1));
        let first = w.write_all(&data).unwrap_err();
        let again = w.write_all(b"x").unwrap_err();
        assert_eq!(
            (first.kind(), first.to_string()),
            (again.kind(), again.to_string())
        );
        assert_eq!(w.finish().unwrap_err().kind(), io::ErrorKind::StorageFull);
    }

    /// Runs `f` on a thread; fails if it takes more than a minute (a hang).
    fn within_a_minute(f: impl FnOnce() + Send + 'static) {
        let (done, wait) = mpsc::channel();
        std::thread::spawn(move || {
            f();
            let _ = done.send(());
        });
        wait.recv_timeout(Duration::from_secs(60))
            .expect("finished within a minute");
    }

    #[test]
    fn dropping_without_finish_does_not_hang() {
        within_a_minute(|| {
            for threads in [2, 4] {
                for compression in [Compression::Gzip, Compression::Zstd] {
                    let mut w = compress_writer(Vec::new(), options(compression, None, threads));
                    w.write_all(&lines(5 * gzip::CHUNK)).unwrap();
                    drop(w);
                }
            }
        });
    }

    #[test]
    fn a_panicking_compression_thread_is_an_error() {
        within_a_minute(|| {
            let mut data = lines(6 * gzip::CHUNK);
            // The third chunk trips the test hook in the worker.
            data[2 * gzip::CHUNK..][..gzip::PANIC_MARK.len()].copy_from_slice(gzip::PANIC_MARK);
            let mut w = compress_writer(Vec::new(), options(Compression::Gzip, None, 2));
            let result = w.write_all(&data).and_then(|()| w.finish().map(drop));
            let e = result.unwrap_err();
            assert!(e.to_string().contains("panicked"), "{e}");
        });
    }

    /// The buffers stay within what `compression_memory` announces, with
    /// the writer behind taking its time, at every write.
    #[test]
    fn buffered_bytes_stay_bounded() {
        struct Slow(usize);
        impl Write for Slow {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                std::thread::sleep(Duration::from_micros(200));
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let data = lines(24 * gzip::CHUNK);
        for threads in [1, 2, 4] {
            let threads = NonZeroUsize::new(threads).unwrap();
            let bound = gzip::gzip_memory(threads);
            assert!(
                bound
                    <= compression_memory(&CompressOptions {
                        compression: Compression::Gzip,
                        level: None,
                        threads,
                    })
            );
            let mut w = gzip::ParallelGzip::new(Slow(0), DEFAULT_GZIP_LEVEL, threads);
            let mut most = 0;
            for piece in data.chunks(100_003) {
                w.write_all(piece).unwrap();
                most = most.max(w.buffered());
            }
            assert!(
                most as u64 <= bound,
                "{most} bytes held on {threads} threads, over {bound}"
            );
            // It does hold chunks in flight: the bound is not vacuous.
            if threads.get() > 1 {
                assert!(most > 2 * gzip::CHUNK, "{most}");
            }
            assert!(w.finish().unwrap().0 > 0);
        }
    }

    #[test]
    fn levels_are_checked_per_format() {
        assert_eq!(check_level(Compression::Gzip, 9), Ok(()));
        assert_eq!(check_level(Compression::Zstd, 19), Ok(()));
        assert_eq!(
            check_level(Compression::Gzip, 10).unwrap_err().to_string(),
            "10 is not a gzip level: expected 1 to 9"
        );
        assert_eq!(
            check_level(Compression::Zstd, 0).unwrap_err().to_string(),
            "0 is not a zstd level: expected 1 to 19"
        );
        assert!(check_level(Compression::None, 3).is_err());
        let mut w = compress_writer(Vec::new(), options(Compression::Gzip, Some(12), 1));
        let e = w.write_all(b"x").unwrap_err();
        assert_eq!(e.to_string(), "12 is not a gzip level: expected 1 to 9");
    }

    /// Each level compresses at least as well as the one below it, within
    /// noise, on JSON lines: the levels reach the compressor.
    #[test]
    fn levels_reach_the_compressor() {
        let data = lines(2 * gzip::CHUNK);
        for (compression, low, high) in [(Compression::Gzip, 1, 9), (Compression::Zstd, 1, 19)] {
            let small = compress(&data, options(compression, Some(high), 2), &[usize::MAX], 0);
            let large = compress(&data, options(compression, Some(low), 2), &[usize::MAX], 0);
            assert!(
                small.len() < large.len(),
                "{compression}: {} vs {}",
                small.len(),
                large.len()
            );
            assert!(decompress(&small).1 == data);
        }
    }
}
