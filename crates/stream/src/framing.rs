//! Framing: where one message ends and the next begins.
//!
//! - [`Framing::Single`]: the whole (decompressed) input is one message.
//! - [`Framing::Varint`]: each message is prefixed by its length as a
//!   varint (Java `writeDelimitedTo`, C++ `SerializeDelimitedToOstream`,
//!   prost `encode_length_delimited`, Python `_VarintBytes(len) + data`).
//! - [`Framing::Fixed32`]: each message is prefixed by its length as 4
//!   big-endian bytes (Hadoop/Kafka-style tooling).
//! - [`Framing::Auto`]: decided from the first bytes by detection
//!   ([`Detection`]).
//!
//! A [`Framer`] reads frames from any [`Read`], in bounded memory: its
//! buffer holds at most one frame plus one read (and the detection probe
//! window at the start). A frame whose prefix announces more than the
//! limit is rejected before anything is allocated for it, and the frames
//! are the same however the input is split into reads.

use std::fmt;
use std::io::{self, Read};

use protoland_transcode::Plan;

use crate::detect::{self, Detection};
use crate::error::{ConvertError, FrameErrorKind};
use crate::prefix::{Prefix, max_prefix_size, read_prefix};
use crate::settings::Framing;

/// One message's bytes and where they were in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// 0-based position in the stream (skipped frames count).
    pub index: u64,
    /// Where the frame starts (its length prefix) in the decompressed stream.
    pub offset: u64,
    /// Where the message bytes start (after the prefix).
    pub data_offset: u64,
    /// The message bytes.
    pub data: &'a [u8],
}

/// How much the framer reads ahead to decide `auto` framing: 1 MiB, or the
/// whole input when it is shorter. Large enough for hundreds of typical
/// messages, small next to the memory budget.
pub const PROBE_WINDOW: usize = 1 << 20;

/// The smallest read buffer: reads are never smaller than this when the
/// buffer has to be refilled.
const MIN_BUFFER: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// Discarding the rest of an oversized frame (`Framer::skipped`), or
    /// of the whole input (`single`).
    Skipping(u64),
    /// At the end, or after an error that ends the stream.
    Done,
    /// After an invalid prefix: nothing to resynchronise on.
    Failed,
}

/// Splits a stream into frames, in bounded memory (one frame plus one
/// read, and the detection window at the start), the same frames however
/// the input is split into reads.
pub struct Framer<R> {
    reader: R,
    framing: Framing,
    max_frame: u64,
    plan: Option<Plan>,
    detection: Option<Detection>,
    /// `buf[pos..end]` is read but not yet consumed.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Stream offset of `buf[pos]`.
    offset: u64,
    index: u64,
    eof: bool,
    state: State,
    /// The oversized frame being skipped: if the input ends inside it, it
    /// is truncated, an error of its own.
    skipped: Option<Skipped>,
}

/// An oversized frame being read past.
#[derive(Debug, Clone, Copy)]
struct Skipped {
    index: u64,
    offset: u64,
    length: u64,
    /// Its prefix's size.
    size: u64,
    /// Prefix and frame, saturated at `u64::MAX`.
    total: u64,
}

