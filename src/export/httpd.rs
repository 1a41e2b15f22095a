//! Apache httpd: a `<Location>` per page with a mod_headers `Header add Link` per asset.
//! mod_dir answers a directory URL from its `index.html`, whose block applies. mod_http2
//! pushes from these Links (`H2Push`, on by default; checked with `nghttp -nv` on Apache
//! 2.4), so a pushed module script is written as it can push it
//! ([`PageLink::pushable_value`](super::PageLink::pushable_value)).

use std::fmt::Write as _;

use super::{comments, double_quoted, preamble, Export};

/// The configuration fragment.
pub fn render(export: &Export) -> String {
    let mut out = preamble("#", "apache", export);
    out.push_str(
        "# Include it in the VirtualHost that serves the site; it needs mod_headers\n\
         # (a2enmod headers). mod_http2 pushes each rel=preload link without nopush\n\
         # (H2Push, on by default).\n",
    );
    for page in &export.pages {
        out.push('\n');
        out.push_str(&comments(page, "", "#"));
        let values: Vec<String> = page
            .links
            .iter()
            .filter_map(|l| l.pushable_value())
            .collect();
        if values.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<Location {}>", double_quoted(&page.page));
        for value in values {
            // mod_headers reads `%` as the start of a format specifier; `%%` is a `%`.
            let _ = writeln!(
                out,
                "    Header add Link {}",
                double_quoted(&value.replace('%', "%%"))
            );
        }
        out.push_str("</Location>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::export;
    use super::*;

    #[test]
    fn a_location_per_page_with_percent_signs_doubled() {
        let mut export = export();
        export.pages[0].links[0].link = Some("</a%20b.js>; rel=preload; type=\"t/x\"".into());
        export.pages[0].links[0].asset.module = false;
        let text = render(&export);
        let body: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        assert_eq!(
            body,
            [
                "<Location \"/about.html\">",
                "    Header add Link \"</a%%20b.js>; rel=preload; type=\\\"t/x\\\"\"",
                "</Location>",
                "<Location \"/index.html\">",
                "    Header add Link \"</css/site.css?v=1>; rel=preload; as=style\"",
                "    Header add Link \"</fonts/a.woff2>; rel=preload; as=font; crossorigin\"",
                "    Header add Link \"</img/big.png>; rel=preload; as=image; nopush\"",
                "</Location>",
            ]
        );
    }
}
