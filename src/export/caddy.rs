//! Caddy: a Caddyfile snippet for the site block that runs `file_server`: per page a named
//! `path` matcher (its file and, for an index page, its directory) and a `header` block that
//! adds one `Link` per asset. Caddy sends them with the page; its `push` directive (Caddy
//! 2.6) can push them.

use std::fmt::Write as _;

use super::{comments, preamble, Export};

/// The snippet.
pub fn render(export: &Export) -> String {
    let mut out = preamble("#", "caddy", export);
    out.push_str("# Paste it inside the site block that serves the site with file_server.\n");
    for (i, page) in export.pages.iter().enumerate() {
        out.push('\n');
        out.push_str(&comments(page, "", "#"));
        let values: Vec<&str> = page.link_values().collect();
        if values.is_empty() {
            continue;
        }
        let paths: Vec<String> = page.urls().iter().map(|p| quote(p)).collect();
        let _ = writeln!(out, "@h2push_{i} path {}", paths.join(" "));
        let _ = writeln!(out, "header @h2push_{i} {{");
        for value in values {
            let _ = writeln!(out, "\t+Link {}", quote(value));
        }
        out.push_str("}\n");
    }
    out
}

/// A double-quoted Caddyfile token whose braces are not placeholders.
fn quote(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('{', "\\{")
        .replace('}', "\\}");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::super::tests::export;
    use super::*;

    #[test]
    fn a_matcher_and_a_header_block_per_page() {
        let text = render(&export());
        let body: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        assert_eq!(
            body,
            [
                "@h2push_0 path \"/about.html\"",
                "header @h2push_0 {",
                "\t+Link \"</js/app.js?v=2>; rel=modulepreload\"",
                "}",
                "@h2push_1 path \"/\" \"/index.html\"",
                "header @h2push_1 {",
                "\t+Link \"</css/site.css?v=1>; rel=preload; as=style\"",
                "\t+Link \"</fonts/a.woff2>; rel=preload; as=font; crossorigin\"",
                "\t+Link \"</img/big.png>; rel=preload; as=image; nopush\"",
                "}",
            ]
        );
    }

    #[test]
    fn braces_and_quotes_are_escaped() {
        assert_eq!(
            quote("<a?x={y}>; type=\"t\""),
            r#""<a?x=\{y\}>; type=\"t\"""#
        );
    }
}
