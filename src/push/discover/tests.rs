//! Unit tests of `discover` on a site in memory.

use super::*;

/// A site in memory: URL path → contents.
#[derive(Default)]
struct MemSite(HashMap<String, Vec<u8>>);

impl MemSite {
    fn with(files: &[(&str, &str)]) -> MemSite {
        let files = files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()));
        MemSite(files.collect())
    }
}

impl SiteFiles for MemSite {
    fn size(&self, url_path: &str) -> Option<u64> {
        self.0.get(url_path).map(|c| c.len() as u64)
    }
    fn read(&self, url_path: &str, max: usize) -> Option<Vec<u8>> {
        self.0.get(url_path).map(|c| c[..c.len().min(max)].to_vec())
    }
}

fn origin() -> Url {
    Url::parse("https://localhost:8443/").unwrap()
}

fn run(site: &MemSite, page: &str, html: &str) -> Manifest {
    discover(site, page, html.as_bytes(), &origin(), &Limits::default())
}

fn paths(manifest: &Manifest) -> Vec<&str> {
    manifest.assets.iter().map(|a| a.path.as_str()).collect()
}

fn asset<'m>(manifest: &'m Manifest, path: &str) -> &'m Asset {
    let found = manifest.assets.iter().find(|a| a.path == path);
    found.unwrap_or_else(|| panic!("{path} not in {:?}", paths(manifest)))
}

fn reason<'m>(manifest: &'m Manifest, url: &str) -> &'m str {
    let found = manifest.skipped.iter().find(|s| s.url == url);
    &found
        .unwrap_or_else(|| panic!("{url} not in {:?}", manifest.skipped))
        .reason
}

#[test]
fn relative_paths_and_queries_are_kept_exactly() {
    let site = MemSite::with(&[
        ("/blog/style.css", ""),
        ("/img/a.png", "png"),
        ("/js/app.js", ""),
        ("/blog/x%20y.png", ""),
    ]);
    let m = run(
        &site,
        "/blog/post.html",
        r#"<link rel=stylesheet href="style.css?v=3&amp;b=%41">
           <img src="../img/a.png#frag"> <img src="x y.png">
           <script src="/js/app.js?"></script>"#,
    );
    assert_eq!(
        paths(&m),
        [
            "/blog/style.css?v=3&b=%41",
            "/js/app.js?",
            "/img/a.png",
            "/blog/x%20y.png"
        ]
    );
    let css = asset(&m, "/blog/style.css?v=3&b=%41");
    assert_eq!(css.file_path, "/blog/style.css");
    assert_eq!(css.found_in, "/blog/post.html");
    assert_eq!(asset(&m, "/img/a.png").size, 3);
}

#[test]
fn directory_pages_resolve_against_their_url_path() {
    let site = MemSite::with(&[("/docs/a.css", "")]);
    let m = run(&site, "/docs/", "<link rel=stylesheet href=a.css>");
    assert_eq!(paths(&m), ["/docs/a.css"]);
}

#[test]
fn base_href_relative_and_absolute() {
    let site = MemSite::with(&[("/blog/static/a.css", ""), ("/assets/b.js", "")]);
    let m = run(
        &site,
        "/blog/post.html",
        r#"<link rel=stylesheet href=a.css><base href="static/"><base href="/ignored/">"#,
    );
    assert_eq!(paths(&m), ["/blog/static/a.css"]);

    let m = run(
        &site,
        "/blog/post.html",
        r#"<base href="https://localhost:8443/assets/"><script src=b.js></script>"#,
    );
    assert_eq!(paths(&m), ["/assets/b.js"]);

    // A base on another origin takes every relative link with it.
    let m = run(
        &site,
        "/blog/post.html",
        r#"<base href="https://cdn.test/"><script src=b.js></script>"#,
    );
    assert!(m.assets.is_empty());
    assert_eq!(reason(&m, "https://cdn.test/b.js"), "other origin");
}

#[test]
fn base_href_with_a_bad_scheme_is_ignored() {
    let site = MemSite::with(&[("/a.js", "")]);
    let m = run(
        &site,
        "/",
        r#"<base href="javascript:void(0)"><script src=a.js></script>"#,
    );
    assert_eq!(paths(&m), ["/a.js"]);
}

