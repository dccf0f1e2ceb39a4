//! gzip output compressed on several threads, as a series of members.
//!
//! The uncompressed stream is cut into chunks of [`CHUNK`] bytes, wherever
//! the writes happen to end, and each chunk becomes one whole gzip member
//! (header, deflate data, CRC-32 and length) compressed by libdeflate. A
//! gzip file may hold any number of members, read one after the other as
//! one stream (RFC 1952, 2.2): GNU gzip, Python's `gzip`, DuckDB,
//! pyarrow, Spark (Hadoop's codec) and this crate's reader do, and the
//! tests read the output with each of them.
//!
//! Members, not one member cut into blocks as pigz writes it, because
//! libdeflate compresses whole buffers and takes no dictionary: a chunk
//! cannot refer back into the one before. Even so, at level 6 on the
//! benchmark's NDJSON (the compressor alone, one core), libdeflate's 1 MiB
//! members took 5% (clickstream) to 27% (telemetry) less CPU than zlib-rs
//! (flate2's backend, used here before) on one stream, and came out 2%
//! smaller; docs/bench/results.md, "The deployed path", has the whole
//! path's figures.
//!
//! The bytes depend on the input and the level only: the chunk boundaries
//! are fixed offsets, libdeflate keeps nothing from one call to the next,
//! and its header has no time or name. So one thread and four give the
//! same output. One thread compresses on the calling thread (no pool);
//! more start a pool that holds at most two chunks per thread, compressed
//! or waiting, so memory stays bounded whatever the writer behind is doing.
//!
//! The `gzp` crate compresses in parallel too, and its Mgzip format is
//! members like these (with the block size in an extra header field), by
//! libdeflate; but its 1.0.1 builds zlib-ng through cmake (`libz-ng-sys`)
//! whatever features are chosen, a toolchain the Lambda package's cross
//! build does not otherwise need, so the pool is written here. gzp 2.0,
//! released since, has not been evaluated.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::num::NonZeroUsize;

use crossbeam_channel::{Receiver, Sender};
use libdeflater::{CompressionLvl, Compressor};

/// Uncompressed bytes per chunk, so per member: big enough that a member's
/// header and trailer (18 bytes) and its fresh start (no earlier data to
/// refer to) cost little, small enough to spread an object of a few
/// megabytes over the cores.
pub(crate) const CHUNK: usize = 1 << 20;

/// Chunks in flight per worker thread (being compressed, or waiting to be
/// written in order).
const IN_FLIGHT_PER_THREAD: usize = 2;

/// The room a chunk's member gets: libdeflate's bound for a full chunk
/// (stored blocks and the gzip header and trailer), with a margin.
const OUT_BOUND: usize = CHUNK + CHUNK / 8 + 1024;

/// What one libdeflate compressor allocates at levels 1 to 9, rounded up:
/// 668,295 bytes at levels 2 to 9 (its hash tables and sequence store),
/// 202,759 at level 1, counted through its allocator hook (libdeflate
/// 1.26). Levels 10 to 12 would take 9 MB; the levels stop at 9.
pub(crate) const COMPRESSOR_BYTES: u64 = 672 << 10;

/// The most bytes a writer on `threads` threads holds in buffers: the
/// chunk being filled, and each chunk in flight with its output. Buffers
/// are reused, and one is allocated only when none is free, so these are
/// also the most ever allocated. (The compressors come on top:
/// [`COMPRESSOR_BYTES`] a thread.)
pub(crate) fn gzip_memory(threads: NonZeroUsize) -> u64 {
    let limit = in_flight(threads).max(1) as u64;
    (limit + 1) * CHUNK as u64 + limit * OUT_BOUND as u64
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
    /// [`CHUNK`], but for measurements.
    chunk_size: usize,
    /// The chunk being filled (up to [`CHUNK`] bytes).
    chunk: Vec<u8>,
    /// Whether a member has been written: an empty stream still gets one.
    wrote_member: bool,
    /// What compresses: this thread, or a pool.
    engine: Engine,
    /// Buffers free for reuse.
    spare: Spare,
    /// Set when a call failed: every later call fails the same way.
    failed: Option<(io::ErrorKind, String)>,
}

enum Engine {
    Here(Box<Compressor>),
    Pool(Pool),
}

/// Free buffers, one list per use, so each keeps its size.
#[derive(Default)]
struct Spare {
    data: Vec<Vec<u8>>,
    outs: Vec<Vec<u8>>,
}

impl Spare {
    /// An empty input buffer with room for a chunk.
    fn data(&mut self) -> Vec<u8> {
        let mut buf = self.data.pop().unwrap_or_default();
        buf.clear();
        buf.reserve(CHUNK);
        buf
    }

    /// An output buffer, its length kept from its last use: [`member`]
    /// writes over it rather than zeroing a megabyte first.
    fn out(&mut self) -> Vec<u8> {
        self.outs
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(OUT_BOUND))
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        [&self.data, &self.outs]
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
    out: Vec<u8>,
    reply: Sender<Done>,
}

struct Done {
    data: Vec<u8>,
    out: Vec<u8>,
    /// The member's length at the start of `out`, or why it failed.
    result: Result<usize, String>,
}

