//! The protocol-free core: for a request head, decide the response (head and body source) and,
//! for an HTML page, the assets to deliver early. It knows nothing of h2 or hyper; the
//! transports (`h2`, `h1`) carry what it decides onto the wire, each in its own way (103 and
//! PUSH_PROMISE on HTTP/2, `Link` headers on both).

use std::sync::Arc;

use http::header::{DATE, SERVER};
use http::{HeaderMap, Method, Response};
use tracing::error;

use crate::config::Config;
use crate::events;
use crate::files::{self, body, OpenFile, Resolved};
use crate::proxy::{Forwarded, Inbound};
use crate::push::hints::PageAssets;
use crate::push::pages::page_assets;
use crate::reply::{Body, Reply};

use super::State;

/// What the core needs of a request: its head, whatever the protocol.
#[derive(Debug, Clone)]
pub struct Ask {
    pub method: Method,
    /// Path and query, as sent.
    pub target: String,
    /// `:authority` (HTTP/2) or `Host` (HTTP/1.1); `localhost` when the client sent neither.
    pub authority: String,
    pub headers: HeaderMap,
}

impl Ask {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }

    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }
}

/// The response for a request, and for an HTML page the assets to deliver early.
#[derive(Debug)]
pub struct Answer {
    pub reply: Reply,
    pub page: Option<Page>,
    /// An event stream: counted against the event-stream budget while it is open.
    pub event_stream: bool,
}

/// An HTML page whose assets get delivered early.
#[derive(Debug)]
pub struct Page {
    pub assets: Arc<PageAssets>,
    /// Push only on a plain 200; a 304 still gets hints.
    pub may_push: bool,
    /// The current ETag of each manifest asset (same order), for the push digest; empty when
    /// `--push-digest off`, None for an asset that could not be opened.
    pub etags: Vec<Option<String>>,
}

/// Answers a request: a CORS preflight, the change feed's endpoints, then files, with the
/// site's `--header`/`--cors` headers added. File-system work runs on the blocking pool; a long
/// poll waits here (the transport drops this future when the client goes).
pub async fn answer(state: &Arc<State>, ask: Ask) -> Answer {
    answer_from(state, ask, None).await
}

/// [`answer`] with the request's body and client, which a proxied request streams to the
/// backend (`--proxy`): requests under a route's prefix go there first, and with a fallback
/// route, those that found no file (404).
pub async fn answer_from(state: &Arc<State>, ask: Ask, client: Option<Inbound>) -> Answer {
    let rules = &state.config.rules;
    let path = ask.path().to_owned();
    let mut answer = match rules.preflight(&ask.method, &ask.headers) {
        Some(head) => Answer::plain(stamp(Reply::new(head, Body::Empty), &state.config)),
        None => answer_unruled(state, ask, client).await,
    };
    rules.apply(&mut answer.reply.head, &path);
    answer
}

async fn answer_unruled(state: &Arc<State>, ask: Ask, client: Option<Inbound>) -> Answer {
    let config = &state.config;
    if let Some(endpoint) = events::route(state.changes.as_ref(), &config.feed, ask.path()) {
        let event_stream = endpoint.is_event_stream();
        if event_stream && ask.method == Method::GET {
            let Some(slot) = state.event_streams.try_open() else {
                state
                    .refusals
                    .refuse(super::admission::Refusal::EventStreamsFull);
                return Answer::plain(stamp(super::limits::too_many_event_streams(), config));
            };
            let reply = endpoint
                .answer(&ask.method, ask.query(), &ask.headers, &config.feed)
                .await;
            return Answer {
                reply: stamp(slot.hold(reply), config),
                page: None,
                event_stream: true,
            };
        }
        let reply = endpoint
            .answer(&ask.method, ask.query(), &ask.headers, &config.feed)
            .await;
        return Answer::plain(stamp(reply, config));
    }
    let Some(proxy) = &state.proxy else {
        return answer_from_files(state, ask).await;
    };
    if let Some(route) = proxy.route(ask.path()) {
        return Answer::plain(proxy.forward(route, forwarded(ask), client).await);
    }
    let Some(route) = proxy.fallback() else {
        return answer_from_files(state, ask).await;
    };
    // Files answer only GET and HEAD: a form's POST, a PUT, a DELETE are the backend's.
    if ask.method != Method::GET && ask.method != Method::HEAD {
        return Answer::plain(proxy.forward(route, forwarded(ask), client).await);
    }
    let answer = answer_from_files(state, ask.clone()).await;
    if answer.reply.status() != http::StatusCode::NOT_FOUND {
        return answer;
    }
    Answer::plain(proxy.forward(route, forwarded(ask), client).await)
}

