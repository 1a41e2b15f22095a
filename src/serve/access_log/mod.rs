//! The access log's writer: `--log-format pretty|combined|json` lines, to stderr or to
//! `--access-log FILE`, formatted and written on a thread of their own so a request only pays
//! for handing over a record. Each logging thread hands records over on a bounded shelf of its
//! own that the writer empties every [`POLL_INTERVAL`]: when the writer falls behind, records
//! are counted and dropped, never waited for, and the drop count is reported.
//!
//! On one core the writer shares the CPU with the server, so what it costs is what the log
//! costs: records carry nothing on the heap, shelves are reused (in cache), and [`format`]
//! writes lines by hand.

use std::cell::OnceCell;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderValue, Method, StatusCode};

mod format;
mod text;

pub use format::{Formatter, LogFormat};
pub use text::Target;

/// Records one thread may have waiting for the writer before new ones are dropped. Default
/// 16 384: 80 ms of one core's fastest rate (over 200k req/s of small files), 8 times what
/// the writer takes in a [`POLL_INTERVAL`] at that rate, for bursts and a slow disk. Records
/// (280 bytes) sit on the shelf itself, not boxed: at most ~4.4 MiB per thread, and only as
/// much as a burst needed; past it the server keeps serving and counts.
pub const ACCESS_LOG_QUEUE: usize = 16_384;

/// How often a busy writer empties the shelves. Default 10 ms: the writer polls rather than
/// being woken per record, because waking a sleeping thread costs the request a system call
/// (measured with a channel: about 30 % of small-file throughput).
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Empty polls after which the writer parks until the next record wakes it (idle server: no
/// wake-ups). Default 50, half a second of quiet.
const IDLE_POLLS: u32 = 50;

/// Longest the idle writer parks without being woken: only a safety net, as every record and
/// [`flush`] wakes it. Default 5 s.
const PARK_LIMIT: Duration = Duration::from_secs(5);

/// Bytes of formatted lines the writer gathers before one write. Default 64 KiB: few system
/// calls under load; lines are always written whole.
const WRITE_BATCH: usize = 64 * 1024;

/// The protocol a response went out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    H2,
    H1,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::H2 => "h2",
            Proto::H1 => "h1",
        }
    }
}

/// The method a pushed response is logged with (there was no request).
pub fn push_method() -> Method {
    static PUSH: OnceLock<Method> = OnceLock::new();
    PUSH.get_or_init(|| Method::from_bytes(b"PUSH").expect("PUSH is a method token"))
        .clone()
}

/// One response, owned, as handed to the writer. For a usual request nothing in it is on the
/// heap (the method and a target up to [`text::TARGET_INLINE`] bytes are inline; header values
/// share the request's buffers): logging allocates nothing, and the writer thread frees nothing
/// the worker allocated.
#[derive(Debug)]
pub struct Record {
    /// When the response ended; the writer turns it into wall-clock time, so a request reads
    /// the clock once to log itself.
    pub ended: Instant,
    pub peer: SocketAddr,
    pub proto: Proto,
    pub method: Method,
    pub target: Target,
    pub status: StatusCode,
    pub bytes: u64,
    /// From the request's arrival to the response's end, in microseconds.
    pub elapsed_us: u64,
    pub cut: Option<Box<str>>,
    /// For a page: assets pushed and hinted.
    pub early: Option<(u32, u32)>,
    pub user_agent: Option<HeaderValue>,
    pub referer: Option<HeaderValue>,
}

/// Records one thread has logged and the writer has not taken yet. Each thread that logs has
/// its own, so handing over a record is an uncontended lock and a push onto memory the writer
/// just emptied (still in cache), not a slot in a ring the size of the whole queue.
#[derive(Default)]
struct Shelf {
    records: Mutex<Vec<Record>>,
}