/// A libdeflate compressor at `level` (1 to 9, checked before).
fn compressor(level: u32) -> Compressor {
    let level = i32::try_from(level)
        .ok()
        .and_then(|l| CompressionLvl::new(l).ok())
        .unwrap_or_default();
    Compressor::new(level)
}

impl<W: Write> ParallelGzip<W> {
    /// A writer at `level` (1 to 9) on `threads` threads.
    pub(crate) fn new(inner: W, level: u32, threads: NonZeroUsize) -> ParallelGzip<W> {
        let here = || Engine::Here(Box::new(compressor(level)));
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
            chunk_size: CHUNK,
            chunk: spare.data(),
            wrote_member: false,
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
    /// filled, the free buffers and the chunks in flight.
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        let in_flight = match &self.engine {
            Engine::Here(_) => 0,
            Engine::Pool(pool) => pool.pending.iter().map(|(_, bytes)| bytes).sum(),
        };
        self.chunk.capacity() + self.spare.bytes() + in_flight
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

    /// Compresses the filled chunk into a member and writes what is ready,
    /// in order.
    fn submit(&mut self) -> io::Result<()> {
        self.wrote_member = true;
        match &mut self.engine {
            Engine::Here(compressor) => {
                let mut out = self.spare.out();
                let result = member(compressor, &self.chunk, &mut out);
                self.chunk.clear();
                let len = result.map_err(io::Error::other)?;
                self.inner.write_all(&out[..len])?;
                self.spare.outs.push(out);
            }
            Engine::Pool(pool) => {
                while pool.pending.len() >= pool.limit {
                    pool.write_oldest(&mut self.inner, &mut self.spare)?;
                }
                let data = std::mem::replace(&mut self.chunk, self.spare.data());
                let out = self.spare.out();
                pool.send(data, out)?;
                pool.write_ready(&mut self.inner, &mut self.spare)?;
            }
        }
        Ok(())
    }

    /// Compresses what is left (an empty stream still gets a member),
    /// writes every member, flushes and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.sticky(|w| {
            if !w.chunk.is_empty() || !w.wrote_member {
                w.submit()?;
            }
            if let Engine::Pool(pool) = &mut w.engine {
                while !pool.pending.is_empty() {
                    pool.write_oldest(&mut w.inner, &mut w.spare)?;
                }
                pool.stop();
            }
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
                    w.submit()?;
                }
            }
            Ok(())
        })
    }

    /// Writes the members compressed so far and flushes the inner writer.
    /// The chunk being filled stays: cutting it here would make the bytes
    /// depend on when flushes happen.
    fn flush(&mut self) -> io::Result<()> {
        self.sticky(|w| {
            if let Engine::Pool(pool) = &mut w.engine {
                pool.write_ready(&mut w.inner, &mut w.spare)?;
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

    fn send(&mut self, data: Vec<u8>, out: Vec<u8>) -> io::Result<()> {
        let bytes = data.capacity() + out.capacity();
        let (reply, done) = crossbeam_channel::bounded(1);
        let job = Job { data, out, reply };
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
    fn write_oldest<W: Write>(&mut self, inner: &mut W, spare: &mut Spare) -> io::Result<()> {
        if let Some((done, _)) = self.pending.pop_front() {
            // A worker that panicked dropped the reply's sender with the job.
            let done = done.recv().map_err(|_| worker_gone())?;
            write_done(done, inner, spare)?;
        }
        Ok(())
    }

    /// Writes the chunks at the front that are compressed, without waiting.
    fn write_ready<W: Write>(&mut self, inner: &mut W, spare: &mut Spare) -> io::Result<()> {
        while let Some((front, _)) = self.pending.front() {
            match front.try_recv() {
                Ok(done) => {
                    self.pending.pop_front();
                    write_done(done, inner, spare)?;
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

/// Writes a compressed chunk and keeps its buffers.
fn write_done<W: Write>(done: Done, inner: &mut W, spare: &mut Spare) -> io::Result<()> {
    let len = done.result.map_err(io::Error::other)?;
    inner.write_all(&done.out[..len])?;
    spare.data.push(done.data);
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
    let mut compressor = compressor(level);
    while let Ok(mut job) = queue.recv() {
        // A worker that panics (a bug) drops the job's reply: the writer
        // then fails with an error, never waits forever. Tests trip it.
        #[cfg(test)]
        assert!(!job.data.starts_with(PANIC_MARK), "test panic");
        let result = member(&mut compressor, &job.data, &mut job.out);
        let _ = job.reply.send(Done {
            data: job.data,
            out: job.out,
            result,
        });
    }
}

/// Compresses `data` as one gzip member at the start of `out`, which is
/// grown to libdeflate's bound if shorter (and otherwise overwritten, not
/// cleared); returns the member's length.
fn member(compressor: &mut Compressor, data: &[u8], out: &mut Vec<u8>) -> Result<usize, String> {
    let bound = compressor.gzip_compress_bound(data.len());
    if out.len() < bound {
        out.resize(bound, 0);
    }
    compressor
        .gzip_compress(data, out)
        .map_err(|e| format!("gzip compression failed: {e}"))
}
