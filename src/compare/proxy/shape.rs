//! The emulated path, as times: what a [`Shape`] (RTT, bandwidth, slow start) makes of each
//! chunk the proxy reads, i.e. when it may leave ([`Timing`]), with the slow-start window of the
//! proxy's module docs ([`Window`]). Pure: no sockets, so the tests drive it with instants.

use std::time::Duration;

use tokio::time::Instant;

/// Bytes per TCP segment in the slow-start model: a 1,500-byte MTU less the IP and TCP headers
/// and the timestamp option, as on a typical Ethernet path.
pub const MSS: usize = 1448;

/// `--initcwnd` default: Linux's and RFC 6928's initial window, 10 segments.
pub const DEFAULT_INITCWND: u32 = 10;

/// Linux's floor for the retransmission timeout (`TCP_RTO_MIN`).
pub const RTO_MIN: Duration = Duration::from_millis(200);

/// The retransmission timeout of a path with a steady `rtt`: Linux computes SRTT plus
/// `max(4 × RTTVAR, TCP_RTO_MIN)`, and with a steady RTT the variance term is the floor.
pub fn rto(rtt: Duration) -> Duration {
    rtt + RTO_MIN
}

/// What the emulated path looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// Round-trip time added: each direction is delayed by half of it.
    pub rtt: Duration,
    /// Bits per second the server→client direction carries; `None` is unlimited.
    pub down: Option<u64>,
    /// Bits per second the client→server direction carries; `None` is unlimited.
    pub up: Option<u64>,
    /// TCP slow start on the server→client direction, from this many segments; `None` is off.
    pub initcwnd: Option<u32>,
}

impl Shape {
    fn one_way(&self) -> Duration {
        self.rtt / 2
    }

    /// The same path, one direction of it.
    pub(super) fn direction(&self, downstream: bool) -> Direction {
        Direction {
            one_way: self.one_way(),
            bandwidth: if downstream { self.down } else { self.up },
            window: match (downstream, self.initcwnd) {
                (true, Some(segments)) if segments > 0 => {
                    Some(Window::new(segments as usize * MSS, self.rtt))
                }
                _ => None,
            },
        }
    }

    /// One line for logs and reports: `RTT 100ms, 10.0/5.0 Mbit/s, slow start from 10 segments`.
    pub fn describe(&self) -> String {
        let mut out = format!("RTT {:?}", self.rtt);
        let mbit = |b: u64| format!("{:.1}", b as f64 / 1e6);
        match (self.down, self.up) {
            (Some(d), Some(u)) if d == u => out += &format!(", {} Mbit/s each way", mbit(d)),
            (Some(d), Some(u)) => out += &format!(", {}/{} Mbit/s down/up", mbit(d), mbit(u)),
            (Some(d), None) => out += &format!(", {} Mbit/s down", mbit(d)),
            (None, Some(u)) => out += &format!(", {} Mbit/s up", mbit(u)),
            (None, None) => {}
        }
        if let Some(segments) = self.initcwnd {
            out += &format!(", slow start from {segments} segments");
        }
        out
    }
}

/// Round trips slow start needs to deliver `bytes` from `initcwnd` segments when the window
/// doubles every round and nothing else limits it: the smallest `k` with
/// `initcwnd × MSS × (2^k − 1) ≥ bytes`.
pub fn slow_start_round_trips(bytes: usize, initcwnd: u32) -> u32 {
    let first = (initcwnd as usize * MSS).max(1);
    let mut carried = 0usize;
    let mut rounds = 0;
    while carried < bytes {
        carried += first << rounds.min(40);
        rounds += 1;
    }
    rounds
}

/// One direction of the emulated path.
#[derive(Debug, Clone, Copy)]
pub(super) struct Direction {
    one_way: Duration,
    bandwidth: Option<u64>,
    window: Option<Window>,
}

/// The slow-start sender of the module docs: how many bytes may leave in the current round.
#[derive(Debug, Clone, Copy)]
struct Window {
    initial: usize,
    cwnd: usize,
    rtt: Duration,
    /// When the current round's flight began; `None` before the first byte.
    round_start: Option<Instant>,
    /// Bytes sent in the current round.
    in_round: usize,
    /// When the last byte left, for the idle restart.
    last_sent: Option<Instant>,
}

impl Window {
    fn new(initial: usize, rtt: Duration) -> Self {
        Window {
            initial,
            cwnd: initial,
            rtt,
            round_start: None,
            in_round: 0,
            last_sent: None,
        }
    }

