//! The three line formats. A line's date and time of day change once a second, so the
//! formatter keeps them written out and reuses them until the second changes.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::text::{
    lossy, ms_rounded, push_debug_quoted, push_escaped, push_int, push_ip, push_ms, push_padded,
    push_peer,
};
use super::{Proto, Record};

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

/// Writes lines in one format, keeping the current second's date and time written out.
pub struct Formatter {
    format: LogFormat,
    /// The Unix second `stamp` was written for.
    second: Option<u64>,
    /// `2025-11-25T08:29:10.` (pretty) or `[25/Nov/2025:08:29:10 +0000]` (combined).
    stamp: Vec<u8>,
}

impl Formatter {
    pub fn new(format: LogFormat) -> Self {
        Formatter {
            format,
            second: None,
            stamp: Vec::with_capacity(32),
        }
    }

    /// Appends the line for `r`; `now` is one reading of both clocks, taken after `r` ended.
    pub fn line(&mut self, out: &mut Vec<u8>, r: &Record, now: (SystemTime, Instant)) {
        let time = now.0 - now.1.saturating_duration_since(r.ended);
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        if self.format != LogFormat::Json && self.second != Some(since.as_secs()) {
            self.second = Some(since.as_secs());
            self.stamp.clear();
            write_stamp(&mut self.stamp, since.as_secs(), self.format);
        }
        match self.format {
            LogFormat::Pretty => {
                out.extend_from_slice(&self.stamp);
                push_padded(out, u64::from(since.subsec_micros()), 6);
                pretty(out, r);
            }
            LogFormat::Combined => combined(out, r, &self.stamp),
            LogFormat::Json => json(out, r, since.as_secs_f64()),
        }
    }
}

fn write_stamp(out: &mut Vec<u8>, secs: u64, format: LogFormat) {
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let (y, mo, d, h, mi, s) = civil(secs);
    let y = y.max(0) as u64;
    if format == LogFormat::Pretty {
        push_padded(out, y, 4);
        out.push(b'-');
        push_padded(out, mo.into(), 2);
        out.push(b'-');
        push_padded(out, d.into(), 2);
        out.push(b'T');
    } else {
        out.push(b'[');
        push_padded(out, d.into(), 2);
        out.push(b'/');
        out.extend_from_slice(MONTHS[(mo - 1) as usize]);
        out.push(b'/');
        push_padded(out, y, 4);
        out.push(b':');
    }
    push_padded(out, h, 2);
    out.push(b':');
    push_padded(out, mi, 2);
    out.push(b':');
    push_padded(out, s, 2);
    out.extend_from_slice(if format == LogFormat::Pretty {
        b"."
    } else {
        b" +0000]"
    });
}

/// The pretty line after its timestamp's microseconds.
fn pretty(out: &mut Vec<u8>, r: &Record) {
    out.extend_from_slice(b"Z  INFO h2push::access: peer=");
    push_peer(out, r.peer);
    out.extend_from_slice(b" proto=");
    out.extend_from_slice(r.proto.as_str().as_bytes());
    out.extend_from_slice(b" method=");
    out.extend_from_slice(r.method.as_str().as_bytes());
    out.extend_from_slice(b" path=");
    push_escaped(out, r.target.as_str().as_bytes());
    out.extend_from_slice(b" status=");
    push_int(out, r.status.as_u16());
    out.extend_from_slice(b" bytes=");
    push_int(out, r.bytes);
    out.extend_from_slice(b" ms=");
    push_ms(out, r.elapsed_us);
    if let Some((pushed, hinted)) = r.early {
        out.extend_from_slice(b" pushed=");
        push_int(out, pushed);
        out.extend_from_slice(b" hinted=");
        push_int(out, hinted);
    }
    if let Some(cut) = &r.cut {
        out.extend_from_slice(b" cut=");
        push_debug_quoted(out, cut.as_bytes());
    }
    if let Some(ua) = &r.user_agent {
        out.extend_from_slice(b" ua=");
        push_debug_quoted(out, ua.as_bytes());
    }
    if let Some(referer) = &r.referer {
        out.extend_from_slice(b" referer=");
        push_debug_quoted(out, referer.as_bytes());
    }
    out.push(b'\n');
}

