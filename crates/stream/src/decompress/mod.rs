//! Decompression: gzip (every member), zstd (every frame) or none, chosen
//! by magic bytes, with a cap on the decompressed size.
//!
//! [`Decompressor`] wraps any [`Read`] and yields the decompressed bytes.
//! It never stops early without saying why: a corrupt or truncated stream,
//! a bad checksum and data after the last gzip member are all errors
//! ([`ConvertError::Decompress`]), and going over the size cap is
//! [`ConvertError::TooLarge`], or more than the ratio limit times the
//! compressed size [`ConvertError::TooCompressed`]. Memory is bounded by the
//! decoders' own state (a 32 KiB window for gzip; for zstd the frame's
//! window, at most [`Limits::max_zstd_window`]: a frame that needs more is
//! refused before its window is allocated) plus a 64 KiB input buffer.
//!
//! `input` buffers and counts the compressed bytes; `gzip_members` walks
//! the members of a gzip stream; `zstd_frames` the frames of a zstd stream,
//! with the window cap.

mod gzip_members;
mod input;
mod zstd_frames;

use std::fmt;
use std::io::{self, Read};

use crate::error::ConvertError;
use crate::limits::Limits;
use crate::settings::Compression;
use gzip_members::{GzipState, read_gzip};
use input::{Input, read_error};
use zstd_frames::{ZstdFrames, zstd_decoder};

enum Decoder<R: Read> {
    None(Input<R>),
    Gzip {
        state: GzipState<R>,
        /// 1-based number of the member being read.
        member: u64,
    },
    Zstd(Box<ZstdFrames<R>>),
}

/// Decompressed bytes of an input (gzip, every member; zstd, every frame;
/// or none), capped by [`Limits`]; it never stops early without saying
/// why.
pub struct Decompressor<R: Read> {
    decoder: Decoder<R>,
    compression: Compression,
    limit: u64,
    /// [`Limits::max_compression_ratio`] (0: none).
    ratio: u64,
    produced: u64,
    /// Set by the first error: reading on must not look like a clean end.
    failed: bool,
}

