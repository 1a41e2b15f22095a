//! The browser's rows in `compare`'s terminal table and HTML report.

use super::escape;
use crate::compare::browser::BrowserSummary;
use crate::compare::stats::Stats;

fn ms(s: Option<&Stats>) -> String {
    s.map_or("-".into(), |s| format!("{:.0}", s.median))
}

/// One summary row's cells, as both the terminal table and the HTML report show them: view,
/// mode, responseStart, DOMContentLoaded, load, FCP, LCP, early-hints count.
fn cells(r: &BrowserSummary) -> [String; 8] {
    [
        r.view.as_str().to_string(),
        r.mode.as_str().to_string(),
        ms(Some(&r.response_start_ms)),
        ms(Some(&r.dom_content_loaded_ms)),
        ms(Some(&r.load_ms)),
        ms(r.fcp_ms.as_ref()),
        ms(r.lcp_ms.as_ref()),
        r.early_hints.to_string(),
    ]
}

/// The browser's rows for the terminal table, and each median run's resources.
pub fn table(rows: &[BrowserSummary]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let mut out = format!(
        "\nChromium (headless, same link), ms from navigation start, median of {} runs\n",
        first.runs
    );
    out += &format!(
        "{:<7} {:<6} {:>13} {:>6} {:>6} {:>6} {:>6} {:>12}\n",
        "view", "mode", "responseStart", "DCL", "load", "FCP", "LCP", "early-hints"
    );
    for r in rows {
        let [view, mode, start, dcl, load, fcp, lcp, hints] = cells(r);
        out += &format!(
            "{view:<7} {mode:<6} {start:>13} {dcl:>6} {load:>6} {fcp:>6} {lcp:>6} {hints:>12}\n"
        );
    }
    for r in rows {
        out += &format!(
            "\n{} view, {} (median run):\n",
            r.view.as_str(),
            r.mode.as_str()
        );
        for res in &r.median_run.resources {
            out += &format!(
                "  {:<40} {:<12} {:>6.0} → {:>6.0} ms\n",
                res.path, res.initiator_type, res.start_ms, res.end_ms,
            );
        }
    }
    out
}

/// The browser's section of the HTML report.
pub fn html(rows: &[BrowserSummary]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h2>Chromium</h2><p>Headless Chromium through the same link, a fresh profile per run \
         (the repeat view reuses it in a new browser process, so a new connection). Times are \
         Chromium's, in ms from navigation start (TCP and TLS handshakes included); medians. \
         <code>early-hints</code> is the <code>initiatorType</code> of resources the 103 fetched. \
         Mode <code>none</code> only strips <code>Link</code> from the page's response: \
         Chromium has no switch to ignore a 103, and still acts on it.</p><table><tr><th>view</th><th>mode</th>\
         <th>responseStart</th><th>DOMContentLoaded</th><th>load</th><th>FCP</th><th>LCP</th>\
         <th>early-hints</th></tr>",
    );
    for r in rows {
        out += "<tr>";
        for cell in cells(r) {
            out += &format!("<td>{cell}</td>");
        }
        out += "</tr>";
    }
    out += "</table>";
    for r in rows {
        out += &format!(
            "<h3>{} view, {} (median run)</h3><table><tr><th>resource</th><th>initiatorType</th><th>start</th><th>end</th><th>bytes</th></tr>",
            r.view.as_str(),
            r.mode.as_str()
        );
        for res in &r.median_run.resources {
            out += &format!(
                "<tr><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td></tr>",
                escape(&res.path),
                escape(&res.initiator_type),
                res.start_ms,
                res.end_ms,
                res.transfer_size
            );
        }
        out += "</table>";
    }
    out
}
