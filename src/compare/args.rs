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

    /// Round-trip time to emulate with a delaying proxy (0 = off)
    #[arg(long, default_value = "0ms", value_parser = crate::usage::parse_duration, value_name = "TIME")]
    pub rtt: Duration,

    /// Bandwidth cap of the emulated path, each direction (e.g. 10mbit, 512kbit)
    #[arg(long, value_parser = super::proxy::parse_bandwidth, value_name = "RATE")]
    pub bandwidth: Option<u64>,

    /// Page loads per mode
    #[arg(long, default_value_t = super::DEFAULT_RUNS, value_name = "N")]
    pub runs: usize,

    /// Modes to compare, runs interleaved: push, hints, none
    #[arg(long, default_value = "push,hints,none", value_parser = super::load::ModeList::parse, value_name = "LIST")]
    pub modes: super::load::ModeList,

    /// CA certificate (PEM) to trust [default: certs/ca.pem, written by `h2push serve`]
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

    /// Only run the delaying proxy from --listen to --upstream (for other clients, e.g. nghttp)
    #[arg(long, hide = true, requires_all = ["listen", "upstream"])]
    pub proxy_only: bool,

    /// Address the --proxy-only proxy listens on
    #[arg(long, hide = true, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Address the --proxy-only proxy forwards to
    #[arg(long, hide = true, value_name = "ADDR")]
    pub upstream: Option<SocketAddr>,
}