/// A request's head as the proxy sends it on.
fn forwarded(ask: Ask) -> Forwarded {
    Forwarded {
        method: ask.method,
        target: ask.target,
        authority: ask.authority,
        headers: ask.headers,
    }
}

async fn answer_from_files(state: &Arc<State>, ask: Ask) -> Answer {
    let config = &state.config;
    let state = state.clone();
    let target = ask.target.clone();
    match tokio::task::spawn_blocking(move || decide(&state, &ask)).await {
        Ok(answer) => answer,
        Err(join_err) => {
            error!(cause = %join_err, %target, "request task failed");
            let reply = files::response::reply(
                Resolved::Error(std::io::Error::other("request task failed")),
                &Method::GET,
                config,
            );
            Answer::plain(stamp(reply, config))
        }
    }
}

/// The reply to a GET or HEAD of a small file kept in memory, decided without the file system
/// or the blocking pool; `None` when the request needs [`answer`].
pub fn from_memory(
    state: &State,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
) -> Option<Reply> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let path = target.split('?').next().unwrap_or("/");
    if state
        .proxy
        .as_ref()
        .is_some_and(|p| p.route(path).is_some())
    {
        return None;
    }
    let kept = state.files.lookup(path)?;
    let codings_apply = state.encoder.codings_on() && kept.compressible();
    let mut reply = if is_plain(headers) && !codings_apply {
        // The common case, made cheap: the headers were built when the file was kept.
        let mut head = Response::new(());
        *head.headers_mut() = kept.full_head().clone();
        let bytes = kept.bytes();
        let body = if bytes.is_empty() {
            Body::Empty
        } else {
            Body::Bytes(bytes)
        };
        let reply = Reply::new(head, body);
        let mut reply = if method == Method::HEAD {
            reply.head_only()
        } else {
            reply
        };
        // The kept head has `Server` and an older `Date` (see `resolve_kept`): only Date changes.
        reply.head.headers_mut().insert(DATE, super::date::now());
        reply
    } else {
        // A coding may apply (a sidecar may exist: then the disk decides), or a condition.
        let file = state
            .encoder
            .negotiate_in_memory(kept.open_file(), headers)?;
        let resolved = files::decide_file(file, method, headers);
        stamp(
            files::response::reply(resolved, method, &state.config),
            &state.config,
        )
    };
    state.config.rules.apply(&mut reply.head, path);
    Some(reply)
}

/// A request without conditions or ranges: the answer is the whole file, 200.
fn is_plain(headers: &HeaderMap) -> bool {
    use http::header::{
        IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
    };
    [
        IF_NONE_MATCH,
        IF_MODIFIED_SINCE,
        IF_MATCH,
        IF_UNMODIFIED_SINCE,
        RANGE,
        IF_RANGE,
    ]
    .iter()
    .all(|name| !headers.contains_key(name))
}

impl Answer {
    fn plain(reply: Reply) -> Self {
        Answer {
            reply,
            page: None,
            event_stream: false,
        }
    }
}

/// Resolves the request, builds the reply, reads small bodies into memory and, for an HTML
/// page, finds its manifest: all of a request's file-system work in one trip to the blocking
/// pool.
fn decide(state: &State, ask: &Ask) -> Answer {
    let config = &state.config;
    let mut resolved = resolve_kept(state, &ask.method, &ask.target, &ask.headers);
    if let Some(reply) = list_dir(config, ask, &resolved) {
        return Answer::plain(stamp(reply, config));
    }
    if let (Resolved::NotFound(_), Some(fallback)) = (
        &resolved,
        config.rules.fallback_for(&ask.method, &ask.headers),
    ) {
        resolved = resolve_kept(state, &ask.method, fallback, &ask.headers);
    }
    let page = match (&resolved, &ask.method) {
        (Resolved::File { file, range: None }, &Method::GET) if file.is_html => {
            Some((manifest(state, ask, file), true))
        }
        (Resolved::NotModified(file), &Method::GET) if file.is_html => {
            Some((manifest(state, ask, file), false))
        }
        _ => None,
    };
    let page = page.and_then(|(assets, may_push)| {
        if assets.manifest.assets.is_empty() {
            return None;
        }
        let etags = if config.push.digest {
            asset_etags(state, &assets.manifest)
        } else {
            Vec::new()
        };
        Some(Page {
            assets,
            may_push,
            etags,
        })
    });
    match reply_with_body(resolved, &ask.method, config) {
        Ok(reply) => Answer {
            reply: stamp(reply, config),
            page,
            event_stream: false,
        },
        Err(err) => {
            error!(cause = %err, target = %ask.target, "reading a file failed");
            let reply = files::response::reply(Resolved::Error(err), &ask.method, config);
            Answer::plain(stamp(reply, config))
        }
    }
}

