//! Admission: which connections get the server's sockets and handshake slots when more arrive
//! than it can hold, telling a flash crowd (every client talks at once) from an attack
//! (clients that connect and make no progress).
//!
//! A connection passes three gates before its first request:
//! 1. **Silent**: accepted, waiting for the client's first bytes. It holds only a socket.
//!    When the accept loop runs out of sockets, connections silent for longer than
//!    [`IDLE_HANDSHAKE_DEADLINE`] are closed to make room ([`Admission::evict_silent`]).
//! 2. **Handshake slot** (TLS only; the cleartext port's preface sniff takes none): at most
//!    `max_handshakes` TLS handshakes at once. A client past the cap waits for a slot; a slot
//!    whose handshake has run longer than [`SLOW_HANDSHAKE_DEADLINE`] (a slow drip) is taken
//!    from it for the waiting client. A client that finishes its handshake is never evicted,
//!    nor one whose bytes wait unread in its socket (the delay is then the server's).
//! 3. **Connection slot** (`serve::listen`): established connections, with idle ones reclaimed.
//!
//! Every connection closed before its first request is counted by reason in [`Refusals`] and
//! logged, throttled per reason.

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::config::{IDLE_HANDSHAKE_DEADLINE, SLOW_HANDSHAKE_DEADLINE};
use crate::throttle::Throttle;

/// Why a connection was closed before its first request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It sent nothing for [`IDLE_HANDSHAKE_DEADLINE`] while the server ran out of sockets.
    Silent,
    /// Its TLS handshake ran past [`SLOW_HANDSHAKE_DEADLINE`] while others waited for a slot.
    SlowHandshake,
    /// It did not finish its handshake within `--handshake-timeout`.
    HandshakeTimeout,
    /// The TLS handshake failed (a protocol error, or the client closed).
    HandshakeFailed,
    /// Every event-stream slot was taken: answered 503 with `Retry-After`.
    EventStreamsFull,
}

const REASONS: usize = 5;

impl Refusal {
    fn index(self) -> usize {
        self as usize
    }

    pub fn describe(self) -> &'static str {
        match self {
            Refusal::Silent => "silent past the idle-handshake deadline while sockets ran out",
            Refusal::SlowHandshake => {
                "handshake past the slow-handshake deadline while clients waited for a slot"
            }
            Refusal::HandshakeTimeout => "handshake timed out",
            Refusal::HandshakeFailed => "handshake failed",
            Refusal::EventStreamsFull => "event streams full (503 + Retry-After)",
        }
    }
}

/// Refusals counted by reason, each reason's warning throttled on its own.
#[derive(Debug, Default)]
pub struct Refusals {
    counts: [AtomicU64; REASONS],
    throttles: [Throttle; REASONS],
}

impl Refusals {
    /// Counts one refusal and logs it (the first, then one line per interval with a count).
    /// A failed TLS handshake is the client's doing (a health check that connects and closes,
    /// a scanner): counted, logged at debug only.
    pub fn refuse(&self, why: Refusal) {
        let total = self.counts[why.index()].fetch_add(1, Ordering::Relaxed) + 1;
        if why == Refusal::HandshakeFailed {
            return;
        }
        if let Some(held) = self.throttles[why.index()].admit() {
            warn!(
                reason = why.describe(),
                total,
                similar_warnings_held_back = held,
                "client refused"
            );
        }
    }

    /// How many were refused for `why` since the server started.
    pub fn count(&self, why: Refusal) -> u64 {
        self.counts[why.index()].load(Ordering::Relaxed)
    }
}

/// Connections waiting for their first bytes, and TLS handshakes in their slots.
#[derive(Debug)]
pub struct Admission {
    max_handshakes: usize,
    next: AtomicU64,
    silent: Mutex<VecDeque<Entry>>,
    handshakes: Mutex<VecDeque<Entry>>,
    freed: Notify,
}

#[derive(Debug)]
struct Entry {
    id: u64,
    since: Instant,
    token: CancellationToken,
    /// The connection's socket, to ask the kernel whether the client sent bytes we have not
    /// read yet (then the delay is ours, not the client's). Valid while the ticket lives: the
    /// connection's task holds the socket until after it drops its ticket.
    fd: Option<RawFd>,
}

impl Entry {
    /// Whether this connection made no progress for `deadline`: it has been on its list that
    /// long and the client has nothing waiting for us to read. A busy server that has not got
    /// round to a client's bytes does not blame the client.
    fn stalled(&self, now: Instant, deadline: Duration) -> bool {
        now >= self.since + deadline && unread_bytes(self.fd) == 0
    }
}

/// Bytes the client sent that wait in the socket's receive queue (`FIONREAD`); 0 when unknown.
fn unread_bytes(fd: Option<RawFd>) -> usize {
    let Some(fd) = fd else { return 0 };
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int; the fd is open while its entry is listed.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } != 0 {
        return 0;
    }
    usize::try_from(n).unwrap_or(0)
}

/// How often a client waiting for a slot looks again when every stale handshake still has
/// bytes waiting for the server.
const RECHECK_EVERY: Duration = Duration::from_millis(100);

/// Which of the two lists a [`Ticket`] is on.
#[derive(Debug, Clone, Copy)]
enum List {
    Silent,
    Handshake,
}

impl Admission {
    pub fn new(max_handshakes: usize) -> Self {
        Admission {
            max_handshakes: max_handshakes.max(1),
            next: AtomicU64::new(0),
            silent: Mutex::default(),
            handshakes: Mutex::default(),
            freed: Notify::new(),
        }
    }

