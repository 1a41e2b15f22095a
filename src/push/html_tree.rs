//! The little of HTML tree construction the walk needs, at constant cost per tag: whether a tag
//! is an HTML element or foreign content (`<svg>`, `<math>`), whether it is inside
//! `<template>` contents, and which tokenizer state an HTML start tag switches to.
//!
//! No stack of HTML elements is kept (discovery needs none, and walking one per tag is what
//! made html5ever's tree builder quadratic). `<template>` nesting is a counter. Foreign content
//! is the only stack, capped at [`MAX_FOREIGN_DEPTH`], with a count per open name so that an end
//! tag finds its start without walking it.

use std::collections::HashMap;

use html5gum::State;

use super::html_names::{Attr, Cut};

pub use super::html_names::MAX_FOREIGN_DEPTH;

/// Bytes of a tag or attribute name kept. Every name the walk compares is shorter; a longer
/// one is kept as its prefix plus a marker, so it never equals a short one.
const MAX_NAME: usize = 32;

/// A tag or attribute name, lowercased by the tokenizer, at most [`MAX_NAME`] bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(super) struct Name(pub(super) Vec<u8>);

impl Name {
    /// A name of [`MAX_NAME`] bytes or more is kept as its first `MAX_NAME - 1` bytes and one
    /// 0xFF byte (never in UTF-8), after which it takes no more.
    pub(super) fn push(&mut self, s: &[u8]) {
        if self.0.len() >= MAX_NAME {
            return;
        }
        let room = MAX_NAME - 1 - self.0.len();
        if s.len() > room {
            self.0.extend_from_slice(&s[..room]);
            self.0.push(0xFF);
        } else {
            self.0.extend_from_slice(s);
        }
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    pub(super) fn is(&self, name: &[u8]) -> bool {
        self.0 == name
    }
}

/// What a start tag is, for the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// An HTML element; `in_template` when it is inside `<template>` contents (not in the
    /// document a browser loads from).
    Html { in_template: bool },
    /// Foreign content, or `<svg>`, `<math>`, `<template>` themselves.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Namespace {
    Svg,
    MathMl,
}

/// An open element of foreign content.
#[derive(Debug)]
struct Foreign {
    name: Name,
    namespace: Namespace,
    /// Its content is HTML again (`<foreignObject>`, `<mi>`, `<annotation-xml
    /// encoding=text/html>`...).
    integration: bool,
    /// `<template>` depth it opened at: closing that template closes it too.
    template_depth: usize,
}

/// Where the walk is in the document's tree.
#[derive(Debug, Default)]
pub(super) struct Tree {
    template_depth: usize,
    foreign: Vec<Foreign>,
    /// Count of each name in `foreign`.
    open: HashMap<Name, usize>,
}

/// HTML start tags that end foreign content (with `<font>` that has a presentational
/// attribute), per the HTML standard's rules for parsing tokens in foreign content.
#[rustfmt::skip]
const BREAKOUT: &[&[u8]] = &[
    b"b", b"big", b"blockquote", b"body", b"br", b"center", b"code", b"dd", b"div", b"dl",
    b"dt", b"em", b"embed", b"h1", b"h2", b"h3", b"h4", b"h5", b"h6", b"head", b"hr", b"i",
    b"img", b"li", b"listing", b"menu", b"meta", b"nobr", b"ol", b"p", b"pre", b"ruby", b"s",
    b"small", b"span", b"strong", b"strike", b"sub", b"sup", b"table", b"tt", b"u", b"ul",
    b"var",
];

impl Tree {
    /// Tags are read as foreign (not HTML): an open foreign element that is not an
    /// integration point.
    pub(super) fn in_foreign(&self) -> bool {
        self.foreign.last().is_some_and(|f| !f.integration)
    }

    /// Takes a start tag (its attributes are those [`Attr`] names).
    pub(super) fn start(
        &mut self,
        name: &Name,
        attrs: &[(Attr, String)],
        self_closing: bool,
    ) -> Result<Start, Cut> {
        if self.in_foreign() {
            if !breaks_out(name, attrs) {
                if !self_closing {
                    self.open_foreign(name, attrs)?;
                }
                return Ok(Start::Other);
            }
            self.close_foreign_to_html();
        }
        match &name.0[..] {
            b"svg" | b"math" => {
                if !self_closing {
                    self.open_foreign(name, attrs)?;
                }
                Ok(Start::Other)
            }
            b"template" => {
                self.template_depth += 1;
                Ok(Start::Other)
            }
            _ => Ok(Start::Html {
                in_template: self.template_depth > 0,
            }),
        }
    }

