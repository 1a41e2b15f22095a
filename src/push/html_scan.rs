//! The HTML walk's one pass over the bytes: a WHATWG tokenizer (html5gum) feeding a small
//! emitter that keeps only the elements discovery reads, with [`html_tree`](super::html_tree)
//! saying where in the document each tag is.
//!
//! Why not a DOM: html5ever's tree builder does work per tag that grows with the number of open
//! elements (a 600 KB page of `<div/>` took 32 s), and its tokenizer checks each attribute
//! against all earlier ones of the tag (one tag with 280 000 attributes: 51 s). Here every
//! token costs a bounded amount of work, so a page costs time linear in its bytes: attributes
//! are matched against a fixed list of the ~15 names discovery reads, the first of a name
//! winning as in the HTML standard, and all others are skipped as they stream by; elements
//! kept are capped at [`MAX_ELEMENTS`].

use html5gum::{Emitter, State, Tokenizer};

pub use super::html_names::{Attr, Cut, Tag, MAX_ELEMENTS};
use super::html_tree::{next_state, Name, Start, Tree};

/// An HTML-namespace element discovery reads, outside `<template>` contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub tag: Tag,
    /// Attributes discovery reads, first of each name only, character references decoded.
    pub attrs: Vec<(Attr, String)>,
    /// The text of a `<style>`, of an inline `<script type=module>` or of a
    /// `<script type=importmap>`.
    pub text: String,
}

impl Element {
    pub fn attr(&self, attr: Attr) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(a, _)| *a == attr)
            .map(|(_, v)| v.as_str())
    }
}

/// What one walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// In document order.
    pub elements: Vec<Element>,
    /// Set when the walk stopped early; `elements` then holds what came before.
    pub cut: Option<Cut>,
}

/// Walks `html` once and returns the elements discovery reads.
pub fn walk(html: &[u8]) -> Walk {
    let mut walk = Walk::default();
    // The emitter hands back a token only to stop the walk: one `next` runs it all.
    let _ = Tokenizer::new_with_emitter(html, Scanner::new(&mut walk)).next();
    walk
}

/// The html5gum emitter: tokens in, [`Walk`] out.
struct Scanner<'w> {
    out: &'w mut Walk,
    /// The tag being read.
    name: Name,
    is_end: bool,
    self_closing: bool,
    /// Whether this tag's attributes are read at all.
    reading_attrs: bool,
    attrs: Vec<(Attr, String)>,
    /// The attribute being read, while the tag's attributes are read.
    in_attr: bool,
    attr_name: Name,
    /// What the attribute is, known once its value starts: `Some(None)` for one not read.
    attr_kind: Option<Option<Attr>>,
    attr_value: Vec<u8>,
    /// For the tokenizer's "appropriate end tag" in script, raw text and RCDATA.
    last_start: Name,
    tree: Tree,
    /// The kept element whose text is being read (`<style>`, or a `<script>` whose text
    /// discovery reads: see [`keeps_text`]), and the bytes so far.
    text: Option<(usize, Vec<u8>)>,
    /// A token to hand back: the walk stops.
    stop: Option<()>,
}

impl<'w> Scanner<'w> {
    fn new(out: &'w mut Walk) -> Self {
        Scanner {
            out,
            name: Name::default(),
            is_end: false,
            self_closing: false,
            reading_attrs: false,
            attrs: Vec::new(),
            in_attr: false,
            attr_name: Name::default(),
            attr_kind: None,
            attr_value: Vec::new(),
            last_start: Name::default(),
            tree: Tree::default(),
            text: None,
            stop: None,
        }
    }

    fn cut(&mut self, cut: Cut) {
        if self.out.cut.is_none() {
            self.out.cut = Some(cut);
            self.stop = Some(());
        }
    }

    fn init_tag(&mut self, is_end: bool) {
        self.name.clear();
        self.is_end = is_end;
        self.self_closing = false;
        self.reading_attrs = false;
        self.attrs.clear();
        self.in_attr = false;
    }

