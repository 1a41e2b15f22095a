//! The push engine seen by real clients, against the real binary serving the repository's
//! `site/`: nghttp's frame log (103 → PUSH_PROMISEs → page), nghttp's resource table (pushed
//! streams used, nothing requested twice), `--no-push`, curl's view of the 103, and Chromium
//! acting on the 103 with a trusted certificate.
//!
//! Each test skips when its tool is missing, unless `H2PUSH_REQUIRE_INTEROP=1` (set by
//! `.ci/run`), where a missing tool is a failure. What each client does is documented in
//! `../shared/REAL-CLIENTS.md`.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::served::{bin, Served};
use common::{chromium_dom, tool};

/// The demo site every test serves; its `index.html` runs `js/timing.js`.
fn site_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("site")
}

/// The page's assets, in manifest order, as `h2push scan` reports them for `page` of `dir`
/// (with the default budget, everything in the demo site is pushed).
fn manifest(dir: &Path, page: &str) -> Vec<(String, String)> {
    let out = Command::new(bin())
        .args(["scan", dir.to_str().unwrap(), page, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let assets: Vec<(String, String)> = report["pages"][0]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_owned(),
                a["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        assets.len() >= 5,
        "the demo page has stylesheets, fonts, scripts and images: {assets:?}"
    );
    assets
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Line numbers of `lines` that contain `needle`.
fn positions(lines: &[&str], needle: &str) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i)
        .collect()
}

/// The stream id nghttp opened for the page: the first HEADERS it sent.
fn page_stream(lines: &[&str]) -> String {
    let line = lines
        .iter()
        .find(|l| l.contains("send HEADERS frame"))
        .expect("nghttp sent the request");
    let id = line.split("stream_id=").nth(1).unwrap();
    id.trim_end_matches('>').to_owned()
}

/// nghttp prints a frame's header fields as it decodes them, then the frame line: so a 103's
/// `:status: 103` comes before its HEADERS line, and each PUSH_PROMISE line follows the
/// promised request's fields.
#[test]
fn nghttp_sees_hints_then_promises_then_the_page() {
    let Some(nghttp) = tool("nghttp") else { return };
    let served = Served::start(&site_dir(), &[]);
    let assets = manifest(&site_dir(), "/");
    let out = run(&nghttp, &["-nv", &served.url("/")]);
    let lines: Vec<&str> = out.lines().collect();
    let stream = page_stream(&lines);
    let on_page = |field: &str| positions(&lines, &format!("recv (stream_id={stream}) {field}"));

    let hints = on_page(":status: 103");
    assert_eq!(hints.len(), 1, "one 103: {out}");
    let hinted: Vec<&str> = lines
        .iter()
        .skip(hints[0])
        .take_while(|l| !l.contains("recv HEADERS frame"))
        .filter_map(|l| l.split(&format!("(stream_id={stream}) link: <")).nth(1))
        .map(|l| l.split('>').next().unwrap())
        .collect();
    let expected: Vec<&str> = assets.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        hinted, expected,
        "the 103 links every asset, in order: {out}"
    );

    let promises = positions(&lines, "recv PUSH_PROMISE frame <length=");
    let promised: Vec<&str> = on_page(":path: ")
        .iter()
        .map(|&i| lines[i].split(":path: ").nth(1).unwrap())
        .collect();
    let pushed: Vec<&str> = assets
        .iter()
        .filter(|(_, a)| a == "push")
        .map(|(p, _)| p.as_str())
        .collect();
    // The page's own request is sent, not received, so every received :path is a promise.
    assert_eq!(promised, pushed, "{out}");
    assert_eq!(promises.len(), pushed.len(), "{out}");

    let page_status = on_page(":status: 200");
    assert_eq!(page_status.len(), 1, "{out}");
    let last_promise = *promises.last().unwrap();
    assert!(
        hints[0] < promises[0],
        "103 before the first PUSH_PROMISE: {out}"
    );
    assert!(
        last_promise < page_status[0],
        "every PUSH_PROMISE before the page's HEADERS: {out}"
    );
    let first_page_data = positions(&lines, "recv DATA frame <length=")
        .into_iter()
        .find(|&i| lines[i].contains(&format!("stream_id={stream}>")))
        .expect("the page's body arrived");
    assert!(
        first_page_data > last_promise,
        "no DATA for the page before the last PUSH_PROMISE: {out}"
    );
}

