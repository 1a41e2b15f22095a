//! What the runs add up to: statistics per mode (pure maths), and the ways of showing them —
//! a terminal table, a text waterfall of the median run, JSON, and one self-contained HTML file
//! with an SVG waterfall per mode.

use std::fmt::Write as _;

use serde::Serialize;

use super::load::{Mode, Resource, RunOutcome, Via, View};

/// Width of a text waterfall's bar area, in characters.
pub const WATERFALL_COLUMNS: usize = 48;

/// Median, min and max of a set of measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// Statistics of `values`; `None` when there are none (or any is NaN). An even count takes the
/// mean of the two middle values.
pub fn stats(values: &[f64]) -> Option<Stats> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Stats {
        median,
        min: sorted[0],
        max: sorted[n - 1],
    })
}

/// Index of the run to show as "the median run": the lower middle one by value.
pub fn median_index(values: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order.get(values.len().saturating_sub(1) / 2).copied()
}

/// Round trips the load took: how many RTTs fit in it (`None` without an emulated RTT).
pub fn round_trips(load_ms: f64, rtt_ms: f64) -> Option<f64> {
    (rtt_ms > 0.0).then(|| load_ms / rtt_ms)
}

/// One mode over all its runs.
#[derive(Debug, Clone, Serialize)]
pub struct ModeSummary {
    pub mode: Mode,
    pub view: View,
    pub runs: usize,
    pub load_ms: Stats,
    pub ttfb_ms: Stats,
    pub connect_ms: Stats,
    /// Medians over the runs.
    pub body_bytes: f64,
    pub wire_bytes: f64,
    pub requests: f64,
    pub promises: f64,
    pub pushes_used: f64,
    pub pushes_wasted: f64,
    pub hints_unused: f64,
    pub from_cache: f64,
    pub not_modified: f64,
    pub pushed_bytes: f64,
    /// Median load time / RTT: round trips on the critical path.
    pub round_trips: Option<f64>,
    /// The run whose load time is the median, with its resources and trace.
    pub median_run: RunOutcome,
}

impl ModeSummary {
    /// Summarises the runs of one mode (`None` without runs).
    pub fn new(mode: Mode, runs: &[RunOutcome], rtt_ms: f64) -> Option<ModeSummary> {
        Self::of_view(mode, View::First, runs, rtt_ms)
    }

    /// Summarises the runs of one mode in one view (`None` without runs).
    pub fn of_view(
        mode: Mode,
        view: View,
        runs: &[RunOutcome],
        rtt_ms: f64,
    ) -> Option<ModeSummary> {
        let of = |f: &dyn Fn(&RunOutcome) -> f64| runs.iter().map(f).collect::<Vec<_>>();
        let median = |f: &dyn Fn(&RunOutcome) -> f64| stats(&of(f)).map_or(0.0, |s| s.median);
        let load = of(&|r| r.load_ms);
        let load_ms = stats(&load)?;
        Some(ModeSummary {
            mode,
            view,
            runs: runs.len(),
            load_ms,
            ttfb_ms: stats(&of(&|r| r.ttfb_ms))?,
            connect_ms: stats(&of(&|r| r.connect_ms))?,
            body_bytes: median(&|r| r.body_bytes as f64),
            wire_bytes: median(&|r| r.wire_bytes as f64),
            requests: median(&|r| r.requests as f64),
            promises: median(&|r| r.promises as f64),
            pushes_used: median(&|r| r.pushes_used as f64),
            pushes_wasted: median(&|r| r.pushes_wasted as f64),
            hints_unused: median(&|r| r.hints_unused as f64),
            from_cache: median(&|r| r.from_cache as f64),
            not_modified: median(&|r| r.not_modified as f64),
            pushed_bytes: median(&|r| r.pushed_bytes as f64),
            round_trips: round_trips(load_ms.median, rtt_ms),
            median_run: runs[median_index(&load)?].clone(),
        })
    }
}

/// How much longer a mode takes than the baseline (push when measured, else the first mode).
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub mode: Mode,
    pub baseline: Mode,
    pub view: View,
    /// Median load time of `mode` / median load time of `baseline`.
    pub ratio: f64,
    /// The difference in round trips (`None` without an emulated RTT).
    pub extra_round_trips: Option<f64>,
}

