//! The flags of `h2push compare`: defined beside the comparer that reads them, so the library
//! never reaches up into the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The page to load, e.g. https://localhost:8443/
    #[arg(required_unless_present = "proxy_only")]
    pub url: Option<String>,

    /// Round-trip time to emulate with a delaying proxy, e.g. 100ms [default: 0ms = no proxy,
    /// or the profile's]
    #[arg(long, value_parser = crate::usage::parse_duration, value_name = "TIME")]
    pub rtt: Option<Duration>,

    /// Bandwidth cap of the emulated path, each direction (e.g. 10mbit, 512kbit) [default:
    /// none, or the profile's]
    #[arg(long, value_parser = super::proxy::parse_bandwidth, value_name = "RATE")]
    pub bandwidth: Option<u64>,

    /// A named link (WebPageTest's numbers): 3g (300 ms, 1.6/0.768 Mbit/s), 4g (170 ms, 9/9),
    /// cable (28 ms, 5/1), fiber (4 ms, 20/5); slow start on. --rtt and --bandwidth override it
    #[arg(long, value_parser = super::profile::Profile::parse, value_name = "NAME")]
    pub profile: Option<super::profile::Profile>,

    /// Emulate TCP slow start server→client: a window per round trip, from --initcwnd segments,
    /// doubling while full, back to the start after an idle RTO (see `compare/proxy.rs`)
    #[arg(long)]
    pub slow_start: bool,

    /// Initial congestion window in 1,448-byte segments; implies --slow-start [default: 10]
    #[arg(long, value_name = "SEGMENTS", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub initcwnd: Option<u32>,

    /// Page loads per mode
    #[arg(long, default_value_t = super::DEFAULT_RUNS, value_name = "N")]
    pub runs: usize,

    /// Modes to compare, runs interleaved: push, hints, none
    #[arg(long, default_value = "push,hints,none", value_parser = super::load::ModeList::parse, value_name = "LIST")]
    pub modes: super::load::ModeList,

    /// Views per run: first (empty cache), repeat (a new connection with the first view's cache
    /// and cookies: fresh entries answer without a request, stale ones are revalidated)
    #[arg(long, default_value = "first", value_parser = super::load::ViewList::parse, value_name = "LIST")]
    pub views: super::load::ViewList,

    /// Also load the page in a real browser through the same link: chromium (headless, found on
    /// PATH; needs certutil to trust --ca). Modes hints and none (Chromium refuses push)
    #[arg(long, value_parser = super::browser::BrowserKind::parse, value_name = "NAME")]
    pub browser: Option<super::browser::BrowserKind>,

    /// CA certificate (PEM) to trust [default: the per-user CA `h2push serve` makes:
    /// $H2PUSH_CAROOT/ca.pem, else $XDG_DATA_HOME/h2push/ca.pem, else ~/.local/share/h2push/ca.pem]
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,

    /// Accept any server certificate (for servers with self-signed ones)
    #[arg(long, conflicts_with = "ca")]
    pub insecure: bool,

    /// Print the report as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,

    /// Also write a self-contained HTML report with an SVG waterfall per mode
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,

    /// Print a frame-level event timeline of one run per mode, like `nghttp -v`
    #[arg(long)]
    pub trace: bool,

    /// Only run the emulated link (the same proxy, --rtt/--bandwidth/--profile/--slow-start)
    /// from --listen to --upstream, until Ctrl-C, so other clients (nghttp, a browser) can be
    /// measured through it: `compare --proxy-only --rtt 100ms --listen 127.0.0.1:9443
    /// --upstream 127.0.0.1:8443`
    #[arg(long, requires_all = ["listen", "upstream"])]
    pub proxy_only: bool,

    /// Address the --proxy-only proxy listens on, e.g. 127.0.0.1:9443
    #[arg(long, value_name = "ADDR", requires = "proxy_only")]
    pub listen: Option<SocketAddr>,

    /// Address the --proxy-only proxy forwards to, e.g. 127.0.0.1:8443
    #[arg(long, value_name = "ADDR", requires = "proxy_only")]
    pub upstream: Option<SocketAddr>,
}
