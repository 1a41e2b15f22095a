//! The HTML walk: the subresources a page references, as a browser's preload scanner would
//! find them. [`html_scan`](super::html_scan) reads the bytes once (linear, bounded);
//! this file turns the elements it keeps into [`HtmlRef`]s, applying the rules for what a
//! browser really fetches while loading the page and resolving URLs against `<base href>`.

use url::Url;

use super::html_scan::{self, Attr, Cut, Element, Tag};

/// A subresource reference found in an HTML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlRef {
    /// The resolved http(s) URL. For [`HtmlRefKind::InlineStyle`], `InlineModule` and
    /// `ImportMap` this is the document's base URL, the URL their references resolve against.
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
    /// The text of a `<script type=module>` without `src`: an entry of the module graph.
    InlineModule { source: String },
    /// The text of a `<script type=importmap>` (without `src`, which browsers do not load).
    ImportMap { json: String },
}

/// What one page's HTML references.
#[derive(Debug, Default)]
pub struct HtmlScan {
    /// In document order.
    pub refs: Vec<HtmlRef>,
    /// Set when the walk stopped at a bound: `refs` then holds what came before.
    pub cut: Option<Cut>,
}

/// The subresources `html` references, in document order, resolved against its base URL
/// (the first `<base href>`, or `page_url`). Only http(s) URLs are returned; references
/// the browser would not fetch while loading the page (lazy images, `nomodule` and
/// non-JavaScript scripts, alternate stylesheets, navigation links, anything in `<template>`,
/// `<noscript>` or SVG/MathML) are left out. Time is linear in `html.len()`.
pub fn parse_html(html: &[u8], page_url: &Url) -> Vec<HtmlRef> {
    scan_html(html, page_url).refs
}

/// [`parse_html`], also saying whether the walk stopped at a bound.
pub fn scan_html(html: &[u8], page_url: &Url) -> HtmlScan {
    let walk = html_scan::walk(html);
    let base = walk
        .elements
        .iter()
        .filter(|e| e.tag == Tag::Base)
        .find_map(|e| e.attr(Attr::Href))
        .and_then(|href| resolve(page_url, href))
        .unwrap_or_else(|| page_url.clone());
    let refs = walk
        .elements
        .iter()
        .filter_map(|e| html_ref(e, &base))
        .collect();
    HtmlScan {
        refs,
        cut: walk.cut,
    }
}

/// An enumerated attribute's value, trimmed and lowercased.
fn keyword(element: &Element, attr: Attr) -> Option<String> {
    element.attr(attr).map(|v| v.trim().to_ascii_lowercase())
}

fn html_ref(element: &Element, base: &Url) -> Option<HtmlRef> {
    let (src, kind) = match element.tag {
        Tag::Link => {
            let rel = keyword(element, Attr::Rel)?;
            let rel: Vec<&str> = rel.split_ascii_whitespace().collect();
            let kind = if rel.contains(&"stylesheet") && !rel.contains(&"alternate") {
                if !is_css_type(element.attr(Attr::Type)) {
                    return None;
                }
                HtmlRefKind::Stylesheet
            } else if rel.contains(&"preload") {
                HtmlRefKind::Preload {
                    as_value: keyword(element, Attr::As),
                    mime_type: element.attr(Attr::Type).map(|t| t.trim().to_string()),
                }
            } else if rel.contains(&"modulepreload") {
                HtmlRefKind::ModulePreload
            } else if rel.contains(&"icon") {
                HtmlRefKind::Icon
            } else {
                return None;
            };
            (element.attr(Attr::Href)?, kind)
        }
        Tag::Script => {
            let inline = |kind| {
                Some(HtmlRef {
                    url: base.clone(),
                    kind,
                    crossorigin: element.attr(Attr::Crossorigin).map(str::to_string),
                })
            };
            let module = match keyword(element, Attr::Type).as_deref() {
                Some("importmap") if element.attr(Attr::Src).is_none() => {
                    let json = element.text.clone();
                    return inline(HtmlRefKind::ImportMap { json });
                }
                Some("module") if element.attr(Attr::Src).is_none() => {
                    let source = element.text.clone();
                    return inline(HtmlRefKind::InlineModule { source });
                }
                Some("module") => true,
                None | Some("") => false,
                Some(t) if is_javascript_type(t) => false,
                // Data blocks, templates, import maps: not fetched.
                Some(_) => return None,
            };
            // Every browser that could use a pushed file supports modules.
            if !module && element.attr(Attr::Nomodule).is_some() {
                return None;
            }
            let kind = HtmlRefKind::Script {
                module,
                is_async: element.attr(Attr::Async).is_some(),
                defer: element.attr(Attr::Defer).is_some(),
            };
            (element.attr(Attr::Src)?, kind)
        }
        Tag::Img if keyword(element, Attr::Loading).as_deref() != Some("lazy") => {
            (element.attr(Attr::Src)?, HtmlRefKind::Image)
        }
        Tag::Video => (element.attr(Attr::Poster)?, HtmlRefKind::Image),
        Tag::Input if keyword(element, Attr::Type).as_deref() == Some("image") => {
            (element.attr(Attr::Src)?, HtmlRefKind::Image)
        }
        Tag::Style if is_css_type(element.attr(Attr::Type)) => {
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
        crossorigin: element.attr(Attr::Crossorigin).map(str::to_string),
    })
}

/// An attribute URL resolved the way the browser would, or None if it is empty, invalid
/// or not http(s) (data:, javascript:, mailto:, ...).
pub(super) fn resolve(base: &Url, href: &str) -> Option<Url> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_first_base_outside_template_counts_even_after_the_links() {
        let page = Url::parse("https://h.test/dir/page.html").unwrap();
        let urls = |html: &str| -> Vec<String> {
            parse_html(html.as_bytes(), &page)
                .into_iter()
                .map(|r| r.url.to_string())
                .collect()
        };
        assert_eq!(
            urls(
                "<img src=a.png><template><base href=/t/></template><base href=/b/><base href=/c/>"
            ),
            ["https://h.test/b/a.png"]
        );
        assert_eq!(
            urls("<svg><base href=/s/></svg><img src=a.png>"),
            ["https://h.test/dir/a.png"]
        );
    }

    #[test]
    fn a_walk_cut_short_still_gives_what_came_before() {
        let page = Url::parse("https://h.test/").unwrap();
        let html = "<script src=first.js></script>".to_owned()
            + &"<img src=a.png>".repeat(html_scan::MAX_ELEMENTS)
            + "<link rel=stylesheet href=late.css>";
        let scan = scan_html(html.as_bytes(), &page);
        assert_eq!(scan.cut, Some(Cut::Elements));
        assert_eq!(scan.refs[0].url.as_str(), "https://h.test/first.js");
        assert!(scan.refs.iter().all(|r| !r.url.path().ends_with(".css")));
    }
}