/// Everything `compare` measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub url: String,
    pub rtt_ms: f64,
    /// Server→client bits per second.
    pub bandwidth_bits_per_second: Option<u64>,
    /// The emulated link in words: RTT, rates, slow start.
    pub network: String,
    /// When the report was made (HTTP date).
    pub date: String,
    /// The `server` header of the page, from the first mode's median run.
    pub server: Option<String>,
    /// h2push's version.
    pub version: &'static str,
    /// Modes the server gave nothing to act on (no push, no hints).
    pub warnings: Vec<String>,
    pub runs: usize,
    pub modes: Vec<ModeSummary>,
    pub ratios: Vec<Ratio>,
    /// `--browser`: the browser's rows (empty without it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub browser: Vec<super::browser::BrowserSummary>,
}

impl Report {
    pub fn new(
        url: String,
        rtt_ms: f64,
        bandwidth: Option<u64>,
        runs: usize,
        modes: Vec<ModeSummary>,
    ) -> Report {
        let ratios = ratios(&modes, rtt_ms);
        Report {
            url,
            rtt_ms,
            bandwidth_bits_per_second: bandwidth,
            network: format!("RTT {rtt_ms} ms"),
            date: httpdate::fmt_http_date(std::time::SystemTime::now()),
            server: modes.iter().find_map(|m| m.median_run.server.clone()),
            version: env!("CARGO_PKG_VERSION"),
            warnings: warnings(&modes),
            runs,
            modes,
            ratios,
            browser: Vec::new(),
        }
    }

    pub fn mode(&self, mode: Mode) -> Option<&ModeSummary> {
        self.modes.iter().find(|m| m.mode == mode)
    }
}

/// A mode that measured nothing of what it is named for: its runs got no PUSH_PROMISE (push,
/// by the median), or its median run saw no 103 and no `Link` on the page (hints). Its
/// figures are then the `none` figures.
pub fn warnings(modes: &[ModeSummary]) -> Vec<String> {
    let mut out = Vec::new();
    // A repeat view may rightly get nothing: its page can be a 304, and what the client has
    // cached is not pushed or hinted again.
    for m in modes.iter().filter(|m| m.view == View::First) {
        let run = &m.median_run;
        match m.mode {
            Mode::Push if m.promises == 0.0 => {
                out.push("this server pushed nothing (no PUSH_PROMISE): push = none".to_string())
            }
            Mode::Hints if run.page_links == 0 && run.informational == 0 => out.push(
                "this server sent no hints (no 103, no Link on the page): hints = none".to_string(),
            ),
            _ => {}
        }
    }
    out
}

impl ModeSummary {
    /// `push`, or `push/repeat` for a repeat view.
    pub fn label(&self) -> String {
        match self.view {
            View::First => self.mode.as_str().to_string(),
            View::Repeat => format!("{}/repeat", self.mode),
        }
    }
}

/// Each mode against push (or against the first mode when push was not measured), within
/// each view.
pub fn ratios(modes: &[ModeSummary], rtt_ms: f64) -> Vec<Ratio> {
    let mut out = Vec::new();
    for view in [View::First, View::Repeat] {
        let of_view: Vec<&ModeSummary> = modes.iter().filter(|m| m.view == view).collect();
        let Some(base) = of_view
            .iter()
            .find(|m| m.mode == Mode::Push)
            .or(of_view.first())
        else {
            continue;
        };
        out.extend(
            of_view
                .iter()
                .filter(|m| m.mode != base.mode && base.load_ms.median > 0.0)
                .map(|m| Ratio {
                    mode: m.mode,
                    baseline: base.mode,
                    view,
                    ratio: m.load_ms.median / base.load_ms.median,
                    extra_round_trips: round_trips(m.load_ms.median - base.load_ms.median, rtt_ms),
                }),
        );
    }
    out
}

fn kib(bytes: f64) -> String {
    format!("{:.1}", bytes / 1024.0)
}

