//! The page model and what to request next: a request or a promise registers a resource by
//! path; what the HTML and stylesheets reference is *needed*, and requested unless the cache
//! answers it or it is already pushed or requested; in mode `hints` the preloads are requested
//! as they arrive. The load is complete when the page and everything it needs have ended.

use std::time::Instant;

use anyhow::{Context, Result};
use h2::client::PushPromise;
use http::Request;
use url::Url;

use super::stream::read_stream;
use super::{
    Loader, Resource, Via, ACCEPT_ENCODING, MAX_CSS_PARSE_BYTES, MAX_HTML_PARSE_BYTES,
    MAX_MODULE_PARSE_BYTES, MAX_RESOURCES,
};
use crate::compare::cache::Entry;
use crate::compare::links::parse_link_header;
use crate::compare::wire::Wire;
use crate::push::css::parse_css;
use crate::push::html::{parse_html, HtmlRefKind};

/// Bytes kept of a subresource's body: enough for a stylesheet and for a module script.
const KEEP_BYTES: usize = if MAX_CSS_PARSE_BYTES > MAX_MODULE_PARSE_BYTES {
    MAX_CSS_PARSE_BYTES
} else {
    MAX_MODULE_PARSE_BYTES
};

impl Loader {
    /// The entry of the earlier view that answers `path` without a request, if fresh.
    pub(super) fn fresh(&self, path: &str) -> Option<&Entry> {
        self.prior.get(path).filter(|e| e.is_fresh(Instant::now()))
    }

    /// `path` answered by the client's cache: a resource with no request and no wait.
    async fn answer_from_cache(&mut self, path: &str) {
        let Some(entry) = self.fresh(path).cloned() else {
            return;
        };
        let now = self.now();
        let mut r = Resource::new(path, Via::Cache, 0, now);
        r.headers_ms = Some(now);
        r.end_ms = Some(now);
        r.status = Some(200);
        r.needed = true;
        r.content_type = entry.content_type;
        r.body = entry.body;
        self.note(format!("from the cache  {path}"));
        let key = self.resources.len();
        self.by_path.insert(path.to_string(), key);
        self.resources.push(r);
        self.read_arrived(key).await;
    }

    /// Sends a GET for `path` and registers it as resource `resources.len()`.
    pub(super) async fn request(
        &mut self,
        path: &str,
        via: Via,
    ) -> Result<h2::client::ResponseFuture> {
        let uri = format!("{}://{}{}", self.url.scheme(), authority(&self.url), path);
        let mut request = Request::get(uri).header(http::header::ACCEPT_ENCODING, ACCEPT_ENCODING);
        if let Some(entry) = self.prior.get(path) {
            for (name, value) in entry.validators() {
                request = request.header(name, value);
            }
        }
        if let Some(cookie) = self.prior.cookie_header() {
            request = request.header(http::header::COOKIE, cookie);
        }
        let request = request
            .body(())
            .with_context(|| format!("building a request for {path}"))?;
        let mut send = self.send.clone().ready().await?;
        let (response, _) = send.send_request(request, true)?;
        let stream_id = response.stream_id().as_u32();
        self.requests += 1;
        self.note(format!(
            "send HEADERS stream {stream_id} GET {path} ({})",
            via.as_str()
        ));
        self.by_path.insert(path.to_string(), self.resources.len());
        let start_ms = self.now();
        self.resources
            .push(Resource::new(path, via, stream_id, start_ms));
        Ok(response)
    }

    /// Requests `path` and reads its response in a task of its own.
    pub(super) async fn fetch(&mut self, path: &str, via: Via) -> Result<()> {
        let response = self.request(path, via).await?;
        let key = self.resources.len() - 1;
        let (tx, bytes) = (self.tx.clone(), self.body_bytes.clone());
        tokio::spawn(read_stream(key, response, KEEP_BYTES, tx, bytes));
        Ok(())
    }

    pub(super) fn take_promise(&mut self, promise: PushPromise) {
        let (request, pushed) = promise.into_parts();
        let path = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let stream_id = pushed.stream_id().as_u32();
        self.promises += 1;
        let parent = self.resources[0].stream_id;
        self.note_from(
            Some(Wire::PushPromise(parent)),
            format!("recv PUSH_PROMISE stream {parent} promised stream {stream_id}  {path}"),
        );
        let key = self.resources.len();
        let start_ms = self.now();
        self.resources
            .push(Resource::new(&path, Via::Push, stream_id, start_ms));
        // Same origin only: a push for another authority is never used.
        let same_origin = request
            .uri()
            .authority()
            .map_or(true, |a| a.as_str() == authority(&self.url));
        if same_origin && !self.by_path.contains_key(&path) {
            self.by_path.insert(path, key);
        }
        let (tx, bytes) = (self.tx.clone(), self.body_bytes.clone());
        tokio::spawn(read_stream(key, pushed, KEEP_BYTES, tx, bytes));
    }

