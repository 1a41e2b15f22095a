//! Works out which files a page will ask for, and in what order they matter.
//!
//! [`parse_html`] lists the subresources an HTML document references; [`discover`] follows
//! its stylesheets (and their `@import`s) through [`SiteFiles`], keeps the same-origin files
//! that exist, and returns them as a [`Manifest`] ordered the way a browser needs them:
//! stylesheets, fonts, blocking scripts, modules and deferred scripts, async scripts, images.
//! Everything here is pure: no file system, no network, no clock.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use html5ever::tendril::TendrilSink;
use html5ever::{ns, parse_document, Attribute};
use markup5ever_rcdom::{Handle, NodeData, RcDom};
use serde::Serialize;
use url::Url;

use super::css::{parse_css, CssRefKind};

/// How discovery sees the site: URL paths (percent-encoded, starting with '/', WITHOUT
/// query) to files.
pub trait SiteFiles {
    /// Size of the servable regular file at this URL path, or None if it does not exist / is
    /// not servable.
    fn size(&self, url_path: &str) -> Option<u64>;
    /// Up to `max` bytes of the file (None if not servable). Used to read CSS.
    fn read(&self, url_path: &str, max: usize) -> Option<Vec<u8>>;
}

/// Default for [`Limits::max_html_bytes`]: pages are rarely bigger, and the preload
/// scanner of a browser would not get further before the user sees something either.
pub const DEFAULT_MAX_HTML_BYTES: usize = 2 * 1024 * 1024;
/// Default for [`Limits::max_css_bytes`], per stylesheet.
pub const DEFAULT_MAX_CSS_BYTES: usize = 1024 * 1024;
/// Default for [`Limits::max_assets`]: pushing more than this costs the page more than it
/// saves.
pub const DEFAULT_MAX_ASSETS: usize = 64;
/// Default for [`Limits::max_import_depth`]: real sites nest `@import` two or three deep.
pub const DEFAULT_MAX_IMPORT_DEPTH: usize = 8;

/// Element nesting parsed at most. html5ever's tree builder slows down with the square of the
/// depth (a 1 MB page of nested `<div>`s took over a minute), while real pages nest a few dozen
/// deep: the document is cut where the estimated depth first passes this.
pub const MAX_PARSE_NESTING: usize = 1024;

/// Elements that never contain others, or whose end tag is optional and usually left out: they
/// do not count towards the nesting estimate.
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen", "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th",
    "tbody", "thead", "tfoot", "colgroup", "caption", "rp", "rt", "html", "head", "body",
];

/// Elements whose content is text, not markup: skipped to their end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "noscript"];

/// The longest prefix of `html` whose estimated element nesting stays within `max`. A linear
/// scan of tags: start tags deepen, end tags return, comments and raw-text content are skipped.
pub fn within_nesting(html: &[u8], max: usize) -> &[u8] {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(offset) = html[i..].iter().position(|&b| b == b'<') {
        let at = i + offset;
        let rest = &html[at + 1..];
        if rest.starts_with(b"!--") {
            i = match find(rest, b"-->") {
                Some(end) => at + 1 + end + 3,
                None => return html,
            };
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = usize::from(closing);
        let name_len = rest[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !rest[name_start].is_ascii_alphabetic() {
            i = at + 1;
            continue;
        }
        let name =
            String::from_utf8_lossy(&rest[name_start..name_start + name_len]).to_ascii_lowercase();
        let tag_end = rest
            .iter()
            .position(|&b| b == b'>')
            .map_or(html.len(), |p| at + 1 + p + 1);
        if closing {
            if !NOT_NESTING.contains(&name.as_str()) {
                depth = depth.saturating_sub(1);
            }
        } else if RAW_TEXT.contains(&name.as_str()) {
            i = match end_tag(&html[tag_end.min(html.len())..], name.as_bytes()) {
                Some(end) => tag_end + end,
                None => return html,
            };
            continue;
        } else if !NOT_NESTING.contains(&name.as_str())
            && html.get(tag_end.wrapping_sub(2)) != Some(&b'/')
        {
            depth += 1;
            if depth > max {
                return &html[..at];
            }
        }
        i = tag_end.min(html.len());
    }
    html
}

/// Where `</name` (any case) starts in `text`.
fn end_tag(text: &[u8], name: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = find(&text[from..], b"</") {
        let at = from + p;
        let candidate = &text[at + 2..];
        if candidate.len() >= name.len() && candidate[..name.len()].eq_ignore_ascii_case(name) {
            return Some(at);
        }
        from = at + 2;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Bounds on the work one page's discovery may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// HTML beyond this many bytes is not looked at.
    pub max_html_bytes: usize,
    /// Bytes read from each stylesheet.
    pub max_css_bytes: usize,
    /// Assets in a manifest; the least urgent go first.
    pub max_assets: usize,
    /// `@import` nesting followed: a linked sheet is depth 0, what it imports depth 1.
    pub max_import_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_html_bytes: DEFAULT_MAX_HTML_BYTES,
            max_css_bytes: DEFAULT_MAX_CSS_BYTES,
            max_assets: DEFAULT_MAX_ASSETS,
            max_import_depth: DEFAULT_MAX_IMPORT_DEPTH,
        }
    }
}

/// What the browser fetches an asset as: the `as` of a preload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Destination {
    Style,
    Font,
    Script,
    Image,
    Fetch,
    /// Anything else. Discovery does not produce it: preloads with other `as` values are
    /// skipped, and CSS `url()`s of unknown type are images to a browser.
    Other,
}