/// `nghttp -a` parses the page and fetches what it links (not what CSS links); pushed streams
/// show in its table with `*` after responseEnd and are used instead of new requests.
#[test]
fn nghttp_uses_the_pushed_streams_instead_of_requesting_them() {
    let Some(nghttp) = tool("nghttp") else { return };
    let served = Served::start(&site_dir(), &[]);
    let assets = manifest(&site_dir(), "/");
    let table = |extra: &[&str]| -> Vec<(String, bool)> {
        let mut args = vec!["-ans"];
        args.extend_from_slice(extra);
        let url = served.url("/");
        args.push(&url);
        let out = run(&nghttp, &args);
        let start = out
            .lines()
            .position(|l| l.starts_with("id  responseEnd"))
            .unwrap_or_else(|| panic!("nghttp printed its table: {out}"));
        out.lines()
            .skip(start + 1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let path = l.split_whitespace().last().unwrap().to_owned();
                (path, l.contains(" * "))
            })
            .collect()
    };

    let rows = table(&[]);
    let mut seen = HashSet::new();
    for (path, _) in &rows {
        assert!(seen.insert(path.clone()), "{path} fetched twice: {rows:?}");
    }
    // What the plan pushes is used from the push; the rest (the hero image, over the extra
    // budget) nghttp requests itself.
    for (asset, action) in &assets {
        let row = rows.iter().find(|(p, _)| p == asset);
        let pushed = action == "push";
        assert!(
            matches!(row, Some((_, used)) if *used == pushed),
            "{asset} ({action}) was pushed and used only if planned: {rows:?}"
        );
    }
    assert!(
        assets.iter().any(|(_, action)| action == "hint"),
        "{assets:?}"
    );
    let page = rows.iter().find(|(p, _)| p == "/").expect("the page");
    assert!(!page.1, "the page itself was requested");

    // Without push nghttp requests what the HTML links (and never sees the CSS's fonts):
    // the marks above really come from push.
    let rows = table(&["--no-push"]);
    assert!(rows.iter().all(|(_, pushed)| !pushed), "{rows:?}");
    assert!(rows.iter().any(|(p, _)| p == "/js/app.js"), "{rows:?}");
    assert!(
        !rows.iter().any(|(p, _)| p.starts_with("/fonts/")),
        "{rows:?}"
    );
}

#[test]
fn nghttp_without_push_gets_the_103_and_no_promise() {
    let Some(nghttp) = tool("nghttp") else { return };
    let served = Served::start(&site_dir(), &[]);
    let out = run(&nghttp, &["--no-push", "-nv", &served.url("/")]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(out.contains("[SETTINGS_ENABLE_PUSH(0x02):0]"), "{out}");
    let hints = positions(&lines, ":status: 103");
    let page = positions(&lines, ":status: 200");
    assert_eq!((hints.len(), page.len()), (1, 1), "{out}");
    assert!(hints[0] < page[0], "{out}");
    assert!(
        lines[hints[0]..page[0]]
            .iter()
            .any(|l| l.contains("link: </css/site.css?v=1>")),
        "{out}"
    );
    assert!(!out.contains("PUSH_PROMISE"), "{out}");
}

#[test]
fn curl_sees_the_103_and_its_link_headers() {
    let Some(curl) = tool("curl") else { return };
    let served = Served::start(&site_dir(), &[]);
    let assets = manifest(&site_dir(), "/");
    let out = Command::new(&curl)
        .args(["-sv", "--http2", "-o", "/dev/null", "--cacert"])
        .arg(&served.ca)
        .arg(served.url("/"))
        .output()
        .unwrap();
    assert!(out.status.success());
    // curl -v prints response headers to stderr as `< name: value`.
    let text = String::from_utf8_lossy(&out.stderr);
    let received: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("< "))
        .map(str::trim_end)
        .collect();
    let hints = received
        .iter()
        .position(|l| *l == "HTTP/2 103")
        .unwrap_or_else(|| panic!("{text}"));
    let page = received
        .iter()
        .position(|l| *l == "HTTP/2 200")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(hints < page, "{text}");
    let links: Vec<&str> = received[hints + 1..page]
        .iter()
        .filter_map(|l| l.strip_prefix("link: <"))
        .map(|l| l.split('>').next().unwrap())
        .collect();
    let expected: Vec<&str> = assets.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(links, expected, "{text}");
    assert!(
        received[hints + 1..page]
            .iter()
            .any(|l| l.ends_with("rel=preload; as=font; crossorigin")),
        "{text}"
    );
}