fn combined(out: &mut Vec<u8>, r: &Record, stamp: &[u8]) {
    push_ip(out, r.peer.ip());
    out.extend_from_slice(b" - - ");
    out.extend_from_slice(stamp);
    out.extend_from_slice(b" \"");
    push_escaped(out, r.method.as_str().as_bytes());
    out.push(b' ');
    push_escaped(out, r.target.as_str().as_bytes());
    out.extend_from_slice(if r.proto == Proto::H2 {
        b" HTTP/2.0\" "
    } else {
        b" HTTP/1.1\" "
    });
    push_int(out, r.status.as_u16());
    out.push(b' ');
    push_int(out, r.bytes);
    for value in [&r.referer, &r.user_agent] {
        out.extend_from_slice(b" \"");
        match value {
            Some(v) => push_escaped(out, v.as_bytes()),
            None => out.push(b'-'),
        }
        out.push(b'"');
    }
    out.push(b'\n');
}

#[derive(Serialize)]
struct JsonLine<'a> {
    time: f64,
    #[serde(serialize_with = "serialize_display")]
    client: std::net::SocketAddr,
    proto: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    bytes: u64,
    ms: f64,
    user_agent: Option<std::borrow::Cow<'a, str>>,
    referer: Option<std::borrow::Cow<'a, str>>,
    cut: Option<&'a str>,
    pushed: Option<u32>,
    hinted: Option<u32>,
}

fn serialize_display<S: serde::Serializer>(
    v: &impl std::fmt::Display,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn json(out: &mut Vec<u8>, r: &Record, time: f64) {
    let line = JsonLine {
        time,
        client: r.peer,
        proto: r.proto.as_str(),
        method: r.method.as_str(),
        path: r.target.as_str(),
        status: r.status.as_u16(),
        bytes: r.bytes,
        ms: ms_rounded(r.elapsed_us),
        user_agent: r.user_agent.as_ref().map(lossy),
        referer: r.referer.as_ref().map(lossy),
        cut: r.cut.as_deref(),
        pushed: r.early.map(|e| e.0),
        hinted: r.early.map(|e| e.1),
    };
    if serde_json::to_writer(&mut *out, &line).is_ok() {
        out.push(b'\n');
    }
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
    use std::time::Duration;

    use http::{HeaderValue, Method, StatusCode};

    use super::super::Target;
    use super::*;

    fn record(ended: Instant) -> Record {
        Record {
            ended,
            peer: "127.0.0.1:5000".parse().unwrap(),
            proto: Proto::H2,
            method: Method::GET,
            target: Target::new("/a b\"\n"),
            status: StatusCode::OK,
            bytes: 1024,
            elapsed_us: 1_234,
            cut: None,
            early: None,
            user_agent: Some(HeaderValue::from_static("curl/8")),
            referer: None,
        }
    }

    /// Lines for a record that ended 5 ms before the writer read the clock at `wall`.
    fn lines(format: LogFormat, wall: SystemTime) -> String {
        let now = Instant::now();
        let ended = now - Duration::from_millis(5);
        let mut out = Vec::new();
        let mut f = Formatter::new(format);
        f.line(&mut out, &record(ended), (wall, now));
        f.line(
            &mut out,
            &record(ended),
            (wall + Duration::from_secs(1), now),
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        let wall = UNIX_EPOCH + Duration::from_millis(1_764_059_350_076);
        assert_eq!(
            lines(LogFormat::Combined, wall),
            "127.0.0.1 - - [25/Nov/2025:08:29:10 +0000] \"GET /a b\\x22\\x0A HTTP/2.0\" 200 1024 \"-\" \"curl/8\"\n\
             127.0.0.1 - - [25/Nov/2025:08:29:11 +0000] \"GET /a b\\x22\\x0A HTTP/2.0\" 200 1024 \"-\" \"curl/8\"\n"
        );
        assert_eq!(
            lines(LogFormat::Pretty, wall),
            "2025-11-25T08:29:10.071000Z  INFO h2push::access: peer=127.0.0.1:5000 proto=h2 method=GET path=/a b\\x22\\x0A status=200 bytes=1024 ms=1.23 ua=\"curl/8\"\n\
             2025-11-25T08:29:11.071000Z  INFO h2push::access: peer=127.0.0.1:5000 proto=h2 method=GET path=/a b\\x22\\x0A status=200 bytes=1024 ms=1.23 ua=\"curl/8\"\n"
        );
        let json = lines(LogFormat::Json, wall);
        let json: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
        assert_eq!(json["path"], "/a b\"\n");
        assert_eq!(json["client"], "127.0.0.1:5000");
        assert_eq!(json["user_agent"], "curl/8");
        assert_eq!(json["referer"], serde_json::Value::Null);
        assert_eq!(json["ms"], 1.23);
        assert!((json["time"].as_f64().unwrap() - 1_764_059_350.071).abs() < 1e-6);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    }
}
