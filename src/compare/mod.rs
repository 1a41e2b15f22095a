//! `h2push compare URL`: loads a page with push, with early hints only, and with neither, on a
//! fresh connection per run, through an RTT-emulating proxy, and reports what each mode costs.
//!
//! ```text
//! run          flags → Options; --proxy-only; output (table, waterfall, trace, JSON, HTML)
//!   └ measure  resolve + reach the server, start the proxy, warm up, interleave the runs
//!       ├ proxy    loopback TCP proxy: each direction delayed by RTT/2, optional bandwidth cap
//!       │          and TCP slow start (profile: the named links of --profile)
//!       ├ load     one browser-like page load (discovery = push::discover + push::css)
//!       ├ links    Link header values from 103s and responses
//!       ├ browser  --browser chromium: headless Chromium through the same proxy (DevTools;
//!       │          the driver is the cargo feature `chromium`)
//!       ├ stats    median, min, max, the median run, round trips
//!       ├ report   summaries and ratios; table, text waterfall, JSON, HTML + SVG
//!       └ wire     puts --trace in the order the frames arrived
//! ```

mod args;
pub mod browser;
pub mod cache;
pub mod links;
pub mod load;
pub mod profile;
pub mod proxy;
pub mod report;
pub mod stats;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use url::Url;

use crate::tls;
use crate::usage::UsageError;
pub use args::CompareArgs;
use load::{load_page, load_view, Mode, RunOutcome, Target, View};
use proxy::{Proxy, Shape};
use report::{ModeSummary, Report};

/// `--runs` default: enough for a median that one slow run does not move.
pub const DEFAULT_RUNS: usize = 5;

/// Most runs per mode: each is a page load, a thousand is already minutes at a long RTT.
pub const MAX_RUNS: usize = 1000;

