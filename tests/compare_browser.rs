//! `compare --browser chromium` against the real server (in-process, TLS with its own CA): the
//! report shows which assets Chromium fetched because of the 103 (`initiatorType`
//! `early-hints`) in mode `hints`, requested before the CSS that names them arrived.
//!
//! Skips when chromium or certutil is missing, unless `H2PUSH_REQUIRE_INTEROP=1` (set by
//! `.ci/run`), where a missing tool is a failure.

mod common;

use common::{config, site, tool, TestServer};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_h2push");

/// HTML → a.css → b.css → bg.png: without hints, each level waits for the one before.
fn chain_site() -> tempfile::TempDir {
    site(&[
        (
            "index.html",
            b"<!doctype html><title>t</title><link rel=stylesheet href=\"/css/a.css\">\
              <h1>chain</h1><div class=bg>x</div>",
        ),
        ("css/a.css", b"@import \"b.css\";\nh1 { color: red }"),
        (
            "css/b.css",
            b".bg { background: url(/bg.png); width: 10px; height: 10px }",
        ),
        ("bg.png", &[2u8; 100]),
    ])
}

/// The median run's resources of the browser row for `mode`, first view: path → (initiator,
/// start, end).
fn resources(report: &Value, mode: &str) -> Vec<(String, String, f64, f64)> {
    let row = report["browser"]
        .as_array()
        .expect("a browser section in the JSON")
        .iter()
        .find(|r| r["mode"] == mode && r["view"] == "first")
        .unwrap_or_else(|| panic!("no Chromium row for {mode}: {report}"));
    row["median_run"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["initiator_type"].as_str().unwrap().to_string(),
                r["start_ms"].as_f64().unwrap(),
                r["end_ms"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn find<'a>(list: &'a [(String, String, f64, f64)], path: &str) -> &'a (String, String, f64, f64) {
    list.iter()
        .find(|r| r.0 == path)
        .unwrap_or_else(|| panic!("{path} not loaded: {list:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_takes_the_hinted_assets_from_the_103() {
    let (Some(_), Some(_)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    let dir = chain_site();
    let server = TestServer::start(config(dir.path())).await;
    let url = format!("https://localhost:{}/", server.addr.port());
    let ca = server.ca.clone();
    let html = dir.path().join("report.html");
    let out = tokio::process::Command::new(BIN)
        .args(["compare", &url, "--rtt", "60ms", "--runs", "1", "--json"])
        .args([
            "--modes",
            "push,hints,none",
            "--browser",
            "chromium",
            "--ca",
        ])
        .arg(&ca)
        .arg("--report")
        .arg(&html)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "compare failed: {stderr}");
    assert!(
        stderr.contains("Chromium refuses HTTP/2 push"),
        "push is skipped for the browser, and says so: {stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["browser"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["mode"] != "push"),
        "no Chromium push row"
    );

    let hints = resources(&report, "hints");
    for path in ["/css/a.css", "/css/b.css", "/bg.png"] {
        assert_eq!(
            find(&hints, path).1,
            "early-hints",
            "{path} came from the 103: {hints:?}"
        );
    }
    let (a, b) = (find(&hints, "/css/a.css"), find(&hints, "/css/b.css"));
    assert!(
        b.2 < a.3,
        "hints: b.css was requested before a.css (which imports it) arrived: {hints:?}"
    );

    let html = std::fs::read_to_string(&html).unwrap();
    assert!(
        html.contains("<h2>Chromium</h2>")
            && html.contains("<td>/css/b.css</td><td>early-hints</td>"),
        "the HTML report has the Chromium section with initiator types"
    );
    // Chromium's none cannot ignore the 103 (browser.rs, `strip_link`): the report says so.
    assert!(
        stderr.contains("Chromium still acts on the 103"),
        "the none caveat is in the warnings: {stderr}"
    );
    resources(&report, "none");
}
