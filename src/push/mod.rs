//! Push discovery: which assets a page needs, found by reading its HTML and stylesheets.
//!
//! `discover` parses a page and the CSS it pulls in and returns a [`discover::Manifest`],
//! the ordered list of same-origin files worth pushing, preloading or early-hinting.
//! File access goes through [`discover::SiteFiles`], so the same code serves the server (a
//! directory on disk) and the page-load comparer (downloaded bytes, via `parse_html` and
//! [`css::parse_css`]).

pub mod cache;
pub mod css;
pub mod discover;
pub mod hints;
pub mod pages;
pub mod policy;
pub mod scan;
pub mod site;
