//! Finds the URLs a stylesheet makes the browser fetch: `@import`s, `@font-face` sources and
//! everything else written as `url(...)` (background images, cursors, masks, ...).
//!
//! This is a tokenizer walk, not a CSS parser: cssparser gives correct tokens (escapes,
//! comments, strings, `url()` quirks) and we only look at the few that carry URLs. Nothing
//! here can fail; garbage in gives fewer references out.

use cssparser::{ParseError, Parser, Token};
use url::Url;

/// One URL referenced by a stylesheet, resolved against the sheet's own URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CssRef {
    /// Absolute URL (never `data:`).
    pub url: Url,
    /// What the browser will fetch it as.
    pub kind: CssRefKind,
}

/// How a stylesheet uses a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CssRefKind {
    /// `@import`: another stylesheet that must load before this one applies.
    Import,
    /// A font: any `url()` inside `@font-face`, or a font file by its extension.
    Font,
    /// An image file by its extension.
    Image,
    /// A `url()` whose type the extension does not tell.
    Other,
}

const FONT_EXTENSIONS: &[&str] = &["woff2", "woff", "ttf", "otf"];
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "ico"];

/// Every URL `css` references, in source order, resolved against `base` (the stylesheet's
/// URL, or the document's base URL for an inline `<style>`).
///
/// `@import` counts only where browsers honour it: at the top level, before the first rule
/// with a block. URLs that do not resolve, `data:` URLs and fragment-only references
/// (`filter: url(#blur)`, which point into the document) are left out.
pub fn parse_css(css: &str, base: &Url) -> Vec<CssRef> {
    let mut parser = Parser::new(css);
    let mut walker = Walker {
        base,
        refs: Vec::new(),
    };
    walker.top_level(&mut parser);
    walker.refs
}

type Never = ParseError<()>;

struct Walker<'a> {
    base: &'a Url,
    refs: Vec<CssRef>,
}

/// The at-rule whose prelude is being read, until its `;` or its block ends it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AtRule {
    None,
    FontFace,
    /// `@charset`, `@layer a, b;`: statements that may precede `@import`.
    BeforeImports,
    Other,
}

impl AtRule {
    fn from_name(name: &str) -> AtRule {
        if name.eq_ignore_ascii_case("font-face") {
            AtRule::FontFace
        } else if name.eq_ignore_ascii_case("charset") || name.eq_ignore_ascii_case("layer") {
            AtRule::BeforeImports
        } else {
            AtRule::Other
        }
    }
}

/// The next token, owned so the parser can be used again while matching on it
/// (cloning a token is a reference-count bump at most).
fn next<'i>(parser: &mut Parser<'i>) -> Option<Token<'i>> {
    parser.next().ok().cloned()
}