impl Destination {
    /// The `as` value in a preload link (empty for [`Destination::Other`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Destination::Style => "style",
            Destination::Font => "font",
            Destination::Script => "script",
            Destination::Image => "image",
            Destination::Fetch => "fetch",
            Destination::Other => "",
        }
    }

    fn from_as(value: &str) -> Option<Destination> {
        match value {
            "style" => Some(Destination::Style),
            "font" => Some(Destination::Font),
            "script" => Some(Destination::Script),
            "image" => Some(Destination::Image),
            "fetch" => Some(Destination::Fetch),
            _ => None,
        }
    }
}

/// One file worth getting to the client early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// Request path including the query exactly as the page wrote it, e.g.
    /// "/css/site.css?v=3".
    pub path: String,
    /// URL path without the query: what [`SiteFiles::size`] was asked.
    pub file_path: String,
    pub dest: Destination,
    /// A module script: its Link uses rel=modulepreload.
    pub module: bool,
    /// `type` from a preload link, if it is a plain MIME type.
    pub mime_type: Option<String>,
    /// CORS mode, normalised: "anonymous" (always for fonts; also for an empty or unknown
    /// attribute value) or "use-credentials". None for a no-cors fetch.
    pub crossorigin: Option<String>,
    /// URL path of the page or of the CSS file that referenced it.
    pub found_in: String,
    pub size: u64,
}

impl Asset {
    /// The Link header field value that preloads this asset, e.g.
    /// `</f.woff2>; rel=preload; as=font; crossorigin`.
    pub fn link_value(&self) -> String {
        // `path` comes from Url::path and Url::query, which percent-encode spaces, quotes
        // and angle brackets, so it cannot break out of the <...>.
        let mut value = format!("<{}>", self.path);
        if self.module {
            value.push_str("; rel=modulepreload");
        } else {
            value.push_str("; rel=preload");
            if self.dest != Destination::Other {
                let _ = write!(value, "; as={}", self.dest.as_str());
            }
        }
        if let Some(mime_type) = &self.mime_type {
            let _ = write!(value, "; type=\"{mime_type}\"");
        }
        match self.crossorigin.as_deref() {
            Some("use-credentials") => value.push_str("; crossorigin=use-credentials"),
            Some(_) => value.push_str("; crossorigin"),
            None => {}
        }
        value
    }
}

/// A reference that did not become an asset, and why (shown by `scan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub url: String,
    pub found_in: String,
    pub reason: String,
}

/// Everything discovery found for one page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// In the order they should reach the client.
    pub assets: Vec<Asset>,
    pub skipped: Vec<Skipped>,
    /// `file_path` of every CSS file read: the page's manifest is stale when one changes.
    pub css_files: Vec<String>,
}

/// A subresource reference found in an HTML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlRef {
    /// The resolved http(s) URL. For [`HtmlRefKind::InlineStyle`] this is the document's
    /// base URL, the URL to parse the CSS against.
    pub url: Url,
    pub kind: HtmlRefKind,
    /// The element's `crossorigin` attribute as written, if present.
    pub crossorigin: Option<String>,
}

/// What an [`HtmlRef`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HtmlRefKind {
    /// `<link rel=stylesheet>`.
    Stylesheet,
    /// `<link rel=preload>`, with its `as` (trimmed, lowercased) and `type`.
    Preload {
        as_value: Option<String>,
        mime_type: Option<String>,
    },
    /// `<link rel=modulepreload>`.
    ModulePreload,
    /// `<link rel=icon>` or `rel="shortcut icon"`.
    Icon,
    /// `<script src>`.
    Script {
        module: bool,
        is_async: bool,
        defer: bool,
    },
    /// `<img src>` (not lazy), `<video poster>`, `<input type=image src>`.
    Image,
    /// The text of a `<style>` element.
    InlineStyle { css: String },
}

/// The subresources `html` references, in document order, resolved against its base URL
/// (the first `<base href>`, or `page_url`). Only http(s) URLs are returned; references
/// the browser would not fetch while loading the page (lazy images, `nomodule` and
/// non-JavaScript scripts, alternate stylesheets, navigation links) are left out.
pub fn parse_html(html: &[u8], page_url: &Url) -> Vec<HtmlRef> {
    let html = within_nesting(html, MAX_PARSE_NESTING);
    let dom = parse_document(RcDom::default(), Default::default())
        .from_utf8()
        .one(html);
    let elements = html_elements(&dom.document);
    let base = elements
        .iter()
        .filter(|e| e.name == "base")
        .find_map(|e| e.attr("href"))
        .and_then(|href| resolve(page_url, href))
        .unwrap_or_else(|| page_url.clone());
    elements.iter().filter_map(|e| html_ref(e, &base)).collect()
}

