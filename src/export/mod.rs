//! `h2push export`: the `Link: rel=preload` headers `serve` would send with each page, written
//! in the configuration format of a production server or CDN, so a site that outgrows one
//! machine keeps its early hints (and, on h2o, its pushes) without writing them by hand.
//!
//! The pages come from the same walk and discovery as `scan` ([`scan::find_pages`],
//! [`scan::discover_pages`]), each planned with [`policy::plan`] as a fresh connection that
//! allows push, and each Link value is built by [`hints::link_value`] with `nopush` where
//! [`policy::marks_nopush`] says: exactly what `serve` sends on a page's HTTP/2 response.
//! This file builds that model; one small file per format renders it (pure, unit-tested), and
//! `output` writes it atomically or checks a file against it.

pub mod args;
mod caddy;
mod h2o;
mod headers;
mod httpd;
mod json;
mod nginx;
pub mod output;

use serde::Serialize;
use url::Url;

use crate::config::Config;
use crate::push::hints;
use crate::push::manifest::{Asset, Manifest, Skipped};
use crate::push::policy::{self, Action};
use crate::push::scan;

pub use args::ExportArgs;

/// The configuration formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Netlify `_headers`
    Netlify,
    /// Cloudflare Pages `_headers`
    Cloudflare,
    /// nginx include file: one `location =` per page
    Nginx,
    /// h2o `paths:` fragment (h2o 2.2 pushes from the Link headers)
    H2o,
    /// Caddyfile snippet
    Caddy,
    /// Apache `<Location>` blocks (mod_headers)
    Apache,
    /// The manifests and links, for other tools
    Json,
}

/// One asset of a page as the exported configuration sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageLink {
    #[serde(flatten)]
    pub asset: Asset,
    /// `push` or `hint`, as `serve` plans it for the first request of the page.
    pub action: &'static str,
    /// Why it is only hinted (`budget-bytes`, …); null when pushed.
    pub reason: Option<&'static str>,
    /// The `Link` field value; null when it would not be a valid header value (left out).
    pub link: Option<String>,
}

impl PageLink {
    /// The link as a server that pushes from `rel=preload` Links (h2o 2.2, Apache mod_http2)
    /// must see it to push what `serve` pushes: a pushed module script as a CORS
    /// `rel=preload; as=script` (how module scripts were preloaded before `modulepreload`:
    /// the same request the module fetch makes), since neither pushes a `rel=modulepreload`.
    /// Measured with `h2push compare` at 100 ms RTT on h2o, that one unpushed module script of
    /// `site/` cost the page a second round trip. Anything else unchanged.
    pub fn pushable_value(&self) -> Option<String> {
        let value = self.link.as_deref()?;
        if !(self.asset.module && self.action == "push") {
            return Some(value.to_owned());
        }
        let mut value = value.replacen("; rel=modulepreload", "; rel=preload; as=script", 1);
        if !value.contains("; crossorigin") {
            value.push_str("; crossorigin");
        }
        Some(value)
    }
}

/// One page: where it is requested, and its links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageExport {
    /// URL path of the page file, e.g. `/docs/index.html`.
    pub page: String,
    /// `/docs/` when the page is a directory's `index.html` (`/` for the root's).
    pub directory: Option<String>,
    pub links: Vec<PageLink>,
    pub skipped: Vec<Skipped>,
    /// Set when discovery stopped at a bound; the links are what it found before.
    pub incomplete: Option<String>,
    /// Set when the page could not be read; it then has no links.
    pub error: Option<String>,
}

impl PageExport {
    /// Every URL path that serves this page on a plain static server: the file's path, and
    /// for an index page its directory's.
    pub fn urls(&self) -> Vec<&str> {
        self.directory
            .iter()
            .map(String::as_str)
            .chain([self.page.as_str()])
            .collect()
    }

    /// The `Link` values in manifest order, skipping those that are not valid header values.
    pub fn link_values(&self) -> impl Iterator<Item = &str> {
        self.links.iter().filter_map(|l| l.link.as_deref())
    }

