//! The access log's writer: `--log-format pretty|combined|json` lines, to stderr or to
//! `--access-log FILE`, formatted and written on a thread of their own so a request only pays
//! for handing over a record. The hand-over is a bounded queue: when the writer falls behind,
//! records are counted and dropped, never waited for, and the drop count is reported.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{
    sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError,
};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderValue, StatusCode};

/// Records queued for the writer before new ones are dropped. Default 16 384: a few seconds of
/// bursts at the rates one core serves (over 100k req/s of small files) while a slow disk
/// catches up, at a bounded ~4 MiB of memory; past it the server keeps serving and counts.
pub const ACCESS_LOG_QUEUE: usize = 16_384;

/// How often a busy writer looks for new records. Default 10 ms: the writer polls rather than
/// sleeping in `recv`, because a record sent to a receiver asleep in `recv` costs the request a
/// wake-up system call (measured: about 30 % of small-file throughput); at 10 ms the queue
/// holds 160 ms of the fastest rate.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Empty polls after which the writer waits in `recv` instead (idle server: no wake-ups).
/// Default 50, half a second of quiet.
const IDLE_POLLS: u32 = 50;

/// Bytes of formatted lines the writer gathers before one write. Default 64 KiB: few system
/// calls under load; lines are always written whole.
const WRITE_BATCH: usize = 64 * 1024;

/// The line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `TIME  INFO h2push::access: peer=… proto=h2 method=GET path=/ status=200 bytes=… ms=…`
    Pretty,
    /// Apache/nginx combined: `ADDR - - [TIME] "GET /path HTTP/2.0" 200 BYTES "REFERER" "UA"`
    Combined,
    /// One JSON object per line.
    Json,
}

/// One response, owned, as handed to the writer.
#[derive(Debug)]
pub struct Record {
    pub time: SystemTime,
    pub peer: SocketAddr,
    pub proto: &'static str,
    pub method: String,
    pub target: String,
    pub status: StatusCode,
    pub bytes: u64,
    pub ms: f64,
    pub cut: Option<String>,
    pub early: Option<(usize, usize)>,
    pub user_agent: Option<HeaderValue>,
    pub referer: Option<HeaderValue>,
}

enum Message {
    Record(Box<Record>),
    /// Write out everything queued, then answer.
    Flush(SyncSender<()>),
}

struct Sink {
    queue: SyncSender<Message>,
    dropped: AtomicU64,
}

static SINK: OnceLock<Sink> = OnceLock::new();

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
    let (queue, records) = sync_channel(ACCESS_LOG_QUEUE);
    if SINK
        .set(Sink {
            queue,
            dropped: AtomicU64::new(0),
        })
        .is_ok()
    {
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_loop(records, out, format))?;
    }
    Ok(())
}

/// Whether [`install`] ran: otherwise the access log goes through `tracing`.
pub fn installed() -> bool {
    SINK.get().is_some()
}