impl Walker<'_> {
    fn top_level(&mut self, parser: &mut Parser) {
        let mut imports_allowed = true;
        let mut at_rule = AtRule::None;
        while let Some(token) = next(parser) {
            match token {
                Token::AtKeyword(name) if name.eq_ignore_ascii_case("import") => {
                    if imports_allowed {
                        self.import(parser);
                    } else {
                        skip_statement(parser);
                    }
                }
                // Its URL names a namespace; nothing is fetched.
                Token::AtKeyword(name) if name.eq_ignore_ascii_case("namespace") => {
                    imports_allowed = false;
                    skip_statement(parser);
                }
                Token::AtKeyword(name) => {
                    at_rule = AtRule::from_name(&name);
                    // @namespace and every other at-rule end the import prelude.
                    imports_allowed &= at_rule == AtRule::BeforeImports;
                }
                Token::Semicolon => at_rule = AtRule::None,
                Token::CurlyBracketBlock => {
                    imports_allowed = false;
                    let in_font_face = at_rule == AtRule::FontFace;
                    at_rule = AtRule::None;
                    self.block(parser, in_font_face);
                }
                other => self.token(parser, other, false),
            }
        }
    }

    /// The prelude after `@import`: a string or a `url()`.
    fn import(&mut self, parser: &mut Parser) {
        let href = match next(parser) {
            Some(Token::QuotedString(s) | Token::UnquotedUrl(s)) => Some(s.to_string()),
            Some(Token::Function(name)) if name.eq_ignore_ascii_case("url") => url_function(parser),
            // An invalid @import; the token may still hold URLs (or open a block).
            Some(other) => {
                self.token(parser, other, false);
                None
            }
            None => None,
        };
        if let Some(href) = href {
            self.push(&href, Some(CssRefKind::Import));
        }
    }

    /// The contents of the `{...}` block just returned by the parser.
    fn block(&mut self, parser: &mut Parser, in_font_face: bool) {
        // An error here (TooManyNestedBlocks on hostile nesting) only means "stop looking".
        let _ = parser.parse_nested_block(|inner| -> Result<(), Never> {
            let mut at_rule = AtRule::None;
            while let Some(token) = next(inner) {
                match token {
                    // @font-face nested in @media or @supports.
                    Token::AtKeyword(name) => at_rule = AtRule::from_name(&name),
                    Token::Semicolon => at_rule = AtRule::None,
                    Token::CurlyBracketBlock => {
                        let font = in_font_face || at_rule == AtRule::FontFace;
                        at_rule = AtRule::None;
                        self.block(inner, font);
                    }
                    other => self.token(inner, other, in_font_face),
                }
            }
            Ok(())
        });
    }

    /// Any token outside the at-rule bookkeeping: a URL, or a function or bracket block to
    /// search, or nothing of interest.
    fn token(&mut self, parser: &mut Parser, token: Token, in_font_face: bool) {
        let kind = in_font_face.then_some(CssRefKind::Font);
        match token {
            Token::UnquotedUrl(href) => self.push(&href, kind),
            Token::Function(name) if name.eq_ignore_ascii_case("url") => {
                if let Some(href) = url_function(parser) {
                    self.push(&href, kind);
                }
            }
            Token::Function(name)
                if name.eq_ignore_ascii_case("image-set")
                    || name.eq_ignore_ascii_case("-webkit-image-set") =>
            {
                self.nested(parser, true, in_font_face)
            }
            Token::Function(_)
            | Token::ParenthesisBlock
            | Token::SquareBracketBlock
            | Token::CurlyBracketBlock => self.nested(parser, false, in_font_face),
            _ => {}
        }
    }

    /// The contents of a function or bracket block just returned by the parser. In
    /// `image-set("a.png" 1x, url(b.png) 2x)` bare strings are URLs too.
    fn nested(&mut self, parser: &mut Parser, strings_are_urls: bool, in_font_face: bool) {
        let _ = parser.parse_nested_block(|inner| -> Result<(), Never> {
            while let Some(token) = next(inner) {
                match token {
                    Token::QuotedString(href) if strings_are_urls => self.push(&href, None),
                    other => self.token(inner, other, in_font_face),
                }
            }
            Ok(())
        });
    }

    fn push(&mut self, href: &str, kind: Option<CssRefKind>) {
        let href = href.trim();
        // `url(#id)` points into the document itself (SVG filters, masks).
        if href.is_empty() || href.starts_with('#') {
            return;
        }
        let Ok(url) = self.base.join(href) else {
            return;
        };
        if url.scheme() == "data" {
            return;
        }
        let kind = kind.unwrap_or_else(|| kind_by_extension(&url));
        self.refs.push(CssRef { url, kind });
    }
}

/// Consumes the rest of an at-rule statement, up to and including its `;`.
fn skip_statement(parser: &mut Parser) {
    // The parser skips the contents of any block it returns and is not asked to enter.
    while let Ok(token) = parser.next() {
        if matches!(token, Token::Semicolon) {
            break;
        }
    }
}

/// The argument of a `url(` function token the parser just returned: `url("x")` comes out
/// of the tokenizer as a function (unquoted `url(x)` is a single UnquotedUrl token).
fn url_function(parser: &mut Parser) -> Option<String> {
    parser
        .parse_nested_block(|inner| -> Result<String, Never> {
            let href = inner.expect_string()?.to_string();
            // url("x" modifiers) is valid syntax; the URL is still the string.
            while inner.next().is_ok() {}
            Ok(href)
        })
        .ok()
}

