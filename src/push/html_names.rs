//! The names the HTML walk reads: the elements and attributes discovery keeps, and why a walk
//! stopped early. Shared by [`html_scan`](super::html_scan) (the tokenizer's emitter) and
//! [`html_tree`](super::html_tree) (where in the tree a tag is), so neither imports the other's
//! internals.

/// Elements kept per page (links, scripts, images, styles, bases). Real pages have tens to a
/// few hundred; past this the walk stops and the page is hinted from what came before.
pub const MAX_ELEMENTS: usize = 1024;

/// The elements discovery reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Base,
    Link,
    Script,
    Img,
    Video,
    Input,
    Style,
}

impl Tag {
    pub(super) fn from_name(name: &[u8]) -> Option<Tag> {
        Some(match name {
            b"base" => Tag::Base,
            b"link" => Tag::Link,
            b"script" => Tag::Script,
            // The tree builder renames `<image>` to `<img>`.
            b"img" | b"image" => Tag::Img,
            b"video" => Tag::Video,
            b"input" => Tag::Input,
            b"style" => Tag::Style,
            _ => return None,
        })
    }
}

/// The attributes discovery (and the foreign-content rules) read; the rest are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    As,
    Async,
    Crossorigin,
    Defer,
    Href,
    Loading,
    Nomodule,
    Poster,
    Rel,
    Src,
    Type,
    /// `<font color|face|size>` leaves foreign content.
    Color,
    Face,
    Size,
    /// `<annotation-xml encoding=text/html>` holds HTML.
    Encoding,
}

impl Attr {
    pub(super) fn from_name(name: &[u8]) -> Option<Attr> {
        Some(match name {
            b"as" => Attr::As,
            b"async" => Attr::Async,
            b"crossorigin" => Attr::Crossorigin,
            b"defer" => Attr::Defer,
            b"href" => Attr::Href,
            b"loading" => Attr::Loading,
            b"nomodule" => Attr::Nomodule,
            b"poster" => Attr::Poster,
            b"rel" => Attr::Rel,
            b"src" => Attr::Src,
            b"type" => Attr::Type,
            b"color" => Attr::Color,
            b"face" => Attr::Face,
            b"size" => Attr::Size,
            b"encoding" => Attr::Encoding,
            _ => return None,
        })
    }
}

/// Open `<svg>`/`<math>` elements tracked, nested. Real inline SVG nests a few dozen deep;
/// past this the walk stops and the page is hinted from what came before.
pub const MAX_FOREIGN_DEPTH: usize = 256;

/// Why a walk stopped before the end of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// More than [`MAX_ELEMENTS`] elements kept.
    Elements,
    /// `<svg>`/`<math>` nested deeper than [`MAX_FOREIGN_DEPTH`].
    ForeignDepth,
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cut::Elements => write!(f, "more than {MAX_ELEMENTS} linking elements"),
            Cut::ForeignDepth => write!(f, "svg/math nested deeper than {MAX_FOREIGN_DEPTH}"),
        }
    }
}
