//! The physical limit: decompress gzip files (every member) with the same
//! inflate implementation protoland uses (flate2's zlib-rs backend), and
//! throw the bytes away. Prints the decompressed byte count.
//!
//! `inflate --stdout FILE` writes the decompressed bytes instead (the harness
//! feeds pq this way, since pq reads uncompressed input only).

use std::fs::File;
use std::io::{self, BufReader, Read, Write};

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let mut to_stdout = false;
    let mut paths = Vec::new();
    for arg in std::env::args_os().skip(1) {
        if arg == "--stdout" {
            to_stdout = true;
        } else {
            paths.push(arg);
        }
    }
    if paths.is_empty() {
        bail!("usage: inflate [--stdout] FILE.gz...");
    }
    let mut total = 0u64;
    let mut buf = vec![0u8; 256 << 10];
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    for path in &paths {
        let name = path.to_string_lossy();
        let file = File::open(path).with_context(|| format!("opening {name}"))?;
        let mut gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(256 << 10, file));
        loop {
            let n = match gz.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).with_context(|| format!("inflating {name}")),
            };
            total += n as u64;
            if to_stdout {
                stdout.write_all(&buf[..n])?;
            }
        }
    }
    if to_stdout {
        stdout.flush()?;
    } else {
        writeln!(stdout, "{total}")?;
    }
    Ok(())
}