/// The terminal table, then the ratios.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} runs per mode, {}",
        report.url, report.runs, report.network
    );
    for warning in &report.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    let _ = writeln!(
        out,
        "{:<12} {:>8} {:>17} {:>8} {:>6} {:>5} {:>8} {:>5} {:>6} {:>7} {:>8} {:>6} {:>4}",
        "mode",
        "load ms",
        "(min–max)",
        "TTFB ms",
        "RTTs",
        "reqs",
        "promised",
        "used",
        "wasted",
        "KiB",
        "push KiB",
        "cached",
        "304"
    );
    for m in &report.modes {
        let rtts = m
            .round_trips
            .map_or_else(|| "-".to_string(), |r| format!("{r:.1}"));
        let _ = writeln!(
            out,
            "{:<12} {:>8.1} {:>17} {:>8.1} {:>6} {:>5} {:>8} {:>5} {:>6} {:>7} {:>8} {:>6} {:>4}",
            m.label(),
            m.load_ms.median,
            format!("({:.1}–{:.1})", m.load_ms.min, m.load_ms.max),
            m.ttfb_ms.median,
            rtts,
            m.requests,
            m.promises,
            m.pushes_used,
            m.pushes_wasted,
            kib(m.body_bytes),
            kib(m.pushed_bytes),
            m.from_cache,
            m.not_modified,
        );
    }
    for r in &report.ratios {
        let extra = r
            .extra_round_trips
            .map_or_else(String::new, |x| format!(" ({x:+.1} RTT)"));
        let view = match r.view {
            View::First => "",
            View::Repeat => ", repeat view",
        };
        let _ = writeln!(
            out,
            "{} / {} = {:.2}×{extra}{view}",
            r.mode, r.baseline, r.ratio
        );
    }
    out.push_str(&super::browser::table(&report.browser));
    out
}

/// The median run of a mode as text bars: `.` waiting for HEADERS, `=` receiving the body.
pub fn waterfall(summary: &ModeSummary) -> String {
    let run = &summary.median_run;
    let span = run
        .resources
        .iter()
        .filter_map(|r| r.end_ms)
        .fold(run.load_ms, f64::max)
        .max(1.0);
    let scale = span / WATERFALL_COLUMNS as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — median run: loaded in {:.1} ms (1 column = {scale:.1} ms)",
        summary.label(),
        run.load_ms
    );
    let col = |ms: f64| ((ms / scale).round() as usize).min(WATERFALL_COLUMNS);
    for r in &run.resources {
        let start = col(r.start_ms);
        let headers = col(r.headers_ms.unwrap_or(span)).max(start);
        let end = col(r.end_ms.unwrap_or(span)).max(headers).max(start + 1);
        let mut bar = String::new();
        for i in 0..WATERFALL_COLUMNS {
            bar.push(if i < start || i >= end {
                ' '
            } else if i < headers {
                '.'
            } else {
                '='
            });
        }
        let note = if r.failed {
            " failed"
        } else if !r.needed {
            " unused"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {:<34} {:<7} {:>3} {:>8} |{bar}| {:>7.1} → {:>7}{note}",
            clip(&r.path, 34),
            r.via.as_str(),
            r.status.map_or_else(|| "-".into(), |s| s.to_string()),
            r.bytes,
            r.start_ms,
            r.end_ms.map_or_else(|| "-".into(), |e| format!("{e:.1}")),
        );
    }
    out
}

/// The `--trace` timeline of one run.
pub fn trace(run: &RunOutcome) -> String {
    let mut out = format!(
        "trace of one {} run (ms since the connection was ready; connecting took {:.1} ms)\n",
        run.mode, run.connect_ms
    );
    for e in &run.trace {
        let _ = writeln!(out, "[{:>8.3}] {}", e.at_ms, e.what);
    }
    out
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let kept: String = s.chars().take(max - 1).collect();
        format!("{kept}…")
    }
}