/// `site/index.html` runs `js/timing.js`, which writes each Resource Timing entry as
/// `path initiatorType` into `<pre id="resource-timing">` after `load`.
///
/// Seen with Chromium 156 and a trusted certificate: every asset in the 103 (stylesheets, the
/// CSS-only `@import` and fonts, the deferred script, the `modulepreload`ed module, images)
/// reports `early-hints`, because the 103 made the browser fetch it and the page's own later
/// reference reused that fetch. The test asserts that for every hinted asset, with the
/// stylesheets and fonts among them, and fails if any asset is missing or reports another
/// initiator. With `--early-hints off` (Link preload only on the 200) the same run showed
/// `link` for every asset except the module, `/js/timing.js`, which showed `script`.
#[test]
fn chromium_reports_early_hints_as_the_initiator_of_hinted_assets() {
    let (Some(chromium), Some(certutil)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    let served = Served::start(&site_dir(), &[]);
    let assets = manifest(&site_dir(), "/");
    let dom = chromium_dom(&chromium, &certutil, &served.ca, &served.url("/"), 5000);
    let timing = resource_timing(&dom);
    let initiators: Vec<(&str, &str)> = timing.lines().filter_map(|l| l.rsplit_once(' ')).collect();
    let not_early: Vec<String> = assets
        .iter()
        .filter_map(
            |(path, _)| match initiators.iter().find(|(p, _)| p == path) {
                Some((_, "early-hints")) => None,
                Some((_, other)) => Some(format!("{path}: {other}")),
                None => Some(format!("{path}: not fetched")),
            },
        )
        .collect();
    let styles_and_fonts = assets
        .iter()
        .filter(|(p, _)| p.starts_with("/css/") || p.starts_with("/fonts/"))
        .count();
    assert!(
        styles_and_fonts >= 3,
        "the page has stylesheets and fonts: {assets:?}"
    );
    assert!(
        not_early.is_empty(),
        "assets Chromium did not fetch because of the 103: {not_early:?}\nall entries:\n{timing}"
    );
}

/// What `js/timing.js` wrote into `<pre id="resource-timing">`: a `path initiatorType` line
/// per Resource Timing entry.
fn resource_timing(dom: &str) -> &str {
    dom.split(r#"<pre id="resource-timing" hidden="">"#)
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("timing.js wrote its entries: {dom}"))
}

/// Control for the test above: with `--early-hints off` the same page's assets report their
/// ordinary initiators, so `early-hints` above really comes from the 103.
#[test]
fn chromium_without_the_103_reports_ordinary_initiators() {
    let (Some(chromium), Some(certutil)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    let served = Served::start(&site_dir(), &["--early-hints", "off"]);
    let dom = chromium_dom(&chromium, &certutil, &served.ca, &served.url("/"), 5000);
    let timing = resource_timing(&dom);
    assert!(timing.contains("/css/site.css?v=1 "), "{timing}");
    assert!(!timing.contains("early-hints"), "{timing}");
}
