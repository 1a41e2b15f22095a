//! Push discovery: which assets a page needs, found by reading its HTML and stylesheets, and
//! what to do with each.
//!
//! - `html_scan` reads a page's bytes once (a WHATWG tokenizer, linear, bounded) and keeps the
//!   elements that load something, with `html_tree` telling HTML from `<template>` contents and
//!   SVG/MathML; `html` turns those elements into resolved references.
//! - `css` lists a stylesheet's imports, fonts and images; `js` a JavaScript module's imports
//!   (oxc's parser, after `js_nesting` has bounded how deep it would recurse); `import_map`
//!   resolves their specifiers as a browser does.
//! - `discover` follows the references (stylesheets' imports, the module graph) through
//!   [`discover::SiteFiles`] and builds the page's
//!   [`manifest::Manifest`]: the ordered same-origin files worth pushing or hinting.
//! - `cache` keeps manifests per page version; `pages` builds one per page version however many
//!   requests ask at once (`flight`), within a bound on discoveries running.
//! - `policy` decides push or hint for each asset, the same for `serve` and `scan`; `digest` is
//!   the cookie that tells it which asset versions a client already has.
//! - `site` is the served directory as discovery sees it; `scan` is the `h2push scan` command;
//!   `plan_args` the flags it shares with `export`.
//!
//! The page-load comparer reuses `html` and `css` on downloaded bytes.

pub mod cache;
pub mod css;
pub mod digest;
pub mod discover;
pub mod flight;
pub mod hints;
pub mod html;
pub mod html_names;
pub mod html_scan;
pub mod html_tree;
pub mod import_map;
pub mod js;
pub mod js_nesting;
pub mod manifest;
pub mod pages;
pub mod plan_args;
pub mod policy;
pub mod scan;
pub mod scan_args;
pub mod site;
