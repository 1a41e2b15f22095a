//! One request stream, top to bottom: decide (on the blocking pool), deliver the page's assets
//! early when it is an HTML page, answer, stream the body, write the access-log line.
//!
//! For an HTML page the order on the wire is: 103 Early Hints → PUSH_PROMISEs → the page's
//! HEADERS (with the same `Link` values) → pushed bodies and the page body, interleaved under
//! flow control.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use h2::server::{SendPushedResponse, SendResponse};
use h2::RecvStream;
use http::header::{ACCEPT_ENCODING, ACCEPT_LANGUAGE, LINK, USER_AGENT};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use tracing::{debug, error, info};

use crate::config::Config;
use crate::events;
use crate::files::{self, body, response::Body, Resolved};
use crate::hints::PageAssets;
use crate::push::pages::page_assets;
use crate::push::policy::{self, Action, HintReason};
use crate::server::State;

/// Whether the client has shown it takes pushes. h2 does not expose the peer's
/// SETTINGS_ENABLE_PUSH, so the first promise tells: if it fails before any succeeded, the
/// client refused push and the connection stops trying.
const PUSH_UNKNOWN: u8 = 0;
const PUSH_WORKS: u8 = 1;
const PUSH_REFUSED: u8 = 2;

/// Paths a connection remembers as pushed or requested. Past it, a long-lived connection may
/// push an asset it already sent: a wasted push, never a wrong response.
pub const MAX_DIARY_ENTRIES: usize = 4096;

/// What the streams of one connection share.
#[derive(Debug)]
pub struct ConnCtx {
    pub state: Arc<State>,
    pub scheme: http::uri::Scheme,
    pub peer: SocketAddr,
    push: AtomicU8,
    /// Paths (with query) pushed or requested on this connection: never pushed (again).
    diary: Mutex<HashSet<String>>,
}

impl ConnCtx {
    pub fn new(state: Arc<State>, scheme: http::uri::Scheme, peer: SocketAddr) -> Self {
        ConnCtx {
            state,
            scheme,
            peer,
            push: AtomicU8::new(PUSH_UNKNOWN),
            diary: Mutex::new(HashSet::new()),
        }
    }

    fn note_sent(&self, path: &str) {
        let mut diary = self.diary.lock().expect("diary poisoned");
        if diary.len() < MAX_DIARY_ENTRIES {
            diary.insert(path.to_owned());
        }
    }

    fn already_sent(&self, path: &str) -> bool {
        self.diary.lock().expect("diary poisoned").contains(path)
    }
}

/// Answers a GET or HEAD of a small file kept in memory right away, on the connection's own
/// task: no task, no blocking-pool trip, and the response joins the connection's current write
/// batch. Gives the request back when it needs [`handle`].
#[allow(clippy::result_large_err)]
pub fn answer_from_memory(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    ctx: &ConnCtx,
) -> Result<(), (Request<RecvStream>, SendResponse<Bytes>)> {
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let Some((response, body)) = from_memory(ctx, request.method(), target, request.headers())
    else {
        return Err((request, respond));
    };
    let started = Instant::now();
    ctx.note_sent(target);
    let status = response.status();
    let ended = body.is_empty();
    let sent = finish_in_memory(respond.send_response(response, ended), body, ended);
    let bytes = sent.unwrap_or_else(|err| {
        debug!(cause = %err, %target, "response not completed");
        0
    });
    access_log(
        request.method().as_str(),
        target,
        status,
        bytes,
        started,
        None,
    );
    Ok(())
}

/// Sends an in-memory body on a stream whose HEADERS went out (with END_STREAM when `ended`).
fn finish_in_memory(
    headers_sent: Result<h2::SendStream<Bytes>, h2::Error>,
    body: Body,
    ended: bool,
) -> Result<u64, body::SendError> {
    let mut stream = headers_sent?;
    if ended {
        Ok(0)
    } else {
        body::send_in_memory(&mut stream, body)
    }
}

/// The response to a GET or HEAD of a small file kept in memory, decided without the file
/// system; `None` when the file is not in memory.
fn from_memory(
    ctx: &ConnCtx,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
) -> Option<(Response<()>, Body)> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let file = ctx
        .state
        .files
        .get(target.split('?').next().unwrap_or("/"))?;
    let resolved = files::decide_file(file, method, headers);
    Some(files::response::head(resolved, method, &ctx.state.config))
}