    fn finish_attr(&mut self) {
        if !std::mem::take(&mut self.in_attr) {
            return;
        }
        let kind = self.attr_kind.take();
        let Some(attr) = kind.unwrap_or_else(|| Attr::from_name(&self.attr_name.0)) else {
            return;
        };
        // A repeated attribute is dropped: the first one counts.
        if self.attrs.iter().all(|(a, _)| *a != attr) {
            let value = String::from_utf8_lossy(&self.attr_value).into_owned();
            self.attrs.push((attr, value));
        }
    }

    fn start_tag(&mut self) -> Option<State> {
        match self.tree.start(&self.name, &self.attrs, self.self_closing) {
            Err(cut) => {
                self.cut(cut);
                None
            }
            Ok(Start::Other) => None,
            Ok(Start::Html { in_template }) => {
                match Tag::from_name(&self.name.0) {
                    Some(tag) if !in_template => self.keep(tag),
                    _ => {}
                }
                next_state(&self.name)
            }
        }
    }

    fn keep(&mut self, tag: Tag) {
        if self.out.elements.len() >= MAX_ELEMENTS {
            return self.cut(Cut::Elements);
        }
        if keeps_text(tag, &self.attrs) {
            self.text = Some((self.out.elements.len(), Vec::new()));
        }
        self.out.elements.push(Element {
            tag,
            attrs: std::mem::take(&mut self.attrs),
            text: String::new(),
        });
    }

    fn end_tag(&mut self) {
        if self.name.is(b"style") || self.name.is(b"script") {
            self.close_text();
        }
        self.tree.end(&self.name);
    }

    fn close_text(&mut self) {
        if let Some((index, text)) = self.text.take() {
            self.out.elements[index].text = String::from_utf8_lossy(&text).into_owned();
        }
    }
}

/// Whether discovery reads the element's text: a `<style>`'s, an inline module script's and an
/// import map's (other scripts' text is skipped as it streams by).
fn keeps_text(tag: Tag, attrs: &[(Attr, String)]) -> bool {
    let script_type = || {
        let value = attrs.iter().find(|(a, _)| *a == Attr::Type)?.1.trim();
        Some(value.eq_ignore_ascii_case("module") || value.eq_ignore_ascii_case("importmap"))
    };
    match tag {
        Tag::Style => true,
        Tag::Script => script_type().unwrap_or(false),
        _ => false,
    }
}

/// Whether the attributes of a start tag are worth reading.
fn reads_attrs(name: &[u8]) -> bool {
    Tag::from_name(name).is_some() || matches!(name, b"font" | b"annotation-xml")
}

