//! One gzip member compressed on several threads, pigz's way.
//!
//! The uncompressed stream is cut into chunks of [`CHUNK`] bytes, wherever
//! the writes happen to end. Each chunk is raw-deflated on its own with the
//! previous chunk's last 32 KiB (deflate's whole window) as its dictionary,
//! and ended with a sync flush (the last one with the final block), so the
//! chunks' outputs, written one after the other behind one gzip header,
//! form one deflate stream; the trailer holds the CRC-32 of the chunks
//! combined in order and the length. Any gzip reader reads it as one
//! member.
//!
//! The bytes depend on the input and the level only: the chunk boundaries
//! are fixed offsets and every chunk is deflated the same way on any
//! thread, so one thread and four give the same output. One thread
//! deflates on the calling thread (no pool); more start a pool that holds
//! at most two chunks per thread, compressed or waiting, so memory stays
//! bounded whatever the writer behind is doing.
//!
//! The `gzp` crate does this too; its 1.0.1 builds zlib-ng through cmake
//! (`libz-ng-sys`) whatever features are chosen, a C toolchain and cmake the
//! Lambda package's cross build does not otherwise need, so the scheme is
//! written here on flate2 (the zlib-rs backend, pure Rust), whose raw
//! `Compress` takes a dictionary.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::num::NonZeroUsize;

use crossbeam_channel::{Receiver, Sender};
use flate2::{Compress, Crc, FlushCompress, Status};

/// Uncompressed bytes per chunk. pigz uses 128 KiB; 1 MiB here, so that
/// loading the 32 KiB dictionary (hashing it into deflate's tables) costs
/// about 3% of a chunk's work instead of about 25%, and a hand-off to a
/// worker comes once per megabyte. Landing objects are megabytes, so a
/// chunk this size still spreads them over the cores. The sizes were not
/// compared by measurement (see docs/bench/results.md, "Output
/// compression", for what was).
pub(crate) const CHUNK: usize = 1 << 20;

/// deflate's window: how much of the previous chunk a chunk may refer to.
const WINDOW: usize = 32 << 10;

/// Chunks in flight per worker thread (being compressed, or waiting to be
/// written in order).
const IN_FLIGHT_PER_THREAD: usize = 2;

/// The room a chunk's output gets: deflate's worst case (stored blocks,
/// 5 bytes per 16 KiB and more) with a wide margin.
const OUT_BOUND: usize = CHUNK + CHUNK / 8 + 1024;

/// The most bytes a writer on `threads` threads holds: the chunk being
/// filled, its dictionary and the next one's, and each chunk in flight
/// with its dictionary and its output. Buffers are reused, and one is
/// allocated only when none is free, so these are also the most ever
/// allocated.
pub(crate) fn gzip_memory(threads: NonZeroUsize) -> u64 {
    let limit = in_flight(threads).max(1) as u64;
    let (chunk, window, out) = (CHUNK as u64, WINDOW as u64, OUT_BOUND as u64);
    (limit + 1) * chunk + (limit + 2) * window + limit * out
}

/// Chunks in flight on `threads` threads (none on one: it compresses on
/// the calling thread).
fn in_flight(threads: NonZeroUsize) -> usize {
    if threads.get() == 1 {
        0
    } else {
        threads.get() * IN_FLIGHT_PER_THREAD
    }
}

/// A gzip writer that compresses on `threads` threads; see the module
/// documentation.
pub(crate) struct ParallelGzip<W: Write> {
    inner: W,
    level: u32,
    /// [`CHUNK`], but for measurements.
    chunk_size: usize,
    /// The chunk being filled (up to [`CHUNK`] bytes).
    chunk: Vec<u8>,
    /// The dictionary of the chunk being filled: the last [`WINDOW`] bytes
    /// of the one before.
    dictionary: Vec<u8>,
    /// The CRC-32 and length of every chunk written so far.
    crc: Crc,
    header_written: bool,
    /// What compresses: this thread, or a pool.
    engine: Engine,
    /// Buffers free for reuse.
    spare: Spare,
    /// Set when a call failed: every later call fails the same way.
    failed: Option<(io::ErrorKind, String)>,
}

enum Engine {
    Here(Box<Compress>),
    Pool(Pool),
}

