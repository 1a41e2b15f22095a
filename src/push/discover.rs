//! Works out which files a page will ask for, and in what order they matter.
//!
//! [`discover`] takes what the HTML walk ([`super::html`]) found, follows the page's
//! stylesheets (and their `@import`s) through [`SiteFiles`], keeps the same-origin files that
//! exist, and returns them as a [`Manifest`] ordered the way a browser needs them:
//! stylesheets, fonts, blocking scripts, modules and deferred scripts, async scripts, images.
//! Everything here is pure: no file system, no network, no clock. Work is bounded: the HTML
//! walk is linear in the page's bytes, each stylesheet is read up to a byte limit, and at most
//! [`MAX_REFERENCES`] references are looked up.

use std::collections::{HashMap, HashSet};

use url::Url;

use super::css::{parse_css, CssRefKind};
use super::html::{scan_html, HtmlRefKind};
use super::manifest::{Asset, Destination, Manifest, Skipped};

/// How discovery sees the site: URL paths (percent-encoded, starting with '/', WITHOUT
/// query) to files.
pub trait SiteFiles {
    /// Size of the servable regular file at this URL path, or None if it does not exist / is
    /// not servable.
    fn size(&self, url_path: &str) -> Option<u64>;
    /// Up to `max` bytes of the file (None if not servable). Used to read CSS.
    fn read(&self, url_path: &str, max: usize) -> Option<Vec<u8>>;
}

/// References (from the HTML and its stylesheets) discovery looks at per page: each may cost a
/// file-system lookup. Real pages have tens to a few hundred; past this discovery stops and
/// the page is hinted from what was found before.
pub const MAX_REFERENCES: usize = 2048;

pub use crate::config::{
    DiscoveryLimits as Limits, DEFAULT_MAX_ASSETS, DEFAULT_MAX_CSS_BYTES, DEFAULT_MAX_HTML_BYTES,
    DEFAULT_MAX_IMPORT_DEPTH,
};

/// Finds a page's assets: parses `html` (truncated to `limits.max_html_bytes`) as the page
/// at `page_path`, follows its stylesheets and their imports through `site`, and keeps the
/// same-origin files that exist, in the order they should reach the client.
///
/// `origin` is the site's own URL (`https://localhost:8443/`); `page_path` is the URL path
/// the page was requested at (`/blog/` rather than `/blog/index.html`, since relative
/// links resolve against it).
pub fn discover(
    site: &dyn SiteFiles,
    page_path: &str,
    html: &[u8],
    origin: &Url,
    limits: &Limits,
) -> Manifest {
    let Ok(page_url) = origin.join(page_path) else {
        return Manifest::default();
    };
    let html = &html[..html.len().min(limits.max_html_bytes)];
    let page = page_url.path().to_string();
    let scan = scan_html(html, &page_url);
    let mut found = Discovery {
        site,
        origin,
        limits,
        candidates: Vec::new(),
        by_path: HashMap::new(),
        sheets_followed: HashSet::new(),
        skipped: Vec::new(),
        skipped_urls: HashSet::new(),
        css_files: Vec::new(),
        sizes: HashMap::new(),
        references: 0,
        incomplete: scan.cut.map(|cut| cut.to_string()),
    };
    for html_ref in scan.refs {
        let crossorigin = cors_mode(html_ref.crossorigin.as_deref());
        let url = &html_ref.url;
        match html_ref.kind {
            HtmlRefKind::Stylesheet => found.stylesheet(url, &page, crossorigin, None, 0),
            HtmlRefKind::Preload {
                as_value,
                mime_type,
            } => {
                let mime_type = mime_type.filter(|t| is_plain_mime_type(t));
                let dest = as_value.as_deref().and_then(Destination::from_as);
                match dest {
                    Some(Destination::Style) => {
                        found.stylesheet(url, &page, crossorigin, mime_type, 0)
                    }
                    Some(dest) => {
                        let (class, crossorigin) = match dest {
                            Destination::Font => {
                                (Class::Font, crossorigin.or(Some(ANONYMOUS.into())))
                            }
                            // Preloaded: the author wants it as early as a blocking one.
                            Destination::Script => (Class::BlockingScript, crossorigin),
                            Destination::Image => (Class::Image, crossorigin),
                            _ => (Class::Other, crossorigin),
                        };
                        let how = How {
                            class,
                            dest,
                            module: false,
                            mime_type,
                            crossorigin,
                        };
                        found.asset(url, &page, how);
                    }
                    None => found.skip(
                        url,
                        &page,
                        format!(
                            "preload as={} is not supported",
                            as_value.as_deref().unwrap_or("(none)")
                        ),
                    ),
                }
            }
            HtmlRefKind::ModulePreload => {
                found.asset(url, &page, How::script(Class::Module, true, crossorigin))
            }
            HtmlRefKind::Script {
                module,
                is_async,
                defer,
            } => {
                let class = if is_async {
                    Class::AsyncScript
                } else if module || defer {
                    Class::Module
                } else {
                    Class::BlockingScript
                };
                found.asset(url, &page, How::script(class, module, crossorigin));
            }
            // Browsers fetch icons outside the preload cache: hinted or pushed, an icon was
            // fetched twice (seen in Chromium's Resource Timing).
            HtmlRefKind::Icon => found.skip(
                url,
                &page,
                "icon: browsers fetch icons outside the preload cache".into(),
            ),
            HtmlRefKind::Image => found.asset(url, &page, How::image(crossorigin)),
            HtmlRefKind::InlineStyle { css } => found.css(&css, url, &page, 0),
        }
    }
    found.finish(page)
}

