//! `h2push scan` as a user runs it: the table and `--json` on a small site, budgets, bad
//! arguments, and agreement with what the server really pushes for the same page.

mod common;

use std::process::{Command, Output};
use std::time::Duration;

use common::{config, site, TestServer};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_h2push");

const INDEX: &str = r#"<!doctype html>
<html><head>
<link rel="stylesheet" href="css/site.css?v=2">
<script src="https://cdn.example/lib.js"></script>
<script src="js/app.js" defer></script>
</head><body><img src="img/big.png"><img src="missing.png"></body></html>"#;

const DOC: &str = r#"<!doctype html>
<html><head><link rel="stylesheet" href="../css/site.css?v=2"></head>
<body><img src="pic.png"></body></html>"#;

fn scan_site() -> tempfile::TempDir {
    site(&[
        ("index.html", INDEX.as_bytes()),
        ("docs/guide.html", DOC.as_bytes()),
        ("docs/pic.png", &[3u8; 100]),
        (
            "css/site.css",
            b"@font-face { font-family: F; src: url(../fonts/f.woff2) }\n",
        ),
        ("fonts/f.woff2", &[7u8; 3000]),
        ("img/big.png", &[1u8; 50_000]),
        ("js/app.js", b"console.log(1)\n"),
        // Hidden from clients, so never scanned.
        (".drafts/secret.html", DOC.as_bytes()),
        ("notes.txt", b"not a page"),
    ])
}

fn scan(args: &[&str]) -> Output {
    Command::new(BIN).arg("scan").args(args).output().unwrap()
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = scan(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("scan --json prints JSON")
}

fn page<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["page"] == path)
        .unwrap_or_else(|| panic!("{path} not in {report:#}"))
}