/// An HTML element, flattened out of the DOM.
struct Element {
    name: String,
    attrs: Vec<Attribute>,
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name.ns == ns!() && &*a.name.local == name)
            .map(|a| &*a.value)
    }

    fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    /// An enumerated attribute's value, trimmed and lowercased.
    fn keyword(&self, name: &str) -> Option<String> {
        self.attr(name).map(|v| v.trim().to_ascii_lowercase())
    }
}

/// The HTML-namespace elements in document order. Iterative: hostile nesting must not
/// overflow the stack. `<template>` contents are not children in RcDom, so they are
/// skipped, as the browser does.
fn html_elements(document: &Handle) -> Vec<Element> {
    let mut elements = Vec::new();
    let mut stack = vec![document.clone()];
    while let Some(node) = stack.pop() {
        if let NodeData::Element { name, attrs, .. } = &node.data {
            if name.ns == ns!(html) {
                let local = name.local.to_string();
                let text = if local == "style" {
                    text_content(&node)
                } else {
                    String::new()
                };
                elements.push(Element {
                    name: local,
                    attrs: attrs.borrow().clone(),
                    text,
                });
            }
        }
        stack.extend(node.children.borrow().iter().rev().cloned());
    }
    elements
}

fn text_content(node: &Handle) -> String {
    let mut text = String::new();
    for child in node.children.borrow().iter() {
        if let NodeData::Text { contents } = &child.data {
            text.push_str(&contents.borrow());
        }
    }
    text
}

fn html_ref(element: &Element, base: &Url) -> Option<HtmlRef> {
    let (src, kind) = match element.name.as_str() {
        "link" => {
            let rel = element.keyword("rel")?;
            let rel: Vec<&str> = rel.split_ascii_whitespace().collect();
            let kind = if rel.contains(&"stylesheet") && !rel.contains(&"alternate") {
                if !is_css_type(element.attr("type")) {
                    return None;
                }
                HtmlRefKind::Stylesheet
            } else if rel.contains(&"preload") {
                HtmlRefKind::Preload {
                    as_value: element.keyword("as"),
                    mime_type: element.attr("type").map(|t| t.trim().to_string()),
                }
            } else if rel.contains(&"modulepreload") {
                HtmlRefKind::ModulePreload
            } else if rel.contains(&"icon") {
                HtmlRefKind::Icon
            } else {
                return None;
            };
            (element.attr("href")?, kind)
        }
        "script" => {
            let module = match element.keyword("type").as_deref() {
                Some("module") => true,
                None | Some("") => false,
                Some(t) if is_javascript_type(t) => false,
                // Data blocks, templates, import maps: not fetched.
                Some(_) => return None,
            };
            // Every browser that could use a pushed file supports modules.
            if !module && element.has("nomodule") {
                return None;
            }
            let kind = HtmlRefKind::Script {
                module,
                is_async: element.has("async"),
                defer: element.has("defer"),
            };
            (element.attr("src")?, kind)
        }
        "img" if element.keyword("loading").as_deref() != Some("lazy") => {
            (element.attr("src")?, HtmlRefKind::Image)
        }
        "video" => (element.attr("poster")?, HtmlRefKind::Image),
        "input" if element.keyword("type").as_deref() == Some("image") => {
            (element.attr("src")?, HtmlRefKind::Image)
        }
        "style" if is_css_type(element.attr("type")) => {
            let css = element.text.clone();
            return Some(HtmlRef {
                url: base.clone(),
                kind: HtmlRefKind::InlineStyle { css },
                crossorigin: None,
            });
        }
        _ => return None,
    };
    Some(HtmlRef {
        url: resolve(base, src)?,
        kind,
        crossorigin: element.attr("crossorigin").map(str::to_string),
    })
}

