//! Output compression for landing objects: gzip or zstd, streamed.
//!
//! gzip is written at level 6 and zstd at level 3 (with a content
//! checksum): the tools' own defaults, a good ratio at a speed that keeps up
//! with the transcoder.

use std::fmt;
use std::io::{self, Write};

use crate::settings::Compression;

/// gzip level (flate2's and GNU gzip's default).
const GZIP_LEVEL: u32 = 6;
/// zstd level (the `zstd` tool's default).
const ZSTD_LEVEL: i32 = 3;

/// A writer that compresses what it is given; see [`compress_writer`].
/// Call [`CompressWriter::finish`] at the end: dropping it without does not
/// write the compressed stream's trailer.
pub struct CompressWriter<W: Write> {
    inner: Inner<W>,
}

enum Inner<W: Write> {
    None(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    /// The zstd encoder could not be set up (out of memory): every call
    /// fails with this message.
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

/// Wraps `inner` in a writer that compresses with `compression`
/// ([`Compression::Auto`] and [`Compression::None`] write as is: there is
/// nothing to detect when writing).
pub fn compress_writer<W: Write>(inner: W, compression: Compression) -> CompressWriter<W> {
    let inner = match compression {
        Compression::Auto | Compression::None => Inner::None(inner),
        Compression::Gzip => Inner::Gzip(flate2::write::GzEncoder::new(
            inner,
            flate2::Compression::new(GZIP_LEVEL),
        )),
        Compression::Zstd => {
            let raw = zstd::stream::raw::Encoder::new(ZSTD_LEVEL).and_then(|mut raw| {
                raw.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
                Ok(raw)
            });
            match raw {
                Ok(raw) => Inner::Zstd(zstd::stream::write::Encoder::with_encoder(inner, raw)),
                Err(e) => Inner::Failed(inner, format!("cannot start the zstd encoder: {e}")),
            }
        }
    };
    CompressWriter { inner }
}

impl<W: Write> CompressWriter<W> {
    /// Writes the end of the compressed stream, flushes and returns the
    /// inner writer.
    ///
    /// # Errors
    ///
    /// The inner writer's errors.
    pub fn finish(self) -> io::Result<W> {
        match self.inner {
            Inner::None(mut w) => {
                w.flush()?;
                Ok(w)
            }
            Inner::Gzip(e) => {
                let mut w = e.finish()?;
                w.flush()?;
                Ok(w)
            }
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

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::None(w) => w.flush(),
            Inner::Gzip(e) => e.flush(),
            Inner::Zstd(e) => e.flush(),
            Inner::Failed(_, message) => Err(io::Error::other(message.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::Decompressor;

    #[test]
    fn output_reads_back_with_auto_detection() {
        let data: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .collect();
        for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let mut w = compress_writer(Vec::new(), compression);
            for piece in data.chunks(999) {
                w.write_all(piece).unwrap();
            }
            let compressed = w.finish().unwrap();
            if compression != Compression::None {
                assert!(compressed.len() < data.len() / 2, "{compression}");
            }
            let mut d = Decompressor::new(&compressed[..], Compression::Auto, u64::MAX).unwrap();
            assert_eq!(d.compression(), compression);
            let mut back = Vec::new();
            d.read_to_end(&mut back).unwrap();
            assert!(back == data, "{compression}");
        }
    }

    #[test]
    fn empty_output_is_a_valid_stream() {
        for compression in [Compression::Gzip, Compression::Zstd] {
            let compressed = compress_writer(Vec::new(), compression).finish().unwrap();
            let mut d = Decompressor::new(&compressed[..], Compression::Auto, u64::MAX).unwrap();
            let mut back = Vec::new();
            d.read_to_end(&mut back).unwrap();
            assert!(back.is_empty());
        }
    }
}