/// Free buffers, one list per use, so each keeps its size.
#[derive(Default)]
struct Spare {
    data: Vec<Vec<u8>>,
    dictionaries: Vec<Vec<u8>>,
    outs: Vec<Vec<u8>>,
}

impl Spare {
    fn take(list: &mut Vec<Vec<u8>>, capacity: usize) -> Vec<u8> {
        let mut buf = list.pop().unwrap_or_default();
        buf.clear();
        buf.reserve(capacity);
        buf
    }

    fn data(&mut self) -> Vec<u8> {
        Spare::take(&mut self.data, CHUNK)
    }

    fn dictionary(&mut self) -> Vec<u8> {
        Spare::take(&mut self.dictionaries, WINDOW)
    }

    fn out(&mut self) -> Vec<u8> {
        Spare::take(&mut self.outs, OUT_BOUND)
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        [&self.data, &self.dictionaries, &self.outs]
            .into_iter()
            .flatten()
            .map(Vec::capacity)
            .sum()
    }
}

/// Worker threads and the chunks given to them, oldest first.
struct Pool {
    jobs: Option<Sender<Job>>,
    /// Each chunk's reply, with the bytes its buffers hold.
    pending: VecDeque<(Receiver<Done>, usize)>,
    limit: usize,
    workers: Vec<std::thread::JoinHandle<()>>,
}

struct Job {
    data: Vec<u8>,
    dictionary: Vec<u8>,
    out: Vec<u8>,
    last: bool,
    reply: Sender<Done>,
}

struct Done {
    data: Vec<u8>,
    dictionary: Vec<u8>,
    out: Vec<u8>,
    result: Result<(), String>,
    crc: Crc,
}

impl<W: Write> ParallelGzip<W> {
    /// A writer at `level` (1 to 9) on `threads` threads.
    pub(crate) fn new(inner: W, level: u32, threads: NonZeroUsize) -> ParallelGzip<W> {
        let here = || {
            Engine::Here(Box::new(Compress::new(
                flate2::Compression::new(level),
                false,
            )))
        };
        let engine = if threads.get() == 1 {
            here()
        } else {
            match Pool::start(level, threads) {
                Some(pool) => Engine::Pool(pool),
                // No thread could start: the same bytes, on this thread.
                None => here(),
            }
        };
        let mut spare = Spare::default();
        ParallelGzip {
            inner,
            level,
            chunk_size: CHUNK,
            chunk: spare.data(),
            dictionary: Vec::new(),
            crc: Crc::new(),
            header_written: false,
            engine,
            spare,
            failed: None,
        }
    }

    /// A writer with chunks of `chunk_size` bytes, to measure sizes.
    #[cfg(test)]
    pub(crate) fn with_chunk_size(
        inner: W,
        level: u32,
        threads: NonZeroUsize,
        chunk_size: usize,
    ) -> ParallelGzip<W> {
        let mut w = ParallelGzip::new(inner, level, threads);
        w.chunk_size = chunk_size;
        w
    }

