//! `h2push scan`: what the server would deliver early for each page of a site, without serving
//! it.
//!
//! Pages are found by walking the root the way a client can reach it (dotfiles hidden, the
//! same [`files::open_url_path`] rules), parsed with the server's own discovery over
//! [`Root`], and planned with [`policy::plan`] as a fresh connection that allows push would
//! get them — so the table shows budget effects exactly as `serve` applies them. Pages are
//! parsed in parallel on scoped threads. Shaping (table, JSON; in `render`) is pure and
//! unit-tested here.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use url::Url;

use super::discover::{self, SiteFiles};
use super::manifest::{Manifest, Skipped};
use super::policy::{self, Action};
use super::site::Root;
use crate::config::Config;
use crate::files::{self, path, Opened};

mod render;
pub use render::{human_bytes, render_json, render_table, summary_line};

/// Most HTML pages one scan looks at. A site walk that finds more stops there and says so: a
/// runaway tree (a mirrored archive, a symlink farm) must not keep the command busy for hours.
pub const MAX_SCAN_PAGES: usize = 100_000;

/// Deepest directory nesting the walk descends into. Real sites are a handful of levels deep;
/// the bound keeps a pathological tree from exhausting file descriptors or stack.
pub const MAX_WALK_DEPTH: usize = 64;

/// Most worker threads parsing pages at once; below it, one per available core.
pub const MAX_SCAN_THREADS: usize = 16;

/// The origin pages are taken to be served from, unless `--origin` says otherwise: the
/// address `serve` listens on by default. Absolute links to it count as same-origin.
pub const DEFAULT_SCAN_ORIGIN: &str = "https://localhost:8443/";

/// What a scan is asked to look at.
#[derive(Debug, Clone)]
pub enum Pages {
    /// Every `*.html` / `*.htm` file under the root.
    All,
    /// These URL paths (already checked with [`page_url_path`]).
    These(Vec<String>),
}

/// One asset of one page, and what the server would do with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetRow {
    /// Request path with its query, as it would be promised or hinted.
    pub path: String,
    /// The preload `as` (`style`, `font`, `script`, `image`, `fetch`; empty for other).
    #[serde(rename = "as")]
    pub dest: &'static str,
    pub module: bool,
    pub size: u64,
    /// URL path of the page or of the CSS file that referenced it.
    pub found_in: String,
    /// `push` or `hint`.
    pub action: &'static str,
    /// Why: a stable kebab-case code (`critical`, `fits-extra`, `over-extra-budget`,
    /// `over-safety-cap`, …; see [`policy::PushReason`] and [`policy::HintReason`]).
    pub reason: &'static str,
}

/// One page's manifest and plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageReport {
    /// URL path of the page.
    pub page: String,
    pub assets: Vec<AssetRow>,
    /// References that did not become assets, with why.
    pub skipped: Vec<Skipped>,
    pub pushed: usize,
    pub pushed_bytes: u64,
    pub hinted: usize,
    /// Set when the page could not be read; its manifest is then empty.
    pub error: Option<String>,
    /// Set when discovery stopped at a bound, saying which; the assets are what it found
    /// before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// Totals over a scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub pages: usize,
    /// Asset rows over all pages (an asset used by ten pages counts ten times).
    pub assets: usize,
    /// Distinct asset paths over all pages.
    pub distinct_assets: usize,
    pub pushed: usize,
    pub hinted: usize,
    pub skipped: usize,
    /// Pages left out because the walk reached [`MAX_SCAN_PAGES`].
    pub pages_not_scanned: usize,
    pub threads: usize,
    /// Wall time of the walk and of every page's discovery and plan (not of printing).
    pub millis: f64,
}

/// Everything `scan` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub root: String,
    pub origin: String,
    pub push: bool,
    pub push_max_assets: usize,
    pub push_max_bytes: u64,
    pub push_extra_bytes: u64,
    pub pages: Vec<PageReport>,
    pub summary: Summary,
}

