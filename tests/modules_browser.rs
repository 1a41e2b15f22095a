//! Chromium takes a module graph from the 103: every module hinted as `rel=modulepreload` is
//! fetched because of the hint (`initiatorType` `early-hints`), once, and reused by the module
//! loader: one entry per module in resource timing, one request each in the access log, and
//! no "preload … not used" console warning. (Seen with the other form, `rel=preload;
//! as=script` without `crossorigin`: Chromium fetches each module twice and warns that the
//! credentials mode does not match; `rel=preload; as=script; crossorigin` also works.)
//!
//! Skips when chromium or certutil is missing, unless `H2PUSH_REQUIRE_INTEROP=1`.

mod common;

use std::process::Command;

use common::served::Served;
use common::{site, tool};

const PAGE: &str = r#"<!doctype html><title>m</title>
<script type=module src="/js/main.js"></script>
<pre id=out></pre>
<script>
addEventListener('load', () => setTimeout(() => {
  document.getElementById('out').textContent = JSON.stringify(performance
    .getEntriesByType('resource').map(e => [new URL(e.name).pathname, e.initiatorType]));
}, 100));
</script>"#;

/// A throw-away HOME whose NSS database trusts `ca` (REAL-CLIENTS.md).
fn trusted_home(certutil: &str, ca: &std::path::Path) -> tempfile::TempDir {
    let home = tempfile::TempDir::new().unwrap();
    let db = format!("sql:{}/.pki/nssdb", home.path().display());
    std::fs::create_dir_all(home.path().join(".pki/nssdb")).unwrap();
    for args in [
        vec!["-N", "-d", &db, "--empty-password"],
        vec![
            "-A",
            "-d",
            &db,
            "-n",
            "h2push",
            "-t",
            "CP,,",
            "-i",
            ca.to_str().unwrap(),
        ],
    ] {
        let out = Command::new(certutil)
            .args(&args)
            .env("HOME", home.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "certutil {args:?}: {out:?}");
    }
    home
}

#[test]
fn chromium_takes_every_module_from_the_103_once_and_runs_the_graph() {
    let (Some(chromium), Some(certutil)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    let dir = site(&[
        ("index.html", PAGE.as_bytes()),
        (
            "js/main.js",
            b"import { dep } from './dep.js';\ndocument.body.dataset.ran = dep;\n",
        ),
        (
            "js/dep.js",
            b"import { leaf } from './leaf.js';\nexport const dep = leaf + 1;\n",
        ),
        ("js/leaf.js", b"export const leaf = 1;\n"),
    ]);
    let logs = tempfile::TempDir::new().unwrap();
    let access = logs.path().join("access.log");
    let served = Served::start(
        dir.path(),
        &[
            "--access-log",
            access.to_str().unwrap(),
            "--log-format",
            "combined",
        ],
    );
    let home = trusted_home(&certutil, &served.ca);
    let profile = tempfile::TempDir::new().unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=8000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(served.url("/"))
        .env("HOME", home.path())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let console = String::from_utf8_lossy(&out.stderr);
    assert!(
        dom.contains(r#"data-ran="2""#),
        "the module graph ran: {dom}"
    );

    let json = dom
        .split(r#"<pre id="out">"#)
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no resource list: {dom}"));
    let entries: Vec<(String, String)> = serde_json::from_str(json).unwrap();
    for module in ["/js/main.js", "/js/dep.js", "/js/leaf.js"] {
        let seen: Vec<&str> = entries
            .iter()
            .filter(|(path, _)| path == module)
            .map(|(_, initiator)| initiator.as_str())
            .collect();
        assert_eq!(seen, ["early-hints"], "{module}: {entries:?}");
    }
    assert!(
        !console.to_lowercase().contains("preload"),
        "no preload warning: {console}"
    );
    let log = common::cli::wait_for_lines(&access, 4).join("\n");
    for module in ["/js/main.js", "/js/dep.js", "/js/leaf.js"] {
        let requests = log.matches(&format!("\"GET {module} ")).count();
        assert_eq!(requests, 1, "{module} requested once: {log}");
    }
}
