//! The access log: one line per response, the same on both protocols, with the bytes really
//! handed to the connection and, for a response that did not reach its end, why it was cut.

use std::net::SocketAddr;
use std::time::Instant;

use http::StatusCode;
use tracing::info;

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

/// How much of a body went out.
#[derive(Debug, Default)]
pub struct Sent {
    pub bytes: u64,
    /// Why the body stopped before its end; `None` when it was sent whole.
    pub cut: Option<String>,
}

impl Sent {
    pub fn whole(bytes: u64) -> Self {
        Sent { bytes, cut: None }
    }

    pub fn cut(bytes: u64, why: impl Into<String>) -> Self {
        Sent {
            bytes,
            cut: Some(why.into()),
        }
    }
}

/// One response, as the access log shows it.
pub struct Entry<'a> {
    pub proto: Proto,
    pub peer: SocketAddr,
    /// The request method, or `PUSH` for a pushed response.
    pub method: &'a str,
    pub target: &'a str,
    pub status: StatusCode,
    pub sent: Sent,
    pub started: Instant,
    /// For a page: assets pushed and hinted.
    pub early: Option<(usize, usize)>,
}

pub fn log(entry: Entry<'_>) {
    let Entry {
        proto,
        peer,
        method,
        target,
        status,
        sent,
        started,
        early,
    } = entry;
    let ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0);
    let (proto, status, bytes) = (proto.as_str(), status.as_u16(), sent.bytes);
    match (early, sent.cut) {
        (Some((pushed, hinted)), None) => info!(
            target: "h2push::access",
            %peer, proto, %method, path = %target, status, bytes, ms, pushed, hinted,
        ),
        (Some((pushed, hinted)), Some(cut)) => info!(
            target: "h2push::access",
            %peer, proto, %method, path = %target, status, bytes, ms, pushed, hinted, cut,
        ),
        (None, None) => info!(
            target: "h2push::access",
            %peer, proto, %method, path = %target, status, bytes, ms,
        ),
        (None, Some(cut)) => info!(
            target: "h2push::access",
            %peer, proto, %method, path = %target, status, bytes, ms, cut,
        ),
    }
}