#[test]
fn external_and_non_http_urls_are_dropped() {
    let site = MemSite::with(&[("/y.js", ""), ("/ok.png", "")]);
    let m = run(
        &site,
        "/",
        r#"<script src="//cdn.x/y.js"></script><script src="https://other/y.js"></script>
           <script src="http://localhost:8443/y.js"></script>
           <script src="https://localhost:9999/y.js"></script>
           <img src="data:image/png;base64,AAAA"><img src="javascript:alert(1)">
           <img src="mailto:a@b.c"><img src=""><img src="   "><img src=" ok.png ">"#,
    );
    assert_eq!(paths(&m), ["/ok.png"]);
    for url in [
        "https://cdn.x/y.js",
        "https://other/y.js",
        "http://localhost:8443/y.js",
        "https://localhost:9999/y.js",
    ] {
        assert_eq!(reason(&m, url), "other origin");
    }
    assert_eq!(m.skipped.len(), 4, "{:?}", m.skipped);
}

#[test]
fn only_fetching_rels_count_and_case_does_not_matter() {
    let site = MemSite::with(&[
        ("/a.css", ""),
        ("/b.css", ""),
        ("/next.html", ""),
        ("/alt.css", ""),
        ("/fav.ico", ""),
        ("/x.js", ""),
    ]);
    let m = run(
        &site,
        "/",
        r#"<link rel=next href=next.html><link rel=canonical href=/next.html>
           <link rel=alternate href=next.html><link rel=prefetch href=x.js>
           <link rel="alternate stylesheet" href=alt.css><link rel=author href=a.css>
           <link rel="  StyleSheet " href=a.css><link rel="PRELOAD" as="Style" href=b.css>
           <link rel="shortcut icon" href=fav.ico><a href=x.js>x</a>
           <link rel=stylesheet type=text/less href=alt.css>"#,
    );
    assert_eq!(paths(&m), ["/a.css", "/b.css"]);
    assert!(reason(&m, "https://localhost:8443/fav.ico").starts_with("icon:"));
}

#[test]
fn lazy_images_are_skipped_but_eager_ones_and_posters_count() {
    let site = MemSite::with(&[
        ("/lazy.png", ""),
        ("/eager.png", ""),
        ("/poster.jpg", ""),
        ("/button.png", ""),
        ("/text.png", ""),
    ]);
    let m = run(
        &site,
        "/",
        r#"<img src=lazy.png loading=LAZY><img src=eager.png loading=eager>
           <video poster=poster.jpg></video><input type=Image src=button.png>
           <input type=text src=text.png>"#,
    );
    assert_eq!(paths(&m), ["/eager.png", "/poster.jpg", "/button.png"]);
}

#[test]
fn import_chain_orders_imported_sheets_first() {
    let site = MemSite::with(&[
        (
            "/css/a.css",
            "@import 'b.css'; .a { background: url(../img/a.png) }",
        ),
        ("/css/b.css", "@import url(sub/c.css);"),
        (
            "/css/sub/c.css",
            "@font-face { src: url(../../fonts/f.woff2) }",
        ),
        ("/img/a.png", ""),
        ("/fonts/f.woff2", ""),
    ]);
    let m = run(&site, "/", "<link rel=stylesheet href=/css/a.css>");
    assert_eq!(
        paths(&m),
        [
            "/css/sub/c.css",
            "/css/b.css",
            "/css/a.css",
            "/fonts/f.woff2",
            "/img/a.png"
        ]
    );
    assert_eq!(asset(&m, "/css/sub/c.css").found_in, "/css/b.css");
    assert_eq!(asset(&m, "/css/b.css").found_in, "/css/a.css");
    assert_eq!(asset(&m, "/css/a.css").found_in, "/");
    assert_eq!(asset(&m, "/fonts/f.woff2").found_in, "/css/sub/c.css");
    assert_eq!(m.css_files, ["/css/a.css", "/css/b.css", "/css/sub/c.css"]);
}

#[test]
fn import_cycles_terminate_with_each_sheet_once() {
    let site = MemSite::with(&[
        ("/a.css", "@import 'b.css'; @import 'a.css';"),
        ("/b.css", "@import 'a.css'; @import 'b.css';"),
    ]);
    let m = run(
        &site,
        "/",
        "<link rel=stylesheet href=a.css><link rel=stylesheet href=b.css>",
    );
    assert_eq!(paths(&m), ["/b.css", "/a.css"]);
    assert_eq!(m.css_files, ["/a.css", "/b.css"]);
    assert!(m.skipped.is_empty(), "{:?}", m.skipped);
}

#[test]
fn import_depth_limit() {
    let site = MemSite::with(&[
        ("/a.css", "@import 'b.css';"),
        ("/b.css", "@import 'c.css';"),
        ("/c.css", "@import 'd.css';"),
        ("/d.css", ""),
    ]);
    let limits = Limits {
        max_import_depth: 1,
        ..Limits::default()
    };
    let html = b"<link rel=stylesheet href=a.css>";
    let m = discover(&site, "/", html, &origin(), &limits);
    assert_eq!(paths(&m), ["/b.css", "/a.css"]);
    assert_eq!(
        reason(&m, "https://localhost:8443/c.css"),
        "import depth limit"
    );
    assert_eq!(m.css_files, ["/a.css", "/b.css"]);
}

