//! Reading length-delimited frames, for the baselines and the tests.

use std::io::{self, BufRead, BufReader, Read};

use crate::generate::Framing;

/// Frames longer than this are refused before anything is allocated (the
/// same cap protoland uses by default).
pub const MAX_FRAME: u64 = 64 << 20;

/// Reads one message's bytes at a time from a framed stream.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: BufReader<R>,
    framing: Framing,
    /// Frames read so far, and the byte offset of the next one (for errors).
    frames: u64,
    offset: u64,
    done: bool,
}

impl<R: Read> FrameReader<R> {
    /// Frames from `inner`; reads are buffered (256 KiB).
    pub fn new(inner: R, framing: Framing) -> FrameReader<R> {
        FrameReader {
            inner: BufReader::with_capacity(256 << 10, inner),
            framing,
            frames: 0,
            offset: 0,
            done: false,
        }
    }

    /// Reads the next frame into `frame` (replacing its contents); `false`
    /// at the end of the stream.
    ///
    /// # Errors
    ///
    /// A read error, a truncated length or frame, a malformed varint or a
    /// frame over [`MAX_FRAME`], naming the frame index and byte offset.
    pub fn read_frame(&mut self, frame: &mut Vec<u8>) -> io::Result<bool> {
        frame.clear();
        if self.done {
            return Ok(false);
        }
        let start = self.offset;
        let len = match self.framing {
            Framing::Single => {
                self.done = true;
                self.inner.read_to_end(frame)?;
                self.offset += frame.len() as u64;
                self.frames += 1;
                return Ok(true);
            }
            Framing::Varint => match self.read_varint()? {
                Some(len) => len,
                None => return Ok(false),
            },
            Framing::Fixed32 => {
                let mut prefix = [0u8; 4];
                let got = self.read_up_to(&mut prefix)?;
                if got == 0 {
                    return Ok(false);
                }
                if got < 4 {
                    return Err(self.error(start, "length prefix is cut short"));
                }
                self.offset += 4;
                u64::from(u32::from_be_bytes(prefix))
            }
        };
        if len > MAX_FRAME {
            return Err(self.error(start, &format!("is {len} bytes, over the 64 MiB limit")));
        }
        frame.resize(len as usize, 0);
        if self.read_up_to(frame)? < frame.len() {
            return Err(self.error(start, &format!("is cut short (declared {len} bytes)")));
        }
        self.offset += len;
        self.frames += 1;
        Ok(true)
    }

    fn read_varint(&mut self) -> io::Result<Option<u64>> {
        let start = self.offset;
        let mut value = 0u64;
        for i in 0..10 {
            let byte = match self.inner.fill_buf()?.first() {
                Some(&b) => b,
                None if i == 0 => return Ok(None),
                None => return Err(self.error(start, "length prefix is cut short")),
            };
            self.inner.consume(1);
            self.offset += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(Some(value));
            }
        }
        Err(self.error(start, "length prefix is not a valid varint"))
    }

    /// Fills as much of `buf` as the stream has.
    fn read_up_to(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }

    fn error(&self, start: u64, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame {} at byte {start} {what}", self.frames),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &[u8], framing: Framing) -> io::Result<Vec<Vec<u8>>> {
        let mut reader = FrameReader::new(bytes, framing);
        let mut out = Vec::new();
        let mut frame = Vec::new();
        while reader.read_frame(&mut frame)? {
            out.push(frame.clone());
        }
        Ok(out)
    }

    #[test]
    fn reads_varint_and_fixed32_frames_including_empty_ones() {
        let varint = b"\x02ab\x00\x01c";
        assert_eq!(
            frames(varint, Framing::Varint).unwrap(),
            [&b"ab"[..], b"", b"c"]
        );
        let fixed = b"\x00\x00\x00\x02ab\x00\x00\x00\x00";
        assert_eq!(frames(fixed, Framing::Fixed32).unwrap(), [&b"ab"[..], b""]);
    }

    #[test]
    fn rejects_truncated_and_oversized_frames_with_their_place() {
        let err = frames(b"\x01a\x05abc", Framing::Varint).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 1 at byte 2 is cut short (declared 5 bytes)"
        );
        let err = frames(b"\xff\xff\xff\xff\x7f", Framing::Varint).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 0 at byte 0 is 34359738367 bytes, over the 64 MiB limit"
        );
        let err = frames(b"\x00\x00", Framing::Fixed32).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 0 at byte 0 length prefix is cut short"
        );
    }
}
