//! The access log: one line per response, the same on both protocols, with the bytes really
//! handed to the connection and, for a response that did not reach its end, why it was cut.
//! The binary hands lines to [`super::access_log`]'s writer thread; without it (the library in
//! tests) they go through `tracing`.

use std::net::SocketAddr;
use std::time::Instant;

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tracing::{info, Level};

pub use super::access_log::Proto;

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

/// What the access log shows of the client: its `User-Agent` and `Referer`.
#[derive(Debug, Clone, Default)]
pub struct Agent {
    pub user_agent: Option<HeaderValue>,
    pub referer: Option<HeaderValue>,
}

impl Agent {
    pub fn of(headers: &HeaderMap) -> Self {
        Agent {
            user_agent: headers.get(http::header::USER_AGENT).cloned(),
            referer: headers.get(http::header::REFERER).cloned(),
        }
    }
}

/// One response, as the access log shows it.
pub struct Entry<'a> {
    pub proto: Proto,
    pub peer: SocketAddr,
    /// The request method, or `PUSH` for a pushed response ([`super::access_log::push_method`]).
    pub method: &'a Method,
    pub target: &'a str,
    pub status: StatusCode,
    pub sent: Sent,
    pub started: Instant,
    /// For a page: assets pushed and hinted.
    pub early: Option<(usize, usize)>,
    pub agent: Agent,
}

/// Whether responses are logged at all: a caller with work to do for its entry (reading the
/// clock, copying header values) asks first.
pub fn enabled() -> bool {
    super::access_log::installed() || tracing::enabled!(target: "h2push::access", Level::INFO)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub fn log(entry: Entry<'_>) {
    if super::access_log::installed() {
        let ended = Instant::now();
        return super::access_log::send(super::access_log::Record {
            ended,
            peer: entry.peer,
            proto: entry.proto,
            method: entry.method.clone(),
            target: super::access_log::Target::new(entry.target),
            status: entry.status,
            bytes: entry.sent.bytes,
            elapsed_us: ended.saturating_duration_since(entry.started).as_micros() as u64,
            cut: entry.sent.cut.map(String::into_boxed_str),
            early: entry
                .early
                .map(|(pushed, hinted)| (count(pushed), count(hinted))),
            user_agent: entry.agent.user_agent,
            referer: entry.agent.referer,
        });
    }
    let Entry {
        proto,
        peer,
        method,
        target,
        status,
        sent,
        started,
        early,
        agent: _,
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