struct Sink {
    /// Every logging thread's shelf; a shelf whose thread has ended is removed once empty.
    shelves: Mutex<Vec<Arc<Shelf>>>,
    dropped: AtomicU64,
    /// The writer is idle in `park`: the next record wakes it.
    parked: AtomicBool,
    writer: OnceLock<Thread>,
    /// Callers of [`flush`] waiting for what they logged to be written.
    flushes: Mutex<Vec<SyncSender<()>>>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

thread_local! {
    static SHELF: OnceCell<Arc<Shelf>> = const { OnceCell::new() };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a shelf was locked leaves only whole records in it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the writer: from now on [`send`] takes the access log. `file` is opened for
/// appending (created when missing); `None` writes to stderr. Only the first call counts.
pub fn install(format: LogFormat, file: Option<&std::path::Path>) -> std::io::Result<()> {
    let out: Box<dyn Write + Send> = match file {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        None => Box::new(std::io::stderr()),
    };
    let sink = Sink {
        shelves: Mutex::default(),
        dropped: AtomicU64::new(0),
        parked: AtomicBool::new(false),
        writer: OnceLock::new(),
        flushes: Mutex::default(),
    };
    if SINK.set(sink).is_ok() {
        let sink = SINK.get().expect("just set");
        let writer = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_loop(sink, out, format))?;
        let _ = sink.writer.set(writer.thread().clone());
    }
    Ok(())
}

/// Whether [`install`] ran: otherwise the access log goes through `tracing`.
pub fn installed() -> bool {
    SINK.get().is_some()
}

/// Hands a record to the writer without waiting; a full shelf drops it and counts.
pub fn send(record: Record) {
    let Some(sink) = SINK.get() else { return };
    let kept = SHELF.try_with(|shelf| {
        let shelf = shelf.get_or_init(|| {
            let shelf = Arc::new(Shelf::default());
            lock(&sink.shelves).push(Arc::clone(&shelf));
            shelf
        });
        let mut records = lock(&shelf.records);
        if records.len() >= ACCESS_LOG_QUEUE {
            return false;
        }
        records.push(record);
        true
    });
    if kept != Ok(true) {
        sink.dropped.fetch_add(1, Ordering::Relaxed);
    }
    if sink.parked.load(Ordering::SeqCst) && sink.parked.swap(false, Ordering::SeqCst) {
        wake(sink);
    }
}

fn wake(sink: &Sink) {
    if let Some(writer) = sink.writer.get() {
        writer.unpark();
    }
}

/// Waits (up to `limit`) for the records logged so far to be written: at shutdown.
pub fn flush(limit: Duration) {
    let Some(sink) = SINK.get() else { return };
    let (done, wait) = sync_channel(1);
    lock(&sink.flushes).push(done);
    wake(sink);
    let _ = wait.recv_timeout(limit);
}

fn write_loop(sink: &Sink, mut out: Box<dyn Write + Send>, format: LogFormat) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut spare = Vec::new();
    let mut reported = 0;
    let mut empty_polls = 0;
    let mut lines = Formatter::new(format);
    loop {
        // Answered after this round, which takes everything logged before they asked.
        let waiting = std::mem::take(&mut *lock(&sink.flushes));
        // One wall-clock reading per round; a record's time is that less how long ago it ended.
        let now = (SystemTime::now(), Instant::now());
        let shelves = lock(&sink.shelves).clone();
        let mut taken = 0;
        for shelf in &shelves {
            std::mem::swap(&mut *lock(&shelf.records), &mut spare);
            taken += spare.len();
            for record in spare.drain(..) {
                lines.line(&mut batch, &record, now);
                if batch.len() >= WRITE_BATCH {
                    write_out(&mut out, &mut batch);
                }
            }
        }
        drop(shelves);
        // A thread that ended dropped its own reference: nothing more comes from it.
        lock(&sink.shelves)
            .retain(|shelf| Arc::strong_count(shelf) > 1 || !lock(&shelf.records).is_empty());
        let dropped = sink.dropped.load(Ordering::Relaxed);
        if dropped > reported {
            tracing::warn!(
                dropped = dropped - reported,
                total = dropped,
                "access log: the writer fell behind, lines dropped"
            );
            reported = dropped;
        }
        write_out(&mut out, &mut batch);
        for done in waiting {
            let _ = done.send(());
        }

        // Poll while busy; after a quiet spell, park until a record comes (see POLL_INTERVAL).
        empty_polls = if taken == 0 { empty_polls + 1 } else { 0 };
        if empty_polls < IDLE_POLLS {
            std::thread::sleep(POLL_INTERVAL);
            continue;
        }
        sink.parked.store(true, Ordering::SeqCst);
        let pending = lock(&sink.shelves)
            .iter()
            .any(|shelf| !lock(&shelf.records).is_empty());
        if !pending && lock(&sink.flushes).is_empty() {
            std::thread::park_timeout(PARK_LIMIT);
        }
        sink.parked.store(false, Ordering::SeqCst);
    }
}

fn write_out(out: &mut Box<dyn Write + Send>, batch: &mut Vec<u8>) {
    if batch.is_empty() {
        return;
    }
    if let Err(err) = out.write_all(batch).and_then(|()| out.flush()) {
        tracing::warn!(cause = %err, "writing the access log failed");
    }
    batch.clear();
}

#[cfg(test)]
#[test]
fn records_stay_small() {
    // A full shelf's memory is this times ACCESS_LOG_QUEUE.
    assert!(
        std::mem::size_of::<Record>() <= 280,
        "{}",
        std::mem::size_of::<Record>()
    );
}