#[test]
fn fonts_get_font_destination_and_crossorigin() {
    let site = MemSite::with(&[
        (
            "/s.css",
            "@font-face { src: url(f.woff2) format('woff2'), url(f.bin) }",
        ),
        ("/f.woff2", ""),
        ("/f.bin", ""),
        ("/p.woff2", ""),
    ]);
    let m = run(
        &site,
        "/",
        r#"<link rel=stylesheet href=s.css>
           <link rel=preload as=font type=font/woff2 href=p.woff2>"#,
    );
    assert_eq!(paths(&m), ["/s.css", "/f.woff2", "/f.bin", "/p.woff2"]);
    for path in ["/f.woff2", "/f.bin", "/p.woff2"] {
        let font = asset(&m, path);
        assert_eq!(font.dest, Destination::Font);
        assert_eq!(font.crossorigin.as_deref(), Some("anonymous"));
    }
    assert_eq!(
        asset(&m, "/p.woff2").link_value(),
        r#"</p.woff2>; rel=preload; as=font; type="font/woff2"; crossorigin"#
    );
    assert_eq!(
        asset(&m, "/f.bin").link_value(),
        "</f.bin>; rel=preload; as=font; crossorigin"
    );
}

#[test]
fn css_images_and_inline_style() {
    let site = MemSite::with(&[
        (
            "/css/s.css",
            ".a { background: url(bg.png) } .b { background: url(/none.png) }",
        ),
        ("/css/bg.png", ""),
        ("/static/inline.png", ""),
        ("/static/inl.css", ""),
        ("/noext", ""),
    ]);
    let m = run(
        &site,
        "/page.html",
        r#"<base href=/static/><link rel=stylesheet href=/css/s.css>
           <style>@import "inl.css"; .c { background: url(inline.png) } .d { cursor: url(/noext) }</style>"#,
    );
    assert_eq!(
        paths(&m),
        [
            "/css/s.css",
            "/static/inl.css",
            "/css/bg.png",
            "/static/inline.png",
            "/noext"
        ]
    );
    assert_eq!(asset(&m, "/css/bg.png").found_in, "/css/s.css");
    assert_eq!(asset(&m, "/static/inline.png").found_in, "/page.html");
    assert_eq!(asset(&m, "/noext").dest, Destination::Image);
    assert_eq!(reason(&m, "https://localhost:8443/none.png"), "not found");
}

#[test]
fn duplicates_keep_first_entry_and_most_urgent_class() {
    let site = MemSite::with(&[("/app.js", ""), ("/a.png", ""), ("/s.css", "")]);
    let m = run(
        &site,
        "/",
        r#"<img src=a.png><script async src=app.js></script><img src=/a.png#x>
           <script src=app.js></script><link rel=stylesheet href=s.css>
           <link rel=stylesheet href=./s.css><script src=app.js?v=1></script>"#,
    );
    assert_eq!(paths(&m), ["/s.css", "/app.js", "/app.js?v=1", "/a.png"]);
    assert_eq!(m.css_files, ["/s.css"]);
}

#[test]
fn missing_files_are_reported_once() {
    let site = MemSite::with(&[(
        "/s.css",
        "@import 'gone.css'; .a { background: url(gone.png) }",
    )]);
    let m = run(
        &site,
        "/",
        "<link rel=stylesheet href=s.css><img src=gone.png><script src=gone.js></script>",
    );
    assert_eq!(paths(&m), ["/s.css"]);
    let skipped: Vec<(&str, &str, &str)> = m
        .skipped
        .iter()
        .map(|s| (s.url.as_str(), s.found_in.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("https://localhost:8443/gone.css", "/s.css", "not found"),
            ("https://localhost:8443/gone.png", "/s.css", "not found"),
            ("https://localhost:8443/gone.js", "/", "not found"),
        ]
    );
}

#[test]
fn max_assets_keeps_the_most_urgent() {
    let site = MemSite::with(&[
        ("/1.png", ""),
        ("/2.png", ""),
        ("/s.css", ""),
        ("/a.js", ""),
    ]);
    let limits = Limits {
        max_assets: 2,
        ..Limits::default()
    };
    let html =
        b"<img src=1.png><img src=2.png><script src=a.js></script><link rel=stylesheet href=s.css>";
    let m = discover(&site, "/", html, &origin(), &limits);
    assert_eq!(paths(&m), ["/s.css", "/a.js"]);
    assert_eq!(
        reason(&m, "https://localhost:8443/1.png"),
        "asset limit (2)"
    );
    assert_eq!(
        reason(&m, "https://localhost:8443/2.png"),
        "asset limit (2)"
    );
}