/// Hands a record to the writer without waiting; a full queue drops it and counts.
pub fn send(record: Record) {
    let Some(sink) = SINK.get() else { return };
    if let Err(TrySendError::Full(_)) = sink.queue.try_send(Message::Record(Box::new(record))) {
        sink.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits (up to `limit`) for the queued records to be written: at shutdown.
pub fn flush(limit: Duration) {
    let Some(sink) = SINK.get() else { return };
    let (done, wait) = sync_channel(1);
    if sink.queue.send(Message::Flush(done)).is_ok() {
        let _ = wait.recv_timeout(limit);
    }
}

fn write_loop(records: Receiver<Message>, mut out: Box<dyn Write + Send>, format: LogFormat) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut reported = 0;
    let mut waiting = Vec::new();
    let mut empty_polls = 0;
    loop {
        // Poll while busy; after a quiet spell, wait in recv (see POLL_INTERVAL).
        let first = if empty_polls < IDLE_POLLS {
            match records.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Empty) => {
                    empty_polls += 1;
                    std::thread::sleep(POLL_INTERVAL);
                    continue;
                }
                Err(TryRecvError::Disconnected) => return,
            }
        } else {
            match records.recv_timeout(Duration::from_secs(1)) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        empty_polls = 0;
        let mut next = first;
        while let Some(message) = next {
            match message {
                Message::Record(r) => format_line(&mut batch, &r, format),
                Message::Flush(done) => waiting.push(done),
            }
            next = if batch.len() < WRITE_BATCH {
                records.try_recv().ok()
            } else {
                None
            };
        }
        let dropped = SINK.get().map_or(0, |s| s.dropped.load(Ordering::Relaxed));
        if dropped > reported {
            tracing::warn!(
                dropped = dropped - reported,
                total = dropped,
                "access log: the writer fell behind, lines dropped"
            );
            reported = dropped;
        }
        if !batch.is_empty() {
            if let Err(err) = out.write_all(&batch).and_then(|()| out.flush()) {
                tracing::warn!(cause = %err, "writing the access log failed");
            }
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Appends one line for `r` in `format`.
pub fn format_line(out: &mut Vec<u8>, r: &Record, format: LogFormat) {
    let since = r.time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let ua = r
        .user_agent
        .as_ref()
        .map(|v| String::from_utf8_lossy(v.as_bytes()));
    let referer = r
        .referer
        .as_ref()
        .map(|v| String::from_utf8_lossy(v.as_bytes()));
    let _ = match format {
        LogFormat::Pretty => {
            let (y, mo, d, h, mi, s) = civil(since.as_secs());
            let _ = write!(
                out,
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z  INFO h2push::access: peer={} proto={} method={} path={} status={} bytes={} ms={:.2}",
                since.subsec_micros(), r.peer, r.proto, r.method, escaped(&r.target), r.status.as_u16(), r.bytes, r.ms
            );
            if let Some((pushed, hinted)) = r.early {
                let _ = write!(out, " pushed={pushed} hinted={hinted}");
            }
            if let Some(cut) = &r.cut {
                let _ = write!(out, " cut={cut:?}");
            }
            if let Some(ua) = &ua {
                let _ = write!(out, " ua={ua:?}");
            }
            if let Some(referer) = &referer {
                let _ = write!(out, " referer={referer:?}");
            }
            writeln!(out)
        }
        LogFormat::Combined => {
            const MONTHS: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let (y, mo, d, h, mi, s) = civil(since.as_secs());
            let version = if r.proto == "h2" {
                "HTTP/2.0"
            } else {
                "HTTP/1.1"
            };
            writeln!(
                out,
                "{} - - [{d:02}/{}/{y:04}:{h:02}:{mi:02}:{s:02} +0000] \"{} {} {version}\" {} {} \"{}\" \"{}\"",
                r.peer.ip(),
                MONTHS[(mo - 1) as usize],
                escaped(&r.method),
                escaped(&r.target),
                r.status.as_u16(),
                r.bytes,
                escaped(referer.as_deref().unwrap_or("-")),
                escaped(ua.as_deref().unwrap_or("-")),
            )
        }
        LogFormat::Json => {
            let line = serde_json::json!({
                "time": since.as_secs_f64(),
                "client": r.peer.to_string(),
                "proto": r.proto,
                "method": r.method,
                "path": r.target,
                "status": r.status.as_u16(),
                "bytes": r.bytes,
                "ms": (r.ms * 100.0).round() / 100.0,
                "user_agent": ua,
                "referer": referer,
                "cut": r.cut,
                "pushed": r.early.map(|e| e.0),
                "hinted": r.early.map(|e| e.1),
            });
            writeln!(out, "{line}")
        }
    };
}

/// Text safe inside a log line's quotes: `"`, `\`, controls and non-ASCII as `\xHH` (as nginx
/// does), so a request cannot forge a line or a field.
fn escaped(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out.into()
}

/// UTC year, month, day, hour, minute, second of Unix seconds (Hinnant's civil_from_days).
fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            time: UNIX_EPOCH + Duration::from_millis(1_764_059_350_071),
            peer: "127.0.0.1:5000".parse().unwrap(),
            proto: "h2",
            method: "GET".into(),
            target: "/a b\"\n".into(),
            status: StatusCode::OK,
            bytes: 1024,
            ms: 1.234,
            cut: None,
            early: None,
            user_agent: Some(HeaderValue::from_static("curl/8")),
            referer: None,
        }
    }

    fn line(format: LogFormat) -> String {
        let mut out = Vec::new();
        format_line(&mut out, &record(), format);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(
            line(LogFormat::Combined),
            "127.0.0.1 - - [25/Nov/2025:08:29:10 +0000] \"GET /a b\\x22\\x0A HTTP/2.0\" 200 1024 \"-\" \"curl/8\"\n"
        );
        assert_eq!(
            line(LogFormat::Pretty),
            "2025-11-25T08:29:10.071000Z  INFO h2push::access: peer=127.0.0.1:5000 proto=h2 method=GET path=/a b\\x22\\x0A status=200 bytes=1024 ms=1.23 ua=\"curl/8\"\n"
        );
        let json: serde_json::Value = serde_json::from_str(&line(LogFormat::Json)).unwrap();
        assert_eq!(json["path"], "/a b\"\n");
        assert_eq!(json["user_agent"], "curl/8");
        assert_eq!(json["referer"], serde_json::Value::Null);
        assert_eq!(json["ms"], 1.23);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    }
}