    /// Splits `len` bytes handed over at `at` into `(earliest departure, bytes)` pieces, each
    /// inside one round's window.
    fn split(&mut self, at: Instant, mut len: usize, out: &mut Vec<(Instant, usize)>) {
        if let Some(last) = self.last_sent {
            if at > last + rto(self.rtt) {
                self.cwnd = self.cwnd.min(self.initial);
                self.round_start = None;
            }
        }
        while len > 0 {
            let start = match self.round_start {
                None => self.begin_round(at),
                // The last flight's ACKs are back: a new round starts now.
                Some(began) if at >= began + self.rtt => self.next_round(at),
                Some(began) if self.in_round < self.cwnd => at.max(began),
                // The window is full: the rest waits for the ACKs of this flight.
                Some(began) => self.next_round(began + self.rtt),
            };
            let n = (self.cwnd - self.in_round).min(len);
            self.in_round += n;
            len -= n;
            out.push((start, n));
            self.last_sent = Some(start);
        }
    }

    fn begin_round(&mut self, at: Instant) -> Instant {
        self.round_start = Some(at);
        self.in_round = 0;
        at
    }

    fn next_round(&mut self, at: Instant) -> Instant {
        self.cwnd += self.in_round;
        self.begin_round(at)
    }
}

/// When each chunk leaves the emulated link: cut into rounds by the slow-start window (when
/// on), serialized one after the other at the bandwidth, then delayed by the one-way latency.
/// Release times never go backwards, so order is kept.
#[derive(Debug)]
pub(super) struct Timing {
    direction: Direction,
    /// When the link finishes sending what it has been given so far.
    link_free: Option<Instant>,
    /// The latest release time handed out.
    last: Option<Instant>,
}

impl Timing {
    pub(super) fn new(direction: Direction) -> Self {
        Timing {
            direction,
            link_free: None,
            last: None,
        }
    }

    /// Appends to `out` when each piece of `len` bytes that arrived at `arrival` is released.
    pub(super) fn release(
        &mut self,
        arrival: Instant,
        len: usize,
        out: &mut Vec<(Instant, usize)>,
    ) {
        let first = out.len();
        match &mut self.direction.window {
            Some(window) => window.split(arrival, len, out),
            None => out.push((arrival, len)),
        }
        for piece in &mut out[first..] {
            let sent = self.serialize(piece.0, piece.1);
            let at = (sent + self.direction.one_way).max(self.last.unwrap_or(sent));
            self.last = Some(at);
            piece.0 = at;
        }
    }

    /// When the end of the stream reaches the other side: after everything before it.
    pub(super) fn end(&mut self, arrival: Instant) -> Instant {
        let at = arrival + self.direction.one_way;
        at.max(self.last.unwrap_or(at))
    }

    /// When `len` bytes that may leave at `ready` have been put on the wire.
    fn serialize(&mut self, ready: Instant, len: usize) -> Instant {
        match self.direction.bandwidth {
            Some(bits_per_second) if bits_per_second > 0 => {
                let start = self.link_free.map_or(ready, |free| free.max(ready));
                let secs = (len as f64 * 8.0) / bits_per_second as f64;
                let done = start + Duration::from_secs_f64(secs);
                self.link_free = Some(done);
                done
            }
            _ => ready,
        }
    }
}