#[test]
fn html_beyond_the_limit_is_not_read() {
    let site = MemSite::with(&[("/a.js", ""), ("/b.js", "")]);
    let html = "<script src=a.js></script><script src=b.js></script>";
    let limits = Limits {
        max_html_bytes: html.find("<script src=b").unwrap(),
        ..Limits::default()
    };
    let m = discover(&site, "/", html.as_bytes(), &origin(), &limits);
    assert_eq!(paths(&m), ["/a.js"]);
}

#[test]
fn css_beyond_the_limit_is_not_read() {
    let css = ".a { background: url(a.png) } .b { background: url(b.png) }";
    let site = MemSite::with(&[("/s.css", css), ("/a.png", ""), ("/b.png", "")]);
    let limits = Limits {
        max_css_bytes: css.find(".b").unwrap(),
        ..Limits::default()
    };
    let m = discover(
        &site,
        "/",
        b"<link rel=stylesheet href=s.css>",
        &origin(),
        &limits,
    );
    assert_eq!(paths(&m), ["/s.css", "/a.png"]);
}

#[test]
fn ordering_across_classes() {
    let site = MemSite::with(&[
        ("/i.png", ""),
        ("/async.js", ""),
        ("/mod.js", ""),
        ("/dep.js", ""),
        ("/defer.js", ""),
        ("/block.js", ""),
        ("/pre.js", ""),
        ("/f.woff2", ""),
        ("/s.css", ""),
        ("/data.json", ""),
        ("/fav.ico", ""),
        ("/async-mod.js", ""),
    ]);
    let m = run(
        &site,
        "/",
        r#"<link rel=icon href=fav.ico><link rel=preload as=fetch href=data.json crossorigin>
           <img src=i.png><script async src=async.js></script>
           <script type=module src=mod.js></script><link rel=modulepreload href=dep.js>
           <script defer src=defer.js></script><script src=block.js></script>
           <script type=module async src=async-mod.js></script>
           <link rel=preload as=script href=pre.js><link rel=preload as=font href=f.woff2>
           <link rel=stylesheet href=s.css>"#,
    );
    assert_eq!(
        paths(&m),
        [
            "/s.css",
            "/f.woff2",
            "/block.js",
            "/pre.js",
            "/mod.js",
            "/dep.js",
            "/defer.js",
            "/async.js",
            "/async-mod.js",
            "/i.png",
            "/data.json",
        ]
    );
    let module = asset(&m, "/mod.js");
    assert!(module.module && module.dest == Destination::Script);
    assert!(!asset(&m, "/defer.js").module);
    assert_eq!(asset(&m, "/data.json").dest, Destination::Fetch);
}

#[test]
fn scripts_the_browser_would_not_fetch_are_left_out() {
    let site = MemSite::with(&[
        ("/tpl.js", ""),
        ("/old.js", ""),
        ("/json.js", ""),
        ("/js.js", ""),
        ("/legacy.js", ""),
    ]);
    let m = run(
        &site,
        "/",
        r#"<script type=text/template src=tpl.js></script><script nomodule src=old.js></script>
           <script type=importmap src=json.js></script>
           <script type="text/JavaScript" src=js.js></script>
           <script type="application/x-javascript" src=legacy.js></script>
           <template><script src=tpl.js></script></template>"#,
    );
    assert_eq!(paths(&m), ["/js.js", "/legacy.js"]);
}

#[test]
fn preloads() {
    let site = MemSite::with(&[
        ("/p.css", "@import 'q.css';"),
        ("/q.css", ""),
        ("/v.mp4", ""),
        ("/none", ""),
        ("/img.avif", ""),
    ]);
    let m = run(
        &site,
        "/",
        r#"<link rel=preload as=style href=p.css><link rel=preload as=video href=v.mp4>
           <link rel=preload href=none><link rel=preload as=image href=img.avif
           type='image/avif"; x=' crossorigin=USE-CREDENTIALS>"#,
    );
    assert_eq!(paths(&m), ["/q.css", "/p.css", "/img.avif"]);
    assert_eq!(m.css_files, ["/p.css", "/q.css"]);
    assert_eq!(
        reason(&m, "https://localhost:8443/v.mp4"),
        "preload as=video is not supported"
    );
    assert_eq!(
        reason(&m, "https://localhost:8443/none"),
        "preload as=(none) is not supported"
    );
    // The unsafe type is dropped rather than put in a header.
    assert_eq!(
        asset(&m, "/img.avif").link_value(),
        "</img.avif>; rel=preload; as=image; crossorigin=use-credentials"
    );
}

