//! `compare --report FILE.html`: one self-contained HTML file with the table, the ratios, an SVG
//! waterfall per mode and the browser's rows; everything the server sent is escaped.

use std::fmt::Write as _;

use super::text::{clip, kib};
use super::Report;
use crate::compare::load::{Resource, RunOutcome, Via};

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
