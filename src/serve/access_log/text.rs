//! The pieces of a log line, written straight into the writer's batch: the request target
//! kept inline in a [`super::Record`], escaping that keeps a request from forging a line, and
//! numbers and addresses without `core::fmt` (on one core the writer's time is the server's).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Target bytes a record keeps inline; a longer target is put on the heap. Default 72: every
/// file path of reveal.js 6.0.2 (longest 68 bytes) and of python3.11-doc's 1,063 files
/// (longest 63) fits, and a record stays small enough for the queue to be ~4 MiB.
pub const TARGET_INLINE: usize = 72;

/// A request target (path and query) owned by a record, inline when short.
#[derive(Debug)]
pub enum Target {
    Inline { len: u8, bytes: [u8; TARGET_INLINE] },
    Heap(Box<str>),
}

impl Target {
    pub fn new(target: &str) -> Self {
        if target.len() > TARGET_INLINE {
            return Target::Heap(target.into());
        }
        let mut bytes = [0; TARGET_INLINE];
        bytes[..target.len()].copy_from_slice(target.as_bytes());
        Target::Inline {
            len: target.len() as u8,
            bytes,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Copied from a `str` whole, so always UTF-8.
            Target::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Target::Heap(s) => s,
        }
    }
}

/// Whether `b` goes into a line as it is: printable ASCII other than `"` and `\`.
fn plain(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'
}

/// Appends `s` with `"`, `\`, controls and non-ASCII as `\xHH` (as nginx does), so a request
/// cannot forge a line or a field.
pub fn push_escaped(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter().all(|&b| plain(b)) {
        return out.extend_from_slice(s);
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s {
        if plain(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
}

/// Appends `s` (read as UTF-8, invalid bytes replaced) quoted the way Rust's `{:?}` quotes a
/// string (the pretty format's fields); plain ASCII, the usual case, is copied as it is.
pub fn push_debug_quoted(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter().all(|&b| plain(b)) {
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
    } else {
        let mut quoted = String::new();
        let _ = write!(quoted, "{:?}", String::from_utf8_lossy(s));
        out.extend_from_slice(quoted.as_bytes());
    }
}

/// A header value as text: its bytes when they are UTF-8, otherwise with replacement characters.
pub fn lossy(value: &http::HeaderValue) -> Cow<'_, str> {
    String::from_utf8_lossy(value.as_bytes())
}

pub fn push_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `n` as at least `width` digits, zero-padded (`width` ≤ 6).
pub fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    out.extend_from_slice(&b"000000"[..width.saturating_sub(digits.len())]);
    out.extend_from_slice(digits.as_bytes());
}

/// Appends microseconds as milliseconds with two decimals, rounded (`1.23`).
pub fn push_ms(out: &mut Vec<u8>, micros: u64) {
    let hundredths = (micros + 5) / 10;
    push_int(out, hundredths / 100);
    out.push(b'.');
    push_padded(out, hundredths % 100, 2);
}

/// Milliseconds with two decimals as a number (the JSON format).
pub fn ms_rounded(micros: u64) -> f64 {
    ((micros + 5) / 10) as f64 / 100.0
}

/// Appends an IP address (IPv4 by hand; IPv6 is rare enough for `Display`).
pub fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_int(out, octet);
            }
        }
        IpAddr::V6(v6) => {
            let mut text = String::new();
            let _ = write!(text, "{v6}");
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// Appends `ip:port` as `SocketAddr`'s `Display` does (IPv4 by hand).
pub fn push_peer(out: &mut Vec<u8>, peer: SocketAddr) {
    match peer {
        SocketAddr::V4(v4) => {
            push_ip(out, IpAddr::V4(*v4.ip()));
            out.push(b':');
            push_int(out, v4.port());
        }
        SocketAddr::V6(v6) => {
            let mut text = String::new();
            let _ = write!(text, "{v6}");
            out.extend_from_slice(text.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn pieces_match_core_fmt() {
        for peer in ["127.0.0.1:5000", "[::1]:8443", "[fe80::1%2]:1"] {
            let peer: SocketAddr = peer.parse().unwrap();
            assert_eq!(text(|o| push_peer(o, peer)), peer.to_string());
        }
        for micros in [0, 4, 5, 1_234, 1_235, 99_999, 12_345_678] {
            let want = format!("{:.2}", (micros as f64 / 10.0).round() / 100.0);
            assert_eq!(text(|o| push_ms(o, micros)), want, "{micros} µs");
        }
        for s in ["curl/8", "a\"b\\c\n", "é"] {
            assert_eq!(
                text(|o| push_debug_quoted(o, s.as_bytes())),
                format!("{s:?}")
            );
        }
        assert_eq!(
            text(|o| push_escaped(o, b"/a b\"\n\xc3")),
            "/a b\\x22\\x0A\\xC3"
        );
        assert_eq!(text(|o| push_padded(o, 71_000, 6)), "071000");
    }

    #[test]
    fn targets_inline_and_long() {
        let short = Target::new("/dist/reveal.css?v=1");
        assert!(matches!(short, Target::Inline { .. }));
        assert_eq!(short.as_str(), "/dist/reveal.css?v=1");
        let long = "/x".repeat(TARGET_INLINE);
        assert_eq!(Target::new(&long).as_str(), long);
        assert_eq!(Target::new("").as_str(), "");
    }
}