#[test]
fn link_values() {
    let site = MemSite::with(&[("/m.js", ""), ("/c.js", ""), ("/a.css", "")]);
    let m = run(
        &site,
        "/",
        r#"<link rel=stylesheet href=a.css?v=3><script type=module src=m.js></script>
           <script src=c.js crossorigin></script>"#,
    );
    let links: Vec<String> = m.assets.iter().map(Asset::link_value).collect();
    assert_eq!(
        links,
        [
            "</a.css?v=3>; rel=preload; as=style",
            "</c.js>; rel=preload; as=script; crossorigin",
            "</m.js>; rel=modulepreload",
        ]
    );
}

#[test]
fn garbage_html_does_not_panic() {
    let mut bytes: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    bytes.extend_from_slice(b"<link rel=stylesheet href=s.css>");
    let site = MemSite::with(&[("/s.css", "\u{0}{{{{(((url(")]);
    let _ = discover(&site, "/", &bytes, &origin(), &Limits::default());
    // No element stack is kept for HTML, so deep nesting hides nothing.
    let deep = "<div>".repeat(100_000) + "<img src=s.css>";
    assert_eq!(paths(&run(&site, "/", &deep)), ["/s.css"]);
    let m = run(&site, "/", "<style>@import 'x.css'");
    assert_eq!(reason(&m, "https://localhost:8443/x.css"), "not found");
    let m = discover(
        &site,
        "::bad",
        b"<img src=s.css>",
        &origin(),
        &Limits::default(),
    );
    assert_eq!(paths(&m), ["/s.css"]);
}

/// A site that counts the lookups discovery makes.
struct Counting<'s>(&'s MemSite, std::cell::Cell<usize>);

impl SiteFiles for Counting<'_> {
    fn size(&self, url_path: &str) -> Option<u64> {
        self.1.set(self.1.get() + 1);
        self.0.size(url_path)
    }
    fn read(&self, url_path: &str, max: usize) -> Option<Vec<u8>> {
        self.0.read(url_path, max)
    }
}

#[test]
fn each_file_is_looked_up_once_however_often_it_is_referenced() {
    let site = MemSite::with(&[("/a.png", "")]);
    let counting = Counting(&site, Default::default());
    let html = "<img src=a.png><img src=gone.png><img src=https://cdn.test/x.png>".repeat(300);
    let m = discover(
        &counting,
        "/",
        html.as_bytes(),
        &origin(),
        &Limits::default(),
    );
    assert_eq!(paths(&m), ["/a.png"]);
    assert_eq!(m.skipped.len(), 2, "{:?}", m.skipped);
    assert_eq!(counting.1.get(), 2, "a.png and gone.png, once each");
    assert_eq!(m.incomplete, None);
}

#[test]
fn references_past_the_budget_are_not_looked_at_and_the_manifest_says_so() {
    let many: String = (0..MAX_REFERENCES + 100)
        .map(|i| format!(".c{i} {{ background: url(n{i}.png) }}\n"))
        .collect();
    let site = MemSite::with(&[("/s.css", &many), ("/late.png", ""), ("/early.js", "")]);
    let counting = Counting(&site, Default::default());
    let html = b"<script src=early.js></script><link rel=stylesheet href=s.css><img src=late.png>";
    let m = discover(&counting, "/", html, &origin(), &Limits::default());
    assert_eq!(paths(&m), ["/s.css", "/early.js"]);
    assert_eq!(
        m.incomplete.as_deref(),
        Some(format!("more than {MAX_REFERENCES} references").as_str())
    );
    assert_eq!(counting.1.get(), MAX_REFERENCES);
    assert!(m.skipped.len() < MAX_REFERENCES, "{}", m.skipped.len());
}

#[test]
fn the_manifest_names_its_page_and_a_cut_walk() {
    let site = MemSite::default();
    assert_eq!(run(&site, "/docs/", "").page, "/docs/");
    let html = "<img src=a.png>".repeat(crate::push::html_scan::MAX_ELEMENTS + 1);
    let m = run(&site, "/", &html);
    assert_eq!(
        m.incomplete.as_deref(),
        Some(
            format!(
                "more than {} linking elements",
                crate::push::html_scan::MAX_ELEMENTS
            )
            .as_str()
        )
    );
}
