//! `compare --browser chromium`: the same page loads by headless Chromium, through the same
//! delaying proxy, read back over the DevTools protocol (navigation, paint and resource timing).
//!
//! The DevTools client is `chromiumoxide` (0.7, `tokio-runtime`), not `headless_chrome`: it is
//! async on tokio, which `compare` already runs on (headless_chrome is blocking, a thread per
//! browser and `spawn_blocking` around every call), and its typed protocol has what this needs
//! (`Fetch.continueResponse` with headers, `Runtime.evaluate` awaiting a promise). Both crates
//! compile a generated protocol of ~100k lines, the bulk of the build time either way;
//! chromiumoxide's default features (async-std, the browser fetcher) are off.
//!
//! What a run is:
//! - Chromium must trust the server's certificate, or it ignores 103 Early Hints
//!   (`--ignore-certificate-errors` is not enough): [`TrustedHome`] is a throw-away HOME whose
//!   NSS database holds `--ca`, made with `certutil` (REAL-CLIENTS.md).
//! - Each run gets a fresh profile (`--user-data-dir`). The first view is one browser process;
//!   the repeat view a second process on the same profile: its HTTP cache, a new connection.
//! - The browser keeps the page's host name (so the certificate name holds) and reaches the
//!   proxy through `--host-resolver-rules` (`MAP host:port proxy`).
//! - Modes are what the browser does with hints, as for the built-in client (the server always
//!   sends its 103 and `Link`s): `hints` is Chromium as shipped; `none` strips `Link` from the
//!   page's response (`Fetch` interception, about a millisecond of DevTools round trip) but
//!   cannot stop Chromium acting on the 103 (see `driver::strip_link`; the report warns). Chromium
//!   refuses push, so `push` is skipped with a warning.
//! - Times are Chromium's own, in ms from navigation start (so they include the TCP and TLS
//!   handshakes, unlike the built-in client's, which start when the connection is ready).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::load::{Mode, View};
use super::stats::{median_index, stats, Stats};

#[cfg(feature = "chromium")]
mod driver;
mod trust;
#[cfg(feature = "chromium")]
pub use driver::{measure, BrowserTarget};
pub use trust::{chromium_args, on_path, TrustedHome};

/// Whether this build can drive a browser: the Chromium driver (chromiumoxide, ~200 crates to
/// compile) is the cargo feature `chromium`, off by default so that a server build stays lean.
pub const DRIVER_BUILT_IN: bool = cfg!(feature = "chromium");

/// What `--browser` says in a build without the driver.
pub const NOT_BUILT_IN: &str = "--browser: this h2push was built without the Chromium driver; rebuild with `cargo install --path . --features chromium`";

/// The longest one browser page load may take (launch, navigation, reading the timings).
pub const BROWSER_RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait after `load` for First Contentful Paint to be recorded.
pub const PAINT_WAIT: Duration = Duration::from_secs(2);

/// Executables tried, in order, for `--browser chromium`.
pub const CHROMIUM_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

/// The browsers `--browser` drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BrowserKind {
    Chromium,
}

impl BrowserKind {
    /// `--browser` values.
    pub fn parse(s: &str) -> Result<BrowserKind, String> {
        match s {
            "chromium" | "chrome" => Ok(BrowserKind::Chromium),
            _ => Err(format!("{s:?}: the browser compare drives is chromium")),
        }
    }
}

/// One browser page load, as Chromium timed it (ms from navigation start).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrowserRun {
    pub connect_end_ms: f64,
    pub response_start_ms: f64,
    pub dom_content_loaded_ms: f64,
    pub load_ms: f64,
    pub fcp_ms: Option<f64>,
    pub lcp_ms: Option<f64>,
    /// `nextHopProtocol` of the page (`h2`).
    pub protocol: String,
    pub resources: Vec<BrowserResource>,
}

/// One `PerformanceResourceTiming` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrowserResource {
    /// Path and query.
    pub path: String,
    /// `early-hints` for a fetch the 103 started; `link`, `css`, `img`, `script`... otherwise.
    pub initiator_type: String,
    pub start_ms: f64,
    pub response_start_ms: f64,
    pub end_ms: f64,
    /// Bytes over the network (Chromium reports 0 for the HTTP cache, and for 103 preloads).
    pub transfer_size: f64,
}

impl BrowserRun {
    /// Paths of the resources the 103 fetched.
    pub fn early_hinted(&self) -> Vec<&str> {
        self.resources
            .iter()
            .filter(|r| r.initiator_type == "early-hints")
            .map(|r| r.path.as_str())
            .collect()
    }
}

/// The warning for Chromium's mode `none` (see `driver::strip_link`).
pub const NONE_CAVEAT: &str = "Chromium's mode none only strips the page's Link header: Chromium still acts on the 103 (it has no switch to ignore one), so its hints and none rows differ by the Link header alone";

/// Medians over the runs of one (view, mode) for the browser.
#[derive(Debug, Clone, Serialize)]
pub struct BrowserSummary {
    pub browser: BrowserKind,
    pub mode: Mode,
    pub view: View,
    pub runs: usize,
    pub response_start_ms: Stats,
    pub dom_content_loaded_ms: Stats,
    pub load_ms: Stats,
    pub fcp_ms: Option<Stats>,
    pub lcp_ms: Option<Stats>,
    /// Resources fetched because of the 103, in the median run.
    pub early_hints: usize,
    /// The run whose `load` is the median, with its resources.
    pub median_run: BrowserRun,
}

impl BrowserSummary {
    pub fn of(mode: Mode, view: View, runs: &[BrowserRun]) -> Option<BrowserSummary> {
        let of = |f: fn(&BrowserRun) -> f64| stats(&runs.iter().map(f).collect::<Vec<_>>());
        let some = |f: fn(&BrowserRun) -> Option<f64>| {
            stats(&runs.iter().filter_map(f).collect::<Vec<_>>())
        };
        let load = of(|r| r.load_ms)?;
        let loads: Vec<f64> = runs.iter().map(|r| r.load_ms).collect();
        let median_run = runs[median_index(&loads)?].clone();
        Some(BrowserSummary {
            browser: BrowserKind::Chromium,
            mode,
            view,
            runs: runs.len(),
            response_start_ms: of(|r| r.response_start_ms)?,
            dom_content_loaded_ms: of(|r| r.dom_content_loaded_ms)?,
            load_ms: load,
            fcp_ms: some(|r| r.fcp_ms),
            lcp_ms: some(|r| r.lcp_ms),
            early_hints: median_run.early_hinted().len(),
            median_run,
        })
    }
}
