//! Early delivery of a page's assets on HTTP/2: the 103 Early Hints, a PUSH_PROMISE for each
//! asset the policy pushes, the `Link` values on the page's own response, and then the pushed
//! responses, answered as a direct GET of each would be.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use h2::server::{SendPushedResponse, SendResponse};
use http::header::{ACCEPT_ENCODING, ACCEPT_LANGUAGE, LINK, SET_COOKIE, USER_AGENT};
use http::{HeaderMap, Method, Request, Response};
use tracing::debug;

use super::{send, Conn};
use crate::push::digest::{self, Digest};
use crate::push::policy::{self, Action, HintReason};
use crate::serve::access::{self, Proto, Sent};
use crate::serve::core::{self, Ask, Page};

/// Whether the client has shown it takes pushes. h2 does not expose the peer's
/// SETTINGS_ENABLE_PUSH, so the first promise tells: if it fails before any succeeded, the
/// client refused push and the connection stops trying.
const PUSH_UNKNOWN: u8 = 0;
const PUSH_WORKS: u8 = 1;
const PUSH_REFUSED: u8 = 2;

/// Paths a connection remembers as pushed or requested. Past it, a long-lived connection may
/// push an asset it already sent: a wasted push, never a wrong response.
pub const MAX_DIARY_ENTRIES: usize = 4096;

/// Scheduler passes a page's pushed responses wait, so its own batch is written first.
const PAGE_FIRST_YIELDS: usize = 2;

/// What the streams of one connection know about push.
#[derive(Debug, Default)]
pub struct PushState {
    push: AtomicU8,
    /// Paths (with query) pushed or requested on this connection: never pushed (again).
    diary: Mutex<HashSet<String>>,
}

impl PushState {
    pub fn note_sent(&self, path: &str) {
        let mut diary = self.diary.lock().expect("diary poisoned");
        // A path asked for again (the usual case) costs a lookup, not a copy.
        if diary.len() < MAX_DIARY_ENTRIES && !diary.contains(path) {
            diary.insert(path.to_owned());
        }
    }

    fn already_sent(&self, path: &str) -> bool {
        self.diary.lock().expect("diary poisoned").contains(path)
    }
}

/// What early delivery did for one page.
#[derive(Default)]
pub struct Early {
    pub promised: Vec<(String, SendPushedResponse<Bytes>)>,
    pub pushed: usize,
    pub hinted: usize,
}