/// An attribute URL resolved the way the browser would, or None if it is empty, invalid
/// or not http(s) (data:, javascript:, mailto:, ...).
fn resolve(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim_matches(|c: char| c.is_ascii_whitespace());
    if href.is_empty() {
        return None;
    }
    let url = base.join(href).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn is_css_type(value: Option<&str>) -> bool {
    value.map_or(true, |t| {
        let t = t.trim();
        t.is_empty() || t.eq_ignore_ascii_case("text/css")
    })
}

/// The HTML standard's JavaScript MIME type essences, close enough: every one of them
/// names JavaScript, ECMAScript, JScript or LiveScript.
fn is_javascript_type(value: &str) -> bool {
    ["javascript", "ecmascript", "jscript", "livescript"]
        .iter()
        .any(|name| value.contains(name))
}

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
    };
    for html_ref in parse_html(html, &page_url) {
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
            HtmlRefKind::Icon | HtmlRefKind::Image => {
                found.asset(url, &page, How::image(crossorigin))
            }
            HtmlRefKind::InlineStyle { css } => found.css(&css, url, &page, 0),
        }
    }
    found.finish()
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
    /// again (cheap) so that `add` can merge the classes.
    fn locate(&mut self, url: &Url, found_in: &str) -> Option<Located> {
        if url.origin() != self.origin.origin() {
            self.skip(url, found_in, "other origin".into());
            return None;
        }
        let file_path = url.path().to_string();
        let path = match url.query() {
            Some(query) => format!("{file_path}?{query}"),
            None => file_path.clone(),
        };
        if let Some(&index) = self.by_path.get(&path) {
            let size = self.candidates[index].1.size;
            return Some(Located {
                path,
                file_path,
                size,
            });
        }
        match self.site.size(&file_path) {
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

    fn finish(mut self) -> Manifest {
        // Stable: discovery order survives within a class.
        self.candidates.sort_by_key(|(class, _)| *class);
        let mut assets: Vec<Asset> = self.candidates.into_iter().map(|(_, a)| a).collect();
        let over = assets.split_off(assets.len().min(self.limits.max_assets));
        let origin = self.origin;
        self.skipped.extend(over.into_iter().map(|a| Skipped {
            url: origin.join(&a.path).map_or(a.path, String::from),
            found_in: a.found_in,
            reason: format!("asset limit ({})", self.limits.max_assets),
        }));
        Manifest {
            assets,
            skipped: self.skipped,
            css_files: self.css_files,
        }
    }
}

#[cfg(test)]
mod nesting_tests {
    use super::*;

    #[test]
    fn ordinary_pages_are_kept_whole() {
        let page = b"<!doctype html><html><head><link rel=stylesheet href=a.css><script>if (a<b) { x = '<div><div></p>'; }</SCRIPT></head><body><ul><li>a<li>b</ul><p>x<p>y<img src=i.png><br><div><span>z</span></div><!-- <div><div> --></body></html>";
        assert_eq!(within_nesting(page, 3), page.as_slice());
    }

    #[test]
    fn deep_nesting_is_cut_where_it_passes_the_limit() {
        let mut page = b"<link rel=stylesheet href=a.css>".to_vec();
        page.extend(b"<div>".repeat(50));
        let cut = within_nesting(&page, 10);
        assert_eq!(cut.len(), 32 + 10 * 5, "ten divs kept");
        let url = Url::parse("https://h/").unwrap();
        let refs = parse_html(&b"<div>".repeat(200_000), &url);
        assert!(refs.is_empty());
    }

    #[test]
    fn closed_elements_do_not_add_up() {
        let page = b"<div></div>".repeat(10_000);
        assert_eq!(within_nesting(&page, 2).len(), page.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A site in memory: URL path → contents.
    #[derive(Default)]
    struct MemSite(HashMap<String, Vec<u8>>);

    impl MemSite {
        fn with(files: &[(&str, &str)]) -> MemSite {
            let files = files
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()));
            MemSite(files.collect())
        }
    }

    impl SiteFiles for MemSite {
        fn size(&self, url_path: &str) -> Option<u64> {
            self.0.get(url_path).map(|c| c.len() as u64)
        }
        fn read(&self, url_path: &str, max: usize) -> Option<Vec<u8>> {
            self.0.get(url_path).map(|c| c[..c.len().min(max)].to_vec())
        }
    }

    fn origin() -> Url {
        Url::parse("https://localhost:8443/").unwrap()
    }

    fn run(site: &MemSite, page: &str, html: &str) -> Manifest {
        discover(site, page, html.as_bytes(), &origin(), &Limits::default())
    }

    fn paths(manifest: &Manifest) -> Vec<&str> {
        manifest.assets.iter().map(|a| a.path.as_str()).collect()
    }

    fn asset<'m>(manifest: &'m Manifest, path: &str) -> &'m Asset {
        let found = manifest.assets.iter().find(|a| a.path == path);
        found.unwrap_or_else(|| panic!("{path} not in {:?}", paths(manifest)))
    }

    fn reason<'m>(manifest: &'m Manifest, url: &str) -> &'m str {
        let found = manifest.skipped.iter().find(|s| s.url == url);
        &found
            .unwrap_or_else(|| panic!("{url} not in {:?}", manifest.skipped))
            .reason
    }

    #[test]
    fn relative_paths_and_queries_are_kept_exactly() {
        let site = MemSite::with(&[
            ("/blog/style.css", ""),
            ("/img/a.png", "png"),
            ("/js/app.js", ""),
            ("/blog/x%20y.png", ""),
        ]);
        let m = run(
            &site,
            "/blog/post.html",
            r#"<link rel=stylesheet href="style.css?v=3&amp;b=%41">
               <img src="../img/a.png#frag"> <img src="x y.png">
               <script src="/js/app.js?"></script>"#,
        );
        assert_eq!(
            paths(&m),
            [
                "/blog/style.css?v=3&b=%41",
                "/js/app.js?",
                "/img/a.png",
                "/blog/x%20y.png"
            ]
        );
        let css = asset(&m, "/blog/style.css?v=3&b=%41");
        assert_eq!(css.file_path, "/blog/style.css");
        assert_eq!(css.found_in, "/blog/post.html");
        assert_eq!(asset(&m, "/img/a.png").size, 3);
    }

    #[test]
    fn directory_pages_resolve_against_their_url_path() {
        let site = MemSite::with(&[("/docs/a.css", "")]);
        let m = run(&site, "/docs/", "<link rel=stylesheet href=a.css>");
        assert_eq!(paths(&m), ["/docs/a.css"]);
    }

    #[test]
    fn base_href_relative_and_absolute() {
        let site = MemSite::with(&[("/blog/static/a.css", ""), ("/assets/b.js", "")]);
        let m = run(
            &site,
            "/blog/post.html",
            r#"<link rel=stylesheet href=a.css><base href="static/"><base href="/ignored/">"#,
        );
        assert_eq!(paths(&m), ["/blog/static/a.css"]);

        let m = run(
            &site,
            "/blog/post.html",
            r#"<base href="https://localhost:8443/assets/"><script src=b.js></script>"#,
        );
        assert_eq!(paths(&m), ["/assets/b.js"]);

        // A base on another origin takes every relative link with it.
        let m = run(
            &site,
            "/blog/post.html",
            r#"<base href="https://cdn.test/"><script src=b.js></script>"#,
        );
        assert!(m.assets.is_empty());
        assert_eq!(reason(&m, "https://cdn.test/b.js"), "other origin");
    }

    #[test]
    fn base_href_with_a_bad_scheme_is_ignored() {
        let site = MemSite::with(&[("/a.js", "")]);
        let m = run(
            &site,
            "/",
            r#"<base href="javascript:void(0)"><script src=a.js></script>"#,
        );
        assert_eq!(paths(&m), ["/a.js"]);
    }

    #[test]
    fn external_and_non_http_urls_are_dropped() {
        let site = MemSite::with(&[("/y.js", ""), ("/ok.png", "")]);
        let m = run(
            &site,
            "/",
            r#"<script src="//cdn.x/y.js"></script><script src="https://other/y.js"></script>
               <script src="http://localhost:8443/y.js"></script>
               <script src="https://localhost:9999/y.js"></script>
               <img src="data:image/png;base64,AAAA"><img src="javascript:alert(1)">
               <img src="mailto:a@b.c"><img src=""><img src="   "><img src=" ok.png ">"#,
        );
        assert_eq!(paths(&m), ["/ok.png"]);
        for url in [
            "https://cdn.x/y.js",
            "https://other/y.js",
            "http://localhost:8443/y.js",
            "https://localhost:9999/y.js",
        ] {
            assert_eq!(reason(&m, url), "other origin");
        }
        assert_eq!(m.skipped.len(), 4, "{:?}", m.skipped);
    }

    #[test]
    fn only_fetching_rels_count_and_case_does_not_matter() {
        let site = MemSite::with(&[
            ("/a.css", ""),
            ("/b.css", ""),
            ("/next.html", ""),
            ("/alt.css", ""),
            ("/fav.ico", ""),
            ("/x.js", ""),
        ]);
        let m = run(
            &site,
            "/",
            r#"<link rel=next href=next.html><link rel=canonical href=/next.html>
               <link rel=alternate href=next.html><link rel=prefetch href=x.js>
               <link rel="alternate stylesheet" href=alt.css><link rel=author href=a.css>
               <link rel="  StyleSheet " href=a.css><link rel="PRELOAD" as="Style" href=b.css>
               <link rel="shortcut icon" href=fav.ico><a href=x.js>x</a>
               <link rel=stylesheet type=text/less href=alt.css>"#,
        );
        assert_eq!(paths(&m), ["/a.css", "/b.css", "/fav.ico"]);
    }

    #[test]
    fn lazy_images_are_skipped_but_eager_ones_and_posters_count() {
        let site = MemSite::with(&[
            ("/lazy.png", ""),
            ("/eager.png", ""),
            ("/poster.jpg", ""),
            ("/button.png", ""),
            ("/text.png", ""),
        ]);
        let m = run(
            &site,
            "/",
            r#"<img src=lazy.png loading=LAZY><img src=eager.png loading=eager>
               <video poster=poster.jpg></video><input type=Image src=button.png>
               <input type=text src=text.png>"#,
        );
        assert_eq!(paths(&m), ["/eager.png", "/poster.jpg", "/button.png"]);
    }

    #[test]
    fn import_chain_orders_imported_sheets_first() {
        let site = MemSite::with(&[
            (
                "/css/a.css",
                "@import 'b.css'; .a { background: url(../img/a.png) }",
            ),
            ("/css/b.css", "@import url(sub/c.css);"),
            (
                "/css/sub/c.css",
                "@font-face { src: url(../../fonts/f.woff2) }",
            ),
            ("/img/a.png", ""),
            ("/fonts/f.woff2", ""),
        ]);
        let m = run(&site, "/", "<link rel=stylesheet href=/css/a.css>");
        assert_eq!(
            paths(&m),
            [
                "/css/sub/c.css",
                "/css/b.css",
                "/css/a.css",
                "/fonts/f.woff2",
                "/img/a.png"
            ]
        );
        assert_eq!(asset(&m, "/css/sub/c.css").found_in, "/css/b.css");
        assert_eq!(asset(&m, "/css/b.css").found_in, "/css/a.css");
        assert_eq!(asset(&m, "/css/a.css").found_in, "/");
        assert_eq!(asset(&m, "/fonts/f.woff2").found_in, "/css/sub/c.css");
        assert_eq!(m.css_files, ["/css/a.css", "/css/b.css", "/css/sub/c.css"]);
    }

    #[test]
    fn import_cycles_terminate_with_each_sheet_once() {
        let site = MemSite::with(&[
            ("/a.css", "@import 'b.css'; @import 'a.css';"),
            ("/b.css", "@import 'a.css'; @import 'b.css';"),
        ]);
        let m = run(
            &site,
            "/",
            "<link rel=stylesheet href=a.css><link rel=stylesheet href=b.css>",
        );
        assert_eq!(paths(&m), ["/b.css", "/a.css"]);
        assert_eq!(m.css_files, ["/a.css", "/b.css"]);
        assert!(m.skipped.is_empty(), "{:?}", m.skipped);
    }

    #[test]
    fn import_depth_limit() {
        let site = MemSite::with(&[
            ("/a.css", "@import 'b.css';"),
            ("/b.css", "@import 'c.css';"),
            ("/c.css", "@import 'd.css';"),
            ("/d.css", ""),
        ]);
        let limits = Limits {
            max_import_depth: 1,
            ..Limits::default()
        };
        let html = b"<link rel=stylesheet href=a.css>";
        let m = discover(&site, "/", html, &origin(), &limits);
        assert_eq!(paths(&m), ["/b.css", "/a.css"]);
        assert_eq!(
            reason(&m, "https://localhost:8443/c.css"),
            "import depth limit"
        );
        assert_eq!(m.css_files, ["/a.css", "/b.css"]);
    }

    #[test]
    fn fonts_get_font_destination_and_crossorigin() {
        let site = MemSite::with(&[
            (
                "/s.css",
                "@font-face { src: url(f.woff2) format('woff2'), url(f.bin) }",
            ),
            ("/f.woff2", ""),
            ("/f.bin", ""),
            ("/p.woff2", ""),
        ]);
        let m = run(
            &site,
            "/",
            r#"<link rel=stylesheet href=s.css>
               <link rel=preload as=font type=font/woff2 href=p.woff2>"#,
        );
        assert_eq!(paths(&m), ["/s.css", "/f.woff2", "/f.bin", "/p.woff2"]);
        for path in ["/f.woff2", "/f.bin", "/p.woff2"] {
            let font = asset(&m, path);
            assert_eq!(font.dest, Destination::Font);
            assert_eq!(font.crossorigin.as_deref(), Some("anonymous"));
        }
        assert_eq!(
            asset(&m, "/p.woff2").link_value(),
            r#"</p.woff2>; rel=preload; as=font; type="font/woff2"; crossorigin"#
        );
        assert_eq!(
            asset(&m, "/f.bin").link_value(),
            "</f.bin>; rel=preload; as=font; crossorigin"
        );
    }

    #[test]
    fn css_images_and_inline_style() {
        let site = MemSite::with(&[
            (
                "/css/s.css",
                ".a { background: url(bg.png) } .b { background: url(/none.png) }",
            ),
            ("/css/bg.png", ""),
            ("/static/inline.png", ""),
            ("/static/inl.css", ""),
            ("/noext", ""),
        ]);
        let m = run(
            &site,
            "/page.html",
            r#"<base href=/static/><link rel=stylesheet href=/css/s.css>
               <style>@import "inl.css"; .c { background: url(inline.png) } .d { cursor: url(/noext) }</style>"#,
        );
        assert_eq!(
            paths(&m),
            [
                "/css/s.css",
                "/static/inl.css",
                "/css/bg.png",
                "/static/inline.png",
                "/noext"
            ]
        );
        assert_eq!(asset(&m, "/css/bg.png").found_in, "/css/s.css");
        assert_eq!(asset(&m, "/static/inline.png").found_in, "/page.html");
        assert_eq!(asset(&m, "/noext").dest, Destination::Image);
        assert_eq!(reason(&m, "https://localhost:8443/none.png"), "not found");
    }

    #[test]
    fn duplicates_keep_first_entry_and_most_urgent_class() {
        let site = MemSite::with(&[("/app.js", ""), ("/a.png", ""), ("/s.css", "")]);
        let m = run(
            &site,
            "/",
            r#"<img src=a.png><script async src=app.js></script><img src=/a.png#x>
               <script src=app.js></script><link rel=stylesheet href=s.css>
               <link rel=stylesheet href=./s.css><script src=app.js?v=1></script>"#,
        );
        assert_eq!(paths(&m), ["/s.css", "/app.js", "/app.js?v=1", "/a.png"]);
        assert_eq!(m.css_files, ["/s.css"]);
    }

    #[test]
    fn missing_files_are_reported_once() {
        let site = MemSite::with(&[(
            "/s.css",
            "@import 'gone.css'; .a { background: url(gone.png) }",
        )]);
        let m = run(
            &site,
            "/",
            "<link rel=stylesheet href=s.css><img src=gone.png><script src=gone.js></script>",
        );
        assert_eq!(paths(&m), ["/s.css"]);
        let skipped: Vec<(&str, &str, &str)> = m
            .skipped
            .iter()
            .map(|s| (s.url.as_str(), s.found_in.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("https://localhost:8443/gone.css", "/s.css", "not found"),
                ("https://localhost:8443/gone.png", "/s.css", "not found"),
                ("https://localhost:8443/gone.js", "/", "not found"),
            ]
        );
    }

    #[test]
    fn max_assets_keeps_the_most_urgent() {
        let site = MemSite::with(&[
            ("/1.png", ""),
            ("/2.png", ""),
            ("/s.css", ""),
            ("/a.js", ""),
        ]);
        let limits = Limits {
            max_assets: 2,
            ..Limits::default()
        };
        let html = b"<img src=1.png><img src=2.png><script src=a.js></script><link rel=stylesheet href=s.css>";
        let m = discover(&site, "/", html, &origin(), &limits);
        assert_eq!(paths(&m), ["/s.css", "/a.js"]);
        assert_eq!(
            reason(&m, "https://localhost:8443/1.png"),
            "asset limit (2)"
        );
        assert_eq!(
            reason(&m, "https://localhost:8443/2.png"),
            "asset limit (2)"
        );
    }

    #[test]
    fn html_beyond_the_limit_is_not_read() {
        let site = MemSite::with(&[("/a.js", ""), ("/b.js", "")]);
        let html = "<script src=a.js></script><script src=b.js></script>";
        let limits = Limits {
            max_html_bytes: html.find("<script src=b").unwrap(),
            ..Limits::default()
        };
        let m = discover(&site, "/", html.as_bytes(), &origin(), &limits);
        assert_eq!(paths(&m), ["/a.js"]);
    }

    #[test]
    fn css_beyond_the_limit_is_not_read() {
        let css = ".a { background: url(a.png) } .b { background: url(b.png) }";
        let site = MemSite::with(&[("/s.css", css), ("/a.png", ""), ("/b.png", "")]);
        let limits = Limits {
            max_css_bytes: css.find(".b").unwrap(),
            ..Limits::default()
        };
        let m = discover(
            &site,
            "/",
            b"<link rel=stylesheet href=s.css>",
            &origin(),
            &limits,
        );
        assert_eq!(paths(&m), ["/s.css", "/a.png"]);
    }

    #[test]
    fn ordering_across_classes() {
        let site = MemSite::with(&[
            ("/i.png", ""),
            ("/async.js", ""),
            ("/mod.js", ""),
            ("/dep.js", ""),
            ("/defer.js", ""),
            ("/block.js", ""),
            ("/pre.js", ""),
            ("/f.woff2", ""),
            ("/s.css", ""),
            ("/data.json", ""),
            ("/fav.ico", ""),
            ("/async-mod.js", ""),
        ]);
        let m = run(
            &site,
            "/",
            r#"<link rel=icon href=fav.ico><link rel=preload as=fetch href=data.json crossorigin>
               <img src=i.png><script async src=async.js></script>
               <script type=module src=mod.js></script><link rel=modulepreload href=dep.js>
               <script defer src=defer.js></script><script src=block.js></script>
               <script type=module async src=async-mod.js></script>
               <link rel=preload as=script href=pre.js><link rel=preload as=font href=f.woff2>
               <link rel=stylesheet href=s.css>"#,
        );
        assert_eq!(
            paths(&m),
            [
                "/s.css",
                "/f.woff2",
                "/block.js",
                "/pre.js",
                "/mod.js",
                "/dep.js",
                "/defer.js",
                "/async.js",
                "/async-mod.js",
                "/fav.ico",
                "/i.png",
                "/data.json",
            ]
        );
        let module = asset(&m, "/mod.js");
        assert!(module.module && module.dest == Destination::Script);
        assert!(!asset(&m, "/defer.js").module);
        assert_eq!(asset(&m, "/data.json").dest, Destination::Fetch);
    }

    #[test]
    fn scripts_the_browser_would_not_fetch_are_left_out() {
        let site = MemSite::with(&[
            ("/tpl.js", ""),
            ("/old.js", ""),
            ("/json.js", ""),
            ("/js.js", ""),
            ("/legacy.js", ""),
        ]);
        let m = run(
            &site,
            "/",
            r#"<script type=text/template src=tpl.js></script><script nomodule src=old.js></script>
               <script type=importmap src=json.js></script>
               <script type="text/JavaScript" src=js.js></script>
               <script type="application/x-javascript" src=legacy.js></script>
               <template><script src=tpl.js></script></template>"#,
        );
        assert_eq!(paths(&m), ["/js.js", "/legacy.js"]);
    }

    #[test]
    fn preloads() {
        let site = MemSite::with(&[
            ("/p.css", "@import 'q.css';"),
            ("/q.css", ""),
            ("/v.mp4", ""),
            ("/none", ""),
            ("/img.avif", ""),
        ]);
        let m = run(
            &site,
            "/",
            r#"<link rel=preload as=style href=p.css><link rel=preload as=video href=v.mp4>
               <link rel=preload href=none><link rel=preload as=image href=img.avif
               type='image/avif"; x=' crossorigin=USE-CREDENTIALS>"#,
        );
        assert_eq!(paths(&m), ["/q.css", "/p.css", "/img.avif"]);
        assert_eq!(m.css_files, ["/p.css", "/q.css"]);
        assert_eq!(
            reason(&m, "https://localhost:8443/v.mp4"),
            "preload as=video is not supported"
        );
        assert_eq!(
            reason(&m, "https://localhost:8443/none"),
            "preload as=(none) is not supported"
        );
        // The unsafe type is dropped rather than put in a header.
        assert_eq!(
            asset(&m, "/img.avif").link_value(),
            "</img.avif>; rel=preload; as=image; crossorigin=use-credentials"
        );
    }

    #[test]
    fn link_values() {
        let site = MemSite::with(&[("/m.js", ""), ("/c.js", ""), ("/a.css", "")]);
        let m = run(
            &site,
            "/",
            r#"<link rel=stylesheet href=a.css?v=3><script type=module src=m.js></script>
               <script src=c.js crossorigin></script>"#,
        );
        let links: Vec<String> = m.assets.iter().map(Asset::link_value).collect();
        assert_eq!(
            links,
            [
                "</a.css?v=3>; rel=preload; as=style",
                "</c.js>; rel=preload; as=script; crossorigin",
                "</m.js>; rel=modulepreload",
            ]
        );
    }

    #[test]
    fn parse_html_kinds_and_attributes() {
        let page = Url::parse("https://h.test/dir/page.html").unwrap();
        let refs = parse_html(
            br#"<html><head><base href="/b/"><style>.x{}</style>
                <link rel=preload as=FONT type=font/woff2 href=f.woff2 crossorigin>
                <script src=s.js async defer></script></head>
                <body><svg><link rel=stylesheet href=svg.css /></svg></body></html>"#,
            &page,
        );
        let base = Url::parse("https://h.test/b/").unwrap();
        assert_eq!(
            refs,
            [
                HtmlRef {
                    url: base.clone(),
                    kind: HtmlRefKind::InlineStyle { css: ".x{}".into() },
                    crossorigin: None,
                },
                HtmlRef {
                    url: base.join("f.woff2").unwrap(),
                    kind: HtmlRefKind::Preload {
                        as_value: Some("font".into()),
                        mime_type: Some("font/woff2".into()),
                    },
                    crossorigin: Some(String::new()),
                },
                HtmlRef {
                    url: base.join("s.js").unwrap(),
                    kind: HtmlRefKind::Script {
                        module: false,
                        is_async: true,
                        defer: true,
                    },
                    crossorigin: None,
                },
            ]
        );
    }

    #[test]
    fn garbage_html_does_not_panic() {
        let mut bytes: Vec<u8> = (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        bytes.extend_from_slice(b"<link rel=stylesheet href=s.css>");
        let site = MemSite::with(&[("/s.css", "\u{0}{{{{(((url(")]);
        let _ = discover(&site, "/", &bytes, &origin(), &Limits::default());
        // html5ever's tree builder is quadratic in nesting depth, so parsing stops where the
        // nesting passes MAX_PARSE_NESTING: what comes after is not seen.
        let within = "<div>".repeat(MAX_PARSE_NESTING) + "<img src=s.css>";
        assert_eq!(paths(&run(&site, "/", &within)), ["/s.css"]);
        let beyond = "<div>".repeat(MAX_PARSE_NESTING + 1) + "<img src=s.css>";
        assert!(paths(&run(&site, "/", &beyond)).is_empty());
        let m = run(&site, "/", "<style>@import 'x.css'");
        assert_eq!(reason(&m, "https://localhost:8443/x.css"), "not found");
        let m = discover(
            &site,
            "::bad",
            b"<img src=s.css>",
            &origin(),
            &Limits::default(),
        );
        assert_eq!(paths(&m), ["/s.css"]);
    }

    #[test]
    fn destination_serializes_lowercase() {
        let json = serde_json::to_string(&[Destination::Style, Destination::Fetch]).unwrap();
        assert_eq!(json, r#"["style","fetch"]"#);
    }
}
