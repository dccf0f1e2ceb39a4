//! The length-prefix codec of the framed layouts: a varint (at most 10
//! bytes, 64 bits) or 4 big-endian bytes before each message. Framing
//! reads frames with it and detection tries each layout with it.

use crate::settings::Framing;

/// A length prefix as read from the start of `bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    /// The frame is `length` bytes after a prefix of `size` bytes.
    Complete { length: u64, size: usize },
    /// `bytes` ends inside the prefix.
    Incomplete,
    /// Not a valid varint (more than 10 bytes, or over 64 bits).
    Invalid,
}

/// The longest prefix of `framing` (`Single` has none).
pub(crate) fn max_prefix_size(framing: Framing) -> usize {
    match framing {
        Framing::Varint => 10,
        Framing::Fixed32 => 4,
        Framing::Single | Framing::Auto => 0,
    }
}

/// Reads the length prefix of `framing` at the start of `bytes`.
pub(crate) fn read_prefix(framing: Framing, bytes: &[u8]) -> Prefix {
    match framing {
        Framing::Fixed32 => match bytes {
            [a, b, c, d, ..] => Prefix::Complete {
                length: u64::from(u32::from_be_bytes([*a, *b, *c, *d])),
                size: 4,
            },
            _ => Prefix::Incomplete,
        },
        Framing::Varint => {
            let mut value: u64 = 0;
            for (i, &byte) in bytes.iter().take(10).enumerate() {
                if i == 9 && byte > 1 {
                    return Prefix::Invalid;
                }
                value |= u64::from(byte & 0x7f) << (7 * i);
                if byte < 0x80 {
                    return Prefix::Complete {
                        length: value,
                        size: i + 1,
                    };
                }
            }
            if bytes.len() >= 10 {
                Prefix::Invalid
            } else {
                Prefix::Incomplete
            }
        }
        Framing::Single | Framing::Auto => Prefix::Complete {
            length: bytes.len() as u64,
            size: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varint_prefixes() {
        assert_eq!(
            read_prefix(Framing::Varint, &[0xac, 0x02, 9]),
            Prefix::Complete {
                length: 300,
                size: 2
            }
        );
        assert_eq!(read_prefix(Framing::Varint, &[0xac]), Prefix::Incomplete);
        assert_eq!(read_prefix(Framing::Varint, &[0xff; 10]), Prefix::Invalid);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(
            read_prefix(Framing::Varint, &max),
            Prefix::Complete {
                length: u64::MAX,
                size: 10
            }
        );
        assert_eq!(
            read_prefix(Framing::Fixed32, &[0, 0, 1, 0]),
            Prefix::Complete {
                length: 256,
                size: 4
            }
        );
        assert_eq!(
            read_prefix(Framing::Fixed32, &[0, 0, 1]),
            Prefix::Incomplete
        );
    }
}