impl<R> fmt::Debug for Framer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Framer")
            .field("framing", &self.framing)
            .field("max_frame", &self.max_frame)
            .field("offset", &self.offset)
            .field("index", &self.index)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Framer<R> {
    /// Frames `reader` with `framing`; no frame may be longer than
    /// `max_frame_bytes`. With [`Framing::Auto`] the layout is detected on
    /// the first call to [`Framer::next_frame`] (or [`Framer::resolve`]) by
    /// generic wire-format validity, or against a schema given with
    /// [`Framer::detect_with`].
    pub fn new(reader: R, framing: Framing, max_frame_bytes: u64) -> Self {
        Framer {
            reader,
            framing,
            max_frame: max_frame_bytes,
            plan: None,
            detection: None,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            offset: 0,
            index: 0,
            eof: false,
            state: State::Reading,
            skipped: None,
        }
    }

    /// Detects `auto` framing by decoding against `plan` instead of by
    /// generic wire-format validity (see [`Detection`]).
    pub fn detect_with(mut self, plan: Plan) -> Self {
        self.plan = Some(plan);
        self
    }

    /// The framing in use: the one given, or once detected the one chosen
    /// ([`Framing::Auto`] before that).
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// What detection found, when the framing was `auto` and has been
    /// resolved.
    pub fn detection(&self) -> Option<&Detection> {
        self.detection.as_ref()
    }

    /// The reader, e.g. to read counters from it.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// Reads the probe window ([`PROBE_WINDOW`] bytes, or up to the end of
    /// a shorter input) without consuming it, and returns it with whether it
    /// is the whole input. Only meaningful before the first frame is read.
    ///
    /// # Errors
    ///
    /// The reader's errors, as by [`ConvertError::from_io`].
    pub fn probe(&mut self) -> Result<(&[u8], bool), ConvertError> {
        self.fill(PROBE_WINDOW)?;
        let complete = self.eof && self.end - self.pos <= PROBE_WINDOW;
        let end = self.end.min(self.pos + PROBE_WINDOW);
        Ok((&self.buf[self.pos..end], complete))
    }

    /// Resolves `auto` framing now (a no-op for an explicit one) and
    /// returns the framing in use.
    ///
    /// # Errors
    ///
    /// [`ConvertError::Detect`] when no layout parses, and the reader's
    /// errors.
    pub fn resolve(&mut self) -> Result<Framing, ConvertError> {
        if self.framing == Framing::Auto {
            let max_frame = self.max_frame;
            let plan = self.plan.clone();
            let (window, complete) = self.probe()?;
            let detection = detect::detect(window, complete, plan.as_ref(), max_frame);
            match detection.framing {
                Some(framing) => {
                    self.framing = framing;
                    self.detection = Some(detection);
                }
                None => {
                    let reason = detection.reason.clone();
                    self.detection = Some(detection);
                    self.state = State::Failed;
                    return Err(ConvertError::Detect { reason });
                }
            }
        }
        Ok(self.framing)
    }

    /// The next frame, or `None` at the end of the input.
    ///
    /// After a [`ConvertError::Frame`] error whose kind
    /// [is recoverable](FrameErrorKind::is_recoverable) (a frame over the
    /// limit), calling again goes on with the next frame: the oversized one
    /// is read past without being stored, and if the input ends inside it,
    /// the call returns its [`FrameErrorKind::Truncated`] error. After any
    /// other frame error the stream has ended (`Ok(None)`, or the same error
    /// after an invalid prefix).
    ///
    /// # Errors
    ///
    /// [`ConvertError::Frame`] for an oversized, truncated or invalid frame,
    /// [`ConvertError::Detect`] when `auto` finds no layout, and the
    /// reader's errors (as by [`ConvertError::from_io`]).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, ConvertError> {
        if self.framing == Framing::Auto {
            self.resolve()?;
        }
        loop {
            match self.state {
                State::Reading => break,
                State::Done => return Ok(None),
                State::Failed => {
                    return Err(ConvertError::Frame {
                        index: self.index,
                        offset: self.offset,
                        kind: FrameErrorKind::InvalidPrefix,
                    });
                }
                State::Skipping(remaining) => {
                    self.skip(remaining)?;
                }
            }
        }
        match self.framing {
            Framing::Single => self.next_single(),
            _ => self.next_prefixed(),
        }
    }

    fn next_single(&mut self) -> Result<Option<Frame<'_>>, ConvertError> {
        let limit = usize::try_from(self.max_frame).unwrap_or(usize::MAX);
        let available = self.fill(limit.saturating_add(1))?;
        if available > limit {
            self.state = State::Skipping(u64::MAX);
            return Err(ConvertError::Frame {
                index: 0,
                offset: 0,
                kind: FrameErrorKind::SingleTooLarge {
                    limit: self.max_frame,
                },
            });
        }
        self.state = State::Done;
        Ok(Some(self.take_frame(0, available)))
    }

    fn next_prefixed(&mut self) -> Result<Option<Frame<'_>>, ConvertError> {
        let available = self.fill(max_prefix_size(self.framing))?;
        if available == 0 {
            self.state = State::Done;
            return Ok(None);
        }
        let (length, size) = match read_prefix(self.framing, &self.buf[self.pos..self.end]) {
            Prefix::Complete { length, size } => (length, size),
            Prefix::Incomplete => {
                self.state = State::Done;
                return Err(self.error(FrameErrorKind::TruncatedPrefix {
                    framing: self.framing,
                    available: available as u64,
                }));
            }
            Prefix::Invalid => {
                self.state = State::Failed;
                return Err(self.error(FrameErrorKind::InvalidPrefix));
            }
        };
        if length > self.max_frame {
            // Checked before anything is allocated for the frame.
            let error = self.error(FrameErrorKind::TooLarge {
                length,
                limit: self.max_frame,
            });
            // Saturating: a prefix can claim up to 2^64 - 1 bytes, and a
            // wrapped sum would resume framing inside the skipped frame.
            let total = (size as u64).saturating_add(length);
            self.skipped = Some(Skipped {
                index: self.index,
                offset: self.offset,
                length,
                size: size as u64,
                total,
            });
            self.index += 1;
            self.state = State::Skipping(total);
            return Err(error);
        }
        // `length` <= max_frame, which fits memory by the caller's choice.
        let total = size.saturating_add(usize::try_from(length).unwrap_or(usize::MAX));
        let available = self.fill(total)?;
        if available < total {
            self.state = State::Done;
            return Err(self.error(FrameErrorKind::Truncated {
                length,
                available: (available - size) as u64,
            }));
        }
        Ok(Some(self.take_frame(size, total - size)))
    }

    fn error(&self, kind: FrameErrorKind) -> ConvertError {
        ConvertError::Frame {
            index: self.index,
            offset: self.offset,
            kind,
        }
    }

    /// Consumes a prefix of `size` and a frame of `length` bytes, both
    /// buffered, and returns the frame.
    fn take_frame(&mut self, size: usize, length: usize) -> Frame<'_> {
        let start = self.pos + size;
        let frame_offset = self.offset;
        let index = self.index;
        self.pos = start + length;
        self.offset += (size + length) as u64;
        self.index += 1;
        Frame {
            index,
            offset: frame_offset,
            data_offset: frame_offset + size as u64,
            data: &self.buf[start..start + length],
        }
    }

    /// Reads past `remaining` bytes without keeping them.
    ///
    /// # Errors
    ///
    /// [`FrameErrorKind::Truncated`] for the oversized frame being skipped
    /// when the input ends inside it: the rest of the input was part of a
    /// frame that claims more than there is, so it is lost (nothing after
    /// a bad prefix is read as frames).
    fn skip(&mut self, mut remaining: u64) -> Result<(), ConvertError> {
        while remaining > 0 {
            if self.pos == self.end {
                self.pos = 0;
                self.end = 0;
                if self.fill(1)? == 0 {
                    self.state = State::Done;
                    return match self.skipped.take() {
                        Some(frame) => {
                            let size = frame.size;
                            let read = frame.total - remaining;
                            Err(ConvertError::Frame {
                                index: frame.index,
                                offset: frame.offset,
                                kind: FrameErrorKind::Truncated {
                                    length: frame.length,
                                    available: read.saturating_sub(size),
                                },
                            })
                        }
                        // `single` skips to the end of the input.
                        None => Ok(()),
                    };
                }
            }
            let take = (self.end - self.pos).min(usize::try_from(remaining).unwrap_or(usize::MAX));
            self.pos += take;
            self.offset += take as u64;
            remaining -= take as u64;
            self.state = State::Skipping(remaining);
        }
        self.skipped = None;
        self.state = State::Reading;
        Ok(())
    }

    /// Reads until at least `n` bytes are buffered or the input ends;
    /// returns how many are buffered. The buffer grows gradually (doubling,
    /// as data arrives) up to `n`, so a prefix that lies about a length under
    /// the limit costs only what the input really holds.
    fn fill(&mut self, n: usize) -> Result<usize, ConvertError> {
        while self.end - self.pos < n && !self.eof {
            if self.end == self.buf.len() {
                if self.pos > 0 {
                    self.buf.copy_within(self.pos..self.end, 0);
                    self.end -= self.pos;
                    self.pos = 0;
                }
                if self.end == self.buf.len() {
                    let grown = (self.buf.len() * 2).max(MIN_BUFFER);
                    let target = grown.min(n.max(MIN_BUFFER));
                    self.buf.resize(target, 0);
                } else if self.end == 0 && self.buf.len() > 4 * PROBE_WINDOW && n < PROBE_WINDOW {
                    // Give back the memory of an earlier large frame.
                    self.buf = vec![0; PROBE_WINDOW];
                }
            }
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(got) => self.end += got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConvertError::from_io(e)),
            }
        }
        Ok(self.end - self.pos)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::{ShortReads, frame_fixed32, frame_varint};

    fn frames_of<R: Read>(framer: &mut Framer<R>) -> Result<Vec<Vec<u8>>, ConvertError> {
        let mut frames = Vec::new();
        while let Some(frame) = framer.next_frame()? {
            frames.push(frame.data.to_vec());
        }
        Ok(frames)
    }

    fn messages() -> Vec<Vec<u8>> {
        vec![
            b"\x0a\x03abc".to_vec(),
            Vec::new(),
            vec![0x08; 130], // a length that needs a 2-byte varint
            b"\x10\x01".to_vec(),
            vec![0x12; 300],
        ]
    }

    #[test]
    fn splits_varint_and_fixed32_streams() {
        let messages = messages();
        for (framing, stream) in [
            (Framing::Varint, frame_varint(&messages)),
            (Framing::Fixed32, frame_fixed32(&messages)),
        ] {
            let mut framer = Framer::new(&stream[..], framing, 1 << 20);
            assert_eq!(frames_of(&mut framer).unwrap(), messages, "{framing}");
        }
    }

    #[test]
    fn reports_frame_offsets() {
        let stream = frame_varint(&messages());
        let mut framer = Framer::new(&stream[..], Framing::Varint, 1 << 20);
        let mut seen = Vec::new();
        while let Some(frame) = framer.next_frame().unwrap() {
            seen.push((frame.index, frame.offset, frame.data_offset));
        }
        assert_eq!(
            seen,
            [
                (0, 0, 1),
                (1, 6, 7),
                (2, 7, 9),
                (3, 139, 140),
                (4, 142, 144)
            ]
        );
    }

    #[test]
    fn single_is_the_whole_input() {
        let data = vec![7u8; 200_000];
        let mut framer = Framer::new(&data[..], Framing::Single, 1 << 20);
        assert_eq!(frames_of(&mut framer).unwrap(), [data]);
        let mut empty = Framer::new(&[][..], Framing::Single, 1 << 20);
        assert_eq!(frames_of(&mut empty).unwrap(), [Vec::<u8>::new()]);
    }

    #[test]
    fn zero_length_frame_is_an_empty_message() {
        let mut framer = Framer::new(&[0u8, 0, 0, 0][..], Framing::Fixed32, 100);
        assert_eq!(frames_of(&mut framer).unwrap(), [Vec::<u8>::new()]);
        let mut framer = Framer::new(&[0u8, 0][..], Framing::Varint, 100);
        assert_eq!(
            frames_of(&mut framer).unwrap(),
            [Vec::<u8>::new(), Vec::new()]
        );
    }

    #[test]
    fn same_frames_however_the_input_is_split() {
        let messages = messages();
        for (framing, stream) in [
            (Framing::Varint, frame_varint(&messages)),
            (Framing::Fixed32, frame_fixed32(&messages)),
            (Framing::Single, messages[0].clone()),
        ] {
            let expected = frames_of(&mut Framer::new(&stream[..], framing, 1 << 20)).unwrap();
            for cut in 0..=stream.len() {
                let reader = ShortReads::at(&stream, &[cut]);
                let got = frames_of(&mut Framer::new(reader, framing, 1 << 20)).unwrap();
                assert_eq!(got, expected, "{framing} split at {cut}");
            }
            for step in 1..8 {
                let reader = ShortReads::every(&stream, step);
                let got = frames_of(&mut Framer::new(reader, framing, 1 << 20)).unwrap();
                assert_eq!(got, expected, "{framing} in reads of {step}");
            }
        }
    }

    #[test]
    fn truncated_last_frame_names_index_and_offset() {
        let stream = frame_varint(&messages());
        let cut = stream.len() - 10;
        let mut framer = Framer::new(&stream[..cut], Framing::Varint, 1 << 20);
        let err = frames_of(&mut framer).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 4 at byte 142 is truncated: its prefix says 300 bytes but the input ends after 290"
        );
        // The stream ends there: no more frames.
        assert!(framer.next_frame().unwrap().is_none());
    }

    #[test]
    fn truncated_prefix_is_an_error() {
        let mut stream = frame_fixed32(&messages()[..1]);
        stream.extend([0, 0]);
        let err = frames_of(&mut Framer::new(&stream[..], Framing::Fixed32, 100)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 1 at byte 9 is truncated: the input ends inside its fixed32 length prefix (2 bytes)"
        );
        let err = frames_of(&mut Framer::new(
            &[0x05, 1, 2, 3, 4, 5, 0x80][..],
            Framing::Varint,
            100,
        ))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 1 at byte 6 is truncated: the input ends inside its varint length prefix (1 bytes)"
        );
    }

    #[test]
    fn rejects_invalid_varint_prefix_for_good() {
        let mut framer = Framer::new(&[0xffu8; 12][..], Framing::Varint, 100);
        let err = framer.next_frame().unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 0 at byte 0 has an invalid varint length prefix"
        );
        assert!(framer.next_frame().is_err());
    }

    /// A reader that fails the test if more than `budget` bytes of buffer
    /// are ever asked for in one read: proves nothing was sized from the
    /// prefix.
    struct BoundedReads<'a> {
        data: &'a [u8],
        largest_read: usize,
    }

    impl Read for BoundedReads<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.largest_read = self.largest_read.max(buf.len());
            self.data.read(buf)
        }
    }

    #[test]
    fn rejects_frame_over_limit_without_allocating() {
        // The prefix claims 4 GiB - 1; the limit is 64 MiB.
        let mut stream = vec![0xff, 0xff, 0xff, 0xff];
        stream.extend([1, 2, 3]);
        let reader = BoundedReads {
            data: &stream,
            largest_read: 0,
        };
        let mut framer = Framer::new(reader, Framing::Fixed32, 64 << 20);
        let err = framer.next_frame().unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 0 at byte 0 is 4294967295 bytes, over the 64 MiB limit"
        );
        assert!(framer.buf.len() <= MIN_BUFFER);
        assert!(framer.get_ref().largest_read <= MIN_BUFFER);
    }

    #[test]
    fn skips_an_oversized_frame_when_asked_to_go_on() {
        let messages = [b"ok".to_vec(), vec![1u8; 5000], b"after".to_vec()];
        let stream = frame_varint(&messages);
        let mut framer = Framer::new(ShortReads::every(&stream, 100), Framing::Varint, 1000);
        assert_eq!(framer.next_frame().unwrap().unwrap().data, b"ok");
        let err = framer.next_frame().unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 1 at byte 3 is 5000 bytes, over the 1000 bytes limit"
        );
        let after = framer.next_frame().unwrap().unwrap();
        assert_eq!(
            (after.index, after.offset, after.data),
            (2, 5005, &b"after"[..])
        );
        assert!(framer.next_frame().unwrap().is_none());
    }

    /// An oversized frame is read past, but when the input ends before
    /// the length its prefix claims (a 4 GiB claim in the middle of a
    /// small stream), the rest of the input was that frame's: the frame is
    /// truncated, and framing stops there instead of ending quietly.
    #[test]
    fn an_oversized_frame_the_input_ends_inside_is_truncated() {
        let mut stream = frame_varint(&[b"ok".to_vec()]);
        let at = stream.len() as u64;
        prost::encoding::encode_varint(1 << 32, &mut stream);
        let rest = frame_varint(&messages());
        stream.extend(&rest);
        for step in [1, 7, 1 << 20] {
            let mut framer = Framer::new(ShortReads::every(&stream, step), Framing::Varint, 1000);
            assert_eq!(framer.next_frame().unwrap().unwrap().data, b"ok");
            assert_eq!(
                framer.next_frame().unwrap_err().to_string(),
                format!("frame 1 at byte {at} is 4294967296 bytes, over the 1000 bytes limit")
            );
            assert_eq!(
                framer.next_frame().unwrap_err().to_string(),
                format!(
                    "frame 1 at byte {at} is truncated: its prefix says 4294967296 bytes but the input ends after {}",
                    rest.len()
                )
            );
            assert!(framer.next_frame().unwrap().is_none());
        }
    }

    #[test]
    fn single_over_limit_is_rejected() {
        let data = vec![0u8; 1001];
        let mut framer = Framer::new(&data[..], Framing::Single, 1000);
        let err = framer.next_frame().unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame 0 at byte 0 (the whole input as a single message) is over the 1000 bytes limit"
        );
        assert!(framer.next_frame().unwrap().is_none());
        let exact = vec![0u8; 1000];
        let mut framer = Framer::new(&exact[..], Framing::Single, 1000);
        assert_eq!(frames_of(&mut framer).unwrap().len(), 1);
    }

    #[test]
    fn memory_stays_bounded_over_many_frames() {
        let messages: Vec<Vec<u8>> = (0..20_000).map(|i| vec![(i % 200) as u8; 100]).collect();
        let stream = frame_varint(&messages);
        let mut framer = Framer::new(&stream[..], Framing::Varint, 1 << 20);
        let mut count = 0;
        while framer.next_frame().unwrap().is_some() {
            count += 1;
        }
        assert_eq!(count, 20_000);
        assert!(framer.buf.len() <= MIN_BUFFER, "{}", framer.buf.len());
    }

    fn framing_strategy() -> impl Strategy<Value = Framing> {
        prop_oneof![Just(Framing::Varint), Just(Framing::Fixed32)]
    }

    proptest! {
        #[test]
        fn frames_survive_any_split(
            messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20),
            framing in framing_strategy(),
            cuts in prop::collection::vec(0usize..4000, 0..30),
        ) {
            let stream = match framing {
                Framing::Varint => frame_varint(&messages),
                _ => frame_fixed32(&messages),
            };
            let reader = ShortReads::at(&stream, &cuts);
            let got = frames_of(&mut Framer::new(reader, framing, 1 << 20)).unwrap();
            prop_assert_eq!(got, messages);
        }

        #[test]
        fn truncation_is_always_an_error(
            messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..50), 1..10),
            framing in framing_strategy(),
            cut_back in 1usize..50,
        ) {
            let stream = match framing {
                Framing::Varint => frame_varint(&messages),
                _ => frame_fixed32(&messages),
            };
            let cut = stream.len().saturating_sub(cut_back);
            let last_len = messages.last().map_or(0, Vec::len) + max_prefix_size(framing).min(if framing == Framing::Varint { 1 } else { 4 });
            prop_assume!(cut_back < last_len);
            let result = frames_of(&mut Framer::new(&stream[..cut], framing, 1 << 20));
            let is_frame_error = matches!(result, Err(ConvertError::Frame { .. }));
            prop_assert!(is_frame_error);
        }
    }
}
