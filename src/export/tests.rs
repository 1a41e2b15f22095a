//! Unit tests of `export`, and helpers the format modules' tests share; beside it to keep
//! the code file short.

use super::*;
use crate::push::manifest::Destination;

pub fn asset(path: &str, dest: Destination, size: u64) -> Asset {
    Asset {
        path: path.into(),
        file_path: path.split('?').next().unwrap().into(),
        dest,
        module: false,
        mime_type: None,
        crossorigin: (dest == Destination::Font).then(|| "anonymous".into()),
        found_in: "/index.html".into(),
        size,
        critical: matches!(
            dest,
            Destination::Style | Destination::Font | Destination::Script
        ),
    }
}

/// Two pages: the root index (a stylesheet, a font, a big image over a 1 MiB budget, a
/// skipped reference) and `/about.html` (a module script with a query).
pub fn export() -> Export {
    let mut config = Config::new("/nonexistent".into());
    config.push.max_bytes = 1024 * 1024;
    let index = Manifest {
        page: "/index.html".into(),
        assets: vec![
            asset("/css/site.css?v=1", Destination::Style, 2000),
            asset("/fonts/a.woff2", Destination::Font, 30_000),
            asset("/img/big.png", Destination::Image, 5_000_000),
        ],
        skipped: vec![Skipped {
            url: "https://cdn.example/x.js".into(),
            found_in: "/index.html".into(),
            reason: "other origin".into(),
        }],
        ..Manifest::default()
    };
    let mut module = asset("/js/app.js?v=2", Destination::Script, 100);
    module.module = true;
    let about = Manifest {
        page: "/about.html".into(),
        assets: vec![module],
        ..Manifest::default()
    };
    Export {
        origin: scan::DEFAULT_SCAN_ORIGIN.into(),
        push: true,
        push_max_assets: config.push.max_assets,
        push_max_bytes: config.push.max_bytes,
        push_extra_bytes: config.push.extra_bytes,
        pages: vec![
            page_export("/about.html", &about, &config),
            page_export("/index.html", &index, &config),
        ],
        pages_not_scanned: 0,
    }
}

#[test]
fn links_follow_the_serve_rules_with_nopush_past_the_budget() {
    let export = export();
    let index = &export.pages[1];
    assert_eq!(index.directory.as_deref(), Some("/"));
    assert_eq!(index.urls(), ["/", "/index.html"]);
    let links: Vec<&str> = index.link_values().collect();
    assert_eq!(
        links,
        [
            "</css/site.css?v=1>; rel=preload; as=style",
            "</fonts/a.woff2>; rel=preload; as=font; crossorigin",
            "</img/big.png>; rel=preload; as=image; nopush",
        ]
    );
    assert_eq!(index.links[2].reason, Some("over-extra-budget"));
    let about = &export.pages[0];
    assert_eq!(about.directory, None);
    assert_eq!(
        about.link_values().collect::<Vec<_>>(),
        ["</js/app.js?v=2>; rel=modulepreload"]
    );
}

#[test]
fn the_header_comment_names_an_origin_only_when_one_was_given() {
    let mut export = export();
    let text = preamble("#", "nginx", &export);
    assert!(!text.contains("8443") && !text.contains("origin"), "{text}");
    export.origin = "https://example.org/".into();
    let text = preamble("#", "nginx", &export);
    assert!(
        text.contains("(origin https://example.org/, push on"),
        "{text}"
    );
}

#[test]
fn with_push_off_nothing_is_marked_nopush() {
    let mut config = Config::new("/nonexistent".into());
    config.push.push = false;
    let manifest = Manifest {
        page: "/a.html".into(),
        assets: vec![asset("/a.css", Destination::Style, 10)],
        ..Manifest::default()
    };
    let page = page_export("/a.html", &manifest, &config);
    assert_eq!(
        page.link_values().collect::<Vec<_>>(),
        ["</a.css>; rel=preload; as=style"]
    );
    assert_eq!(page.links[0].reason, Some("push-off"));
}

#[test]
fn notes_explain_hints_and_skips_without_line_breaks() {
    let mut page = export().pages[1].clone();
    page.skipped[0].url = "/evil\n/x".into();
    let notes = page.notes();
    assert_eq!(
        notes,
        [
            "/index.html: 3 links, 2 pushed (31.2 KiB), 1 hint only",
            "  hint only /img/big.png (over the extra budget)",
            "  skipped /evil?/x (in /index.html): other origin",
        ]
    );
}

#[test]
fn a_pushed_module_script_becomes_a_cors_script_preload_for_pushing_servers() {
    let mut link = export().pages[0].links[0].clone();
    assert_eq!(
        link.pushable_value().unwrap(),
        "</js/app.js?v=2>; rel=preload; as=script; crossorigin"
    );
    link.action = "hint";
    assert_eq!(
        link.pushable_value().unwrap(),
        "</js/app.js?v=2>; rel=modulepreload"
    );
    let font = export().pages[1].links[1].clone();
    assert_eq!(font.pushable_value(), font.link);
}

#[test]
fn only_index_html_pages_have_a_directory_url() {
    let config = Config::new("/nonexistent".into());
    let m = Manifest::default();
    let dir = |p: &str| page_export(p, &m, &config).directory;
    assert_eq!(dir("/docs/index.html").as_deref(), Some("/docs/"));
    assert_eq!(dir("/docs/myindex.html"), None);
    assert_eq!(dir("/about.html"), None);
}
