//! `scan`'s output: the aligned table, the summary line and the JSON form, shaped from a
//! [`Report`] (pure; unit-tested in the parent module).

use std::fmt::Write as _;

use super::{reason_words, Report, MAX_SCAN_PAGES};

/// `1234` → `1.2 KiB`; exact below a KiB.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The readable form: per page a heading, an aligned table of assets, the skipped
/// references, then one summary line.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    for page in &report.pages {
        let _ = write!(
            out,
            "{}  {} assets: {} push ({}), {} hint",
            page.page,
            page.assets.len(),
            page.pushed,
            human_bytes(page.pushed_bytes),
            page.hinted
        );
        if !page.skipped.is_empty() {
            let _ = write!(out, ", {} skipped", page.skipped.len());
        }
        if let Some(error) = &page.error {
            let _ = write!(out, " — {error}");
        }
        if let Some(bound) = &page.incomplete {
            let _ = write!(out, " — discovery stopped early: {bound}");
        }
        out.push('\n');
        let rows: Vec<[String; 5]> = page
            .assets
            .iter()
            .map(|a| {
                let action = format!("{} ({})", a.action, reason_words(a.reason));
                let dest = if a.module { "module" } else { a.dest };
                [
                    a.path.clone(),
                    dest.to_owned(),
                    human_bytes(a.size),
                    a.found_in.clone(),
                    action,
                ]
            })
            .collect();
        if !rows.is_empty() {
            let header = ["PATH", "AS", "SIZE", "FOUND IN", "ACTION"].map(String::from);
            let mut widths = [0usize; 5];
            for row in std::iter::once(&header).chain(&rows) {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            for row in std::iter::once(&header).chain(&rows) {
                let _ = writeln!(
                    out,
                    "  {:<w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {}",
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                    w3 = widths[3],
                );
            }
        }
        for skipped in &page.skipped {
            let _ = writeln!(
                out,
                "  skipped {} (in {}): {}",
                site_path(&report.origin, &skipped.url),
                skipped.found_in,
                skipped.reason
            );
        }
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// A same-origin URL as the site path it names (`/css/x.css`, as the table's assets are shown);
/// other URLs as they are.
fn site_path<'a>(origin: &str, url: &'a str) -> &'a str {
    match url.strip_prefix(origin.trim_end_matches('/')) {
        Some(path) if path.starts_with('/') => path,
        _ => url,
    }
}

/// `scanned 3 pages in 4.2 ms (2 threads): 12 assets (7 distinct), 10 push, 2 hint, 1 skipped`.
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let mut line = format!(
        "scanned {} page{} in {:.1} ms ({} thread{}): {} assets ({} distinct), {} push, {} hint, {} skipped",
        s.pages,
        if s.pages == 1 { "" } else { "s" },
        s.millis,
        s.threads,
        if s.threads == 1 { "" } else { "s" },
        s.assets,
        s.distinct_assets,
        s.pushed,
        s.hinted,
        s.skipped
    );
    if s.pages_not_scanned > 0 {
        let _ = write!(
            line,
            "; {} more pages not scanned (limit {MAX_SCAN_PAGES})",
            s.pages_not_scanned
        );
    }
    line
}

/// The `--json` form: one pretty-printed object, [`Report`].
pub fn render_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).expect("a report always serializes")
}