/// Answers one request stream.
pub async fn handle(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    ctx: Arc<ConnCtx>,
) {
    let started = Instant::now();
    // The body of a GET/HEAD means nothing to a static server; dropping it tells h2 so.
    let (parts, _body) = request.into_parts();
    let method = parts.method.clone();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let authority = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_else(|| "localhost".to_owned());
    ctx.note_sent(&target);

    if let Some(endpoint) = events::route(&ctx.state, &parts.uri) {
        let (status, bytes) = endpoint.serve(&parts, respond).await;
        return access_log(method.as_str(), &target, status, bytes, started, None);
    }

    let decision = {
        let (state, method, target, authority) = (
            ctx.state.clone(),
            method.clone(),
            target.clone(),
            authority.clone(),
        );
        let headers = parts.headers.clone();
        tokio::task::spawn_blocking(move || decide(&state, &method, &target, &authority, &headers))
            .await
    };
    let Decision {
        mut response,
        body,
        page,
    } = match decision {
        Ok(d) => d,
        Err(join_err) => {
            error!(cause = %join_err, %target, "request task failed");
            respond.send_reset(h2::Reason::INTERNAL_ERROR);
            return;
        }
    };

    let mut early = Early::default();
    if let Some(page) = &page {
        early = deliver_early(
            &mut respond,
            &mut response,
            page,
            &parts.headers,
            &authority,
            &ctx,
        );
    }
    let status = response.status();
    let end_of_stream = body.is_empty();
    let sent = match respond.send_response(response, end_of_stream) {
        Ok(mut stream) => {
            // The page's bytes are queued before any pushed response's, so the page's first
            // write carries its HEADERS and (for a page in memory) its body.
            let (sent, to_stream) = match body {
                Body::File { .. } => (Ok(0), Some(body)),
                _ if end_of_stream => (Ok(0), None),
                in_memory => (body::send_in_memory(&mut stream, in_memory), None),
            };
            if !early.promised.is_empty() {
                tokio::spawn(send_pushed_after_page(early.promised, ctx.clone()));
            }
            match to_stream {
                Some(body) => body::send(&mut stream, body).await,
                None => sent,
            }
        }
        Err(err) => Err(err.into()),
    };
    let bytes = sent.unwrap_or_else(|err| {
        debug!(cause = %err, %target, "response not completed");
        0
    });
    access_log(
        method.as_str(),
        &target,
        status,
        bytes,
        started,
        page.as_ref().map(|_| (early.pushed, early.hinted)),
    );
}

/// The response for a request, and for an HTML page the manifest of its assets.
struct Decision {
    response: Response<()>,
    body: Body,
    page: Option<Page>,
}

/// An HTML page whose assets get delivered early.
struct Page {
    assets: Arc<PageAssets>,
    /// Push only on a plain 200; a 304 still gets hints.
    may_push: bool,
}

/// Resolves the request, builds the response head, reads small bodies into memory and, for an
/// HTML page, finds its manifest: all of a request's file-system work in one trip to the
/// blocking pool.
fn decide(
    state: &State,
    method: &Method,
    target: &str,
    authority: &str,
    headers: &HeaderMap,
) -> Decision {
    let config = &state.config;
    let resolved = resolve_kept(state, method, target, headers);
    let page_manifest = |file| page_assets(config, &state.manifests, target, authority, file);
    let page = match (&resolved, method) {
        (Resolved::File { file, range: None }, &Method::GET) if file.is_html => {
            Some((page_manifest(file), true))
        }
        (Resolved::NotModified(file), &Method::GET) if file.is_html => {
            Some((page_manifest(file), false))
        }
        _ => None,
    };
    let page = page.and_then(|(assets, may_push)| {
        (!assets.manifest.assets.is_empty()).then_some(Page { assets, may_push })
    });
    match head_with_body(resolved, method, config) {
        Ok((response, body)) => Decision {
            response,
            body,
            page,
        },
        Err(err) => {
            error!(cause = %err, %target, "reading a file failed");
            let (response, body) = files::response::head(Resolved::Error(err), method, config);
            Decision {
                response,
                body,
                page: None,
            }
        }
    }
}

/// Resolves a request on the blocking pool, logs a server-side failure, and keeps a small file
/// in memory for the next request of it.
fn resolve_kept(state: &State, method: &Method, target: &str, headers: &HeaderMap) -> Resolved {
    let generation = state.files.generation();
    let mut resolved = files::resolve(&state.config, method, target, headers);
    match &mut resolved {
        Resolved::Error(err) => error!(cause = %err, %target, "serving a file failed"),
        Resolved::File { file, range: None } => {
            let url_path = target.split('?').next().unwrap_or("/");
            state
                .files
                .insert(&state.config.root, url_path, file, generation);
        }
        _ => {}
    }
    resolved
}

/// The response head for an outcome, with a small body already read into memory.
fn head_with_body(
    resolved: Resolved,
    method: &Method,
    config: &Config,
) -> std::io::Result<(Response<()>, Body)> {
    let (response, body) = files::response::head(resolved, method, config);
    Ok((response, body::inline_small(body)?))
}

/// What early delivery did for one page.
#[derive(Default)]
struct Early {
    promised: Vec<(String, SendPushedResponse<Bytes>)>,
    pushed: usize,
    hinted: usize,
}