fn rows(page: &Value) -> Vec<(String, String, u64, String, String)> {
    page["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_owned(),
                a["as"].as_str().unwrap().to_owned(),
                a["size"].as_u64().unwrap(),
                a["found_in"].as_str().unwrap().to_owned(),
                a["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn json_lists_every_page_with_its_manifest_and_plan() {
    let dir = scan_site();
    let report = json(&[dir.path().to_str().unwrap()]);
    let pages: Vec<&str> = report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["page"].as_str().unwrap())
        .collect();
    assert_eq!(
        pages,
        ["/docs/guide.html", "/index.html"],
        "sorted, dot-directories left out"
    );
    let s = |v: &str| v.to_string();
    assert_eq!(
        rows(page(&report, "/index.html")),
        [
            (
                s("/css/site.css?v=2"),
                s("style"),
                58,
                s("/index.html"),
                s("push")
            ),
            (
                s("/fonts/f.woff2"),
                s("font"),
                3000,
                s("/css/site.css"),
                s("push")
            ),
            (
                s("/js/app.js"),
                s("script"),
                15,
                s("/index.html"),
                s("push")
            ),
            (
                s("/img/big.png"),
                s("image"),
                50_000,
                s("/index.html"),
                s("push")
            ),
        ]
    );
    let skipped: Vec<&str> = page(&report, "/index.html")["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["url"].as_str().unwrap())
        .collect();
    assert!(
        skipped.iter().any(|u| u.contains("cdn.example"))
            && skipped.iter().any(|u| u.ends_with("/missing.png")),
        "{skipped:?}"
    );
    assert_eq!(
        rows(page(&report, "/docs/guide.html"))
            .iter()
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>(),
        ["/css/site.css?v=2", "/fonts/f.woff2", "/docs/pic.png"],
        "relative links resolve from the sub-directory"
    );
    assert_eq!(report["summary"]["pages"], 2);
    assert_eq!(report["summary"]["assets"], 7);
    assert_eq!(report["summary"]["distinct_assets"], 5);
}

#[test]
fn budget_flags_turn_pushes_into_hints_with_the_reason() {
    let dir = scan_site();
    let root = dir.path().to_str().unwrap();
    let report = json(&[
        root,
        "/index.html",
        "--push-max-bytes",
        "1000",
        "--push-extra-bytes",
        "10000",
    ]);
    let index = page(&report, "/index.html");
    let actions: Vec<(&str, &str)> = index["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap(),
                a["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("push", "critical"),
            ("hint", "over-safety-cap"),
            ("push", "critical"),
            ("hint", "over-extra-budget")
        ]
    );

    let report = json(&[root, "index.html", "--push-max-assets", "1"]);
    let reasons: Vec<&str> = page(&report, "/index.html")["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["reason"].as_str().unwrap_or("push"))
        .collect();
    assert_eq!(
        reasons,
        [
            "critical",
            "budget-assets",
            "budget-assets",
            "budget-assets"
        ]
    );
}

#[test]
fn the_table_is_readable_and_ends_with_a_summary() {
    let dir = scan_site();
    let root = dir.path().to_str().unwrap();
    let guide = dir.path().join("docs/guide.html");
    let out = scan(&[root, guide.to_str().unwrap(), "--push-max-assets", "2"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "/docs/guide.html  3 assets: 2 push (3.0 KiB), 1 hint",
        "{text}"
    );
    assert!(lines[1].trim_start().starts_with("PATH"), "{text}");
    let pic = lines.iter().find(|l| l.contains("/docs/pic.png")).unwrap();
    assert!(
        pic.contains("image") && pic.contains("100 B") && pic.contains("/docs/guide.html"),
        "{pic}"
    );
    assert!(pic.ends_with("hint (over the asset budget)"), "{pic}");
    let summary = lines.last().unwrap();
    assert!(
        summary.starts_with("scanned 1 page in ")
            && summary.ends_with(": 3 assets (3 distinct), 2 push, 1 hint, 0 skipped"),
        "{summary}"
    );
}

#[test]
fn bad_dir_or_page_is_one_line_and_exit_2() {
    let dir = scan_site();
    let root = dir.path().to_str().unwrap();
    for (args, says) in [
        (
            vec!["/definitely/not/here"],
            "cannot scan /definitely/not/here",
        ),
        (vec![root, "nope.html"], "no servable page nope.html under"),
        (vec![root, "notes.txt"], "notes.txt is not an HTML page"),
        (vec![root, ".drafts/secret.html"], "no servable page"),
        (vec![root, "--origin", "ftp://x"], "--origin"),
    ] {
        let out = scan(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// What `scan` says would be pushed is what the server pushes to a fresh connection.
#[tokio::test]
async fn scan_agrees_with_what_serve_pushes() {
    let dir = scan_site();
    for page_path in ["/index.html", "/docs/guide.html"] {
        assert_scan_agrees_with_serve(&dir, page_path).await;
    }
}

#[tokio::test]
async fn a_page_that_links_itself_is_hinted_not_pushed_by_both() {
    // Serve never pushes a page to its own request (the connection has just asked for it);
    // scan used to plan a push for it.
    let dir = site(&[
        (
            "self.html",
            br#"<link rel=preload as=fetch href=self.html?v=1 crossorigin>
                <img src=pic.png><link rel=preload as=fetch href=/self.html crossorigin>"#,
        ),
        ("pic.png", &[3u8; 100]),
    ]);
    let report = json(&[dir.path().to_str().unwrap(), "/self.html"]);
    let actions: Vec<(String, String)> = rows(page(&report, "/self.html"))
        .into_iter()
        .map(|r| (r.0, r.4))
        .collect();
    assert_eq!(
        actions,
        [
            ("/pic.png".to_owned(), "push".to_owned()),
            ("/self.html?v=1".to_owned(), "hint".to_owned()),
            ("/self.html".to_owned(), "hint".to_owned()),
        ]
    );
    assert_scan_agrees_with_serve(&dir, "/self.html").await;
}

/// What `scan` plans for a page is what a server with the same budget pushes and hints.
async fn assert_scan_agrees_with_serve(dir: &tempfile::TempDir, page_path: &str) {
    let root = dir.path().to_str().unwrap().to_owned();
    let mut cfg = config(dir.path());
    cfg.push.max_bytes = 10_000;
    let report = json(&[&root, page_path, "--push-max-bytes", "10000"]);
    let planned: Vec<String> = rows(page(&report, page_path))
        .into_iter()
        .filter(|r| r.4 == "push")
        .map(|r| r.0)
        .collect();
    let hinted: Vec<String> = rows(page(&report, page_path))
        .into_iter()
        .map(|r| r.0)
        .collect();

    let server = TestServer::start(cfg).await;
    let client = server.client_with(server.options(true)).await;
    let load = tokio::time::timeout(Duration::from_secs(10), client.load(page_path))
        .await
        .expect("page load finished");
    assert_eq!(load.pushed_paths(), planned, "{page_path}");
    let early_links: Vec<String> = common::PageLoad::links(load.early_hints.as_ref().unwrap())
        .iter()
        .map(|l| l[1..l.find('>').unwrap()].to_string())
        .collect();
    assert_eq!(
        early_links, hinted,
        "{page_path}: the 103 hints every asset"
    );
}
