//! What a page load measured, and when: each stream's times in ms since the connection was
//! ready ([`Resource`]), the `--trace` lines ([`TraceEvent`]) and the run's totals
//! ([`RunOutcome`], counted by [`Loader::finish`](super::Loader)).

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;

use super::{Loader, Mode};
use crate::compare::cache::ClientCache;
use crate::compare::wire::{Timed, Wire};

/// How a resource reached the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// Requested because a document referenced it.
    Request,
    /// Requested because a 103 or a `Link` header preloaded it.
    Hint,
    /// Pushed by the server.
    Push,
    /// Answered by the client's cache from an earlier view, without a request.
    Cache,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Request => "request",
            Via::Hint => "hint",
            Via::Push => "push",
            Via::Cache => "cache",
        }
    }
}

/// One stream of a page load, with times in ms since the connection was ready.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    pub path: String,
    pub via: Via,
    pub stream_id: u32,
    /// Request sent, or PUSH_PROMISE received.
    pub start_ms: f64,
    /// Response HEADERS received.
    pub headers_ms: Option<f64>,
    /// END_STREAM received (or the stream failed).
    pub end_ms: Option<f64>,
    pub status: Option<u16>,
    pub bytes: u64,
    /// The page needed it (the HTML, or something discovered from the documents).
    pub needed: bool,
    /// Reset or failed before its end.
    pub failed: bool,
    #[serde(skip)]
    pub(super) content_type: Option<String>,
    #[serde(skip)]
    pub(super) body: Option<Vec<u8>>,
    #[serde(skip)]
    pub(super) parsed: bool,
    #[serde(skip)]
    pub(super) headers: Option<http::HeaderMap>,
}

/// One line of `--trace`.
#[derive(Debug, Clone, Serialize)]
pub struct TraceEvent {
    pub at_ms: f64,
    pub what: String,
    /// The received frame this came from, to put the trace in wire order.
    #[serde(skip)]
    pub wire: Option<Wire>,
}

impl Timed for TraceEvent {
    fn wire(&self) -> Option<Wire> {
        self.wire
    }
    fn set_at_ms(&mut self, at_ms: f64) {
        self.at_ms = at_ms;
    }
    fn at_ms(&self) -> f64 {
        self.at_ms
    }
}

/// What one page load measured.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub mode: Mode,
    /// TCP connect, TLS handshake and HTTP/2 preface.
    pub connect_ms: f64,
    /// Connection ready → the page's response HEADERS.
    pub ttfb_ms: f64,
    /// Connection ready → the last needed byte: the page-load time.
    pub load_ms: f64,
    /// Response body bytes received, pushes included.
    pub body_bytes: u64,
    /// Bytes read from the socket (TLS records and frames).
    pub wire_bytes: u64,
    pub requests: usize,
    pub promises: usize,
    pub pushes_used: usize,
    /// Pushed but not needed, pushed twice, or cancelled.
    pub pushes_wasted: usize,
    /// Requests made for hints that the page turned out not to need.
    pub hints_unused: usize,
    /// Needed resources the client's cache answered without a request (repeat view).
    pub from_cache: usize,
    /// Responses that were 304 Not Modified (repeat view).
    pub not_modified: usize,
    /// Body bytes of pushed streams, used or not.
    pub pushed_bytes: u64,
    /// 103 responses to the page.
    pub informational: usize,
    /// `Link` values in the page's 103s and response.
    pub page_links: usize,
    /// The page response's `server` header.
    pub server: Option<String>,
    pub resources: Vec<Resource>,
    pub trace: Vec<TraceEvent>,
}

impl Resource {
    pub(super) fn new(path: &str, via: Via, stream_id: u32, start_ms: f64) -> Resource {
        Resource {
            path: path.to_string(),
            via,
            stream_id,
            start_ms,
            headers_ms: None,
            end_ms: None,
            status: None,
            bytes: 0,
            needed: false,
            failed: false,
            content_type: None,
            body: None,
            parsed: false,
            headers: None,
        }
    }
}

#[cfg(test)]
impl Resource {
    /// A needed, requested resource that took 1 → 90 ms.
    pub(crate) fn for_test(path: &str) -> Resource {
        let mut r = Resource::new(path, Via::Request, 3, 1.0);
        r.headers_ms = Some(40.0);
        r.end_ms = Some(90.0);
        r.status = Some(200);
        r.needed = true;
        r
    }
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The clock and the trace of a load, and its totals once complete.
impl Loader {
    pub(super) fn now(&self) -> f64 {
        ms(self.ready.elapsed())
    }

    pub(super) fn note(&mut self, what: String) {
        self.note_from(None, what);
    }

    /// Notes an event that a received frame caused.
    pub(super) fn note_from(&mut self, wire: Option<Wire>, what: String) {
        let at_ms = self.now();
        self.trace.push(TraceEvent { at_ms, what, wire });
    }

    pub(super) fn finish(mut self) -> (RunOutcome, ClientCache) {
        let page = &self.resources[0];
        let ttfb_ms = page.headers_ms.unwrap_or_default();
        let load_ms = self
            .resources
            .iter()
            .enumerate()
            .filter(|(k, r)| *k == 0 || r.needed)
            .filter_map(|(_, r)| r.end_ms)
            .fold(0.0, f64::max);
        self.resources[0].needed = true;
        let mut pushes_used = 0;
        let mut hints_unused = 0;
        let (mut from_cache, mut not_modified, mut pushed_bytes) = (0, 0, 0);
        for (key, r) in self.resources.iter().enumerate() {
            let used = r.needed && self.by_path.get(&r.path) == Some(&key) && !r.failed;
            match r.via {
                Via::Push if used => pushes_used += 1,
                Via::Hint if !used => hints_unused += 1,
                Via::Cache => from_cache += 1,
                _ => {}
            }
            if r.via == Via::Push {
                pushed_bytes += r.bytes;
            }
            if r.status == Some(304) {
                not_modified += 1;
            }
        }
        self.note("page loaded".into());
        let outcome = RunOutcome {
            mode: self.mode,
            connect_ms: 0.0,
            ttfb_ms,
            load_ms,
            body_bytes: self.body_bytes.load(Ordering::Relaxed),
            wire_bytes: 0,
            requests: self.requests,
            promises: self.promises,
            pushes_used,
            pushes_wasted: self.promises - pushes_used,
            hints_unused,
            from_cache,
            not_modified,
            pushed_bytes,
            informational: self.informational,
            page_links: self.page_links,
            server: self.server,
            resources: self.resources,
            trace: self.trace,
        };
        (outcome, self.kept)
    }
}