/// What the reader needs to trust the figures: when, against what, and what each mode, column
/// and the emulated network mean.
fn about_html(report: &Report) -> String {
    let mut out = format!(
        "<p>{} · server <code>{}</code> · h2push {} · {} runs per mode</p>\n",
        escape(&report.date),
        escape(report.server.as_deref().unwrap_or("(no server header)")),
        escape(report.version),
        report.runs
    );
    for warning in &report.warnings {
        let _ = writeln!(out, "<p><strong>Warning:</strong> {}</p>", escape(warning));
    }
    out.push_str(ABOUT_HTML);
    out
}

/// The fixed part of [`about_html`].
const ABOUT_HTML: &str = "<details><summary>How to read this report</summary>
<p>Each run is a new connection loading the page the way a browser would: the HTML, then what it
links (stylesheets, scripts, images, and the fonts and imports those stylesheets use), with
HTTP/2 windows like a browser's. Runs of the modes are interleaved.</p>
<ul><li><b>push</b>: the client allows server push; a promised path is not requested again.
Browsers refuse push today (Chrome 106+, Firefox 132+), so this is what push <em>would</em> buy.</li>
<li><b>hints</b>: push off; the client requests what 103 Early Hints and <code>Link: rel=preload</code>
headers name as soon as they arrive, as browsers do.</li>
<li><b>none</b>: push off and hints ignored: only what the documents say.</li></ul>
<p>Columns: <b>load</b> is from the connection being ready to the last byte the page needs
(median, min, max); <b>TTFB</b> to the page's response headers; <b>RTTs</b> is load divided by
the emulated round-trip time; <b>requests</b> the client sent; <b>promised</b> PUSH_PROMISEs,
of which <b>pushes used</b> were needed and <b>wasted</b> were not (or came twice or were
cancelled); <b>KiB</b> of response bodies.</p>
<p>Network: a loopback proxy delays each direction by half the RTT and, when set, serializes
bytes at the bandwidth and releases the server's bytes one congestion window per round trip
(TCP slow start from the initial window, doubling while full, restarting after an idle RTO).
Not modelled: loss, congestion avoidance, delayed ACKs, the receive window. The real
connection underneath is loopback, so its own TCP adds nothing.</p></details>
";

/// Escapes text for HTML and SVG.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn color(via: Via) -> &'static str {
    match via {
        Via::Request => "#3a8f5c",
        Via::Hint => "#c27c1e",
        Via::Push => "#2f5fb3",
        Via::Cache => "#8a8a99",
    }
}