/// Sends the 103 and the PUSH_PROMISEs, and adds the `Link` values to the page's response.
/// Push is best-effort: a refused promise turns into a hint.
fn deliver_early(
    respond: &mut SendResponse<Bytes>,
    response: &mut Response<()>,
    page: &Page,
    request_headers: &HeaderMap,
    authority: &str,
    ctx: &ConnCtx,
) -> Early {
    let config = &ctx.state.config.push;
    let may_push = page.may_push && ctx.push.load(Ordering::Relaxed) != PUSH_REFUSED;
    let mut plan = policy::plan(&page.assets.manifest, config, may_push, |p| {
        ctx.already_sent(p)
    });

    if config.early_hints {
        if let Err(err) = respond.send_informational(page.assets.early_hints()) {
            debug!(cause = %err, "103 early hints not sent");
        }
    }

    let mut early = Early::default();
    let mut refused = false;
    for (asset, action) in plan.iter_mut() {
        if *action != Action::Push {
            continue;
        }
        if refused {
            *action = Action::Hint(HintReason::Refused);
            continue;
        }
        let promise = promised_request(&ctx.scheme, authority, &asset.path, request_headers);
        match promise.map(|req| respond.push_request(req)) {
            Some(Ok(pushed)) => {
                ctx.push.store(PUSH_WORKS, Ordering::Relaxed);
                ctx.note_sent(&asset.path);
                early.promised.push((asset.path.clone(), pushed));
            }
            Some(Err(err)) => {
                debug!(cause = %err, path = %asset.path, "push refused; hinting instead");
                let _ = ctx.push.compare_exchange(
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
            let nopush = any_pushed && *action != Action::Push;
            if let Some(v) = page.assets.link(i, nopush) {
                response.headers_mut().append(LINK, v.clone());
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
    for name in [ACCEPT_ENCODING, ACCEPT_LANGUAGE, USER_AGENT] {
        if let Some(v) = page_headers.get(&name) {
            request.headers_mut().insert(name, v.clone());
        }
    }
    Some(request)
}

/// Pushed responses go out after the page's first write: h2 has no priorities, and a page whose
/// HEADERS share a write with hundreds of kilobytes of pushed DATA reaches the client that much
/// later (measured with bench/ttfb.sh). Yielding lets the connection task flush the page's batch
/// (the write coalescer yields once per batch) before the pushed frames are queued.
async fn send_pushed_after_page(
    promised: Vec<(String, SendPushedResponse<Bytes>)>,
    ctx: Arc<ConnCtx>,
) {
    for _ in 0..PAGE_FIRST_YIELDS {
        tokio::task::yield_now().await;
    }
    for (path, pushed) in promised {
        send_pushed(pushed, path, &ctx);
    }
}

/// Scheduler passes a page's pushed responses wait, so its own batch is written first.
const PAGE_FIRST_YIELDS: usize = 2;

/// Answers a promised request as a direct GET of it would be answered (never pushing from it):
/// from memory at once when the file is kept there, otherwise on a task of its own.
fn send_pushed(mut pushed: SendPushedResponse<Bytes>, path: String, ctx: &Arc<ConnCtx>) {
    let started = Instant::now();
    match from_memory(ctx, &Method::GET, &path, &HeaderMap::new()) {
        Some((response, body)) => {
            let status = response.status();
            let ended = body.is_empty();
            let sent = finish_in_memory(pushed.send_response(response, ended), body, ended);
            log_pushed(&path, status, sent, started);
        }
        None => {
            tokio::spawn(send_pushed_from_disk(pushed, path, ctx.clone(), started));
        }
    }
}

async fn send_pushed_from_disk(
    mut pushed: SendPushedResponse<Bytes>,
    path: String,
    ctx: Arc<ConnCtx>,
    started: Instant,
) {
    let state = ctx.state.clone();
    let target = path.clone();
    let decided = tokio::task::spawn_blocking(move || {
        let resolved = resolve_kept(&state, &Method::GET, &target, &HeaderMap::new());
        head_with_body(resolved, &Method::GET, &state.config)
    })
    .await;
    let (response, body) = match decided {
        Ok(Ok(answer)) => answer,
        Ok(Err(err)) => {
            error!(cause = %err, %path, "reading a pushed file failed");
            pushed.send_reset(h2::Reason::INTERNAL_ERROR);
            return;
        }
        Err(err) => {
            error!(cause = %err, %path, "push task failed");
            pushed.send_reset(h2::Reason::INTERNAL_ERROR);
            return;
        }
    };
    let status = response.status();
    let end_of_stream = body.is_empty();
    let sent = match pushed.send_response(response, end_of_stream) {
        Ok(_) if end_of_stream => Ok(0),
        Ok(mut stream) => body::send(&mut stream, body).await,
        Err(err) => Err(err.into()),
    };
    log_pushed(&path, status, sent, started);
}

fn log_pushed(
    path: &str,
    status: StatusCode,
    sent: Result<u64, body::SendError>,
    started: Instant,
) {
    let bytes = sent.unwrap_or_else(|err| {
        debug!(cause = %err, %path, "pushed response not completed");
        0
    });
    access_log("PUSH", path, status, bytes, started, None);
}

fn access_log(
    method: &str,
    target: &str,
    status: StatusCode,
    bytes: u64,
    started: Instant,
    early: Option<(usize, usize)>,
) {
    let ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0);
    match early {
        Some((pushed, hinted)) => info!(
            target: "h2push::access",
            %method, path = %target, status = status.as_u16(), bytes, ms, pushed, hinted,
        ),
        None => info!(
            target: "h2push::access",
            %method, path = %target, status = status.as_u16(), bytes, ms,
        ),
    }
}
