//! h2o: a `paths:` mapping for a host. Each page file gets its own entry (`file.file` and a
//! `header.add` per Link); h2o 2.2 pushes every `rel=preload` Link without `nopush`
//! (`http2-push-preload`, on by default) and sends the rest with the page.
//!
//! h2o matches `paths` by prefix, first entry first, so an entry for `/` or `/docs/` would
//! cover everything under it: directory URLs get their links from a small mruby handler on
//! the last entry, `/`, which answers exact paths with a 399 (h2o's "go on to the next
//! handler") carrying the `link` headers, before `file.dir` serves the rest of the site.

use std::fmt::Write as _;

use percent_encoding::percent_decode_str;

use super::{comments, preamble, Export};

/// The `paths:` mapping; `docroot` is the site's directory on the h2o host.
pub fn render(export: &Export, docroot: &str) -> String {
    let docroot = docroot.trim_end_matches('/');
    let mut out = preamble("#", "h2o", export);
    out.push_str(
        "# Use it as the `paths:` of the host that serves the site: entries match by prefix, the\n\
         # first match wins, so the page entries come first and `/` (the rest of the site) last.\n\
         # h2o 2.2 pushes each rel=preload link that has no `nopush`.\n\
         paths:\n",
    );
    let mut directories = Vec::new();
    for page in &export.pages {
        out.push_str(&comments(page, "  ", "#"));
        let values: Vec<&str> = page.link_values().collect();
        if values.is_empty() {
            continue;
        }
        let file = percent_decode_str(&page.page).decode_utf8_lossy();
        let _ = writeln!(out, "  {}:", yaml(&page.page));
        let _ = writeln!(out, "    file.file: {}", yaml(&format!("{docroot}{file}")));
        out.push_str("    header.add:\n");
        for value in &values {
            let _ = writeln!(out, "      - {}", yaml(&format!("Link: {value}")));
        }
        if let Some(dir) = &page.directory {
            directories.push((dir.as_str(), values));
        }
    }
    out.push_str("  /:\n");
    if !directories.is_empty() {
        out.push_str(
            "    # Directory URLs: the links of their index page, for exactly these paths.\n\
             \x20   mruby.handler: |\n\
             \x20     LINKS = {\n",
        );
        for (dir, values) in &directories {
            let list: Vec<String> = values.iter().map(|v| ruby(v)).collect();
            let _ = writeln!(out, "        {} => [{}],", ruby(dir), list.join(", "));
        }
        out.push_str(
            "      }\n\
             \x20     lambda do |env|\n\
             \x20       links = LINKS[env['PATH_INFO']]\n\
             \x20       [399, links ? { 'link' => links.join(\"\\n\") } : {}, []]\n\
             \x20     end\n",
        );
    }
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
    fn page_entries_then_the_root_with_links_for_directory_urls() {
        let text = render(&export(), "/srv/site/");
        let body: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        assert_eq!(
            body,
            [
                "paths:",
                "  '/about.html':",
                "    file.file: '/srv/site/about.html'",
                "    header.add:",
                "      - 'Link: </js/app.js?v=2>; rel=modulepreload'",
                "  '/index.html':",
                "    file.file: '/srv/site/index.html'",
                "    header.add:",
                "      - 'Link: </css/site.css?v=1>; rel=preload; as=style'",
                "      - 'Link: </fonts/a.woff2>; rel=preload; as=font; crossorigin'",
                "      - 'Link: </img/big.png>; rel=preload; as=image; nopush'",
                "  /:",
                "    mruby.handler: |",
                "      LINKS = {",
                "        '/' => ['</css/site.css?v=1>; rel=preload; as=style', \
                 '</fonts/a.woff2>; rel=preload; as=font; crossorigin', \
                 '</img/big.png>; rel=preload; as=image; nopush'],",
                "      }",
                "      lambda do |env|",
                "        links = LINKS[env['PATH_INFO']]",
                "        [399, links ? { 'link' => links.join(\"\\n\") } : {}, []]",
                "      end",
                "    file.dir: '/srv/site'",
            ]
        );
    }

    #[test]
    fn quotes_are_escaped_for_yaml_and_ruby() {
        assert_eq!(yaml("/it's"), "'/it''s'");
        assert_eq!(ruby("/it's\\"), "'/it\\'s\\\\'");
    }

    #[test]
    fn file_paths_are_decoded() {
        let mut export = export();
        export.pages[0].page = "/a%20b.html".into();
        let text = render(&export, "/srv");
        assert!(text.contains("    file.file: '/srv/a b.html'\n"), "{text}");
    }
}