    /// Takes an end tag.
    pub(super) fn end(&mut self, name: &Name) {
        if !self.foreign.is_empty() {
            if self.in_foreign() && (name.is(b"br") || name.is(b"p")) {
                return self.close_foreign_to_html();
            }
            if self.open.get(name).is_some_and(|&n| n > 0) {
                while let Some(closed) = self.pop_foreign() {
                    if closed == *name {
                        break;
                    }
                }
                return;
            }
        }
        if name.is(b"template") && self.template_depth > 0 {
            self.template_depth -= 1;
            while self
                .foreign
                .last()
                .is_some_and(|f| f.template_depth > self.template_depth)
            {
                self.pop_foreign();
            }
        }
    }

    fn open_foreign(&mut self, name: &Name, attrs: &[(Attr, String)]) -> Result<(), Cut> {
        if self.foreign.len() >= MAX_FOREIGN_DEPTH {
            return Err(Cut::ForeignDepth);
        }
        let namespace = match &name.0[..] {
            b"svg" => Namespace::Svg,
            b"math" => Namespace::MathMl,
            _ => self.foreign.last().map_or(Namespace::Svg, |f| f.namespace),
        };
        let integration = match namespace {
            Namespace::Svg => matches!(&name.0[..], b"foreignobject" | b"desc" | b"title"),
            Namespace::MathMl => match &name.0[..] {
                b"mi" | b"mo" | b"mn" | b"ms" | b"mtext" => true,
                b"annotation-xml" => attrs.iter().any(|(a, v)| {
                    *a == Attr::Encoding
                        && (v.eq_ignore_ascii_case("text/html")
                            || v.eq_ignore_ascii_case("application/xhtml+xml"))
                }),
                _ => false,
            },
        };
        *self.open.entry(name.clone()).or_default() += 1;
        self.foreign.push(Foreign {
            name: name.clone(),
            namespace,
            integration,
            template_depth: self.template_depth,
        });
        Ok(())
    }

    fn pop_foreign(&mut self) -> Option<Name> {
        let closed = self.foreign.pop()?;
        if let Some(n) = self.open.get_mut(&closed.name) {
            *n -= 1;
        }
        Some(closed.name)
    }

    /// Closes foreign elements up to the nearest integration point (or all of them).
    fn close_foreign_to_html(&mut self) {
        while self.in_foreign() {
            self.pop_foreign();
        }
    }
}

fn breaks_out(name: &Name, attrs: &[(Attr, String)]) -> bool {
    BREAKOUT.contains(&&name.0[..])
        || (name.is(b"font")
            && attrs
                .iter()
                .any(|(a, _)| matches!(a, Attr::Color | Attr::Face | Attr::Size)))
}

/// The tokenizer state an HTML start tag switches to, with scripting enabled (as html5ever
/// and browsers parse): `<noscript>` content is text.
pub(super) fn next_state(name: &Name) -> Option<State> {
    match &name.0[..] {
        b"script" => Some(State::ScriptData),
        b"style" | b"noscript" | b"iframe" | b"xmp" | b"noembed" | b"noframes" => {
            Some(State::RawText)
        }
        b"title" | b"textarea" => Some(State::RcData),
        b"plaintext" => Some(State::PlainText),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        let mut name = Name::default();
        name.push(s.as_bytes());
        name
    }

    #[test]
    fn long_names_keep_a_prefix_and_a_marker() {
        assert_eq!(name("style").0, b"style");
        let long = name(&"a".repeat(100));
        assert_eq!(long.0.len(), MAX_NAME);
        assert_eq!(long.0.last(), Some(&0xFF));
        let mut pieces = Name::default();
        for _ in 0..100 {
            pieces.push(b"a");
        }
        assert_eq!(pieces, long, "pushed in pieces or at once");
    }

    #[test]
    fn templates_nest_and_close_what_foreign_content_they_opened() {
        let mut tree = Tree::default();
        let html = |tree: &mut Tree, n: &str| tree.start(&name(n), &[], false).unwrap();
        assert_eq!(html(&mut tree, "div"), Start::Html { in_template: false });
        html(&mut tree, "template");
        html(&mut tree, "template");
        html(&mut tree, "svg");
        assert!(tree.in_foreign());
        tree.end(&name("template"));
        assert!(
            !tree.in_foreign(),
            "the inner template's end closes its svg"
        );
        assert_eq!(html(&mut tree, "img"), Start::Html { in_template: true });
        tree.end(&name("template"));
        tree.end(&name("template"));
        assert_eq!(html(&mut tree, "img"), Start::Html { in_template: false });
    }

    #[test]
    fn the_foreign_stack_is_capped() {
        let mut tree = Tree::default();
        for _ in 0..MAX_FOREIGN_DEPTH {
            assert_eq!(tree.start(&name("svg"), &[], false), Ok(Start::Other));
        }
        assert_eq!(tree.start(&name("g"), &[], false), Err(Cut::ForeignDepth));
        assert_eq!(
            tree.start(&name("g"), &[], true),
            Ok(Start::Other),
            "self-closed"
        );
    }
}