    pub(crate) fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The bytes its buffers hold now (capacities): the chunk being
    /// filled, the dictionaries, the free buffers and the chunks in flight.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        let in_flight = match &self.engine {
            Engine::Here(_) => 0,
            Engine::Pool(pool) => pool.pending.iter().map(|(_, bytes)| bytes).sum(),
        };
        self.chunk.capacity() + self.dictionary.capacity() + self.spare.bytes() + in_flight
    }

    /// Runs `step`, remembering its error for every later call.
    fn sticky<T>(&mut self, step: impl FnOnce(&mut Self) -> io::Result<T>) -> io::Result<T> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        step(self).inspect_err(|e| {
            self.failed = Some((e.kind(), e.to_string()));
        })
    }

    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            // No name, no time (deterministic output); XFL as flate2 and
            // GNU gzip set it for the fastest and the best levels; OS
            // unknown, as flate2 writes it.
            let xfl = match self.level {
                9 => 2,
                1 => 4,
                _ => 0,
            };
            self.inner
                .write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff])?;
            self.header_written = true;
        }
        Ok(())
    }

    /// Compresses the filled chunk (the last one when `last`) and writes
    /// what is ready, in order.
    fn submit(&mut self, last: bool) -> io::Result<()> {
        self.write_header()?;
        // The next chunk's dictionary: this one's end.
        let mut next = self.spare.dictionary();
        next.extend_from_slice(&self.chunk[self.chunk.len().saturating_sub(WINDOW)..]);
        let dictionary = std::mem::replace(&mut self.dictionary, next);
        match &mut self.engine {
            Engine::Here(compress) => {
                let mut out = self.spare.out();
                let result = deflate_chunk(
                    compress,
                    self.level,
                    &dictionary,
                    &self.chunk,
                    last,
                    &mut out,
                );
                self.crc.update(&self.chunk);
                self.chunk.clear();
                self.spare.dictionaries.push(dictionary);
                result.map_err(io::Error::other)?;
                self.inner.write_all(&out)?;
                self.spare.outs.push(out);
            }
            Engine::Pool(pool) => {
                while pool.pending.len() >= pool.limit {
                    pool.write_oldest(&mut self.inner, &mut self.crc, &mut self.spare)?;
                }
                let data = std::mem::replace(&mut self.chunk, self.spare.data());
                let out = self.spare.out();
                pool.send(data, dictionary, out, last)?;
                pool.write_ready(&mut self.inner, &mut self.crc, &mut self.spare)?;
            }
        }
        Ok(())
    }

    /// Compresses what is left, writes the trailer, flushes and returns the
    /// inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.sticky(|w| {
            w.submit(true)?;
            if let Engine::Pool(pool) = &mut w.engine {
                while !pool.pending.is_empty() {
                    pool.write_oldest(&mut w.inner, &mut w.crc, &mut w.spare)?;
                }
                pool.stop();
            }
            let mut trailer = [0u8; 8];
            trailer[..4].copy_from_slice(&w.crc.sum().to_le_bytes());
            trailer[4..].copy_from_slice(&w.crc.amount().to_le_bytes());
            w.inner.write_all(&trailer)?;
            w.inner.flush()
        })?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        self.sticky(|w| {
            while !buf.is_empty() {
                let room = w.chunk_size - w.chunk.len();
                let (now, rest) = buf.split_at(room.min(buf.len()));
                w.chunk.extend_from_slice(now);
                buf = rest;
                if w.chunk.len() == w.chunk_size {
                    w.submit(false)?;
                }
            }
            Ok(())
        })
    }

    /// Writes the chunks compressed so far and flushes the inner writer.
    /// The chunk being filled stays: cutting it here would make the bytes
    /// depend on when flushes happen.
    fn flush(&mut self) -> io::Result<()> {
        self.sticky(|w| {
            if let Engine::Pool(pool) = &mut w.engine {
                pool.write_ready(&mut w.inner, &mut w.crc, &mut w.spare)?;
            }
            w.inner.flush()
        })
    }
}

impl Pool {
    /// Starts `threads` workers; `None` when not even one starts.
    fn start(level: u32, threads: NonZeroUsize) -> Option<Pool> {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        let workers: Vec<_> = (0..threads.get())
            .map_while(|_| {
                let queue = queue.clone();
                std::thread::Builder::new()
                    .name("protoland-gzip".to_owned())
                    .spawn(move || work(&queue, level))
                    .ok()
            })
            .collect();
        if workers.is_empty() {
            return None;
        }
        Some(Pool {
            jobs: Some(jobs),
            pending: VecDeque::new(),
            limit: in_flight(threads),
            workers,
        })
    }

    fn send(
        &mut self,
        data: Vec<u8>,
        dictionary: Vec<u8>,
        out: Vec<u8>,
        last: bool,
    ) -> io::Result<()> {
        let bytes = data.capacity() + dictionary.capacity() + out.capacity();
        let (reply, done) = crossbeam_channel::bounded(1);
        let job = Job {
            data,
            dictionary,
            out,
            last,
            reply,
        };
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !sent {
            return Err(worker_gone());
        }
        self.pending.push_back((done, bytes));
        Ok(())
    }

    /// Waits for the oldest chunk and writes it.
    fn write_oldest<W: Write>(
        &mut self,
        inner: &mut W,
        crc: &mut Crc,
        spare: &mut Spare,
    ) -> io::Result<()> {
        if let Some((done, _)) = self.pending.pop_front() {
            // A worker that panicked dropped the reply's sender with the job.
            let done = done.recv().map_err(|_| worker_gone())?;
            write_done(done, inner, crc, spare)?;
        }
        Ok(())
    }