impl Emitter for Scanner<'_> {
    type Token = ();

    fn set_last_start_tag(&mut self, last_start_tag: Option<&[u8]>) {
        self.last_start.clear();
        self.last_start.push(last_start_tag.unwrap_or_default());
    }

    fn emit_eof(&mut self) {
        self.close_text();
    }

    fn emit_error(&mut self, _: html5gum::Error) {}

    fn should_emit_errors(&mut self) -> bool {
        false
    }

    fn pop_token(&mut self) -> Option<()> {
        self.stop.take()
    }

    fn emit_string(&mut self, s: &[u8]) {
        if let Some((_, text)) = &mut self.text {
            text.extend_from_slice(s);
        }
    }

    fn init_start_tag(&mut self) {
        self.init_tag(false);
    }

    fn init_end_tag(&mut self) {
        self.init_tag(true);
    }

    fn init_comment(&mut self) {}

    fn emit_current_tag(&mut self) -> Option<State> {
        self.finish_attr();
        if self.out.cut.is_some() {
            return None;
        }
        if self.is_end {
            self.end_tag();
            return None;
        }
        self.last_start = self.name.clone();
        self.start_tag()
    }

    fn emit_current_comment(&mut self) {}

    fn emit_current_doctype(&mut self) {}

    fn set_self_closing(&mut self) {
        self.self_closing = true;
    }

    fn set_force_quirks(&mut self) {}

    fn push_tag_name(&mut self, s: &[u8]) {
        self.name.push(s);
    }

    fn push_comment(&mut self, _: &[u8]) {}

    fn push_doctype_name(&mut self, _: &[u8]) {}

    fn init_doctype(&mut self) {}

    fn init_attribute(&mut self) {
        self.finish_attr();
        if !self.reading_attrs {
            // The name is complete once attributes start.
            self.reading_attrs = !self.is_end && reads_attrs(&self.name.0);
            if !self.reading_attrs {
                return;
            }
        }
        self.in_attr = true;
        self.attr_name.clear();
        self.attr_kind = None;
        self.attr_value.clear();
    }

    fn push_attribute_name(&mut self, s: &[u8]) {
        if self.in_attr {
            self.attr_name.push(s);
        }
    }

    fn push_attribute_value(&mut self, s: &[u8]) {
        if !self.in_attr {
            return;
        }
        let name = &self.attr_name.0;
        if self
            .attr_kind
            .get_or_insert_with(|| Attr::from_name(name))
            .is_some()
        {
            self.attr_value.extend_from_slice(s);
        }
    }

    fn set_doctype_public_identifier(&mut self, _: &[u8]) {}

    fn set_doctype_system_identifier(&mut self, _: &[u8]) {}

    fn push_doctype_public_identifier(&mut self, _: &[u8]) {}

    fn push_doctype_system_identifier(&mut self, _: &[u8]) {}

    fn current_is_appropriate_end_tag_token(&mut self) -> bool {
        self.is_end && !self.last_start.0.is_empty() && self.name == self.last_start
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&mut self) -> bool {
        self.tree.in_foreign()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::html_names::MAX_FOREIGN_DEPTH;

    /// (tag, src or href) of every element kept.
    fn kept(html: &str) -> Vec<(Tag, String)> {
        let walk = walk(html.as_bytes());
        assert_eq!(walk.cut, None, "{html}");
        walk.elements
            .iter()
            .map(|e| {
                let url = e.attr(Attr::Src).or(e.attr(Attr::Href)).unwrap_or("");
                (e.tag, url.to_owned())
            })
            .collect()
    }

    fn imgs(srcs: &[&str]) -> Vec<(Tag, String)> {
        srcs.iter().map(|s| (Tag::Img, s.to_string())).collect()
    }

    #[test]
    fn text_elements_hide_markup_as_a_browser_reads_them() {
        let html = r#"<script>document.write("<img src=no1>")</script>
            <noscript><img src=no2></noscript><textarea><img src=no3></textarea>
            <title><img src=no4></title><iframe><img src=no5></iframe><xmp><img src=no6></xmp>
            <noembed><img src=no7></noembed><noframes><img src=no8></noframes>
            <!-- <img src=no9> --><img src=yes><plaintext><img src=no10>"#;
        let mut expected = vec![(Tag::Script, String::new())];
        expected.extend(imgs(&["yes"]));
        assert_eq!(kept(html), expected);
    }

    #[test]
    fn style_text_is_kept_whole_even_across_fake_end_tags() {
        let walk = walk(b"<style>a{}</styl></stylex><img src=x></style><style>b{}");
        let texts: Vec<&str> = walk.elements.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["a{}</styl></stylex><img src=x>", "b{}"]);
    }

    #[test]
    fn template_contents_are_skipped_at_any_nesting() {
        let html = "<template><img src=a><template><img src=b></template><img src=c></template>\
                    <img src=d></template><img src=e>";
        assert_eq!(kept(html), imgs(&["d", "e"]));
    }

    #[test]
    fn foreign_content_hides_its_elements_until_it_ends_or_breaks_out() {
        let cases: &[(&str, &[&str])] = &[
            ("<svg><img src=a></svg><img src=b>", &["a", "b"]),
            ("<svg><g><image src=a /></g></svg><img src=b>", &["b"]),
            ("<svg/><img src=a>", &["a"]),
            ("<svg><g/><script src=a></script></svg><img src=b>", &["b"]),
            ("<svg><g></x></y><image src=a></g></svg><image src=b>", &["b"]),
            ("<svg><foreignObject><img src=a><image src=b></foreignObject><image src=c>", &["a", "b"]),
            ("<math><mi><img src=a></mi><mglyph><image src=b></math><image src=c>", &["a", "c"]),
            ("<svg><p><image src=a>", &["a"]),
            ("<svg></p><image src=a>", &["a"]),
            ("<svg><font color=red><image src=a>", &["a"]),
            ("<svg><font><image src=a></font></svg><img src=b>", &["b"]),
            ("<svg><![CDATA[ > <img src=a> ]]></svg><img src=b>", &["b"]),
            ("<template><svg><g></template><img src=a>", &["a"]),
            (
                "<math><annotation-xml encoding=text/html><img src=a><image src=b></annotation-xml></math>",
                &["a", "b"],
            ),
        ];
        for (html, srcs) in cases {
            assert_eq!(kept(html), imgs(srcs), "{html}");
        }
    }

    #[test]
    fn attributes_first_wins_references_decoded_others_skipped() {
        let walk = walk(br#"<LINK REL=preload data-x="1" href="a.css?x=1&amp;y=2" href=b.css HREF=c.css as=style>"#);
        let link = &walk.elements[0];
        assert_eq!(link.tag, Tag::Link);
        assert_eq!(
            link.attrs,
            [
                (Attr::Rel, "preload".to_owned()),
                (Attr::Href, "a.css?x=1&y=2".to_owned()),
                (Attr::As, "style".to_owned()),
            ]
        );
    }

    #[test]
    fn a_tag_with_hundreds_of_thousands_of_attributes_is_read_to_its_end() {
        // html5ever compared each attribute with every earlier one: 19 s for this tag.
        let mut html = String::from("<img");
        for i in 0..280_000 {
            html.push_str(&format!(" a{i}"));
        }
        html.push_str(" src=last.png><img src=after.png>");
        assert_eq!(kept(&html), imgs(&["last.png", "after.png"]));
    }

    #[test]
    fn long_names_never_match_short_ones() {
        let long = "link".to_owned() + &"x".repeat(100);
        let html = format!("<{long} href=a><link hrefxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=b>");
        assert_eq!(kept(&html), [(Tag::Link, String::new())]);
        // A long end tag does not end a raw-text element it starts like.
        let html = format!("<style></{}><img src=a>", "style".repeat(20));
        assert_eq!(kept(&html), [(Tag::Style, String::new())]);
    }

    #[test]
    fn self_closing_and_stray_end_tags_cost_nothing() {
        let html = "<div/>".repeat(100_000) + &"<div></x>".repeat(100_000) + "<img src=a>";
        assert_eq!(kept(&html), imgs(&["a"]));
    }

    #[test]
    fn elements_past_the_cap_are_not_kept_and_the_walk_says_why() {
        let html = "<img src=a>".repeat(MAX_ELEMENTS) + "<link rel=stylesheet href=late.css>";
        let walk = walk(html.as_bytes());
        assert_eq!(walk.elements.len(), MAX_ELEMENTS);
        assert!(walk.elements.iter().all(|e| e.tag == Tag::Img));
        assert_eq!(walk.cut, Some(Cut::Elements));
        let within = "<img src=a>".repeat(MAX_ELEMENTS);
        assert_eq!(super::walk(within.as_bytes()).cut, None);
    }

    #[test]
    fn foreign_nesting_past_the_cap_stops_the_walk() {
        let within =
            "<svg>".to_owned() + &"<g>".repeat(MAX_FOREIGN_DEPTH - 1) + "</svg><img src=a>";
        assert_eq!(kept(&within), imgs(&["a"]));
        let beyond =
            "<img src=a><svg>".to_owned() + &"<g>".repeat(MAX_FOREIGN_DEPTH) + "<p><img src=b>";
        let walk = walk(beyond.as_bytes());
        assert_eq!(walk.cut, Some(Cut::ForeignDepth));
        assert_eq!(walk.elements.len(), 1, "what came before the cap is kept");
        // Closed elements do not add up.
        let flat = "<svg>".to_owned()
            + &"<g></g><g/>".repeat(10 * MAX_FOREIGN_DEPTH)
            + "</svg><img src=a>";
        assert_eq!(kept(&flat), imgs(&["a"]));
    }
}
