//! h2o: a `paths:` mapping for a host whose one entry, `/`, runs a small mruby handler before
//! `file.dir`: for exactly the URL paths of a page (its file, and its directory for an
//! index page) it answers 399 (h2o's "go on to the next handler") with the page's `link`
//! headers, which h2o 2.2 adds to the response and pushes (`rel=preload` without `nopush`).
//!
//! A module script `serve` would push is written as h2o can push it
//! ([`PageLink::pushable_value`](super::PageLink::pushable_value)).
//!
//! Why not `header.add: "Link: …"` per path: h2o 2.2 sends those but does not push from them
//! (checked with `nghttp -nv`: no PUSH_PROMISE), and its `paths` match by prefix, so an entry
//! for `/` or `/docs/` would give every file under it the page's links.

use std::fmt::Write as _;

use super::{comments, preamble, Export};

/// The `paths:` mapping; `docroot` is the site's directory on the h2o host.
pub fn render(export: &Export, docroot: &str) -> String {
    let docroot = docroot.trim_end_matches('/');
    let mut out = preamble("#", "h2o", export);
    out.push_str(
        "# Use it as the `paths:` of the host that serves the site (h2o built with mruby, as\n\
         # Debian's is). h2o 2.2 sends these links with the page and pushes each rel=preload\n\
         # link without `nopush`.\n\
         paths:\n\
         \x20 /:\n\
         \x20   mruby.handler: |\n\
         \x20     LINKS = {\n",
    );
    for page in &export.pages {
        out.push_str(&comments(page, "        ", "#"));
        let values: Vec<String> = page
            .links
            .iter()
            .filter_map(|l| Some(ruby(&l.pushable_value()?)))
            .collect();
        if values.is_empty() {
            continue;
        }
        for url in page.urls() {
            let _ = writeln!(out, "        {} => [{}],", ruby(url), values.join(", "));
        }
    }
    out.push_str(
        "      }\n\
         \x20     lambda do |env|\n\
         \x20       links = LINKS[env['PATH_INFO']]\n\
         \x20       [399, links ? { 'link' => links.join(\"\\n\") } : {}, []]\n\
         \x20     end\n",
    );
    let _ = writeln!(out, "    file.dir: {}", yaml(docroot));
    out
}

/// A single-quoted YAML scalar.
fn yaml(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A single-quoted Ruby string.
fn ruby(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::super::tests::export;
    use super::*;

    #[test]
    fn one_mruby_table_of_exact_paths_then_the_files() {
        let text = render(&export(), "/srv/site/");
        let body: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        let index = "['</css/site.css?v=1>; rel=preload; as=style', \
                     '</fonts/a.woff2>; rel=preload; as=font; crossorigin', \
                     '</img/big.png>; rel=preload; as=image; nopush']";
        assert_eq!(
            body,
            [
                "paths:",
                "  /:",
                "    mruby.handler: |",
                "      LINKS = {",
                "        '/about.html' => ['</js/app.js?v=2>; rel=preload; as=script; crossorigin'],",
                &format!("        '/' => {index},"),
                &format!("        '/index.html' => {index},"),
                "      }",
                "      lambda do |env|",
                "        links = LINKS[env['PATH_INFO']]",
                "        [399, links ? { 'link' => links.join(\"\\n\") } : {}, []]",
                "      end",
                "    file.dir: '/srv/site'",
            ]
        );
        assert!(text.contains("        #   hint only /img/big.png (over the extra budget)\n"));
    }

    #[test]
    fn quotes_are_escaped_for_yaml_and_ruby() {
        assert_eq!(yaml("/it's"), "'/it''s'");
        assert_eq!(ruby("/it's\\"), "'/it\\'s\\\\'");
    }
}