    fn entry(&self, fd: Option<RawFd>) -> Entry {
        Entry {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            since: Instant::now(),
            token: CancellationToken::new(),
            fd,
        }
    }

    fn ticket<'a>(&'a self, list: List, entry: &Entry) -> Ticket<'a> {
        Ticket {
            id: entry.id,
            token: entry.token.clone(),
            list,
            admission: self,
        }
    }

    /// A place among the silent connections (socket `fd`), until the client's first bytes
    /// arrive.
    pub fn silent(&self, fd: Option<RawFd>) -> Ticket<'_> {
        let entry = self.entry(fd);
        let ticket = self.ticket(List::Silent, &entry);
        lock(&self.silent).push_back(entry);
        ticket
    }

    /// Closes every connection silent for longer than [`IDLE_HANDSHAKE_DEADLINE`]; called when
    /// the accept loop has no socket for a new client. Returns how many were closed.
    pub fn evict_silent(&self) -> usize {
        let now = Instant::now();
        let mut silent = lock(&self.silent);
        let old = silent
            .iter()
            .take_while(|e| now >= e.since + IDLE_HANDSHAKE_DEADLINE)
            .count();
        let before = silent.len();
        let mut seen = 0;
        silent.retain(|e| {
            seen += 1;
            let evict = seen <= old && e.stalled(now, IDLE_HANDSHAKE_DEADLINE);
            if evict {
                e.token.cancel();
            }
            !evict
        });
        before - silent.len()
    }

    /// A TLS handshake slot for socket `fd`: a free one, or one whose handshake has made no
    /// progress for [`SLOW_HANDSHAKE_DEADLINE`] (its holder is evicted); otherwise waits.
    pub async fn handshake(&self, fd: Option<RawFd>) -> Ticket<'_> {
        loop {
            let notified = self.freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wake = {
                let mut slots = lock(&self.handshakes);
                let now = Instant::now();
                let full = slots.len() >= self.max_handshakes;
                let stalled = || {
                    slots
                        .iter()
                        .position(|e| e.stalled(now, SLOW_HANDSHAKE_DEADLINE))
                };
                let room = !full || stalled().is_some();
                if room {
                    if full {
                        let at = stalled().expect("found above");
                        slots.remove(at).expect("in range").token.cancel();
                    }
                    let entry = self.entry(fd);
                    let ticket = self.ticket(List::Handshake, &entry);
                    slots.push_back(entry);
                    return ticket;
                }
                let oldest = slots.front().expect("full").since + SLOW_HANDSHAKE_DEADLINE;
                oldest.max(now + RECHECK_EVERY.min(SLOW_HANDSHAKE_DEADLINE))
            };
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Connections silent now, and TLS handshakes in their slots.
    pub fn in_progress(&self) -> (usize, usize) {
        (lock(&self.silent).len(), lock(&self.handshakes).len())
    }
}

fn lock(list: &Mutex<VecDeque<Entry>>) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
    list.lock().expect("admission lists poisoned")
}

/// One connection's place on a list; dropping it gives the place back.
pub struct Ticket<'a> {
    id: u64,
    token: CancellationToken,
    list: List,
    admission: &'a Admission,
}

impl Ticket<'_> {
    /// Resolves when the connection lost its place to another client.
    pub async fn evicted(&self) {
        self.token.cancelled().await
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let list = match self.list {
            List::Silent => &self.admission.silent,
            List::Handshake => &self.admission.handshakes,
        };
        let mut list = lock(list);
        if let Some(at) = list.iter().position(|e| e.id == self.id) {
            list.remove(at);
        }
        drop(list);
        if matches!(self.list, List::Handshake) {
            self.admission.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_set_of_slots_waits_then_evicts_only_a_slow_handshake() {
        let admission = Admission::new(2);
        let first = admission.handshake(None).await;
        let _second = admission.handshake(None).await;
        let third = admission.handshake(None);
        tokio::pin!(third);
        let waited = tokio::time::timeout(Duration::from_millis(500), third.as_mut()).await;
        assert!(waited.is_err(), "no slot is free and none is slow yet");
        assert!(!first.token.is_cancelled());
        let _third = third.await;
        assert!(
            first.token.is_cancelled(),
            "past the deadline the oldest lost its slot"
        );
        assert_eq!(admission.in_progress(), (0, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_freed_slot_goes_to_a_waiting_client_at_once() {
        let admission = Admission::new(1);
        let first = admission.handshake(None).await;
        let waiting = admission.handshake(None);
        tokio::pin!(waiting);
        assert!(futures_util::poll!(waiting.as_mut()).is_pending());
        drop(first);
        let started = tokio::time::Instant::now();
        let _second = waiting.await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn only_connections_silent_past_the_deadline_are_evicted() {
        let admission = Admission::new(1);
        let old = admission.silent(None);
        tokio::time::advance(IDLE_HANDSHAKE_DEADLINE).await;
        let fresh = admission.silent(None);
        assert_eq!(admission.evict_silent(), 1);
        assert!(old.token.is_cancelled());
        assert!(!fresh.token.is_cancelled());
        assert_eq!(admission.in_progress(), (1, 0));
    }

    #[test]
    fn refusals_are_counted_by_reason() {
        let refusals = Refusals::default();
        refusals.refuse(Refusal::Silent);
        refusals.refuse(Refusal::Silent);
        assert_eq!(refusals.count(Refusal::Silent), 2);
        assert_eq!(refusals.count(Refusal::SlowHandshake), 0);
    }
}