/// An SVG waterfall of one run, drawn on a common time axis of `span_ms`.
pub fn svg_waterfall(run: &RunOutcome, span_ms: f64, rtt_ms: f64) -> String {
    const LABEL: f64 = 300.0;
    const BARS: f64 = 560.0;
    const ROW: f64 = 18.0;
    const TOP: f64 = 22.0;
    let span = span_ms.max(1.0);
    let x = |ms: f64| LABEL + (ms / span * BARS).clamp(0.0, BARS);
    let height = TOP + ROW * run.resources.len() as f64 + 8.0;
    let width = LABEL + BARS + 90.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">"#
    );
    // Grid: one line per RTT when emulated, else ten steps.
    let step = if rtt_ms > 0.0 && span / rtt_ms <= 40.0 {
        rtt_ms
    } else {
        span / 10.0
    };
    let mut t = 0.0;
    while t <= span + 1e-9 {
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" y1="14" x2="{0:.1}" y2="{1:.1}" stroke="#ddd"/><text x="{0:.1}" y="11" fill="#777" text-anchor="middle">{2:.0}</text>"##,
            x(t),
            height - 6.0,
            t
        );
        t += step;
    }
    for (i, r) in run.resources.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let start = r.start_ms;
        let headers = r.headers_ms.unwrap_or(span).max(start);
        let end = r.end_ms.unwrap_or(span).max(headers);
        let opacity = if r.needed { 1.0 } else { 0.35 };
        let _ = write!(
            svg,
            r##"<text x="4" y="{ty:.1}">{label}</text><rect x="{x0:.1}" y="{y:.1}" width="{w0:.1}" height="12" fill="{c}" opacity="{o0}"/><rect x="{x1:.1}" y="{y:.1}" width="{w1:.1}" height="12" fill="{c}" opacity="{opacity}"><title>{title}</title></rect><text x="{tx:.1}" y="{ty:.1}" fill="#555">{end:.0} ms</text>"##,
            ty = y + 10.0,
            label = escape(&clip(&format!("{} {}", r.via.as_str(), r.path), 44)),
            x0 = x(start),
            w0 = (x(headers) - x(start)).max(0.0),
            c = color(r.via),
            o0 = opacity * 0.3,
            x1 = x(headers),
            w1 = (x(end) - x(headers)).max(1.0),
            title = escape(&resource_title(r)),
            tx = x(end) + 4.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn resource_title(r: &Resource) -> String {
    format!(
        "{} ({}, stream {}): start {:.1} ms, headers {} ms, end {} ms, {} bytes{}",
        r.path,
        r.via.as_str(),
        r.stream_id,
        r.start_ms,
        r.headers_ms
            .map_or_else(|| "-".into(), |v| format!("{v:.1}")),
        r.end_ms.map_or_else(|| "-".into(), |v| format!("{v:.1}")),
        r.bytes,
        if r.needed { "" } else { ", not needed" }
    )
}

/// One self-contained HTML file: the table, the ratios and an SVG waterfall per mode.
pub fn html(report: &Report) -> String {
    let span = report
        .modes
        .iter()
        .flat_map(|m| m.median_run.resources.iter().filter_map(|r| r.end_ms))
        .fold(1.0, f64::max);
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>h2push compare</title>\n<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1d1d28}table{border-collapse:collapse}th,td{padding:.25rem .6rem;border-bottom:1px solid #ccd;text-align:right}th:first-child,td:first-child{text-align:left}.key span{display:inline-block;width:1em;height:.8em;margin:0 .3em 0 1em}</style></head><body>\n",
    );
    let _ = writeln!(
        out,
        "<h1>h2push compare</h1><p><code>{}</code>: {} runs per mode, {}.</p>",
        escape(&report.url),
        report.runs,
        escape(&report.network)
    );
    out.push_str(&about_html(report));
    out.push_str("<table><tr><th>mode</th><th>load ms (median)</th><th>min</th><th>max</th><th>TTFB ms</th><th>RTTs</th><th>requests</th><th>promised</th><th>pushes used</th><th>pushes wasted</th><th>KiB</th></tr>\n");
    for m in &report.modes {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.label(),
            m.load_ms.median,
            m.load_ms.min,
            m.load_ms.max,
            m.ttfb_ms.median,
            m.round_trips.map_or_else(|| "-".into(), |r| format!("{r:.1}")),
            m.requests,
            m.promises,
            m.pushes_used,
            m.pushes_wasted,
            kib(m.body_bytes)
        );
    }
    out.push_str("</table>\n<ul>");
    for r in &report.ratios {
        let _ = write!(
            out,
            "<li>{} / {} = {:.2}×{}</li>",
            r.mode,
            r.baseline,
            r.ratio,
            r.extra_round_trips
                .map_or_else(String::new, |x| format!(" ({x:+.1} RTT)"))
        );
    }
    out.push_str("</ul>\n<p class=\"key\">");
    for via in [Via::Request, Via::Hint, Via::Push, Via::Cache] {
        let _ = write!(
            out,
            "<span style=\"background:{}\"></span>{}",
            color(via),
            via.as_str()
        );
    }
    out.push_str(" — pale: waiting for HEADERS; faded rows: not needed by the page</p>\n");
    for m in &report.modes {
        let _ = writeln!(
            out,
            "<h2>{}: median run, {:.1} ms</h2>\n{}",
            m.label(),
            m.median_run.load_ms,
            svg_waterfall(&m.median_run, span, report.rtt_ms)
        );
    }
    out.push_str(&super::browser::html(&report.browser));
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = stats(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(stats(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert_eq!(stats(&[7.0]).unwrap().median, 7.0);
        assert!(stats(&[]).is_none());
        assert!(stats(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn median_run_is_the_lower_middle() {
        assert_eq!(median_index(&[30.0, 10.0, 20.0]), Some(2));
        assert_eq!(median_index(&[40.0, 10.0, 30.0, 20.0]), Some(3));
        assert_eq!(median_index(&[5.0]), Some(0));
        assert_eq!(median_index(&[]), None);
    }

    #[test]
    fn round_trips_need_an_rtt() {
        assert_eq!(round_trips(250.0, 100.0), Some(2.5));
        assert_eq!(round_trips(250.0, 0.0), None);
    }

    fn run(mode: Mode, load_ms: f64) -> RunOutcome {
        RunOutcome {
            mode,
            connect_ms: 1.0,
            ttfb_ms: load_ms / 2.0,
            load_ms,
            body_bytes: 2048,
            wire_bytes: 4096,
            requests: 1,
            promises: 3,
            pushes_used: 2,
            pushes_wasted: 1,
            hints_unused: 0,
            from_cache: 0,
            not_modified: 0,
            pushed_bytes: 0,
            informational: 1,
            page_links: 3,
            server: Some("h2push".into()),
            resources: Vec::new(),
            trace: Vec::new(),
        }
    }

    #[test]
    fn modes_that_got_nothing_to_act_on_are_named() {
        let mut silent = run(Mode::Hints, 100.0);
        silent.page_links = 0;
        silent.informational = 0;
        let mut no_push = run(Mode::Push, 100.0);
        no_push.promises = 0;
        let modes = [
            ModeSummary::new(Mode::Push, &[no_push], 100.0).unwrap(),
            ModeSummary::new(Mode::Hints, &[silent], 100.0).unwrap(),
            ModeSummary::new(Mode::None, &[run(Mode::None, 100.0)], 100.0).unwrap(),
        ];
        let warnings = warnings(&modes);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("push = none"), "{warnings:?}");
        assert!(warnings[1].contains("hints = none"), "{warnings:?}");
        let modes = [ModeSummary::new(Mode::Hints, &[run(Mode::Hints, 9.0)], 1.0).unwrap()];
        assert!(self::warnings(&modes).is_empty());
        let mut repeat = run(Mode::Push, 100.0);
        repeat.promises = 0;
        let modes = [ModeSummary::of_view(Mode::Push, View::Repeat, &[repeat], 100.0).unwrap()];
        assert!(
            self::warnings(&modes).is_empty(),
            "a repeat view may push nothing"
        );
    }

    #[test]
    fn summaries_and_ratios_against_push() {
        let push = ModeSummary::new(
            Mode::Push,
            &[
                run(Mode::Push, 110.0),
                run(Mode::Push, 100.0),
                run(Mode::Push, 130.0),
            ],
            100.0,
        )
        .unwrap();
        assert_eq!(push.load_ms.median, 110.0);
        assert_eq!(push.median_run.load_ms, 110.0);
        assert_eq!(push.round_trips, Some(1.1));
        assert_eq!(push.ttfb_ms.median, 55.0);
        let none = ModeSummary::new(Mode::None, &[run(Mode::None, 440.0)], 100.0).unwrap();
        let report = Report::new("https://x/".into(), 100.0, None, 3, vec![none, push]);
        assert_eq!(report.ratios.len(), 1);
        let r = &report.ratios[0];
        assert_eq!((r.mode, r.baseline), (Mode::None, Mode::Push));
        assert!((r.ratio - 4.0).abs() < 1e-9);
        assert!((r.extra_round_trips.unwrap() - 3.3).abs() < 1e-9);
        let table = table(&report);
        assert!(table.contains("none / push = 4.00× (+3.3 RTT)"), "{table}");
        assert!(ModeSummary::new(Mode::Hints, &[], 0.0).is_none());
    }

    #[test]
    fn html_report_escapes_what_the_server_sent() {
        let mut r = run(Mode::Push, 100.0);
        r.resources
            .push(Resource::for_test("/<script>alert(1)</script>"));
        let summary = ModeSummary::new(Mode::Push, &[r], 50.0).unwrap();
        let report = Report::new("https://x/?a=<b>".into(), 50.0, None, 1, vec![summary]);
        let page = html(&report);
        assert!(!page.contains("<script>"), "unescaped path");
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("<svg"));
        assert!(waterfall(&report.modes[0]).contains("/<script>"));
    }
}
