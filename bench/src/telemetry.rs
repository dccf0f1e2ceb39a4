//! Device telemetry reports (`acme.telemetry.Report`,
//! bench/schemas/telemetry.proto).
//!
//! The other end of the spectrum from clickstream text: seven levels of
//! nesting, every numeric wire type (varint, zigzag, fixed32/64, float,
//! double, packed repeated), bytes, an integer-keyed map and a Duration.
//! About 1.5 KB a message.

use std::fmt::Write as _;

use crate::rng::Rng;
use crate::wire::Wire;

/// 2024-06-01T00:00:00Z.
const START_SECONDS: u64 = 1_717_200_000;

const STANDARDS: &[&str] = &["NIST-SRM-1750", "PTB-2021-7", "ISO-17025", "factory"];

const MESSAGES: &[&str] = &[
    "watchdog reset",
    "sensor saturated",
    "link down: retrying",
    "calibration drift above threshold",
    "clock skew 12ms",
    "temperature \"high\" on board",
    "fan speed nominal",
];

/// The state that runs through one chunk of reports: a fleet of devices
/// reporting in turn.
#[derive(Debug)]
pub struct Telemetry {
    rng: Rng,
    seconds: u64,
    sequence: u64,
    text: String,
    scratch: Vec<u8>,
}

impl Telemetry {
    /// Reports of chunk `chunk` of the data set with `seed`.
    pub fn new(seed: u64, chunk: u64) -> Telemetry {
        Telemetry {
            rng: Rng::new(seed, chunk),
            seconds: START_SECONDS + chunk * 3600,
            sequence: chunk * 1_000_000,
            text: String::new(),
            scratch: Vec::new(),
        }
    }

    /// Appends the next report's encoding to `out`.
    pub fn write_next(&mut self, out: &mut Wire) {
        self.sequence += 1;
        self.seconds += self.rng.below(2);
        let rng = &mut self.rng;
        let text = &mut self.text;
        let scratch = &mut self.scratch;

        out.fixed64(1, 0x00AC_0000_0000_0000 | rng.below(100_000));
        let (seconds, nanos) = (self.seconds, rng.below(1_000_000_000));
        out.message(2, |t| {
            t.uint(1, seconds);
            t.uint(2, nanos);
        });
        out.uint(3, self.sequence);
        out.message(4, |d| {
            d.uint(1, rng.range(60, 90 * 86_400));
            d.uint(2, rng.below(1000) * 1_000_000);
        });
        // A fleet runs a handful of firmware builds: each of the six has a
        // fixed version, build number and hash.
        let mut firmware = Rng::new(0xF1F1, rng.below(6));
        out.message(5, |fw| {
            text.clear();
            let _ = write!(
                text,
                "{}.{}.{}",
                firmware.range(1, 4),
                firmware.below(20),
                firmware.below(100)
            );
            fw.str(1, text);
            fw.fixed32(2, firmware.next_u64() as u32);
            random_bytes(&mut firmware, scratch, 32);
            fw.bytes(3, scratch);
        });
        out.message(6, |p| {
            p.float(1, 3.0 + rng.unit() as f32 * 1.2);
            p.sint32(2, rng.range(0, 4000) as i32 - 2000);
            p.double(3, rng.unit() * 5000.0);
            p.bool(4, rng.chance(30));
            p.uint(5, rng.range(1, 3));
        });
        for slot in 0..rng.range(1, 3) {
            out.message(7, |board| board_fields(rng, text, slot, board));
        }
        for _ in 0..rng.weighted(&[60, 25, 10, 5]) {
            out.message(8, |e| {
                e.fixed64(1, seconds * 1_000_000 + rng.below(1_000_000));
                e.uint(2, rng.range(1, 4));
                e.int(3, rng.range(0, 2000) as i64 - 1000);
                e.str(4, rng.pick(MESSAGES));
                let len = rng.below(24) as usize;
                random_bytes(rng, scratch, len);
                e.bytes(5, scratch);
            });
        }
        // Map entries in ascending key order, some with value zero (a map
        // entry's value is written by most encoders only when non-zero; the
        // entry itself always is).
        let mut key = 0;
        for _ in 0..rng.range(0, 4) {
            key += rng.range(1, 50);
            let value = if rng.chance(10) {
                0
            } else {
                rng.below(1 << 40) as i64 - (1 << 20)
            };
            out.message(9, |entry| {
                entry.uint(1, key);
                entry.sint64(2, value);
            });
        }
        random_bytes(rng, scratch, 64);
        out.bytes(10, scratch);
    }
}

fn board_fields(rng: &mut Rng, text: &mut String, slot: u64, board: &mut Wire) {
    board.uint(1, slot);
    text.clear();
    let _ = write!(text, "BRD-{:08X}", rng.next_u64() as u32);
    board.str(2, text);
    board.float(3, 20.0 + rng.unit() as f32 * 45.0);
    for _ in 0..rng.range(1, 3) {
        board.message(4, |module| {
            module.uint(1, rng.range(1, 4));
            module.fixed32(2, (rng.range(0, 2000) as i32 - 1000) as u32);
            for index in 0..rng.range(1, 4) {
                module.message(3, |channel| channel_fields(rng, index, channel));
            }
        });
    }
}

fn channel_fields(rng: &mut Rng, index: u64, channel: &mut Wire) {
    channel.uint(1, index);
    let base = rng.unit() * 100.0 - 20.0;
    channel.message(2, |sample| {
        let raw = (base * 1000.0) as i64;
        sample.sint64(1, raw);
        sample.double(2, base);
        sample.fixed32(3, rng.below(1 << 16) as u32);
        sample.message(4, |cal| {
            cal.float(1, 0.9 + rng.unit() as f32 * 0.2);
            cal.float(2, rng.unit() as f32 - 0.5);
            cal.int(3, 1_700_000_000_000 + rng.below(20_000_000_000) as i64);
            cal.message(4, |reference| {
                reference.str(1, rng.pick(STANDARDS));
                reference.uint(2, rng.next_u64() >> rng.below(48));
                reference.fixed64(3, (rng.range(0, 2000) as i64 - 1000) as u64);
            });
        });
    });
    let n = rng.range(0, 8);
    let mut history = [0f32; 8];
    for h in history.iter_mut().take(n as usize) {
        *h = (base + (rng.unit() - 0.5) * 2.0) as f32;
    }
    channel.packed(3, |p| {
        for &h in &history[..n as usize] {
            p.raw_float(h);
        }
    });
    channel.packed(4, |p| {
        for _ in 0..n {
            p.raw_sint32(rng.range(0, 600) as i32 - 300);
        }
    });
    let (min, max) = (base - rng.unit() * 5.0, base + rng.unit() * 5.0);
    channel.message(5, |stats| {
        stats.double(1, min);
        stats.double(2, max);
        stats.double(3, (min + max) / 2.0);
        stats.uint(4, rng.below(1 << 33));
        stats.int(5, if rng.chance(5) { -1 } else { 0 });
    });
}

fn random_bytes(rng: &mut Rng, out: &mut Vec<u8>, len: usize) {
    out.clear();
    while out.len() < len {
        let word = rng.next_u64().to_le_bytes();
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&word[..take]);
    }
}
