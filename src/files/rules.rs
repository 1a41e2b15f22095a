//! Site rules users set on the command line, applied the same over HTTP/2 and HTTP/1.1: the
//! single-page-app fallback (`--fallback`), response headers by path glob (`--header`), and
//! CORS (`--cors`: `Access-Control-Allow-Origin: *` and an answer to preflight requests).

use globset::{Glob, GlobMatcher};
use http::header::{
    ACCEPT, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};

/// How long a browser may cache a preflight answer (`Access-Control-Max-Age`). Default 86400 s
/// (a day): the answer never changes while the server runs; browsers cap it lower anyway
/// (Chromium at 2 h).
pub const CORS_MAX_AGE_SECS: u32 = 86_400;

/// The methods a preflight is told are allowed: all this server answers.
const CORS_METHODS: &str = "GET, HEAD, OPTIONS";

/// One `--header 'GLOB: Name: value'`: the header set on every response whose URL path (as
/// requested, before percent-decoding) matches the glob.
#[derive(Debug, Clone)]
pub struct HeaderRule {
    pub glob: GlobMatcher,
    pub name: HeaderName,
    pub value: HeaderValue,
}

impl HeaderRule {
    /// Parses `/assets/*: Cache-Control: max-age=31536000`. `*` matches across `/`.
    pub fn parse(s: &str) -> Result<HeaderRule, String> {
        let shape = || format!("--header {s:?} must look like '/assets/*: Name: value'");
        let (glob, header) = s.split_once(": ").ok_or_else(shape)?;
        let (name, value) = header.split_once(':').ok_or_else(shape)?;
        let glob = Glob::new(glob.trim())
            .map_err(|e| format!("--header {s:?}: bad glob: {e}"))?
            .compile_matcher();
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("--header {s:?}: {:?} is not a header name", name.trim()))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("--header {s:?}: the value is not a valid header value"))?;
        Ok(HeaderRule { glob, name, value })
    }
}

/// The rules; the default changes nothing.
#[derive(Debug, Clone, Default)]
pub struct SiteRules {
    /// URL path served, with 200, for a GET or HEAD that accepts `text/html` and would be 404.
    pub fallback: Option<String>,
    pub headers: Vec<HeaderRule>,
    pub cors: bool,
    /// `--list-dirs`: a directory without `index.html` gets a listing instead of 404.
    pub list_dirs: bool,
}

impl SiteRules {
    /// The fallback page for a request that found nothing, if the rules give it one: only for
    /// GET/HEAD asking for HTML (a browser navigation), so a missing script or JSON stays 404.
    pub fn fallback_for(&self, method: &Method, headers: &HeaderMap) -> Option<&str> {
        let page = self.fallback.as_deref()?;
        let wants_html = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("text/html"));
        (wants_html && (method == Method::GET || method == Method::HEAD)).then_some(page)
    }

    /// The answer to an `OPTIONS` request under `--cors`: 204, the allowed methods, the request
    /// headers echoed back, and how long to cache it.
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Response<()>> {
        if !self.cors || method != Method::OPTIONS {
            return None;
        }
        let mut head = Response::new(());
        *head.status_mut() = StatusCode::NO_CONTENT;
        let h = head.headers_mut();
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(CORS_METHODS),
        );
        if let Some(asked) = headers.get(ACCESS_CONTROL_REQUEST_HEADERS) {
            h.insert(ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(CORS_MAX_AGE_SECS));
        Some(head)
    }

    /// Adds the CORS origin header and the matching `--header` rules to a response for `path`
    /// (a later rule for the same name wins).
    pub fn apply(&self, head: &mut Response<()>, path: &str) {
        let headers = head.headers_mut();
        if self.cors {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        for rule in self.headers.iter().filter(|r| r.glob.is_match(path)) {
            headers.insert(rule.name.clone(), rule.value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_rules_parse_and_match() {
        let rule = HeaderRule::parse("/assets/*: Cache-Control: max-age=60, immutable").unwrap();
        assert!(rule.glob.is_match("/assets/js/app.js"));
        assert!(!rule.glob.is_match("/index.html"));
        assert_eq!(rule.name, "cache-control");
        assert_eq!(rule.value, "max-age=60, immutable");
        for bad in [
            "/a/*",
            "/a/*: NoValue",
            "/a/*: Bad Name: x",
            "[: X: y",
            "/a: X: \u{1}",
        ] {
            assert!(HeaderRule::parse(bad).is_err(), "{bad}");
        }
    }
}
