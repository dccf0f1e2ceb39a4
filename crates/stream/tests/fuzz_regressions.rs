//! Inputs found by fuzzing (`fuzz/`), kept as tests of the
//! behaviour they broke. Each names the fuzz target that found it.

use std::io::Read;

use protoland_stream::{Compression, ConvertError, Decompressor, FrameErrorKind, Framer, Framing};

fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

/// Target `framing`: a varint prefix claiming 2^64 - 7 bytes made
/// "prefix size + length" overflow (a panic with debug assertions; in
/// release the skip wrapped to 3 bytes and framing resumed inside the
/// oversized frame, turning its bytes into messages). The rest of the
/// input belongs to the oversized frame, which it cannot hold: skipping it
/// ends in that frame's truncation error, never in frames read from its
/// bytes.
#[test]
fn oversized_frame_near_u64_max_is_skipped_to_the_end() {
    let mut input = varint(u64::MAX - 6);
    assert_eq!(input.len(), 10);
    // What a wrapped skip of 3 bytes would land on: a valid frame.
    input.extend_from_slice(&[0x02, 0x08, 0x01, 0x02, 0x08, 0x01]);
    let mut framer = Framer::new(&input[..], Framing::Varint, 16);
    match framer.next_frame() {
        Err(ConvertError::Frame {
            index: 0,
            offset: 0,
            kind: FrameErrorKind::TooLarge { length, limit: 16 },
        }) => assert_eq!(length, u64::MAX - 6),
        other => panic!("expected the frame to be over the limit, got {other:?}"),
    }
    let next = framer.next_frame().map(|f| f.map(|f| f.data.to_vec()));
    assert!(
        matches!(
            next,
            Err(ConvertError::Frame {
                index: 0,
                offset: 0,
                kind: FrameErrorKind::Truncated { available: 6, .. },
            })
        ),
        "the rest of the input belongs to the oversized frame, got {next:?}"
    );
    assert!(matches!(framer.next_frame(), Ok(None)));
}

/// A reader handing out `data` in reads of the given sizes, in turn.
struct Splits<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    next: usize,
}

impl Read for Splits<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let size = self.sizes[self.next % self.sizes.len()];
        self.next += 1;
        let n = buf.len().min(self.data.len()).min(size);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn zstd_error(input: &[u8], sizes: &[usize]) -> (u64, String) {
    let reader = Splits {
        data: input,
        sizes,
        next: 0,
    };
    let mut d =
        Decompressor::new(reader, Compression::Zstd, 1 << 20).expect("zstd needs no header read");
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match d.read_decompressed(&mut buf) {
            Ok(0) => panic!("corrupt zstd input decompressed without an error"),
            Ok(_) => {}
            Err(ConvertError::Decompress {
                compression: Compression::Zstd,
                offset,
                message,
            }) => return (offset, message),
            Err(e) => panic!("expected a zstd error, got {e}"),
        }
    }
}

/// Target `framing`: the offset of a zstd corruption error is where the
/// block of input being decoded starts, which is wherever a read of the
/// underlying reader ended; so it depends on how the input arrives (read
/// whole: byte 0; read as 7, 1, 64 bytes: byte 8). What `ConvertError`
/// documents holds either way: the offset is at or before the corrupt
/// block (here at byte 9, after the 6-byte frame header and the 3-byte
/// block header).
#[test]
fn zstd_error_offset_is_at_or_before_the_corrupt_block_whatever_the_reads() {
    let input: [u8; 38] = [
        0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x29, 0xe5, 0x00, 0x00, 0x90, 0x00, 0x09, 0x09, 0x00, 0x48,
        0x80, 0xf0, 0x3f, 0xbf, 0x09, 0x09, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, 0x03,
        0x00, 0xa0, 0x60, 0x0b, 0x61, 0x03, 0xc8, 0x02,
    ];
    let whole = zstd_error(&input, &[1 << 16]);
    let split = zstd_error(&input, &[7, 1, 64]);
    for (offset, message) in [&whole, &split] {
        assert!(
            *offset <= 9,
            "error at byte {offset} ({message}), after the corrupt block"
        );
    }
    assert_eq!(whole.1, split.1, "the same problem whatever the reads");
}