    /// What a reader of the generated file should know about this page, one line each
    /// (without a comment marker): totals, hinted-only assets and why, references left out.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let pushed: Vec<&PageLink> = self.links.iter().filter(|l| l.action == "push").collect();
        notes.push(format!(
            "{}: {} links, {} pushed ({}), {} hint only",
            self.page,
            self.links.len(),
            pushed.len(),
            scan::human_bytes(pushed.iter().map(|l| l.asset.size).sum()),
            self.links.len() - pushed.len()
        ));
        if let Some(error) = &self.error {
            notes.push(format!("  {error}: no links"));
        }
        if let Some(bound) = &self.incomplete {
            notes.push(format!(
                "  discovery stopped early ({bound}): links found before it only"
            ));
        }
        for link in &self.links {
            if link.link.is_none() {
                notes.push(format!(
                    "  left out {}: not a valid header value",
                    link.asset.path
                ));
            } else if let Some(code) = link.reason {
                notes.push(format!(
                    "  hint only {} ({})",
                    link.asset.path,
                    scan::reason_words(code)
                ));
            }
        }
        for skipped in &self.skipped {
            notes.push(format!(
                "  skipped {} (in {}): {}",
                skipped.url, skipped.found_in, skipped.reason
            ));
        }
        // The URLs and reasons come from the site's HTML: no line breaks into the config.
        notes
            .into_iter()
            .map(|n| {
                n.chars()
                    .map(|c| if c.is_control() { '?' } else { c })
                    .collect()
            })
            .collect()
    }
}

/// Everything an export writes, whatever the format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Export {
    pub origin: String,
    pub push: bool,
    pub push_max_assets: usize,
    /// The safety cap on critical bytes pushed per page.
    pub push_max_bytes: u64,
    /// The budget for non-critical assets pushed per page.
    pub push_extra_bytes: u64,
    /// Sorted by URL path.
    pub pages: Vec<PageExport>,
    /// Pages past [`scan::MAX_SCAN_PAGES`], left out.
    pub pages_not_scanned: usize,
}

/// Walks the root, discovers every page and plans it as `serve` would.
pub fn build(config: &Config, origin: &Url) -> Export {
    let (pages, pages_not_scanned) = scan::find_pages(config);
    let (manifests, _threads) = scan::discover_pages(config, origin, &pages);
    let pages = pages
        .iter()
        .zip(manifests)
        .map(|(page, manifest)| match manifest {
            Some(manifest) => page_export(page, &manifest, config),
            None => PageExport {
                error: Some("not readable".into()),
                ..page_export(page, &Manifest::default(), config)
            },
        })
        .collect();
    Export {
        origin: origin.to_string(),
        push: config.push.push,
        push_max_assets: config.push.max_assets,
        push_max_bytes: config.push.max_bytes,
        push_extra_bytes: config.push.extra_bytes,
        pages,
        pages_not_scanned,
    }
}

/// One page's links: the plan of a first request on a connection that allows push, marked
/// `nopush` as `serve` marks them.
pub fn page_export(page: &str, manifest: &Manifest, config: &Config) -> PageExport {
    let plan = policy::plan(manifest, &config.push, true, |_| false, |_| false);
    let any_pushed = plan.iter().any(|(_, action)| action.is_push());
    let links = plan
        .iter()
        .map(|(asset, action)| PageLink {
            asset: (*asset).clone(),
            action: action.verb(),
            reason: match action {
                Action::Push(_) => None,
                Action::Hint(_) => Some(action.code()),
            },
            link: hints::link_value(asset, policy::marks_nopush(any_pushed, *action))
                .and_then(|v| v.to_str().ok().map(str::to_owned)),
        })
        .collect();
    let directory = page
        .strip_suffix("index.html")
        .filter(|dir| dir.ends_with('/'))
        .map(str::to_owned);
    PageExport {
        page: page.to_owned(),
        directory,
        links,
        skipped: manifest.skipped.clone(),
        incomplete: manifest.incomplete.clone(),
        error: None,
    }
}