fn kind_by_extension(url: &Url) -> CssRefKind {
    let file = url.path().rsplit('/').next().unwrap_or("");
    let Some((_, ext)) = file.rsplit_once('.') else {
        return CssRefKind::Other;
    };
    let ext = ext.to_ascii_lowercase();
    if FONT_EXTENSIONS.contains(&ext.as_str()) {
        CssRefKind::Font
    } else if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        CssRefKind::Image
    } else {
        CssRefKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(css: &str) -> Vec<(String, CssRefKind)> {
        let base = Url::parse("https://example.test/css/site.css").unwrap();
        parse_css(css, &base)
            .into_iter()
            .map(|r| (r.url.to_string(), r.kind))
            .collect()
    }

    fn urls(css: &str) -> Vec<String> {
        refs(css).into_iter().map(|(url, _)| url).collect()
    }

    const T: &str = "https://example.test";

    #[test]
    fn import_forms() {
        let found = refs(
            r#"@charset "utf-8";
            @import "a.css";
            @import url(b.css) screen;
            @import url("c.css") layer(base) supports(display: grid);
            @IMPORT 'd.css';
            body { color: red }"#,
        );
        let expected: Vec<(String, CssRefKind)> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| (format!("{T}/css/{n}.css"), CssRefKind::Import))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn import_after_a_rule_is_ignored_like_browsers_do() {
        let found = refs(
            r#"@layer base; @import "ok.css"; p {} @import "late.css"; @import url(late2.css);
               p { background: url(after.png) }"#,
        );
        assert_eq!(
            found,
            [
                (format!("{T}/css/ok.css"), CssRefKind::Import),
                (format!("{T}/css/after.png"), CssRefKind::Image),
            ]
        );
        // The namespace URL is a name, not a fetch, and ends the import prelude.
        let found = refs(
            r#"@namespace svg url(http://www.w3.org/2000/svg); @import "x.css"; a { background: url(a.png) }"#,
        );
        assert_eq!(found, [(format!("{T}/css/a.png"), CssRefKind::Image)]);
    }

    #[test]
    fn url_quoting_and_spaces() {
        let found = urls(
            r#"a { background: url(plain.png) }
               b { background: url( "double.png" ) }
               c { background: URL( 'single.png' ) }
               d { background: url(  spaced.png  ) }
               e { background: url(sp\ ace.png) }"#,
        );
        assert_eq!(
            found,
            [
                format!("{T}/css/plain.png"),
                format!("{T}/css/double.png"),
                format!("{T}/css/single.png"),
                format!("{T}/css/spaced.png"),
                format!("{T}/css/sp%20ace.png"),
            ]
        );
    }

    #[test]
    fn relative_urls_resolve_against_the_stylesheet() {
        let found = urls(
            "a { background: url(../img/a.png) } b { background: url(/root.png) } \
             c { background: url(https://cdn.test/x.png) } d { background: url(//cdn.test/y.png) }",
        );
        assert_eq!(
            found,
            [
                format!("{T}/img/a.png"),
                format!("{T}/root.png"),
                "https://cdn.test/x.png".to_string(),
                "https://cdn.test/y.png".to_string(),
            ]
        );
    }

    #[test]
    fn font_face_urls_are_fonts_whatever_their_extension() {
        let found = refs(
            r#"@font-face { font-family: X; src: url(x.woff2) format("woff2"), url("x.bin") format("truetype"); }
               @media screen { @font-face { src: url(nested.dat) } .a { background: url(bg.dat) } }
               .b { background: url(bg.png) }"#,
        );
        assert_eq!(
            found,
            [
                (format!("{T}/css/x.woff2"), CssRefKind::Font),
                (format!("{T}/css/x.bin"), CssRefKind::Font),
                (format!("{T}/css/nested.dat"), CssRefKind::Font),
                (format!("{T}/css/bg.dat"), CssRefKind::Other),
                (format!("{T}/css/bg.png"), CssRefKind::Image),
            ]
        );
    }

    #[test]
    fn kind_by_extension_outside_font_face() {
        let found = refs(
            ".a { src: url(f.WOFF) } .b { background: url(p.JPG?v=2) } \
             .c { cursor: url(c.cur), auto } .d { background: url(/img/noext) }",
        );
        let kinds: Vec<CssRefKind> = found.into_iter().map(|(_, kind)| kind).collect();
        assert_eq!(
            kinds,
            [
                CssRefKind::Font,
                CssRefKind::Image,
                CssRefKind::Other,
                CssRefKind::Other
            ]
        );
    }

    #[test]
    fn data_fragment_and_empty_urls_are_dropped() {
        let found = urls(
            r#".a { background: url(data:image/png;base64,AAAA) }
               .b { background: url("DATA:image/svg+xml,<svg/>") }
               .c { filter: url(#blur) }
               .d { background: url() }
               .e { background: url("") }
               .f { background: url(kept.png) }"#,
        );
        assert_eq!(found, [format!("{T}/css/kept.png")]);
    }

    #[test]
    fn image_set_strings_are_urls_but_other_strings_are_not() {
        let found = urls(
            r#".a { background: image-set("a1.png" 1x, url(a2.png) 2x);
                    content: "not-a-url.png"; font-family: "x.woff2" }
               .b { background: -webkit-image-set(url(b.png) 1x) }"#,
        );
        assert_eq!(
            found,
            [
                format!("{T}/css/a1.png"),
                format!("{T}/css/a2.png"),
                format!("{T}/css/b.png"),
            ]
        );
    }

    #[test]
    fn comments_hide_urls() {
        assert_eq!(
            urls("/* url(hidden.png) @import 'h.css'; */ .a { background: url(shown.png) }"),
            [format!("{T}/css/shown.png")]
        );
    }

    #[test]
    fn urls_inside_other_functions_and_var_fallbacks() {
        let found = urls(
            ".a { background: var(--bg, url(v.png)); mask: linear-gradient(red, blue), url(m.svg) }",
        );
        assert_eq!(found, [format!("{T}/css/v.png"), format!("{T}/css/m.svg")]);
    }

    #[test]
    fn garbage_does_not_panic() {
        let mut bytes: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        bytes.extend_from_slice(b"url(");
        let inputs = [
            String::from_utf8_lossy(&bytes).into_owned(),
            "{".repeat(100_000),
            "(".repeat(100_000) + "url(x.png)",
            "@font-face {".repeat(10_000),
            "url(\"unterminated".to_string(),
            "@import".to_string(),
            "@import url(".to_string(),
            "a { background: url(x.png".to_string(),
            "\u{0}\u{FFFD}url(\u{0})".to_string(),
        ];
        for input in &inputs {
            let _ = parse_css(input, &Url::parse("https://example.test/").unwrap());
        }
        // Unterminated url( still yields what a browser would fetch.
        assert_eq!(
            urls("a { background: url(x.png"),
            [format!("{T}/css/x.png")]
        );
    }
}
