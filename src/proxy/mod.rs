//! The reverse proxy: requests the static files do not answer go to a backend over HTTP/1.1,
//! their bodies streamed both ways. `serve::core` calls [`Proxy::route`] and [`Proxy::forward`]
//! (its one hook), so a proxied reply is carried by the same transports as a file: TLS,
//! HTTP/2 and HTTP/1.1, the access log and the limits.
//!
//! - `forward`: one request to the backend and its reply; 502 / 504 with one log line.
//! - `headers`: hop-by-hop headers removed, `Forwarded` / `X-Forwarded-*` set, `Host` kept.
//! - `pool`: keep-alive connections to each backend, connects under a timeout.
//! - `inbound`: a client's request body (HTTP/1.1 or HTTP/2) as one body type.
//! - `args`: the flags (`serve --proxy`, `h2push proxy URL`, the upstream timeouts).
//!
//! Nothing is cached: every request goes to the backend, every response comes back as sent.

pub mod args;
mod forward;
mod headers;
pub mod inbound;
mod pool;

use std::time::Duration;

pub use forward::{Forwarded, Proxy};
pub use inbound::{Inbound, RequestBody};

/// `--upstream-connect-timeout`: how long a TCP connect to the backend may take before the
/// request gets 504. Default 5 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `--upstream-timeout`: how long the backend may take to send a response head (its think
/// time) before the request gets 504. Default 60 s (nginx's `proxy_read_timeout`); a long-poll
/// backend that holds requests longer needs more.
pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(60);
/// `--upstream-idle-timeout`: how long a response body may pause between two chunks before it
/// is cut. Default 60 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle keep-alive connections kept per backend. Default 32; more are closed.
pub const POOL_MAX_IDLE: usize = 32;
/// How long an idle kept connection may wait for reuse. Default 4 s: under the 5 s keep-alive of
/// common app servers (Node's default), so the backend rarely closes one under us.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

/// Where requests go and how long the backend may take.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub routes: Vec<Route>,
    /// Send the backend's own host as `Host` instead of the client's (`--upstream-host-rewrite`).
    pub rewrite_host: bool,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub idle_timeout: Duration,
}

/// One backend, and which requests go to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `Some("/api")`: every request under the prefix goes to the backend, files or not. `None`:
    /// requests that found no file (404) go there.
    pub prefix: Option<String>,
    pub upstream: Upstream,
}

/// A backend: `http://HOST:PORT/BASE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `HOST:PORT`, to connect to and (with `--upstream-host-rewrite`) to send as `Host`.
    pub authority: String,
    /// A path put before each request's path (no trailing `/`), usually empty.
    pub base_path: String,
}

impl Route {
    /// Parses `URL` (a fallback for paths with no file) or `/PREFIX=URL`.
    pub fn parse(spec: &str) -> Result<Route, String> {
        let (prefix, url) = match spec.split_once('=') {
            Some((prefix, url)) if prefix.starts_with('/') => {
                let prefix = prefix.trim_end_matches('/');
                let prefix = if prefix.is_empty() { "/" } else { prefix };
                (Some(prefix.to_owned()), url)
            }
            _ => (None, spec),
        };
        Ok(Route {
            prefix,
            upstream: Upstream::parse(url)?,
        })
    }

    /// Whether a request path goes to this route's backend before any file is looked up.
    pub fn claims(&self, path: &str) -> bool {
        match self.prefix.as_deref() {
            None => false,
            Some("/") => true,
            Some(prefix) => path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
        }
    }
}

impl Upstream {
    pub fn parse(url: &str) -> Result<Upstream, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if parsed.scheme() != "http" {
            return Err(format!(
                "{url:?}: only http:// backends are supported (HTTP/1.1 with keep-alive)"
            ));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("{url:?} has no host"))?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!("{url:?}: a backend URL takes no query or fragment"));
        }
        Ok(Upstream {
            authority: format!("{host}:{port}"),
            base_path: parsed.path().trim_end_matches('/').to_owned(),
        })
    }
}

impl ProxyConfig {
    /// Routes with the default timeouts.
    pub fn new(routes: Vec<Route>) -> Self {
        ProxyConfig {
            routes,
            rewrite_host: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            first_byte_timeout: DEFAULT_FIRST_BYTE_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_claim() {
        let fallback = Route::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(fallback.prefix, None);
        assert_eq!(fallback.upstream.authority, "127.0.0.1:3000");
        assert!(!fallback.claims("/"));
        let api = Route::parse("/api/=http://localhost/v1/").unwrap();
        assert_eq!(api.prefix.as_deref(), Some("/api"));
        assert_eq!(api.upstream.authority, "localhost:80");
        assert_eq!(api.upstream.base_path, "/v1");
        assert!(api.claims("/api") && api.claims("/api/x"));
        assert!(!api.claims("/apiary") && !api.claims("/"));
        assert!(Route::parse("/=http://h:1").unwrap().claims("/anything"));
        assert!(Route::parse("https://h").is_err());
        assert!(Route::parse("/api=nonsense").is_err());
    }
}