const ANONYMOUS: &str = "anonymous";

/// The CORS mode a `crossorigin` attribute asks for: empty and unknown values mean
/// anonymous.
fn cors_mode(attr: Option<&str>) -> Option<String> {
    let mode = if attr?.trim().eq_ignore_ascii_case("use-credentials") {
        "use-credentials"
    } else {
        ANONYMOUS
    };
    Some(mode.to_string())
}

/// `type/subtype` made of token characters only, so it can be quoted in a Link header
/// as is (no quotes, backslashes, control characters or parameters).
fn is_plain_mime_type(value: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    value
        .split_once('/')
        .is_some_and(|(kind, sub)| token(kind) && token(sub))
}

/// Output order, most urgent first; within a class, discovery order is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Style,
    Font,
    BlockingScript,
    /// Module scripts, modulepreloads and deferred classic scripts.
    Module,
    AsyncScript,
    Image,
    Other,
}

/// How an asset will be fetched and where it goes in the order.
struct How {
    class: Class,
    dest: Destination,
    module: bool,
    mime_type: Option<String>,
    crossorigin: Option<String>,
}

impl How {
    fn script(class: Class, module: bool, crossorigin: Option<String>) -> How {
        How {
            class,
            dest: Destination::Script,
            module,
            mime_type: None,
            crossorigin,
        }
    }

    fn image(crossorigin: Option<String>) -> How {
        How {
            class: Class::Image,
            dest: Destination::Image,
            module: false,
            mime_type: None,
            crossorigin,
        }
    }

    fn font() -> How {
        How {
            class: Class::Font,
            dest: Destination::Font,
            module: false,
            mime_type: None,
            // Fonts are always fetched in CORS mode; a preload must match.
            crossorigin: Some(ANONYMOUS.into()),
        }
    }
}

struct Discovery<'a> {
    site: &'a dyn SiteFiles,
    origin: &'a Url,
    limits: &'a Limits,
    /// In discovery order; sorted by class at the end.
    candidates: Vec<(Class, Asset)>,
    /// Request path → index in `candidates`.
    by_path: HashMap<String, usize>,
    /// Request paths of stylesheets already followed (or being followed: cycles).
    sheets_followed: HashSet<String>,
    skipped: Vec<Skipped>,
    /// URLs in `skipped`: each is reported once.
    skipped_urls: HashSet<String>,
    css_files: Vec<String>,
    /// File path → size (None: not servable), each asked of `site` once.
    sizes: HashMap<String, Option<u64>>,
    /// New references looked at, against [`MAX_REFERENCES`].
    references: usize,
    /// Why discovery stopped early, if it did.
    incomplete: Option<String>,
}

/// A same-origin URL that names an existing file.
struct Located {
    path: String,
    file_path: String,
    size: u64,
}