impl<R: Read> fmt::Debug for Decompressor<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("compression", &self.compression)
            .field("limit", &self.limit)
            .field("produced", &self.produced)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Decompressor<R> {
    /// Starts decompressing `input`. With [`Compression::Auto`] the first
    /// bytes are read to decide; `limit` caps the decompressed size; zstd
    /// windows are limited to the default [`Limits::max_zstd_window`], and
    /// there is no ratio limit (see [`Decompressor::with_limits`]).
    ///
    /// # Errors
    ///
    /// [`ConvertError::Read`] when reading the first bytes fails, and
    /// [`ConvertError::Decompress`] when the zstd decoder cannot be set up.
    pub fn new(input: R, compression: Compression, limit: u64) -> Result<Self, ConvertError> {
        let limits = Limits {
            max_decompressed_bytes: limit,
            max_compression_ratio: 0,
            ..Limits::default()
        };
        Decompressor::with_limits(input, compression, &limits)
    }

    /// Starts decompressing `input` under `limits`: the decompressed size,
    /// the compression ratio and the zstd window (the other limits are the
    /// framer's and the transcoder's).
    ///
    /// # Errors
    ///
    /// As [`Decompressor::new`].
    pub fn with_limits(
        input: R,
        compression: Compression,
        limits: &Limits,
    ) -> Result<Self, ConvertError> {
        let limit = limits.max_decompressed_bytes;
        let mut input = Input::new(input);
        let compression = match compression {
            Compression::Auto => match input.peek(4) {
                Ok(prefix) => Compression::sniff(prefix),
                Err(e) => return Err(read_error(&mut input, e)),
            },
            other => other,
        };
        let decoder = match compression {
            Compression::Auto | Compression::None => Decoder::None(input),
            Compression::Gzip => Decoder::Gzip {
                state: GzipState::Member(Box::new(flate2::bufread::GzDecoder::new(input))),
                member: 1,
            },
            Compression::Zstd => match zstd_decoder(limits.max_zstd_window) {
                Ok(decoder) => Decoder::Zstd(Box::new(ZstdFrames::new(
                    input,
                    decoder,
                    limits.max_zstd_window,
                ))),
                Err(e) => {
                    return Err(ConvertError::Decompress {
                        compression,
                        offset: 0,
                        message: format!("cannot start the zstd decoder: {e}"),
                    });
                }
            },
        };
        let compression = match compression {
            Compression::Auto => Compression::None,
            other => other,
        };
        Ok(Decompressor {
            decoder,
            compression,
            limit,
            ratio: match compression {
                Compression::None => 0,
                _ => limits.max_compression_ratio,
            },
            produced: 0,
            failed: false,
        })
    }

    /// The compression in use (never [`Compression::Auto`]).
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Compressed bytes read from the input so far.
    pub fn bytes_in(&self) -> u64 {
        match &self.decoder {
            Decoder::None(input) => input.read,
            Decoder::Gzip { state, .. } => match state {
                GzipState::Member(decoder) => decoder.get_ref().read,
                GzipState::End(input) => input.read,
                GzipState::Between => 0,
            },
            Decoder::Zstd(d) => d.input.read,
        }
    }

    /// Decompressed bytes produced so far.
    pub fn bytes_out(&self) -> u64 {
        self.produced
    }

    /// Reads decompressed bytes into `buf`; `Ok(0)` at the end of the input
    /// (never earlier).
    ///
    /// # Errors
    ///
    /// [`ConvertError::Read`] when the input fails,
    /// [`ConvertError::Decompress`] for corrupt, truncated or trailing data
    /// and [`ConvertError::TooLarge`] past the cap.
    pub fn read_decompressed(&mut self, buf: &mut [u8]) -> Result<usize, ConvertError> {
        if self.failed {
            return Err(ConvertError::Decompress {
                compression: self.compression,
                offset: self.bytes_in(),
                message: "read again after an error".to_owned(),
            });
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let result = self.read_inner(buf);
        self.failed = result.is_err();
        result
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, ConvertError> {
        let n = match &mut self.decoder {
            Decoder::None(input) => match input.read(buf) {
                Ok(n) => n,
                Err(e) => return Err(read_error(input, e)),
            },
            Decoder::Gzip { state, member } => read_gzip(state, member, buf)?,
            Decoder::Zstd(decoder) => decoder.read(buf)?,
        };
        self.produced += n as u64;
        if self.produced > self.limit {
            return Err(ConvertError::TooLarge { limit: self.limit });
        }
        if self.ratio > 0 && self.produced > crate::RATIO_GRACE {
            let compressed = self.bytes_in();
            if self.produced > compressed.saturating_mul(self.ratio) {
                return Err(ConvertError::TooCompressed {
                    ratio: self.ratio,
                    compressed,
                    decompressed: self.produced,
                });
            }
        }
        Ok(n)
    }
}

impl<R: Read> Read for Decompressor<R> {
    /// Errors are [`ConvertError`]s wrapped by [`ConvertError::into_io`].
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_decompressed(buf).map_err(ConvertError::into_io)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::zstd_frames::frame_window;
    use super::*;
    use crate::testing::{ShortReads, gzip, zstd_frame};

    fn decompress_all(input: &[u8], compression: Compression) -> Result<Vec<u8>, ConvertError> {
        decompress_with_limit(input, compression, u64::MAX)
    }

    fn decompress_with_limit(
        input: &[u8],
        compression: Compression,
        limit: u64,
    ) -> Result<Vec<u8>, ConvertError> {
        let mut d = Decompressor::new(input, compression, limit)?;
        let mut out = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            match d.read_decompressed(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn reads_every_gzip_member() {
        let (a, b, c) = (sample(5000), sample(1), sample(70_000));
        let mut input = gzip(&a);
        input.extend(gzip(&b));
        input.extend(gzip(&[]));
        input.extend(gzip(&c));
        let out = decompress_all(&input, Compression::Auto).unwrap();
        assert_eq!(out, [a, b, c].concat());
    }

    #[test]
    fn reads_every_zstd_frame() {
        let (a, b) = (sample(100_000), sample(3));
        let mut input = zstd_frame(&a);
        // A skippable frame between two data frames is allowed.
        input.extend([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 0xaa, 0xbb]);
        input.extend(zstd_frame(&b));
        let out = decompress_all(&input, Compression::Auto).unwrap();
        assert_eq!(out, [a, b].concat());
    }

    #[test]
    fn same_bytes_whatever_the_read_sizes() {
        let data = sample(20_000);
        let mut gz = gzip(&data[..7000]);
        gz.extend(gzip(&data[7000..]));
        for input in [gz, zstd_frame(&data), data.clone()] {
            for step in [1, 2, 3, 7, 4096] {
                let reader = ShortReads::every(&input, step);
                let mut d = Decompressor::new(reader, Compression::Auto, u64::MAX).unwrap();
                let mut out = Vec::new();
                d.read_to_end(&mut out).unwrap();
                assert_eq!(out, data, "step {step}");
            }
        }
    }

    #[test]
    fn plain_input_passes_through() {
        let data = sample(100_000);
        assert_eq!(decompress_all(&data, Compression::Auto).unwrap(), data);
        assert_eq!(decompress_all(&[], Compression::Auto).unwrap(), b"");
        // Explicit `none` wins even over gzip magic.
        let gz = gzip(b"x");
        assert_eq!(decompress_all(&gz, Compression::None).unwrap(), gz);
    }

    #[test]
    fn rejects_trailing_garbage_after_last_gzip_member() {
        let mut input = gzip(b"hello");
        input.extend(gzip(b"world"));
        let end = input.len();
        input.extend([0, 0, 0, 0, 0]);
        let err = decompress_all(&input, Compression::Gzip).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "gzip input at byte {end}: data after the end of gzip member 2 is not another member (it starts with 00 00 00 00)"
            )
        );
    }

    #[test]
    fn rejects_truncated_gzip_at_every_length() {
        let mut input = gzip(&sample(3000));
        let first_member = input.len();
        input.extend(gzip(b"second"));
        for cut in 1..input.len() {
            if cut == first_member {
                continue; // a complete one-member file
            }
            let err = decompress_all(&input[..cut], Compression::Gzip).unwrap_err();
            assert!(
                matches!(err, ConvertError::Decompress { .. }),
                "cut {cut}: {err}"
            );
        }
    }

    #[test]
    fn truncated_gzip_names_member() {
        let mut input = gzip(b"first");
        input.extend(gzip(&sample(1000)));
        let cut = input.len() - 3;
        let err = decompress_all(&input[..cut], Compression::Gzip).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("gzip input at byte {cut}: truncated: the input ends inside gzip member 2")
        );
    }

    #[test]
    fn rejects_bad_gzip_crc() {
        let mut input = gzip(b"hello world");
        let at = input.len() - 8;
        input[at] ^= 1;
        let err = decompress_all(&input, Compression::Gzip).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "gzip input at byte {}: gzip member 1 fails its CRC-32 or size check",
                input.len()
            )
        );
    }

    #[test]
    fn rejects_corrupt_deflate_data() {
        let mut input = gzip(&sample(10_000));
        input[12] ^= 0xff;
        input[13] ^= 0xff;
        let err = decompress_all(&input, Compression::Gzip).unwrap_err();
        assert_eq!(
            err.to_string(),
            "gzip input at byte 16: gzip member 1 holds corrupt deflate data"
        );
    }

    #[test]
    fn rejects_non_gzip_data_read_as_gzip() {
        let err = decompress_all(b"plain text", Compression::Gzip).unwrap_err();
        assert_eq!(
            err.to_string(),
            "gzip input at byte 10: gzip member 1 has an invalid header"
        );
    }

    #[test]
    fn rejects_truncated_zstd_at_every_length() {
        let input = zstd_frame(&sample(5000));
        for cut in 1..input.len() {
            let err = decompress_all(&input[..cut], Compression::Zstd).unwrap_err();
            assert!(
                matches!(err, ConvertError::Decompress { .. }),
                "cut {cut}: {err}"
            );
        }
        let err = decompress_all(&input[..input.len() - 1], Compression::Zstd).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "zstd input at byte {}: truncated: the input ends inside a frame",
                input.len() - 1
            )
        );
    }

    #[test]
    fn rejects_trailing_garbage_after_zstd_frame() {
        let mut input = zstd_frame(b"hello");
        let end = input.len();
        input.extend(b"garbage!");
        let err = decompress_all(&input, Compression::Zstd).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("zstd input at byte {end}: unknown frame descriptor")
        );
    }

    #[test]
    fn rejects_corrupt_zstd_checksum() {
        let mut input = zstd_frame(&sample(1000));
        let last = input.len() - 1;
        input[last] ^= 0xff; // the content checksum is the frame's last 4 bytes
        let err = decompress_all(&input, Compression::Zstd).unwrap_err();
        // zstd reports where the block of input it was decoding starts.
        assert_eq!(
            err.to_string(),
            "zstd input at byte 0: restored data doesn't match checksum"
        );
    }

    /// Frames that declare their content size, as the `zstd` command and
    /// one-shot compression write them, pass the check however they
    /// arrive (several frames, several blocks, reads of any size).
    #[test]
    fn zstd_frames_with_their_content_size_decode_whole() {
        let data = sample(300_000);
        let mut input = zstd::bulk::compress(&data[..1000], 3).unwrap();
        input.extend(zstd::bulk::compress(&data[1000..], 3).unwrap());
        input.extend(zstd::bulk::compress(&[], 3).unwrap());
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&input).ok(),
            Some(Some(1000)),
            "the frame declares its size"
        );
        for step in [1, 7, 4096, 1 << 20] {
            let reader = ShortReads::every(&input, step);
            let mut d = Decompressor::new(reader, Compression::Auto, u64::MAX).unwrap();
            let mut out = Vec::new();
            d.read_to_end(&mut out).unwrap();
            assert!(out == data, "step {step}");
        }
    }

    /// A frame that declares 153 bytes and ends with an empty last block
    /// (found by fuzzing: libzstd's streaming decoder let it through as
    /// zero bytes when the output buffer was smaller than 153 bytes or the
    /// frame arrived in pieces). Refused whatever the read sizes.
    #[test]
    fn rejects_a_zstd_frame_shorter_than_its_declared_size() {
        let input = [0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x99, 0x01, 0x00, 0x00];
        for cut in 0..input.len() {
            for size in [1, 100, 153, 1 << 16] {
                let reader = ShortReads::at(&input, &[cut]);
                let mut d = Decompressor::new(reader, Compression::Auto, u64::MAX).unwrap();
                let mut buf = vec![0u8; size];
                let err = d.read_decompressed(&mut buf).unwrap_err();
                let text = err.to_string();
                // libzstd finds it itself when it decodes in one go.
                assert!(
                    text == "zstd input at byte 0: the frame declares 153 bytes of content and holds 0"
                        || text == "zstd input at byte 0: data corruption detected",
                    "cut {cut}, buffer {size}: {text}"
                );
            }
        }
        // A later frame too, at its own offset, in pieces.
        let mut two = zstd_frame(b"hello");
        let second = two.len();
        two.extend_from_slice(&input);
        let mut d =
            Decompressor::new(ShortReads::every(&two, 3), Compression::Zstd, u64::MAX).unwrap();
        let mut out = Vec::new();
        let err = d.read_to_end(&mut out).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "zstd input at byte {second}: the frame declares 153 bytes of content and holds 0"
            )
        );
        assert_eq!(out, b"hello");
    }

    #[test]
    fn stops_a_bomb_at_the_cap() {
        // 64 MiB of zeros compress to ~64 KiB; the cap stops it at 1 MiB
        // having decompressed at most one more read's worth.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            encoder.write_all(&zeros).unwrap();
        }
        let bomb = encoder.finish().unwrap();
        let mut d = Decompressor::new(&bomb[..], Compression::Auto, 1 << 20).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let err = loop {
            match d.read_decompressed(&mut buf) {
                Ok(0) => panic!("bomb decompressed fully"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert!(d.bytes_out() <= (1 << 20) + buf.len() as u64);
        assert_eq!(err.to_string(), "decompressed data is over the 1 MiB limit");
    }

    /// A decompression bomb stops at the ratio limit, long before the
    /// absolute one: 300 MiB of zeros in a 300 KB gzip stop just past
    /// 256 MiB, while data that compresses as real data does reads on.
    #[test]
    fn stops_a_bomb_at_the_compression_ratio() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..300 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        let mut d =
            Decompressor::with_limits(&bomb[..], Compression::Auto, &Limits::default()).unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let err = loop {
            match d.read_decompressed(&mut buf) {
                Ok(0) => panic!("bomb decompressed fully"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        let ConvertError::TooCompressed {
            ratio: 200,
            compressed,
            decompressed,
        } = err
        else {
            panic!("expected the ratio limit, got {err}");
        };
        assert!(
            decompressed > crate::RATIO_GRACE && decompressed <= crate::RATIO_GRACE + 65536,
            "{decompressed}"
        );
        assert!(decompressed > 200 * compressed && compressed < bomb.len() as u64);
        assert_eq!(
            err.to_string(),
            format!(
                "decompressed data is over 200 times its compressed size ({decompressed} bytes from {compressed}), the limit that stops decompression bombs (PROTOLAND_MAX_COMPRESSION_RATIO, --max-compression-ratio)"
            )
        );
        // Without the ratio limit (0), and for plain input, it reads on.
        let off = Limits {
            max_compression_ratio: 0,
            ..Limits::default()
        };
        let mut d = Decompressor::with_limits(&bomb[..], Compression::Auto, &off).unwrap();
        assert_eq!(io::copy(&mut d, &mut io::sink()).unwrap(), 300 << 20);
        let plain = std::io::repeat(0).take(300 << 20);
        let mut d =
            Decompressor::with_limits(plain, Compression::Auto, &Limits::default()).unwrap();
        assert_eq!(io::copy(&mut d, &mut io::sink()).unwrap(), 300 << 20);
    }

    /// A zstd frame declaring a window over the limit (`zstd --long=27`
    /// writes 128 MiB, and the decoder would hold it) is refused at its
    /// header with an error naming the window, the limit and the setting,
    /// not libzstd's "frame requires too much memory".
    #[test]
    fn refuses_a_zstd_window_over_the_limit_naming_the_setting() {
        let long = |window_log: u32, data: &[u8]| {
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
            e.long_distance_matching(true).unwrap();
            e.window_log(window_log).unwrap();
            e.write_all(data).unwrap();
            e.finish().unwrap()
        };
        let data = sample(100_000);
        for (log, window) in [(27, "128 MiB"), (31, "2 GiB")] {
            let mut input = zstd_frame(b"first frame");
            let second = input.len();
            input.extend(long(log, &data));
            assert_eq!(frame_window(&input[second..]), Some(1 << log));
            for step in [1, 5, 4096] {
                let reader = ShortReads::every(&input, step);
                let mut d =
                    Decompressor::with_limits(reader, Compression::Auto, &Limits::default())
                        .unwrap();
                let mut out = Vec::new();
                let err = ConvertError::from_io(d.read_to_end(&mut out).unwrap_err());
                assert_eq!(
                    err.to_string(),
                    format!(
                        "zstd input at byte {second}: the frame needs a window of {window} (as `zstd --long` and `--ultra` levels write), over the 8 MiB limit (PROTOLAND_MAX_ZSTD_WINDOW, --max-zstd-window)"
                    ),
                    "reads of {step}"
                );
                assert_eq!(out, b"first frame");
            }
            // Allowed when the limit is raised to the window.
            let limits = Limits {
                max_zstd_window: 1 << log,
                ..Limits::default()
            };
            let mut d =
                Decompressor::with_limits(&input[second..], Compression::Auto, &limits).unwrap();
            let mut out = Vec::new();
            d.read_to_end(&mut out).unwrap();
            assert!(out == data);
        }
        // Frames written at any level up to 19 without --long fit the
        // default: their window is at most 8 MiB.
        let big = sample(20 << 20);
        for level in [1, 3, 9, 19] {
            let input = zstd::stream::encode_all(&big[..], level).unwrap();
            let window = frame_window(&input).unwrap();
            assert!(window <= 8 << 20, "level {level}: {window}");
        }
    }

    #[test]
    fn reads_the_window_of_a_frame_header() {
        // Window descriptor 0x58: 2^(10 + 11) = 2 MiB.
        assert_eq!(
            frame_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]),
            Some(2 << 20)
        );
        // Mantissa 3: 2 MiB + 3/8 of it.
        assert_eq!(
            frame_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x5b]),
            Some((2 << 20) + 3 * (256 << 10))
        );
        // Single segment, 2-byte content size (+256): the content size.
        assert_eq!(
            frame_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x10, 0x00]),
            Some(256 + 16)
        );
        // Single segment, 1-byte content size, after a 1-byte dictionary id.
        assert_eq!(
            frame_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x07, 0x99]),
            Some(0x99)
        );
        assert_eq!(frame_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00]), None);
        assert_eq!(frame_window(b"not zstd"), None);
    }

    #[test]
    fn allows_exactly_the_cap() {
        let data = sample(1000);
        assert_eq!(
            decompress_with_limit(&gzip(&data), Compression::Auto, 1000).unwrap(),
            data
        );
        assert!(matches!(
            decompress_with_limit(&gzip(&data), Compression::Auto, 999),
            Err(ConvertError::TooLarge { limit: 999 })
        ));
    }

    #[test]
    fn input_failures_are_read_errors() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "peer reset"))
            }
        }
        let gz = gzip(&sample(100_000));
        let reader = (&gz[..gz.len() / 2]).chain(Failing);
        let mut d = Decompressor::new(reader, Compression::Auto, u64::MAX).unwrap();
        let mut out = Vec::new();
        let err = ConvertError::from_io(d.read_to_end(&mut out).unwrap_err());
        match err {
            ConvertError::Read(e) => {
                assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
                assert_eq!(e.to_string(), "peer reset");
            }
            other => panic!("expected a read error, got {other}"),
        }
    }
}