/// A rendered configuration, and what the user should be warned about (platform limits).
#[derive(Debug, Default)]
pub struct Rendered {
    pub text: String,
    pub warnings: Vec<String>,
}

/// Renders `export` as `format`. `docroot` is where the site lives on the server, for the
/// formats that name files (h2o).
pub fn render(format: Format, export: &Export, docroot: &str) -> Rendered {
    let text = match format {
        Format::Netlify => return headers::render(export, headers::Platform::Netlify),
        Format::Cloudflare => return headers::render(export, headers::Platform::Cloudflare),
        Format::Nginx => nginx::render(export),
        Format::H2o => h2o::render(export, docroot),
        Format::Caddy => caddy::render(export),
        Format::Apache => httpd::render(export),
        Format::Json => json::render(export),
    };
    Rendered {
        text,
        warnings: Vec::new(),
    }
}

/// A double-quoted string with `\` and `"` escaped: what httpd and nginx configurations take.
fn double_quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The first lines of every text format: what wrote it and how to regenerate or check it.
fn preamble(marker: &str, format: &str, export: &Export) -> String {
    // The default origin is only what absolute links are compared with, not where the site is
    // served: naming it would read as an address (`https://localhost:8443/`) nobody chose.
    let origin = if export.origin == scan::DEFAULT_SCAN_ORIGIN {
        String::new()
    } else {
        format!("origin {}, ", export.origin)
    };
    let mut out = format!(
        "{marker} Written by `h2push export --format {format}`: the Link preload headers `h2push serve` sends\n\
         {marker} with each page ({origin}push {}, at most {} assets pushed per page: the critical ones up to\n\
         {marker} {} bytes, others within {} bytes).\n\
         {marker} Regenerate it rather than editing it; `--check FILE` tells CI when it is stale.\n",
        if export.push { "on" } else { "off" },
        export.push_max_assets,
        export.push_max_bytes,
        export.push_extra_bytes,
    );
    if export.pages_not_scanned > 0 {
        out.push_str(&format!(
            "{marker} {} more pages left out: the walk stops at {} pages.\n",
            export.pages_not_scanned,
            scan::MAX_SCAN_PAGES
        ));
    }
    out
}