    /// Writes the chunks at the front that are compressed, without waiting.
    fn write_ready<W: Write>(
        &mut self,
        inner: &mut W,
        crc: &mut Crc,
        spare: &mut Spare,
    ) -> io::Result<()> {
        while let Some((front, _)) = self.pending.front() {
            match front.try_recv() {
                Ok(done) => {
                    self.pending.pop_front();
                    write_done(done, inner, crc, spare)?;
                }
                Err(crossbeam_channel::TryRecvError::Empty) => break,
                Err(crossbeam_channel::TryRecvError::Disconnected) => return Err(worker_gone()),
            }
        }
        Ok(())
    }

    /// Closes the queue and waits for the workers (all idle by now).
    fn stop(&mut self) {
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// Writes a compressed chunk, adds its CRC and keeps its buffers.
fn write_done<W: Write>(
    done: Done,
    inner: &mut W,
    crc: &mut Crc,
    spare: &mut Spare,
) -> io::Result<()> {
    done.result.map_err(io::Error::other)?;
    inner.write_all(&done.out)?;
    crc.combine(&done.crc);
    spare.data.push(done.data);
    spare.dictionaries.push(done.dictionary);
    spare.outs.push(done.out);
    Ok(())
}

impl Drop for Pool {
    /// Closes the queue; the workers end after their current chunk, and
    /// are not waited for (their replies go nowhere).
    fn drop(&mut self) {
        self.jobs = None;
    }
}

fn worker_gone() -> io::Error {
    io::Error::other("a gzip compression thread panicked")
}

/// A chunk that starts with these bytes panics its worker (tests only).
#[cfg(test)]
pub(crate) const PANIC_MARK: &[u8] = b"\0protoland: panic in the gzip worker\0";

/// A worker: compresses chunks until the queue closes.
fn work(queue: &Receiver<Job>, level: u32) {
    let mut compress = Compress::new(flate2::Compression::new(level), false);
    while let Ok(mut job) = queue.recv() {
        // A worker that panics (a bug) drops the job's reply: the writer
        // then fails with an error, never waits forever. Tests trip it.
        #[cfg(test)]
        assert!(!job.data.starts_with(PANIC_MARK), "test panic");
        let mut crc = Crc::new();
        crc.update(&job.data);
        let result = deflate_chunk(
            &mut compress,
            level,
            &job.dictionary,
            &job.data,
            job.last,
            &mut job.out,
        );
        let _ = job.reply.send(Done {
            data: job.data,
            dictionary: job.dictionary,
            out: job.out,
            result,
            crc,
        });
    }
}

/// Raw-deflates `data` into `out` (cleared first), with `dictionary` as
/// the window before it, ending with a sync flush (byte-aligned, more
/// blocks may follow) or, when `last`, the final block.
fn deflate_chunk(
    compress: &mut Compress,
    level: u32,
    dictionary: &[u8],
    data: &[u8],
    last: bool,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let failed = |e: flate2::CompressError| format!("gzip compression failed: {e}");
    // A fresh deflate state for every chunk rather than a reset one: the
    // bytes must not depend on which chunk a state compressed before (a
    // pool's workers take chunks in no fixed order), and a reset state was
    // seen to give other bytes than a new one.
    *compress = Compress::new(flate2::Compression::new(level), false);
    if !dictionary.is_empty() {
        compress.set_dictionary(dictionary).map_err(failed)?;
    }
    out.clear();
    // Enough for incompressible input (stored blocks) in one call; the
    // loop below only matters if that estimate were short.
    out.reserve(data.len() + data.len() / 8 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let start = compress.total_in();
    loop {
        let consumed = (compress.total_in() - start) as usize;
        let status = compress
            .compress_vec(&data[consumed..], out, flush)
            .map_err(failed)?;
        let all_in = (compress.total_in() - start) as usize == data.len();
        let done = match status {
            Status::StreamEnd => true,
            // Output space left over means the flush is complete.
            Status::Ok | Status::BufError => !last && all_in && out.len() < out.capacity(),
        };
        if done {
            return Ok(());
        }
        out.reserve(out.capacity().max(64 << 10));
    }
}
