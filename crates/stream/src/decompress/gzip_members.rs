//! gzip: every member of a multi-member stream, and trailing data named
//! as such.

use std::io::{self, Read};

use super::input::{Input, read_error};
use crate::error::ConvertError;
use crate::settings::Compression;

pub(super) enum GzipState<R: Read> {
    /// Inside a member (header, deflate data or trailer).
    Member(Box<flate2::bufread::GzDecoder<Input<R>>>),
    /// After the last member, at the end of the input.
    End(Input<R>),
    /// Only while moving from one state to the next.
    Between,
}

/// One read of a multi-member gzip stream.
///
/// flate2's `MultiGzDecoder` reads every member too, but reports data
/// after the last member only as "invalid gzip header"; walking the members
/// here lets the error say which member, where, and that it is trailing
/// data. Each member is still decoded (and its CRC and size checked) by
/// flate2's `GzDecoder`.
pub(super) fn read_gzip<R: Read>(
    state: &mut GzipState<R>,
    member: &mut u64,
    buf: &mut [u8],
) -> Result<usize, ConvertError> {
    loop {
        let GzipState::Member(decoder) = state else {
            return Ok(0);
        };
        match decoder.read(buf) {
            Ok(0) => {}
            Ok(n) => return Ok(n),
            Err(e) => {
                let input = decoder.get_mut();
                if input.failed.is_some() {
                    return Err(read_error(input, e));
                }
                return Err(gzip_error(input.consumed, *member, &e));
            }
        }
        // The member ended with a good CRC and size; what follows must be
        // another member or nothing.
        let GzipState::Member(decoder) = std::mem::replace(state, GzipState::Between) else {
            return Ok(0);
        };
        let mut input = decoder.into_inner();
        let next = match input.peek(4) {
            Ok(next) => next,
            Err(e) => return Err(read_error(&mut input, e)),
        };
        if next.is_empty() {
            *state = GzipState::End(input);
        } else if next.starts_with(&[0x1f, 0x8b]) || next == [0x1f] {
            *member += 1;
            *state = GzipState::Member(Box::new(flate2::bufread::GzDecoder::new(input)));
        } else {
            let hex: Vec<String> = next.iter().take(4).map(|b| format!("{b:02x}")).collect();
            return Err(ConvertError::Decompress {
                compression: Compression::Gzip,
                offset: input.consumed,
                message: format!(
                    "data after the end of gzip member {member} is not another member (it starts with {})",
                    hex.join(" ")
                ),
            });
        }
    }
}

pub(super) fn gzip_error(offset: u64, member: u64, e: &io::Error) -> ConvertError {
    let text = e.to_string();
    let message = if e.kind() == io::ErrorKind::UnexpectedEof {
        format!("truncated: the input ends inside gzip member {member}")
    } else if text.contains("checksum") {
        format!("gzip member {member} fails its CRC-32 or size check")
    } else if text.contains("invalid gzip header") {
        format!("gzip member {member} has an invalid header")
    } else if text.contains("corrupt deflate") {
        format!("gzip member {member} holds corrupt deflate data")
    } else {
        format!("gzip member {member}: {text}")
    };
    ConvertError::Decompress {
        compression: Compression::Gzip,
        offset,
        message,
    }
}