/// The URL path a PAGE argument names under the root, checked to be a servable HTML file.
///
/// `arg` may be a URL path (`/docs/`, `/a%20b.html`), a path relative to the root
/// (`docs/index.html`), or a file-system path that lies under the root (`site/about.html`).
pub fn page_url_path(config: &Config, arg: &str) -> Result<String, String> {
    let mut candidates = Vec::new();
    if arg.starts_with('/') {
        // Already a URL path, possibly percent-encoded.
        candidates.push(arg.to_owned());
    }
    let rel = arg.trim_start_matches('/');
    candidates.push(path::url_path(
        rel.split('/'),
        rel.ends_with('/') || rel.is_empty(),
    ));
    if let Ok(real) = Path::new(arg).canonicalize() {
        if let Ok(inside) = real.strip_prefix(&config.root) {
            let segments: Vec<_> = inside.iter().map(|s| s.to_string_lossy()).collect();
            candidates.push(path::url_path(
                segments.iter().map(|s| s.as_ref()),
                real.is_dir(),
            ));
        }
    }
    for url_path in candidates {
        match files::open_url_path(config, &url_path) {
            Ok(Opened::File(file)) if file.is_html => return Ok(url_path),
            Ok(Opened::File(_)) => return Err(format!("{arg} is not an HTML page")),
            Ok(Opened::Directory(dir_url)) => match files::open_url_path(config, &dir_url) {
                Ok(Opened::File(file)) if file.is_html => return Ok(dir_url),
                _ => continue,
            },
            Err(_) => continue,
        }
    }
    Err(format!(
        "no servable page {arg} under {}",
        config.root.display()
    ))
}

/// Every HTML page a client could request under the root, as sorted URL paths, and how many
/// were left out past [`MAX_SCAN_PAGES`]. Dot-entries are skipped as the server hides them
/// (`.well-known` excepted); symlinked directories are not descended into (no cycles), and
/// every page is checked with [`files::open_url_path`], so a symlink out of the root is left
/// out exactly when `serve` would refuse it.
pub fn find_pages(config: &Config) -> (Vec<String>, usize) {
    let mut pages = Vec::new();
    let mut over = 0;
    let mut stack = vec![(config.root.clone(), Vec::<String>::new())];
    while let Some((dir, segments)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue; // Not UTF-8: no URL names it.
            };
            if name.starts_with('.') && name != ".well-known" {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let mut child = segments.clone();
            child.push(name.clone());
            if kind.is_dir() {
                if child.len() < MAX_WALK_DEPTH {
                    stack.push((entry.path(), child));
                }
            } else if name.ends_with(".html") || name.ends_with(".htm") {
                let url_path = path::url_path(child.iter().map(String::as_str), false);
                if !matches!(files::open_url_path(config, &url_path), Ok(Opened::File(_))) {
                    continue;
                }
                if pages.len() < MAX_SCAN_PAGES {
                    pages.push(url_path);
                } else {
                    over += 1;
                }
            }
        }
    }
    pages.sort();
    (pages, over)
}

/// Scans `pages` (or the whole root) and plans each page as `serve` would for a connection
/// that allows push and has sent nothing yet.
pub fn scan(config: &Config, origin: &Url, pages: Pages) -> Report {
    let started = Instant::now();
    let (pages, pages_not_scanned) = match pages {
        Pages::All => find_pages(config),
        Pages::These(pages) => (pages, 0),
    };
    let (manifests, threads) = discover_pages(config, origin, &pages);
    let reports: Vec<PageReport> = pages
        .iter()
        .zip(manifests)
        .map(|(page, manifest)| match manifest {
            Some(manifest) => page_report(page, &manifest, config),
            None => PageReport {
                error: Some("not readable".into()),
                ..page_report(page, &Manifest::default(), config)
            },
        })
        .collect();
    let summary = summarize(&reports, pages_not_scanned, threads, started.elapsed());
    Report {
        root: config.root.display().to_string(),
        origin: origin.to_string(),
        push: config.push.push,
        push_max_assets: config.push.max_assets,
        push_max_bytes: config.push.max_bytes,
        push_extra_bytes: config.push.extra_bytes,
        pages: reports,
        summary,
    }
}