/// Time allowed to reach the server before the runs start.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// What to measure, as the library takes it (the flags, validated).
#[derive(Debug, Clone)]
pub struct Options {
    pub url: Url,
    pub shape: Shape,
    pub runs: usize,
    pub modes: Vec<Mode>,
    /// First view, repeat view, or both (a repeat follows its first view, on a new connection).
    pub views: Vec<View>,
    /// CA to trust; `None` with `insecure` accepts any certificate.
    pub ca: Option<PathBuf>,
    pub insecure: bool,
    /// `--browser`: also load the page in this browser, through the same link.
    pub browser: Option<browser::BrowserKind>,
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// `h2push compare`.
pub async fn run(args: CompareArgs) -> Result<()> {
    let shape = profile::shape(
        args.profile,
        args.rtt,
        args.bandwidth,
        args.slow_start,
        args.initcwnd,
    );
    if args.proxy_only {
        return proxy_only(&args, shape).await;
    }
    if args.browser.is_some() && !browser::DRIVER_BUILT_IN {
        return Err(usage(browser::NOT_BUILT_IN));
    }
    let url = args.url.as_deref().unwrap_or_default();
    let url = Url::parse(url).map_err(|e| usage(format!("{url:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(usage(format!(
            "{url}: compare loads https:// (or cleartext http:// prior-knowledge HTTP/2) URLs"
        )));
    }
    if args.runs == 0 || args.runs > MAX_RUNS {
        return Err(usage(format!("--runs must be 1 to {MAX_RUNS}")));
    }
    let ca = match (&args.ca, args.insecure, url.scheme()) {
        (_, true, _) | (_, _, "http") => None,
        (Some(ca), ..) => Some(ca.clone()),
        // The per-user CA `h2push serve` makes, whatever the working directory.
        (None, ..) => Some(crate::certs::default_ca().ok_or_else(|| {
            usage("no per-user CA to check the server with (HOME is not set): pass --ca PEM or --insecure")
        })?),
    };
    if let Some(ca) = &ca {
        if !ca.exists() {
            return Err(usage(format!(
                "no CA certificate at {} to check {url} with: pass --ca PEM (`h2push serve` makes the per-user CA; `h2push cert` prints where), or --insecure to accept any certificate",
                ca.display()
            )));
        }
    }
    let options = Options {
        url,
        shape,
        runs: args.runs,
        modes: args.modes.0.clone(),
        views: args.views.0.clone(),
        ca,
        insecure: args.insecure,
        browser: args.browser,
    };
    let progress = if args.json {
        ProgressBar::hidden()
    } else {
        let loads = options.runs * options.modes.len() * loads_per_run(&options.views);
        let bar = ProgressBar::new(loads as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:32}] {pos}/{len} page loads  {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix("compare");
        bar
    };
    let (report, traces) = measure(&options, &progress).await?;
    progress.finish_and_clear();
    if args.json {
        println!("{}", report::json(&report)?);
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
    } else {
        print!("{}", report::table(&report));
        for mode in &report.modes {
            println!();
            print!("{}", report::waterfall(mode));
        }
        if args.trace {
            for run in &traces {
                println!();
                print!("{}", report::trace(run));
            }
        }
    }
    if let Some(path) = &args.report {
        std::fs::write(path, report::html(&report))
            .with_context(|| format!("writing the report to {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Runs every mode `options.runs` times, interleaved, after one warm-up load; returns the
/// report and the first measured run of each mode (for `--trace`).
pub async fn measure(
    options: &Options,
    progress: &ProgressBar,
) -> Result<(Report, Vec<RunOutcome>)> {
    let tls = match options.url.scheme() {
        "https" => Some(
            tls::client_config(options.ca.as_deref(), options.insecure)
                .map_err(|e| usage(format!("{e:#}")))?,
        ),
        _ => None,
    };
    let host = options.url.host_str().unwrap_or("localhost").to_string();
    let port = options.url.port_or_known_default().unwrap_or(443);
    let upstream = reach(&host, port).await?;
    let proxy = if options.shape != Shape::default() {
        let any: SocketAddr = if upstream.is_ipv4() {
            "127.0.0.1:0"
        } else {
            "[::1]:0"
        }
        .parse()
        .expect("loopback address");
        Some(Proxy::start(any, upstream, options.shape).await?)
    } else {
        None
    };
    let target = Target {
        url: options.url.clone(),
        connect_to: proxy.as_ref().map_or(upstream, |p| p.addr),
        tls,
        server_name: host.trim_matches(|c| c == '[' || c == ']').to_string(),
    };
    // Untimed: the server's caches (manifests, files) are warm for every mode alike.
    progress.set_message("warming up");
    load_page(&target, options.modes[0])
        .await
        .map_err(|e| explain(e, &options.url))?;
    // One row per (view, mode), first views first.
    let rows: Vec<(View, Mode)> = [View::First, View::Repeat]
        .into_iter()
        .filter(|v| options.views.contains(v))
        .flat_map(|v| options.modes.iter().map(move |&m| (v, m)))
        .collect();
    let mut outcomes: Vec<Vec<RunOutcome>> = vec![Vec::new(); rows.len()];
    let row = |view, mode| rows.iter().position(|&r| r == (view, mode));
    for run in 0..options.runs {
        for &mode in &options.modes {
            progress.set_message(format!("run {} of {}: {mode}", run + 1, options.runs));
            let (first, kept) = load_view(&target, mode, None)
                .await
                .map_err(|e| explain(e, &options.url))
                .with_context(|| format!("run {} ({mode})", run + 1))?;
            progress.inc(1);
            if let Some(i) = row(View::First, mode) {
                outcomes[i].push(first);
            }
            if let Some(i) = row(View::Repeat, mode) {
                progress.set_message(format!(
                    "run {} of {}: {mode}, repeat view",
                    run + 1,
                    options.runs
                ));
                let (repeat, _) = load_view(&target, mode, Some(&kept))
                    .await
                    .map_err(|e| explain(e, &options.url))
                    .with_context(|| format!("run {} ({mode}, repeat view)", run + 1))?;
                outcomes[i].push(repeat);
                progress.inc(1);
            }
        }
    }
    let browser_rows = match options.browser {
        Some(_) => measure_browser(options, target.connect_to, progress).await?,
        None => Default::default(),
    };
    drop(proxy);
    let rtt_ms = options.shape.rtt.as_secs_f64() * 1000.0;
    let traces = outcomes.iter().filter_map(|o| o.first().cloned()).collect();
    let modes = rows
        .iter()
        .zip(&outcomes)
        .filter_map(|(&(view, mode), runs)| ModeSummary::of_view(mode, view, runs, rtt_ms))
        .collect();
    let report = Report::new(
        options.url.to_string(),
        rtt_ms,
        options.shape.down,
        options.runs,
        modes,
    );
    let mut warnings = report.warnings.clone();
    warnings.extend(browser_rows.1);
    let report = Report {
        network: options.shape.describe(),
        browser: browser_rows.0,
        warnings,
        ..report
    };
    Ok((report, traces))
}

/// `--browser`: the browser's rows and warnings, through the same link as the built-in client.
#[cfg(feature = "chromium")]
async fn measure_browser(
    options: &Options,
    connect_to: SocketAddr,
    progress: &ProgressBar,
) -> Result<(Vec<browser::BrowserSummary>, Vec<String>)> {
    let browser = browser::BrowserTarget::new(&options.url, connect_to, options.ca.as_deref())
        .map_err(|e| usage(format!("{e:#}")))?;
    let mut warnings = Vec::new();
    let rows = browser::measure(
        &browser,
        &options.modes,
        &options.views,
        options.runs,
        progress,
        &mut warnings,
    )
    .await?;
    Ok((rows, warnings))
}

/// `--browser` in a build without the driver (see [`browser::DRIVER_BUILT_IN`]).
#[cfg(not(feature = "chromium"))]
async fn measure_browser(
    _: &Options,
    _: SocketAddr,
    _: &ProgressBar,
) -> Result<(Vec<browser::BrowserSummary>, Vec<String>)> {
    Err(usage(browser::NOT_BUILT_IN))
}

/// Page loads per run and mode: a repeat view needs its first view, measured or not.
fn loads_per_run(views: &[View]) -> usize {
    if views.contains(&View::Repeat) {
        2
    } else {
        1
    }
}

/// The first address of `host` that accepts a TCP connection.
async fn reach(host: &str, port: u16) -> Result<SocketAddr> {
    let host = host.trim_matches(|c| c == '[' || c == ']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| usage(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match tokio::time::timeout(REACH_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => return Ok(*addr),
            Ok(Err(e)) => last = Some(e.to_string()),
            Err(_) => last = Some(format!("no answer within {REACH_TIMEOUT:?}")),
        }
    }
    Err(usage(format!(
        "cannot reach {host}:{port} ({}): {}; is the server running? (`h2push serve --listen {port}` serves on that port)",
        addrs
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        last.unwrap_or_else(|| "no addresses".into())
    )))
}

/// Adds what to do about the failures people hit: an untrusted certificate, no HTTP/2.
fn explain(err: anyhow::Error, url: &Url) -> anyhow::Error {
    let text = format!("{err:#}");
    if text.contains("TLS handshake") && text.contains("certificate") {
        usage(format!(
            "{text}\n  the certificate of {url} is not trusted: pass the CA that signed it with --ca PEM (`h2push cert` prints where `h2push serve`'s CA is), or --insecure to accept any certificate"
        ))
    } else if text.contains("ALPN h2") {
        usage(format!(
            "{text}\n  {url} speaks only HTTP/1.1 over TLS; compare needs an HTTP/2 server"
        ))
    } else {
        err
    }
}

/// `compare --proxy-only`: the delaying proxy alone, so any client can be measured through it.
async fn proxy_only(args: &CompareArgs, shape: Shape) -> Result<()> {
    let (Some(listen), Some(upstream)) = (args.listen, args.upstream) else {
        return Err(usage(
            "--proxy-only needs --listen ADDR and --upstream ADDR",
        ));
    };
    let proxy = Proxy::start(listen, upstream, shape)
        .await
        .map_err(|e| usage(format!("{e:#}")))?;
    eprintln!("proxy {} → {upstream}: {}", proxy.addr, shape.describe());
    tokio::select! {
        _ = proxy.wait() => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
