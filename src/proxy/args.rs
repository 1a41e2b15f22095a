//! The proxy's flags: `--proxy` on `serve` (flattened into its flags), and `h2push proxy URL`,
//! which is `serve` with every request going to URL. Defined beside the proxy that reads
//! them, so the library never reaches up into the command line.

use std::time::Duration;

use clap::Args;

use super::{ProxyConfig, Route};
use crate::usage::parse_duration;

/// Flags for the backend, on `serve` and `proxy`.
#[derive(Debug, Args, Clone)]
pub struct UpstreamArgs {
    /// Send requests to a backend: `URL` (http://HOST:PORT) for paths with no file, or
    /// `/PREFIX=URL` for every request under /PREFIX (repeatable)
    #[arg(long = "proxy", value_name = "[/PREFIX=]URL", value_parser = Route::parse)]
    pub routes: Vec<Route>,

    /// Send the backend's HOST:PORT as `Host` instead of the client's
    #[arg(long)]
    pub upstream_host_rewrite: bool,

    /// Longest TCP connect to the backend before a 504
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "TIME")]
    pub upstream_connect_timeout: Duration,

    /// Longest wait for the backend's response head (its think time) before a 504
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "TIME")]
    pub upstream_timeout: Duration,

    /// Longest pause inside a backend's response body before the response is cut
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "TIME")]
    pub upstream_idle_timeout: Duration,
}

/// `h2push proxy URL [serve's flags]`: generic over `serve`'s flags (`cli::ServeArgs`), so
/// this module does not import `cli`, which imports it.
#[derive(Debug, Args)]
pub struct ProxyArgs<S: Args> {
    /// The backend every request goes to, e.g. http://127.0.0.1:3000
    #[arg(value_parser = super::Upstream::parse, value_name = "URL")]
    pub url: super::Upstream,

    #[command(flatten)]
    pub serve: S,
}

impl UpstreamArgs {
    /// The proxy's settings, or `None` with no backend.
    pub fn config(&self) -> Option<ProxyConfig> {
        if self.routes.is_empty() {
            return None;
        }
        Some(ProxyConfig {
            routes: self.routes.clone(),
            rewrite_host: self.upstream_host_rewrite,
            connect_timeout: self.upstream_connect_timeout,
            first_byte_timeout: self.upstream_timeout,
            idle_timeout: self.upstream_idle_timeout,
        })
    }
}

impl<S: Args> ProxyArgs<S> {
    /// `serve`'s flags, and URL's route for every path (put after any `--proxy /PREFIX=`).
    pub fn into_parts(self) -> (S, Route) {
        let route = Route {
            prefix: Some("/".into()),
            upstream: self.url,
        };
        (self.serve, route)
    }
}