/// Every page's manifest, in the order of `pages`, discovered in parallel exactly as `serve`
/// would (`None` for a page that cannot be read), and how many threads did it. `export`
/// shares it with `scan`.
pub fn discover_pages(
    config: &Config,
    origin: &Url,
    pages: &[String],
) -> (Vec<Option<Manifest>>, usize) {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_SCAN_THREADS)
        .min(pages.len().max(1));
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(pages.len()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(page) = pages.get(i) else { break };
                    mine.push((i, discover_page(config, origin, page)));
                }
                done.lock().expect("scan results poisoned").extend(mine);
            });
        }
    });
    let mut done = done.into_inner().expect("scan results poisoned");
    done.sort_by_key(|(i, _)| *i);
    (done.into_iter().map(|(_, m)| m).collect(), threads)
}

/// One page: read it as the server would (up to the discovery limit), and discover.
fn discover_page(config: &Config, origin: &Url, page: &str) -> Option<Manifest> {
    let limits = &config.push.discovery;
    let html = Root(config).read(page, limits.max_html_bytes)?;
    Some(discover::discover(
        &Root(config),
        page,
        &html,
        origin,
        limits,
    ))
}

/// The plan for one manifest, shaped for output: what `serve` does for a first request of
/// the page on a connection that allows push.
pub fn page_report(page: &str, manifest: &Manifest, config: &Config) -> PageReport {
    let plan = policy::plan(manifest, &config.push, true, |_| false, |_| false);
    let assets: Vec<AssetRow> = plan
        .iter()
        .map(|(asset, action)| AssetRow {
            path: asset.path.clone(),
            dest: asset.dest.as_str(),
            module: asset.module,
            size: asset.size,
            found_in: asset.found_in.clone(),
            action: action.verb(),
            reason: action.code(),
        })
        .collect();
    let pushed: Vec<&AssetRow> = assets.iter().filter(|a| a.action == "push").collect();
    PageReport {
        page: page.to_owned(),
        pushed: pushed.len(),
        pushed_bytes: pushed.iter().map(|a| a.size).sum(),
        hinted: assets.len() - pushed.len(),
        assets,
        skipped: manifest.skipped.clone(),
        error: None,
        incomplete: manifest.incomplete.clone(),
    }
}

/// The reader's words for a reason code.
pub fn reason_words(code: &str) -> &'static str {
    let actions = (policy::PushReason::ALL.map(Action::Push).into_iter())
        .chain(policy::HintReason::ALL.map(Action::Hint));
    actions
        .into_iter()
        .find(|a| a.code() == code)
        .map_or("", |a| a.words())
}