/// The listing for a directory without `index.html`, under `--list-dirs`.
fn list_dir(config: &Config, ask: &Ask, resolved: &Resolved) -> Option<Reply> {
    let get = ask.method == Method::GET;
    if !config.rules.list_dirs || !matches!(resolved, Resolved::NotFound(_)) {
        return None;
    }
    if !get && ask.method != Method::HEAD {
        return None;
    }
    let reply = files::listing::listing(config, ask.path(), &ask.headers)?;
    Some(if get {
        reply
    } else {
        Reply::new(reply.head, Body::Empty)
    })
}

fn manifest(state: &State, ask: &Ask, file: &OpenFile) -> Arc<PageAssets> {
    page_assets(
        &state.config,
        &state.manifests,
        ask.path(),
        &ask.authority,
        file.original(),
    )
}

/// The current ETag of each asset of a page: from memory when the file is kept, else from an
/// open and fstat. Blocking; bounded by the manifest's asset limit.
fn asset_etags(state: &State, manifest: &crate::push::manifest::Manifest) -> Vec<Option<String>> {
    manifest
        .assets
        .iter()
        .map(|asset| match state.files.lookup(&asset.file_path) {
            Some(kept) => Some(kept.open_file().validators.etag),
            None => match files::open_url_path(&state.config, &asset.file_path) {
                Ok(files::Opened::File(file)) => Some(file.validators.etag),
                _ => None,
            },
        })
        .collect()
}

/// Resolves a request on the blocking pool, logs a server-side failure, and keeps a small file
/// in memory for the next request of it.
pub fn resolve_kept(state: &State, method: &Method, target: &str, headers: &HeaderMap) -> Resolved {
    let generation = state.files.generation();
    let mut resolved = files::resolve(&state.config, &state.encoder, method, target, headers);
    match &mut resolved {
        Resolved::Error(err) => error!(cause = %err, %target, "serving a file failed"),
        Resolved::File { file, range: None } if state.files.is_enabled() => {
            let url_path = target.split('?').next().unwrap_or("/");
            // With Date and Server already in it, a request only replaces Date's value: no
            // growth of the cloned map per response.
            let mut head = files::response::full_headers(file, &state.config);
            stamp_headers(&mut head, &state.config);
            state
                .files
                .insert(&state.config.root, url_path, file, head, generation);
        }
        _ => {}
    }
    resolved
}

/// The reply for an outcome, with a small body already read into memory. Blocking.
pub fn reply_with_body(
    resolved: Resolved,
    method: &Method,
    config: &Config,
) -> std::io::Result<Reply> {
    let Reply { head, body } = files::response::reply(resolved, method, config);
    Ok(Reply::new(head, body::inline_small(body)?))
}

/// Adds what every response carries: `Date`, and `Server` unless it is turned off.
pub fn stamp(mut reply: Reply, config: &Config) -> Reply {
    stamp_head(&mut reply.head, config);
    reply
}

/// [`stamp`] for a bare head (a pushed response, a 103 needs none).
pub fn stamp_head(head: &mut Response<()>, config: &Config) {
    stamp_headers(head.headers_mut(), config);
}

fn stamp_headers(headers: &mut HeaderMap, config: &Config) {
    headers.insert(DATE, super::date::now());
    if let Some(server) = &config.server_header {
        headers.insert(SERVER, server.clone());
    }
}

/// Body bytes of a reply that are already in memory (empty, or bytes); `None` for bodies that
/// are read or produced as they are sent.
pub fn in_memory(body: &Body) -> Option<bytes::Bytes> {
    match body {
        Body::Empty => Some(bytes::Bytes::new()),
        Body::Bytes(b) => Some(b.clone()),
        _ => None,
    }
}
