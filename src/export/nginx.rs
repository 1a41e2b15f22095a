//! nginx: an include file with an exact-match `location` per page and an `add_header Link`
//! per asset, for the `server` block that serves the site (its `root` is inherited).
//!
//! A directory URL (`/`, `/docs/`) needs no location of its own: `index` answers it with an
//! internal redirect to its `index.html`, whose location adds the headers. A value with `$`
//! is left out (nginx reads `$name` as a variable and has no escape for it).

use super::{comments, double_quoted, preamble, Export};

/// The include file.
pub fn render(export: &Export) -> String {
    let mut out = preamble("#", "nginx", export);
    out.push_str(
        "# Include it inside the `server` block that serves the site:  include h2push-links.conf;\n\
         # A location with its own add_header drops the add_header directives it would inherit\n\
         # from the server or http level: repeat those here if these pages need them.\n\
         # nginx sends the Link headers with the page only. It pushes nothing; 103 Early Hints\n\
         # come with nginx >= 1.29 (`early_hints`), which passes on the 103 of a proxied backend\n\
         # such as `h2push serve`; nginx 1.22 (Debian 12) has neither.\n",
    );
    for page in &export.pages {
        out.push('\n');
        out.push_str(&comments(page, "", "#"));
        let mut lines = String::new();
        for value in page.link_values() {
            if value.contains('$') {
                lines.push_str(&format!(
                    "    # left out (nginx would read its $ as a variable): {value}\n"
                ));
            } else {
                lines.push_str(&format!(
                    "    add_header Link {} always;\n",
                    double_quoted(value)
                ));
            }
        }
        if !lines.is_empty() {
            out.push_str(&format!(
                "location = {} {{\n{lines}}}\n",
                double_quoted(&page.page)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::export;
    use super::*;

    #[test]
    fn one_exact_location_per_page_with_quoted_values() {
        let mut export = export();
        export.pages[0].links[0].link = Some("</a.js>; rel=preload; type=\"text/x\"".into());
        let text = render(&export);
        let body: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.is_empty())
            .collect();
        assert_eq!(
            body,
            [
                "location = \"/about.html\" {",
                "    add_header Link \"</a.js>; rel=preload; type=\\\"text/x\\\"\" always;",
                "}",
                "location = \"/index.html\" {",
                "    add_header Link \"</css/site.css?v=1>; rel=preload; as=style\" always;",
                "    add_header Link \"</fonts/a.woff2>; rel=preload; as=font; crossorigin\" always;",
                "    add_header Link \"</img/big.png>; rel=preload; as=image; nopush\" always;",
                "}",
            ]
        );
        assert!(text.contains("# /index.html: 3 links, 2 pushed"));
        assert!(text.contains("#   hint only /img/big.png (over the extra budget)"));
    }

    #[test]
    fn values_with_a_dollar_are_left_out_with_a_comment() {
        let mut export = export();
        export.pages[0].links[0].link = Some("</a$b.js>; rel=preload".into());
        let text = render(&export);
        assert!(text.contains("    # left out (nginx would read its $ as a variable): </a$b.js>"));
        assert!(!text.contains("add_header Link \"</a$b"));
    }
}
