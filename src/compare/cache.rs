//! The client's memory between a first view and a repeat view, as a browser keeps it: responses
//! with their validators and freshness, and the cookies the server set.
//!
//! The model (RFC 9111, kept to what decides a page load):
//! - a 200 is stored unless `Cache-Control` says `no-store`; with `max-age=N` it is fresh for N
//!   seconds from its arrival, with `no-cache` (or no `max-age`) it must be revalidated: no
//!   heuristic freshness, so a server that says nothing is asked again every time;
//! - a fresh entry answers without a request; a stale one with an `ETag` or `Last-Modified`
//!   is asked for with `If-None-Match` / `If-Modified-Since`, and a 304 answers from the store;
//! - cookies: the `name=value` of every `Set-Cookie`, sent back as one `cookie` header on every
//!   request of the next view (attributes, domains and expiry are not modelled: one origin);
//! - only the bodies of HTML and CSS are kept (the loader reads nothing else).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use http::header::{CACHE_CONTROL, ETAG, LAST_MODIFIED, SET_COOKIE};
use http::HeaderMap;

/// What the client kept of one response.
#[derive(Debug, Clone)]
pub struct Entry {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// `None`: revalidate before use.
    pub fresh_until: Option<Instant>,
    pub content_type: Option<String>,
    /// HTML and CSS bodies, for discovery when the entry answers.
    pub body: Option<Vec<u8>>,
}

impl Entry {
    pub fn is_fresh(&self, now: Instant) -> bool {
        self.fresh_until.is_some_and(|until| now < until)
    }

    /// The conditional request headers, when the entry has a validator.
    pub fn validators(&self) -> Vec<(http::HeaderName, String)> {
        let mut out = Vec::new();
        if let Some(etag) = &self.etag {
            out.push((http::header::IF_NONE_MATCH, etag.clone()));
        } else if let Some(date) = &self.last_modified {
            out.push((http::header::IF_MODIFIED_SINCE, date.clone()));
        }
        out
    }
}

/// The store and the cookie jar of one client.
#[derive(Debug, Clone, Default)]
pub struct ClientCache {
    entries: HashMap<String, Entry>,
    cookies: Vec<(String, String)>,
}

impl ClientCache {
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps a response that arrived at `at` with `status` and `headers` (and `body`, when
    /// HTML or CSS), if the store may; a 304 refreshes the entry it validated.
    pub fn store(
        &mut self,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: Option<Vec<u8>>,
        at: Instant,
    ) {
        self.take_cookies(headers);
        let control = directives(headers);
        if control.iter().any(|d| d == "no-store") {
            self.entries.remove(path);
            return;
        }
        let fresh_until = if control.iter().any(|d| d == "no-cache") {
            None
        } else {
            control
                .iter()
                .find_map(|d| d.strip_prefix("max-age="))
                .and_then(|n| n.trim_matches('"').parse::<u64>().ok())
                .map(|secs| at + Duration::from_secs(secs))
        };
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &http::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        match status {
            200 => {
                let entry = Entry {
                    etag: text(ETAG),
                    last_modified: text(LAST_MODIFIED),
                    fresh_until,
                    content_type: text(http::header::CONTENT_TYPE),
                    body,
                };
                self.entries.insert(path.to_string(), entry);
            }
            304 => {
                if let Some(entry) = self.entries.get_mut(path) {
                    entry.fresh_until = fresh_until;
                    if let Some(etag) = text(ETAG) {
                        entry.etag = Some(etag);
                    }
                }
            }
            _ => {}
        }
    }

    /// The `cookie` header to send, if the server set any.
    pub fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn take_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let pair = value.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim().to_string(), value.trim().to_string());
            self.cookies.retain(|(n, _)| *n != name);
            if !value.is_empty() {
                self.cookies.push((name, value));
            }
        }
    }
}

/// `Cache-Control` directives, lower-cased, without spaces.
fn directives(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase().replace(' ', ""))
        .filter(|d| !d.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn max_age_is_fresh_no_cache_revalidates_no_store_forgets() {
        let now = Instant::now();
        let mut cache = ClientCache::default();
        let h = headers(&[("cache-control", "public, max-age=60"), ("etag", "\"a\"")]);
        cache.store("/a.css", 200, &h, None, now);
        let a = cache.get("/a.css").unwrap();
        assert!(a.is_fresh(now + Duration::from_secs(59)));
        assert!(!a.is_fresh(now + Duration::from_secs(61)));
        let h = headers(&[("cache-control", "no-cache"), ("etag", "\"p\"")]);
        cache.store("/", 200, &h, Some(b"<p>".to_vec()), now);
        let page = cache.get("/").unwrap();
        assert!(!page.is_fresh(now));
        assert_eq!(
            page.validators(),
            [(http::header::IF_NONE_MATCH, "\"p\"".to_string())]
        );
        cache.store(
            "/",
            200,
            &headers(&[("cache-control", "no-store")]),
            None,
            now,
        );
        assert!(cache.get("/").is_none());
        // Nothing said: kept, revalidated with the date.
        let h = headers(&[("last-modified", "Wed, 25 Nov 2026 10:00:00 GMT")]);
        cache.store("/x", 200, &h, None, now);
        assert!(!cache.get("/x").unwrap().is_fresh(now));
        assert_eq!(
            cache.get("/x").unwrap().validators()[0].0,
            http::header::IF_MODIFIED_SINCE
        );
    }

    #[test]
    fn a_304_refreshes_what_it_validated() {
        let now = Instant::now();
        let mut cache = ClientCache::default();
        let h = headers(&[("cache-control", "no-cache"), ("etag", "\"1\"")]);
        cache.store("/", 200, &h, Some(b"page".to_vec()), now);
        let h = headers(&[("cache-control", "max-age=5"), ("etag", "\"1\"")]);
        cache.store("/", 304, &h, None, now);
        let page = cache.get("/").unwrap();
        assert!(page.is_fresh(now));
        assert_eq!(page.body.as_deref(), Some(&b"page"[..]));
    }

    #[test]
    fn cookies_come_back_as_one_header() {
        let mut cache = ClientCache::default();
        assert_eq!(cache.cookie_header(), None);
        let h = headers(&[
            ("set-cookie", "a=1; Path=/; HttpOnly"),
            ("set-cookie", "b=2"),
        ]);
        cache.store("/", 200, &h, None, Instant::now());
        cache.store(
            "/",
            200,
            &headers(&[("set-cookie", "a=3")]),
            None,
            Instant::now(),
        );
        assert_eq!(cache.cookie_header().as_deref(), Some("b=2; a=3"));
    }
}