impl Discovery<'_> {
    /// A stylesheet: its imports first (they load before it applies), then itself, then
    /// what it references.
    fn stylesheet(
        &mut self,
        url: &Url,
        found_in: &str,
        crossorigin: Option<String>,
        mime_type: Option<String>,
        depth: usize,
    ) {
        let Some(at) = self.locate(url, found_in) else {
            return;
        };
        if self.sheets_followed.contains(&at.path) {
            return;
        }
        if depth > self.limits.max_import_depth {
            self.skip(url, found_in, "import depth limit".into());
            return;
        }
        self.sheets_followed.insert(at.path.clone());
        if self.css_files.len() >= self.limits.max_assets {
            self.skip(url, found_in, "asset limit".into());
            return;
        }
        if !self.css_files.contains(&at.file_path) {
            self.css_files.push(at.file_path.clone());
        }
        let css = self.site.read(&at.file_path, self.limits.max_css_bytes);
        if let Some(css) = css {
            self.css(&String::from_utf8_lossy(&css), url, &at.file_path, depth);
        }
        let how = How {
            class: Class::Style,
            dest: Destination::Style,
            module: false,
            mime_type,
            crossorigin,
        };
        self.add(at, found_in, how);
    }

    /// The references of a stylesheet (or inline `<style>`) at import depth `depth`.
    fn css(&mut self, css: &str, base: &Url, found_in: &str, depth: usize) {
        for css_ref in parse_css(css, base) {
            let url = &css_ref.url;
            match css_ref.kind {
                CssRefKind::Import => self.stylesheet(url, found_in, None, None, depth + 1),
                CssRefKind::Font => self.asset(url, found_in, How::font()),
                // Every url() in a property value is fetched as an image, whatever its name.
                CssRefKind::Image | CssRefKind::Other => {
                    self.asset(url, found_in, How::image(None))
                }
            }
        }
    }

    fn asset(&mut self, url: &Url, found_in: &str, how: How) {
        if let Some(at) = self.locate(url, found_in) {
            self.add(at, found_in, how);
        }
    }

    /// Same origin and existing, or recorded as skipped. A path already listed is located
    /// again (cheap) so that `add` can merge the classes. Each new URL counts towards
    /// [`MAX_REFERENCES`]; past it nothing more is located.
    fn locate(&mut self, url: &Url, found_in: &str) -> Option<Located> {
        let same_origin = url.origin() == self.origin.origin();
        if !same_origin && self.skipped_urls.contains(url.as_str()) {
            return None;
        }
        let file_path = url.path().to_string();
        let path = match url.query() {
            Some(query) => format!("{file_path}?{query}"),
            None => file_path.clone(),
        };
        let known = match self.sizes.get(&file_path) {
            Some(&size) => size,
            None if same_origin => {
                if !self.within_budget() {
                    return None;
                }
                let size = self.site.size(&file_path);
                self.sizes.insert(file_path.clone(), size);
                size
            }
            None => {
                if self.within_budget() {
                    self.skip(url, found_in, "other origin".into());
                }
                return None;
            }
        };
        if !same_origin {
            self.skip(url, found_in, "other origin".into());
            return None;
        }
        match known {
            Some(size) => Some(Located {
                path,
                file_path,
                size,
            }),
            None => {
                self.skip(url, found_in, "not found".into());
                None
            }
        }
    }

    /// Counts one more new reference; false (and the manifest marked incomplete) past
    /// [`MAX_REFERENCES`].
    fn within_budget(&mut self) -> bool {
        if self.references >= MAX_REFERENCES {
            self.incomplete
                .get_or_insert_with(|| format!("more than {MAX_REFERENCES} references"));
            return false;
        }
        self.references += 1;
        true
    }

    /// Lists an asset, or for a path already listed keeps the first entry but moves it to
    /// the more urgent class.
    fn add(&mut self, at: Located, found_in: &str, how: How) {
        if let Some(&index) = self.by_path.get(&at.path) {
            let class = &mut self.candidates[index].0;
            *class = (*class).min(how.class);
            return;
        }
        self.by_path.insert(at.path.clone(), self.candidates.len());
        let asset = Asset {
            path: at.path,
            file_path: at.file_path,
            dest: how.dest,
            module: how.module,
            mime_type: how.mime_type,
            crossorigin: how.crossorigin,
            found_in: found_in.to_string(),
            size: at.size,
            // Set in `finish`, from the most urgent class the asset was found as.
            critical: false,
        };
        self.candidates.push((how.class, asset));
    }

    fn skip(&mut self, url: &Url, found_in: &str, reason: String) {
        if !self.skipped_urls.insert(url.to_string()) {
            return;
        }
        self.skipped.push(Skipped {
            url: url.to_string(),
            found_in: found_in.to_string(),
            reason,
        });
    }

    fn finish(mut self, page: String) -> Manifest {
        // Stable: discovery order survives within a class.
        self.candidates.sort_by_key(|(class, _)| *class);
        let mut assets: Vec<Asset> = self
            .candidates
            .into_iter()
            .map(|(class, asset)| Asset {
                critical: class <= Class::Module,
                ..asset
            })
            .collect();
        let over = assets.split_off(assets.len().min(self.limits.max_assets));
        let origin = self.origin;
        self.skipped.extend(over.into_iter().map(|a| Skipped {
            url: origin.join(&a.path).map_or(a.path, String::from),
            found_in: a.found_in,
            reason: format!("asset limit ({})", self.limits.max_assets),
        }));
        Manifest {
            page,
            assets,
            skipped: self.skipped,
            css_files: self.css_files,
            incomplete: self.incomplete,
        }
    }
}

#[cfg(test)]
mod tests;
