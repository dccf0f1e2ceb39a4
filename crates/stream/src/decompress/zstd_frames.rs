//! zstd: frame after frame, each frame's window checked against the cap
//! before libzstd allocates it.

use std::io::{self, BufRead, Read};

use super::input::{Input, read_error};
use crate::error::{ConvertError, Size};
use crate::settings::Compression;

/// libzstd's streaming decoder, refusing frames whose window is over
/// `max_window` (rounded down to a power of two from 1 KiB to 2 GiB)
/// before allocating it.
pub(super) fn zstd_decoder(max_window: u64) -> io::Result<zstd::stream::raw::Decoder<'static>> {
    let mut decoder = zstd::stream::raw::Decoder::new()?;
    decoder.set_parameter(zstd::stream::raw::DParameter::WindowLogMax(window_log(
        max_window,
    )))?;
    Ok(decoder)
}

/// The window log libzstd takes for `max_window` bytes: the largest power
/// of two not over it, from 2^10 to 2^31.
pub(super) fn window_log(max_window: u64) -> u32 {
    max_window.max(1).ilog2().clamp(10, 31)
}

/// The window a zstd frame header declares (`header`: the frame's first
/// bytes, at least 6, or up to 14 for a single-segment frame), or `None`
/// when they are not a zstd frame header. A single-segment frame's window
/// is its content size.
pub(super) fn frame_window(header: &[u8]) -> Option<u64> {
    let [0x28, 0xb5, 0x2f, 0xfd, descriptor, rest @ ..] = header else {
        return None;
    };
    if descriptor & 0x20 == 0 {
        let byte = *rest.first()?;
        let log = 10 + u32::from(byte >> 3);
        let base = 1u64 << log;
        return Some(base + (base / 8) * u64::from(byte & 7));
    }
    let dict_bytes = [0, 1, 2, 4][usize::from(descriptor & 3)];
    let size_bytes = [1, 2, 4, 8][usize::from(descriptor >> 6)];
    let field = rest.get(dict_bytes..dict_bytes + size_bytes)?;
    let mut size = [0u8; 8];
    size[..size_bytes].copy_from_slice(field);
    let size = u64::from_le_bytes(size);
    Some(if size_bytes == 2 { size + 256 } else { size })
}

/// A zstd stream, frame after frame, through libzstd's streaming decoder.
///
/// The loop is zstd's own `zio::Reader`'s (without its reset between
/// frames, which libzstd does not need), plus one check: a frame that
/// declares its content size must hold that many bytes. libzstd's
/// streaming decoder does not check it when the frame ends with an empty
/// last block (`28 b5 2f fd 20 99 01 00 00` declares 153 bytes and holds
/// none), unless the output buffer can take the whole frame at once, so
/// without it such a frame would decode to less than it says, silently,
/// depending on the read sizes.
pub(super) struct ZstdFrames<R> {
    pub(super) input: Input<R>,
    pub(super) decoder: zstd::stream::raw::Decoder<'static>,
    /// Bytes of the current frame consumed so far (0 between frames).
    pub(super) frame_in: u64,
    /// Bytes of the current frame decoded so far.
    pub(super) frame_out: u64,
    /// The current frame's first bytes (`header_len` of them): its header,
    /// for the content size.
    pub(super) header: [u8; ZSTD_FRAME_HEADER_MAX],
    /// [`Limits::max_zstd_window`], for the error when a frame needs more.
    pub(super) max_window: u64,
}

/// `ZSTD_FRAMEHEADERSIZE_MAX`.
pub(super) const ZSTD_FRAME_HEADER_MAX: usize = 18;

impl<R: Read> ZstdFrames<R> {
    pub(super) fn new(
        input: Input<R>,
        decoder: zstd::stream::raw::Decoder<'static>,
        max_window: u64,
    ) -> Self {
        ZstdFrames {
            input,
            decoder,
            frame_in: 0,
            frame_out: 0,
            header: [0; ZSTD_FRAME_HEADER_MAX],
            max_window,
        }
    }

    /// How many of `header`'s bytes hold the current frame's.
    pub(super) fn header_len(&self) -> usize {
        self.frame_in.min(ZSTD_FRAME_HEADER_MAX as u64) as usize
    }

    pub(super) fn read(&mut self, buf: &mut [u8]) -> Result<usize, ConvertError> {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        // The first run gets no input: it flushes what the decoder still
        // holds from the last call.
        let mut first = true;
        loop {
            let offset = self.input.consumed;
            let seen = self.header_len();
            let available: &[u8] = if first {
                &[]
            } else {
                match self.input.fill_buf() {
                    Ok(bytes) => bytes,
                    Err(e) => return Err(read_error(&mut self.input, e)),
                }
            };
            if !first && available.is_empty() {
                if self.frame_in > 0 {
                    return Err(zstd_error(
                        offset,
                        "truncated: the input ends inside a frame",
                    ));
                }
                return Ok(0);
            }
            first = false;
            // After a frame's end libzstd reads the next frame's header
            // itself: no reset between frames.
            let mut src = InBuffer::around(available);
            let mut dst = OutBuffer::around(&mut *buf);
            let hint = match self.decoder.run(&mut src, &mut dst) {
                Ok(hint) => hint,
                Err(e) => {
                    let message = e.to_string().to_lowercase();
                    if message.contains("too much memory") {
                        // The frame's header names its window: the one
                        // seen so far and what follows it.
                        let mut header = self.header[..seen].to_vec();
                        header.extend(available.iter().take(ZSTD_FRAME_HEADER_MAX - seen));
                        return Err(self.window_error(frame_window(&header)));
                    }
                    return Err(zstd_error(offset, &message));
                }
            };
            let (used, written) = (src.pos(), dst.pos());
            let k = (ZSTD_FRAME_HEADER_MAX - seen).min(used);
            self.header[seen..seen + k].copy_from_slice(&available[..k]);
            self.input.consume(used);
            self.frame_in += used as u64;
            self.frame_out += written as u64;
            if hint == 0 && self.frame_in > 0 {
                self.end_of_frame()?;
            }
            if written > 0 {
                return Ok(written);
            }
        }
    }

    /// A frame needs a larger window than the limit (`window`: as its
    /// header says, when it could be read).
    #[cold]
    pub(super) fn window_error(&self, window: Option<u64>) -> ConvertError {
        let limit = 1u64 << window_log(self.max_window);
        let needs = match window {
            Some(window) => format!("a window of {}", Size(window)),
            None => "a larger window".to_owned(),
        };
        zstd_error(
            self.input.consumed - self.frame_in,
            &format!(
                "the frame needs {needs} (as `zstd --long` and `--ultra` levels write), over the {} limit (PROTOLAND_MAX_ZSTD_WINDOW, --max-zstd-window)",
                Size(limit)
            ),
        )
    }

    /// Checks the content size a finished frame declares, and starts
    /// counting the next one.
    pub(super) fn end_of_frame(&mut self) -> Result<(), ConvertError> {
        let declared = zstd::zstd_safe::get_frame_content_size(&self.header[..self.header_len()]);
        if let Ok(Some(declared)) = declared
            && declared != self.frame_out
        {
            return Err(zstd_error(
                self.input.consumed - self.frame_in,
                &format!(
                    "the frame declares {declared} bytes of content and holds {}",
                    self.frame_out
                ),
            ));
        }
        self.frame_in = 0;
        self.frame_out = 0;
        Ok(())
    }
}

pub(super) fn zstd_error(offset: u64, message: &str) -> ConvertError {
    ConvertError::Decompress {
        compression: Compression::Zstd,
        offset,
        message: message.to_owned(),
    }
}
