//! `compare`'s terminal output: the table and ratios, a text waterfall of a mode's median run,
//! and the `--trace` timeline.

use std::fmt::Write as _;

use super::{ModeSummary, Report};
use crate::compare::load::{RunOutcome, View};

/// Width of a text waterfall's bar area, in characters.
pub const WATERFALL_COLUMNS: usize = 48;

pub(super) fn kib(bytes: f64) -> String {
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

pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let kept: String = s.chars().take(max - 1).collect();
        format!("{kept}…")
    }
}
