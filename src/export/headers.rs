//! Netlify and Cloudflare Pages `_headers`: a block per URL path, one `Link:` line per value
//! (both platforms join repeated fields of a rule with commas, a valid Link list).
//!
//! Which paths serve a page differs:
//! - Netlify (pretty URLs on, its default) answers `/about.html` and `/about`, and `/docs/`
//!   and `/docs/index.html`, each with 200: a block for each.
//! - Cloudflare Pages redirects `/about.html` to `/about` and `/docs/index.html` to `/docs/`
//!   (developers.cloudflare.com/pages/configuration/serving-pages), so only the paths it
//!   serves get a rule: rules are scarce there (see [`CLOUDFLARE_MAX_RULES`]).
//!
//! Cloudflare turns `Link: rel=preload` headers into 103 Early Hints when Early Hints is on
//! for the zone; Netlify sends them with the page only. Neither pushes.

use super::{comments, preamble, Export, PageExport, Rendered};

/// Most rules a Cloudflare Pages `_headers` file may hold ("A _headers file can have a
/// maximum of 100 header rules", Cloudflare Pages limits). Past it `export` warns.
pub const CLOUDFLARE_MAX_RULES: usize = 100;

/// Longest line, in characters, of a Cloudflare Pages `_headers` file, spacing, name and
/// value included (Cloudflare Pages limits: 2,000). Past it `export` warns.
pub const CLOUDFLARE_MAX_LINE: usize = 2000;

/// The platform whose `_headers` dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Netlify,
    Cloudflare,
}

/// The URL paths a platform serves the page at, in a stable order.
fn paths(page: &PageExport, platform: Platform) -> Vec<String> {
    let pretty = page
        .page
        .strip_suffix(".html")
        .filter(|_| page.directory.is_none())
        .map(str::to_owned);
    match platform {
        Platform::Netlify => page
            .urls()
            .into_iter()
            .map(str::to_owned)
            .chain(pretty)
            .collect(),
        Platform::Cloudflare => match (&page.directory, pretty) {
            (Some(dir), _) => vec![dir.clone()],
            (None, Some(pretty)) => vec![pretty],
            (None, None) => vec![page.page.clone()],
        },
    }
}

/// The `_headers` file, and warnings when it breaks Cloudflare's limits.
pub fn render(export: &Export, platform: Platform) -> Rendered {
    let name = match platform {
        Platform::Netlify => "netlify",
        Platform::Cloudflare => "cloudflare",
    };
    let mut out = preamble("#", name, export);
    out.push_str(match platform {
        Platform::Netlify => {
            "# Put it in the publish directory as `_headers`. Netlify sends these Link headers with\n\
             # each page (no 103, no push); pretty URLs (/about for about.html) get a block too.\n"
        }
        Platform::Cloudflare => {
            "# Put it in the build output directory as `_headers`. Cloudflare sends these as 103\n\
             # Early Hints when Early Hints is on. Limits: 100 rules per file, 2,000 characters\n\
             # per line; Pages redirects /x.html to /x and /d/index.html to /d/, so rules name\n\
             # the paths it serves.\n"
        }
    });
    let mut rules = 0;
    for page in &export.pages {
        out.push('\n');
        out.push_str(&comments(page, "", "#"));
        if page.link_values().next().is_none() {
            continue;
        }
        for path in paths(page, platform) {
            rules += 1;
            out.push_str(&path);
            out.push('\n');
            for value in page.link_values() {
                out.push_str("  Link: ");
                out.push_str(value);
                out.push('\n');
            }
        }
    }
    let mut warnings = Vec::new();
    if platform == Platform::Cloudflare {
        if rules > CLOUDFLARE_MAX_RULES {
            warnings.push(format!(
                "{rules} rules: Cloudflare Pages reads at most {CLOUDFLARE_MAX_RULES} per _headers file"
            ));
        }
        let long = out
            .lines()
            .filter(|l| l.chars().count() > CLOUDFLARE_MAX_LINE)
            .count();
        if long > 0 {
            warnings.push(format!(
                "{long} lines longer than Cloudflare Pages' {CLOUDFLARE_MAX_LINE} characters"
            ));
        }
    }
    Rendered {
        text: out,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::export;
    use super::*;

    #[test]
    fn netlify_has_a_block_per_serving_path_with_a_link_line_per_asset() {
        let text = render(&export(), Platform::Netlify).text;
        let body: Vec<&str> = text.lines().skip_while(|l| l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                "",
                "# /about.html: 1 links, 1 pushed (100 B), 0 hint only",
                "/about.html",
                "  Link: </js/app.js?v=2>; rel=modulepreload",
                "/about",
                "  Link: </js/app.js?v=2>; rel=modulepreload",
                "",
                "# /index.html: 3 links, 2 pushed (31.2 KiB), 1 hint only",
                "#   hint only /img/big.png (over the extra budget)",
                "#   skipped https://cdn.example/x.js (in /index.html): other origin",
                "/",
                "  Link: </css/site.css?v=1>; rel=preload; as=style",
                "  Link: </fonts/a.woff2>; rel=preload; as=font; crossorigin",
                "  Link: </img/big.png>; rel=preload; as=image; nopush",
                "/index.html",
                "  Link: </css/site.css?v=1>; rel=preload; as=style",
                "  Link: </fonts/a.woff2>; rel=preload; as=font; crossorigin",
                "  Link: </img/big.png>; rel=preload; as=image; nopush",
            ]
        );
    }

    #[test]
    fn cloudflare_names_only_the_paths_pages_serves() {
        let rendered = render(&export(), Platform::Cloudflare);
        let rules: Vec<&str> = rendered
            .text
            .lines()
            .filter(|l| l.starts_with('/'))
            .collect();
        assert_eq!(rules, ["/about", "/"]);
        assert!(rendered.warnings.is_empty());
    }

    #[test]
    fn cloudflare_limits_are_warned_about() {
        let mut export = export();
        let about = export.pages[0].clone();
        for i in 0..CLOUDFLARE_MAX_RULES {
            let mut page = about.clone();
            page.page = format!("/p{i}.html");
            export.pages.push(page);
        }
        export.pages[0].links[0].link = Some(format!("</{}>; rel=preload", "a".repeat(2000)));
        let warnings = render(&export, Platform::Cloudflare).warnings;
        assert_eq!(
            warnings,
            [
                "102 rules: Cloudflare Pages reads at most 100 per _headers file",
                "1 lines longer than Cloudflare Pages' 2000 characters",
            ]
        );
    }
}