/// Sends the 103 and the PUSH_PROMISEs, and adds the `Link` values to the page's response.
/// Push is best-effort: a refused promise turns into a hint.
pub fn deliver_early(
    respond: &mut SendResponse<Bytes>,
    response: &mut Response<()>,
    page: &Page,
    ask: &Ask,
    conn: &Conn,
) -> Early {
    let config = &conn.state.config.push;
    let may_push = page.may_push && conn.push.push.load(Ordering::Relaxed) != PUSH_REFUSED;
    let manifest = &page.assets.manifest;
    let client = if config.digest {
        Digest::from_headers(&ask.headers)
    } else {
        Digest::default()
    };
    let versions = || manifest.assets.iter().zip(&page.etags);
    let client_has: HashSet<&str> = versions()
        .filter(|(a, etag)| etag.as_deref().is_some_and(|e| client.contains(&a.path, e)))
        .map(|(a, _)| a.path.as_str())
        .collect();
    let mut plan = policy::plan(
        manifest,
        config,
        may_push,
        |p| conn.push.already_sent(p),
        |a| client_has.contains(a.path.as_str()),
    );

    if config.early_hints {
        if let Err(err) = respond.send_informational(page.assets.early_hints()) {
            debug!(cause = %err, "103 early hints not sent");
        }
    }

    let mut early = Early::default();
    let mut refused = false;
    for (asset, action) in plan.iter_mut() {
        if !action.is_push() {
            continue;
        }
        if refused {
            *action = Action::Hint(HintReason::Refused);
            continue;
        }
        let promise = promised_request(&conn.scheme, &ask.authority, &asset.path, &ask.headers);
        match promise.map(|req| respond.push_request(req)) {
            Some(Ok(pushed)) => {
                conn.push.push.store(PUSH_WORKS, Ordering::Relaxed);
                conn.push.note_sent(&asset.path);
                early.promised.push((asset.path.clone(), pushed));
            }
            Some(Err(err)) => {
                debug!(cause = %err, path = %asset.path, "push refused; hinting instead");
                let _ = conn.push.push.compare_exchange(
                    PUSH_UNKNOWN,
                    PUSH_REFUSED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                refused = true;
                *action = Action::Hint(HintReason::Refused);
            }
            None => *action = Action::Hint(HintReason::Refused),
        }
    }
    early.pushed = early.promised.len();
    early.hinted = plan.len() - early.pushed;

    if config.preload_headers {
        let any_pushed = early.pushed > 0;
        for (i, (_, action)) in plan.iter().enumerate() {
            let nopush = policy::marks_nopush(any_pushed, *action);
            if let Some(v) = page.assets.link(i, nopush) {
                response.headers_mut().append(LINK, v.clone());
            }
        }
    }
    if config.digest {
        // Pushed or hinted, the client has (or is about to fetch) this version of each asset.
        let received =
            versions().filter_map(|(a, etag)| Some(digest::entry(&a.path, etag.as_deref()?)));
        let merged = client.merged(received);
        if merged != client {
            let secure = conn.scheme == http::uri::Scheme::HTTPS;
            if let Ok(v) = http::HeaderValue::from_str(&merged.set_cookie(secure)) {
                response.headers_mut().append(SET_COOKIE, v);
            }
        }
    }
    early
}

/// The request a PUSH_PROMISE stands for: GET of the asset, with the page request's scheme,
/// authority and the headers that change what a server would send.
fn promised_request(
    scheme: &http::uri::Scheme,
    authority: &str,
    path: &str,
    page_headers: &HeaderMap,
) -> Option<Request<()>> {
    let uri = http::Uri::builder()
        .scheme(scheme.clone())
        .authority(authority)
        .path_and_query(path)
        .build()
        .ok()?;
    let mut request = Request::get(uri).body(()).ok()?;
    *request.headers_mut() = promise_headers(page_headers);
    Some(request)
}

/// The page request's headers that a PUSH_PROMISE copies: those that change what a server
/// sends. The pushed response is answered with the same ones, so it gets the representation
/// (content coding) the promise stands for.
pub fn promise_headers(page_headers: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in [ACCEPT_ENCODING, ACCEPT_LANGUAGE, USER_AGENT] {
        if let Some(v) = page_headers.get(&name) {
            headers.insert(name, v.clone());
        }
    }
    headers
}

/// Pushed responses go out after the page's first write: h2 has no priorities, and a page whose
/// HEADERS share a write with hundreds of kilobytes of pushed DATA reaches the client that much
/// later (measured with bench/ttfb.sh). Yielding lets the connection task flush the page's batch
/// (the write coalescer yields once per batch) before the pushed frames are queued.
pub async fn send_pushed_after_page(
    promised: Vec<(String, SendPushedResponse<Bytes>)>,
    headers: HeaderMap,
    conn: Arc<Conn>,
) {
    for _ in 0..PAGE_FIRST_YIELDS {
        tokio::task::yield_now().await;
    }
    for (path, pushed) in promised {
        send_pushed(pushed, path, &headers, &conn);
    }
}

/// Answers a promised request as a direct GET of it with the promise's `headers` would be
/// answered (never pushing from it):
/// from memory at once when the file is kept there, otherwise on a task of its own.
fn send_pushed(
    mut pushed: SendPushedResponse<Bytes>,
    path: String,
    headers: &HeaderMap,
    conn: &Arc<Conn>,
) {
    let started = Instant::now();
    let state = &conn.state;
    match core::from_memory(state, &Method::GET, &path, headers) {
        Some(reply) => {
            let status = reply.status();
            let sent = send::in_memory(
                pushed.send_response(reply.head, reply.body.is_empty()),
                reply.body,
            );
            log_pushed(conn, &path, status, sent, started);
        }
        None => {
            let conn = conn.clone();
            let headers = headers.clone();
            tokio::spawn(async move {
                let state = conn.state.clone();
                let target = path.clone();
                let decided = tokio::task::spawn_blocking(move || {
                    let resolved = core::resolve_kept(&state, &Method::GET, &target, &headers);
                    core::reply_with_body(resolved, &Method::GET, &state.config).map(|reply| {
                        let mut reply = core::stamp(reply, &state.config);
                        state.config.rules.apply(&mut reply.head, &target);
                        reply
                    })
                })
                .await;
                let reply = match decided {
                    Ok(Ok(reply)) => reply,
                    Ok(Err(err)) => {
                        tracing::error!(cause = %err, %path, "reading a pushed file failed");
                        pushed.send_reset(h2::Reason::INTERNAL_ERROR);
                        return;
                    }
                    Err(err) => {
                        tracing::error!(cause = %err, %path, "push task failed");
                        pushed.send_reset(h2::Reason::INTERNAL_ERROR);
                        return;
                    }
                };
                let status = reply.status();
                let ended = reply.body.is_empty();
                let sent = match pushed.send_response(reply.head, ended) {
                    Ok(_) if ended => Sent::whole(0),
                    Ok(mut out) => {
                        send::send(&mut out, reply.body, &conn.budget, conn.stall_timeout).await
                    }
                    Err(err) => Sent::cut(0, send::describe(&err)),
                };
                log_pushed(&conn, &path, status, sent, started);
            });
        }
    }
}

fn log_pushed(conn: &Conn, path: &str, status: http::StatusCode, sent: Sent, started: Instant) {
    access::log(access::Entry {
        proto: Proto::H2,
        peer: conn.peer,
        method: &crate::serve::access_log::push_method(),
        target: path,
        status,
        sent: conn.who_cut(sent),
        started,
        early: None,
        agent: access::Agent::default(),
    });
}
