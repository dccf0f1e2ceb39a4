//! The compressed input, buffered and counted.

use std::io::{self, BufRead, Read};

use crate::error::ConvertError;

/// Size of the buffer between the raw input and the decoders.
pub(super) const INPUT_BUFFER: usize = 64 * 1024;

/// The raw input, buffered, counting what was read (for progress) and what
/// the decoder consumed (for error offsets). An error of the underlying
/// reader is kept aside so that it is reported as [`ConvertError::Read`]
/// whatever the decoder makes of it.
pub(super) struct Input<R> {
    pub(super) inner: R,
    pub(super) buf: Box<[u8]>,
    pub(super) pos: usize,
    pub(super) end: usize,
    pub(super) read: u64,
    pub(super) consumed: u64,
    pub(super) failed: Option<io::Error>,
}

impl<R: Read> Input<R> {
    pub(super) fn new(inner: R) -> Self {
        Input {
            inner,
            buf: vec![0; INPUT_BUFFER].into_boxed_slice(),
            pos: 0,
            end: 0,
            read: 0,
            consumed: 0,
            failed: None,
        }
    }

    /// Reads until at least `n` bytes are buffered or the input ends, and
    /// returns what is buffered. `n` must not exceed the buffer size.
    pub(super) fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.pos < n {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
            while self.end < n {
                let got = self.read_inner(self.end)?;
                if got == 0 {
                    break;
                }
            }
        }
        Ok(&self.buf[self.pos..self.end])
    }

    /// One read from the inner reader into `buf[at..]`.
    pub(super) fn read_inner(&mut self, at: usize) -> io::Result<usize> {
        loop {
            match self.inner.read(&mut self.buf[at..]) {
                Ok(n) => {
                    self.end = at + n;
                    self.read += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let kind = e.kind();
                    self.failed = Some(e);
                    return Err(io::Error::new(kind, "input read failed"));
                }
            }
        }
    }
}

impl<R: Read> BufRead for Input<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
            self.read_inner(0)?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.end - self.pos);
        self.pos += amt;
        self.consumed += amt as u64;
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// The input's own error when it failed, else the decoder's error as a
/// read error.
pub(super) fn read_error<R>(input: &mut Input<R>, e: io::Error) -> ConvertError {
    ConvertError::Read(input.failed.take().unwrap_or(e))
}