fn summarize(pages: &[PageReport], not_scanned: usize, threads: usize, took: Duration) -> Summary {
    let distinct: std::collections::HashSet<&str> = pages
        .iter()
        .flat_map(|p| p.assets.iter().map(|a| a.path.as_str()))
        .collect();
    Summary {
        pages: pages.len(),
        assets: pages.iter().map(|p| p.assets.len()).sum(),
        distinct_assets: distinct.len(),
        pushed: pages.iter().map(|p| p.pushed).sum(),
        hinted: pages.iter().map(|p| p.hinted).sum(),
        skipped: pages.iter().map(|p| p.skipped.len()).sum(),
        pages_not_scanned: not_scanned,
        threads,
        millis: took.as_secs_f64() * 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::manifest::{Asset, Destination};

    fn asset(path: &str, dest: Destination, size: u64, found_in: &str) -> Asset {
        Asset {
            path: path.into(),
            file_path: path.split('?').next().unwrap().into(),
            dest,
            module: false,
            mime_type: None,
            crossorigin: (dest == Destination::Font).then(|| "anonymous".into()),
            found_in: found_in.into(),
            size,
            critical: dest != Destination::Image,
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            page: "/index.html".into(),
            assets: vec![
                asset("/css/site.css?v=1", Destination::Style, 2000, "/index.html"),
                asset("/fonts/a.woff2", Destination::Font, 30_000, "/css/site.css"),
                asset("/img/big.png", Destination::Image, 5_000_000, "/index.html"),
            ],
            skipped: vec![Skipped {
                url: "https://cdn.example/x.js".into(),
                found_in: "/index.html".into(),
                reason: "other origin".into(),
            }],
            css_files: vec!["/css/site.css".into()],
            module_files: vec![],
            incomplete: None,
        }
    }

    fn config(max_bytes: u64) -> Config {
        let mut config = Config::new("/nonexistent".into());
        config.push.max_bytes = max_bytes;
        config
    }

    fn report(page: PageReport, took_ms: u64) -> Report {
        let config = config(0);
        Report {
            root: "/srv/site".into(),
            origin: DEFAULT_SCAN_ORIGIN.into(),
            push: true,
            push_max_assets: config.push.max_assets,
            push_max_bytes: config.push.max_bytes,
            push_extra_bytes: config.push.extra_bytes,
            summary: summarize(
                std::slice::from_ref(&page),
                0,
                2,
                Duration::from_millis(took_ms),
            ),
            pages: vec![page],
        }
    }

    #[test]
    fn the_plan_shows_budget_effects_in_manifest_order() {
        let page = page_report("/index.html", &manifest(), &config(1024 * 1024));
        let actions: Vec<_> = page
            .assets
            .iter()
            .map(|a| (a.path.as_str(), a.action, a.reason))
            .collect();
        assert_eq!(
            actions,
            [
                ("/css/site.css?v=1", "push", "critical"),
                ("/fonts/a.woff2", "push", "critical"),
                ("/img/big.png", "hint", "over-extra-budget"),
            ]
        );
        assert_eq!(
            (page.pushed, page.pushed_bytes, page.hinted),
            (2, 32_000, 1)
        );
        assert_eq!(page.skipped.len(), 1);

        let mut off = config(1024 * 1024);
        off.push.push = false;
        let page = page_report("/index.html", &manifest(), &off);
        assert!(page.assets.iter().all(|a| a.reason == "push-off"));
    }

    #[test]
    fn the_table_aligns_columns_and_explains_hints_and_skips() {
        let page = page_report("/index.html", &manifest(), &config(1024 * 1024));
        let text = render_table(&report(page, 12));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "/index.html  3 assets: 2 push (31.2 KiB), 1 hint, 1 skipped"
        );
        assert_eq!(
            lines[1],
            "  PATH               AS         SIZE  FOUND IN       ACTION"
        );
        assert_eq!(
            lines[2],
            "  /css/site.css?v=1  style   2.0 KiB  /index.html    push (needed to render)"
        );
        assert_eq!(
            lines[3],
            "  /fonts/a.woff2     font   29.3 KiB  /css/site.css  push (needed to render)"
        );
        assert_eq!(
            lines[4],
            "  /img/big.png       image   4.8 MiB  /index.html    hint (over the extra budget)"
        );
        assert_eq!(
            lines[5],
            "  skipped https://cdn.example/x.js (in /index.html): other origin"
        );
        assert_eq!(
            *lines.last().unwrap(),
            "scanned 1 page in 12.0 ms (2 threads): 3 assets (3 distinct), 2 push, 1 hint, 1 skipped"
        );
    }

    #[test]
    fn json_has_stable_field_names_for_scripts() {
        let page = page_report("/index.html", &manifest(), &config(1024 * 1024));
        let json: serde_json::Value = serde_json::from_str(&render_json(&report(page, 5))).unwrap();
        let first = &json["pages"][0];
        assert_eq!(first["page"], "/index.html");
        assert_eq!(first["assets"][1]["as"], "font");
        assert_eq!(first["assets"][1]["found_in"], "/css/site.css");
        assert_eq!(first["assets"][1]["size"], 30_000);
        assert_eq!(first["assets"][0]["action"], "push");
        assert_eq!(first["assets"][0]["reason"], "critical");
        assert_eq!(first["assets"][2]["action"], "hint");
        assert_eq!(first["assets"][2]["reason"], "over-extra-budget");
        assert_eq!(first["skipped"][0]["reason"], "other origin");
        assert_eq!(json["summary"]["pages"], 1);
        assert_eq!(json["summary"]["assets"], 3);
        assert_eq!(json["summary"]["pushed"], 2);
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn every_reason_code_has_words() {
        for code in [
            "critical",
            "fits-extra",
            "in-client-digest",
            "over-safety-cap",
        ] {
            assert!(!reason_words(code).is_empty(), "{code}");
        }
    }
}