/// The page's notes as comment lines starting with `indent` and `marker`.
fn comments(page: &PageExport, indent: &str, marker: &str) -> String {
    page.notes()
        .iter()
        .map(|n| format!("{indent}{marker} {n}\n"))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::push::manifest::Destination;

    pub fn asset(path: &str, dest: Destination, size: u64) -> Asset {
        Asset {
            path: path.into(),
            file_path: path.split('?').next().unwrap().into(),
            dest,
            module: false,
            mime_type: None,
            crossorigin: (dest == Destination::Font).then(|| "anonymous".into()),
            found_in: "/index.html".into(),
            size,
            critical: matches!(
                dest,
                Destination::Style | Destination::Font | Destination::Script
            ),
        }
    }

    /// Two pages: the root index (a stylesheet, a font, a big image over a 1 MiB budget, a
    /// skipped reference) and `/about.html` (a module script with a query).
    pub fn export() -> Export {
        let mut config = Config::new("/nonexistent".into());
        config.push.max_bytes = 1024 * 1024;
        let index = Manifest {
            page: "/index.html".into(),
            assets: vec![
                asset("/css/site.css?v=1", Destination::Style, 2000),
                asset("/fonts/a.woff2", Destination::Font, 30_000),
                asset("/img/big.png", Destination::Image, 5_000_000),
            ],
            skipped: vec![Skipped {
                url: "https://cdn.example/x.js".into(),
                found_in: "/index.html".into(),
                reason: "other origin".into(),
            }],
            ..Manifest::default()
        };
        let mut module = asset("/js/app.js?v=2", Destination::Script, 100);
        module.module = true;
        let about = Manifest {
            page: "/about.html".into(),
            assets: vec![module],
            ..Manifest::default()
        };
        Export {
            origin: scan::DEFAULT_SCAN_ORIGIN.into(),
            push: true,
            push_max_assets: config.push.max_assets,
            push_max_bytes: config.push.max_bytes,
            push_extra_bytes: config.push.extra_bytes,
            pages: vec![
                page_export("/about.html", &about, &config),
                page_export("/index.html", &index, &config),
            ],
            pages_not_scanned: 0,
        }
    }

    #[test]
    fn links_follow_the_serve_rules_with_nopush_past_the_budget() {
        let export = export();
        let index = &export.pages[1];
        assert_eq!(index.directory.as_deref(), Some("/"));
        assert_eq!(index.urls(), ["/", "/index.html"]);
        let links: Vec<&str> = index.link_values().collect();
        assert_eq!(
            links,
            [
                "</css/site.css?v=1>; rel=preload; as=style",
                "</fonts/a.woff2>; rel=preload; as=font; crossorigin",
                "</img/big.png>; rel=preload; as=image; nopush",
            ]
        );
        assert_eq!(index.links[2].reason, Some("over-extra-budget"));
        let about = &export.pages[0];
        assert_eq!(about.directory, None);
        assert_eq!(
            about.link_values().collect::<Vec<_>>(),
            ["</js/app.js?v=2>; rel=modulepreload"]
        );
    }

    #[test]
    fn the_header_comment_names_an_origin_only_when_one_was_given() {
        let mut export = export();
        let text = preamble("#", "nginx", &export);
        assert!(!text.contains("8443") && !text.contains("origin"), "{text}");
        export.origin = "https://example.org/".into();
        let text = preamble("#", "nginx", &export);
        assert!(
            text.contains("(origin https://example.org/, push on"),
            "{text}"
        );
    }

    #[test]
    fn with_push_off_nothing_is_marked_nopush() {
        let mut config = Config::new("/nonexistent".into());
        config.push.push = false;
        let manifest = Manifest {
            page: "/a.html".into(),
            assets: vec![asset("/a.css", Destination::Style, 10)],
            ..Manifest::default()
        };
        let page = page_export("/a.html", &manifest, &config);
        assert_eq!(
            page.link_values().collect::<Vec<_>>(),
            ["</a.css>; rel=preload; as=style"]
        );
        assert_eq!(page.links[0].reason, Some("push-off"));
    }

    #[test]
    fn notes_explain_hints_and_skips_without_line_breaks() {
        let mut page = export().pages[1].clone();
        page.skipped[0].url = "/evil\n/x".into();
        let notes = page.notes();
        assert_eq!(
            notes,
            [
                "/index.html: 3 links, 2 pushed (31.2 KiB), 1 hint only",
                "  hint only /img/big.png (over the extra budget)",
                "  skipped /evil?/x (in /index.html): other origin",
            ]
        );
    }

    #[test]
    fn a_pushed_module_script_becomes_a_cors_script_preload_for_pushing_servers() {
        let mut link = export().pages[0].links[0].clone();
        assert_eq!(
            link.pushable_value().unwrap(),
            "</js/app.js?v=2>; rel=preload; as=script; crossorigin"
        );
        link.action = "hint";
        assert_eq!(
            link.pushable_value().unwrap(),
            "</js/app.js?v=2>; rel=modulepreload"
        );
        let font = export().pages[1].links[1].clone();
        assert_eq!(font.pushable_value(), font.link);
    }

    #[test]
    fn only_index_html_pages_have_a_directory_url() {
        let config = Config::new("/nonexistent".into());
        let m = Manifest::default();
        let dir = |p: &str| page_export(p, &m, &config).directory;
        assert_eq!(dir("/docs/index.html").as_deref(), Some("/docs/"));
        assert_eq!(dir("/docs/myindex.html"), None);
        assert_eq!(dir("/about.html"), None);
    }
}