    /// Requests the preloads named by `Link` values (hints mode).
    pub(super) async fn act_on_links(&mut self, values: &[String]) {
        for value in values {
            for link in parse_link_header(value) {
                if !link.is_preload() {
                    continue;
                }
                let Some(url) = self.url.join(&link.target).ok() else {
                    continue;
                };
                if url.origin() != self.url.origin() {
                    continue;
                }
                let path = path_of(&url);
                if self.fresh(&path).is_some() {
                    continue; // a browser's preload finds it in its cache
                }
                if !self.by_path.contains_key(&path) && self.resources.len() < MAX_RESOURCES {
                    let _ = self.fetch(&path, Via::Hint).await;
                }
            }
        }
    }

    /// The page needs `url`: request it unless it is pushed, requested or elsewhere.
    pub(super) async fn need(&mut self, url: &Url) {
        if url.origin() != self.url.origin() || self.needed.len() >= MAX_RESOURCES {
            return;
        }
        let path = path_of(url);
        if path == path_of(&self.url) || !self.needed.insert(path.clone()) {
            return;
        }
        // The HTTP cache comes first: a fresh entry wins over a push or a hinted request.
        if self.fresh(&path).is_some() {
            return self.answer_from_cache(&path).await;
        }
        match self.by_path.get(&path) {
            Some(&key) => {
                self.resources[key].needed = true;
                // Arrived before the page said it needs it (pushed, hinted): read it now.
                self.read_arrived(key).await;
            }
            None => {
                if self.fetch(&path, Via::Request).await.is_ok() {
                    if let Some(r) = self.resources.last_mut() {
                        r.needed = true;
                    }
                }
            }
        }
    }

    pub(super) async fn discover_in_page(&mut self) {
        self.discovered = true;
        let Some(mut html) = self.resources[0].body.take() else {
            return;
        };
        html.truncate(MAX_HTML_PARSE_BYTES);
        let page_url = self.url.clone();
        // Parsing is CPU work: off the async threads.
        let refs = tokio::task::spawn_blocking(move || parse_html(&html, &page_url))
            .await
            .unwrap_or_default();
        for html_ref in refs {
            match html_ref.kind {
                HtmlRefKind::InlineStyle { css } => {
                    let css_refs = parse_css(&css, &html_ref.url);
                    for css_ref in css_refs {
                        Box::pin(self.need(&css_ref.url)).await;
                    }
                }
                HtmlRefKind::ImportMap { json } => self.set_import_map(&json, &html_ref.url),
                HtmlRefKind::InlineModule { source } => {
                    self.inline_module(source, &html_ref.url).await
                }
                HtmlRefKind::Script { module: true, .. } => self.need_module(&html_ref.url).await,
                // A preloaded stylesheet is fetched but not applied: its url()s wait.
                _ => self.need(&html_ref.url).await,
            }
        }
    }

    /// Reads a needed stylesheet or module script once it has arrived.
    pub(super) async fn read_arrived(&mut self, key: usize) {
        self.parse_css_of(key).await;
        self.read_module(key).await;
    }

    /// Follows a needed stylesheet's `@import`s and `url()`s once it has arrived.
    async fn parse_css_of(&mut self, key: usize) {
        let r = &mut self.resources[key];
        let is_css = r.content_type.as_deref().is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/css"))
        });
        if !r.needed || r.parsed || r.end_ms.is_none() || r.failed || !is_css {
            return;
        }
        r.parsed = true;
        let Some(css) = r.body.take() else { return };
        let Ok(base) = self.url.join(&r.path) else {
            return;
        };
        let refs = parse_css(&String::from_utf8_lossy(&css), &base);
        // Imports are stylesheets, followed in turn when they arrive; the rest fonts and images.
        for css_ref in refs {
            Box::pin(self.need(&css_ref.url)).await;
        }
    }

    /// The HTML and every needed subresource have completed.
    pub(super) fn complete(&self) -> bool {
        self.discovered
            && self.resources.first().is_some_and(|p| p.end_ms.is_some())
            && self.needed.iter().all(|path| {
                self.by_path
                    .get(path)
                    .is_some_and(|&k| self.resources[k].end_ms.is_some())
            })
    }
}

/// The page must be a 2xx HTML document: anything else has no subresources to compare.
pub(super) fn check_page(url: &Url, status: u16, content_type: Option<&str>) -> Result<()> {
    if !(200..300).contains(&status) {
        anyhow::bail!("{url} answered {status}; compare needs a page that answers 200");
    }
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("text/html") | Some("application/xhtml+xml") => Ok(()),
        other => anyhow::bail!(
            "{url} is not an HTML page (content-type: {}); compare loads a page and the assets it references",
            other.unwrap_or("none")
        ),
    }
}

/// Path and query, as the page and the server write it.
pub(super) fn path_of(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

pub(super) fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or("localhost");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_must_be_html_and_2xx() {
        let url = Url::parse("https://localhost:8443/").unwrap();
        assert!(check_page(&url, 200, Some("text/html; charset=utf-8")).is_ok());
        let err = check_page(&url, 200, Some("text/css")).unwrap_err();
        assert!(err.to_string().contains("not an HTML page"), "{err}");
        assert!(check_page(&url, 404, Some("text/html")).is_err());
        assert!(check_page(&url, 200, None).is_err());
    }
}