/// Parses a bandwidth: `10mbit`, `512kbit`, `1gbit`, `100000bit` (bits per second), or with a
/// `bps` suffix; bytes as `5mbyte`/`5MB`.
pub fn parse_bandwidth(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a bandwidth (try 10mbit)"))?;
    let unit = unit.trim();
    let bits = match unit {
        "bit" | "bps" | "" => 1.0,
        "kbit" | "kbps" => 1e3,
        "mbit" | "mbps" | "Mbit" | "Mbps" => 1e6,
        "gbit" | "gbps" | "Gbit" | "Gbps" => 1e9,
        "kB" | "KB" | "kbyte" => 8e3,
        "MB" | "mbyte" => 8e6,
        "GB" | "gbyte" => 8e9,
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}` (use kbit, mbit, gbit, kB or MB)"
            ))
        }
    };
    let value = n * bits;
    if !(value.is_finite() && value >= 1.0) {
        return Err(format!("`{s}`: bandwidth must be at least 1 bit/s"));
    }
    Ok(value as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(rtt_ms: u64, bandwidth: Option<u64>, initcwnd: Option<u32>) -> Timing {
        let shape = Shape {
            rtt: Duration::from_millis(rtt_ms),
            down: bandwidth,
            up: bandwidth,
            initcwnd,
        };
        Timing::new(shape.direction(true))
    }

    fn release(t: &mut Timing, at: Instant, len: usize) -> Vec<(Instant, usize)> {
        let mut out = Vec::new();
        t.release(at, len, &mut out);
        out
    }

    #[test]
    fn release_times_are_arrival_plus_half_rtt_and_never_go_back() {
        let mut t = timing(100, None, None);
        let t0 = Instant::now();
        assert_eq!(
            release(&mut t, t0, 10),
            [(t0 + Duration::from_millis(50), 10)]
        );
        let later = t0 + Duration::from_millis(7);
        assert_eq!(
            release(&mut t, later, 10),
            [(later + Duration::from_millis(50), 10)]
        );
    }

    #[test]
    fn a_bandwidth_cap_serializes_chunks() {
        // 8 kbit/s: 1,000 bytes take one second on the wire.
        let mut t = timing(0, Some(8_000), None);
        let t0 = Instant::now();
        assert_eq!(release(&mut t, t0, 1000)[0].0, t0 + Duration::from_secs(1));
        // Arrives while the first is still being sent: waits for it.
        assert_eq!(
            release(&mut t, t0 + Duration::from_millis(10), 500)[0].0,
            t0 + Duration::from_millis(1500)
        );
        // Arrives after the link went idle: starts at once.
        let idle = t0 + Duration::from_secs(3);
        assert_eq!(
            release(&mut t, idle, 1000)[0].0,
            idle + Duration::from_secs(1)
        );
    }

    #[test]
    fn the_formula_counts_doubling_windows() {
        // 10 segments: 14,480 bytes, then 28,960, 57,920, … 7 rounds carry 1,839,... bytes.
        assert_eq!(slow_start_round_trips(1, 10), 1);
        assert_eq!(slow_start_round_trips(10 * MSS, 10), 1);
        assert_eq!(slow_start_round_trips(10 * MSS + 1, 10), 2);
        assert_eq!(slow_start_round_trips(1_000_000, 10), 7);
        assert_eq!(slow_start_round_trips(1_000_000, 4), 8);
        assert_eq!(slow_start_round_trips(0, 10), 0);
    }

    /// A megabyte handed over at once leaves in rounds one RTT apart, as the formula says.
    #[test]
    fn slow_start_releases_a_window_per_round_trip() {
        let mut t = timing(100, None, Some(10));
        let t0 = Instant::now();
        let pieces = release(&mut t, t0, 1_000_000);
        let rounds = slow_start_round_trips(1_000_000, 10);
        assert_eq!(pieces.len(), rounds as usize);
        for (k, &(at, len)) in pieces.iter().enumerate() {
            assert_eq!(
                at,
                t0 + Duration::from_millis(50 + 100 * k as u64),
                "round {k}"
            );
            let window = (10 * MSS) << k;
            assert!(len == window || k + 1 == pieces.len(), "round {k}: {len}");
        }
        assert_eq!(pieces.iter().map(|p| p.1).sum::<usize>(), 1_000_000);
    }

    #[test]
    fn an_idle_connection_restarts_from_the_initial_window() {
        let mut t = timing(100, None, Some(10));
        let t0 = Instant::now();
        // Grow the window: three full rounds.
        release(&mut t, t0, 7 * 10 * MSS);
        // A short pause (less than the RTO, 300 ms): the grown window (80 segments) is kept.
        let soon = t0 + Duration::from_millis(400);
        assert_eq!(release(&mut t, soon, 80 * MSS).len(), 1);
        // A long one: back to 10 segments.
        let later = soon + Duration::from_secs(2);
        assert_eq!(release(&mut t, later, 80 * MSS).len(), 4);
    }

    #[test]
    fn chunks_arriving_within_a_round_share_its_window() {
        let mut t = timing(100, None, Some(10));
        let t0 = Instant::now();
        let a = release(&mut t, t0, 6 * MSS);
        let b = release(&mut t, t0 + Duration::from_millis(5), 6 * MSS);
        assert_eq!(a, [(t0 + Duration::from_millis(50), 6 * MSS)]);
        // 4 segments still fit this round (sent as they arrive); 2 wait for the next.
        assert_eq!(
            b,
            [
                (t0 + Duration::from_millis(55), 4 * MSS),
                (t0 + Duration::from_millis(150), 2 * MSS)
            ]
        );
    }

    #[test]
    fn bandwidths_parse() {
        assert_eq!(parse_bandwidth("10mbit"), Ok(10_000_000));
        assert_eq!(parse_bandwidth("512kbit"), Ok(512_000));
        assert_eq!(parse_bandwidth("1.5Mbps"), Ok(1_500_000));
        assert_eq!(parse_bandwidth("2MB"), Ok(16_000_000));
        assert!(parse_bandwidth("fast").is_err());
        assert!(parse_bandwidth("10 furlongs").is_err());
        assert!(parse_bandwidth("0mbit").is_err());
    }
}
