//! `h2push export` against the real servers: each Debian server (h2o, nginx, Caddy, Apache)
//! is started with the generated configuration serving the repository's `site/` and a small
//! site with a nested CSS chain (a.css @import b.css, which uses url(font.woff2)), and curl /
//! nghttp check that every page URL gets exactly the Link values `export --format json`
//! lists (and h2o pushes the preloads), while a plain asset gets none. Then `--check`.
//!
//! The servers are started as bench/lib/servers.sh starts them: a config in a temporary
//! directory, one process (or worker), a loopback port. A test skips when its server is not
//! installed, unless `H2PUSH_REQUIRE_INTEROP=1` (set by `.ci/run`).

mod common;

#[path = "export/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::served::bin;
use common::{site, tool};
use servers::{readable_by_all, start_apache, start_caddy, start_h2o, start_nginx};
use tempfile::TempDir;

/// The repository's demo site.
fn demo_site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("site")
}

/// A site whose index needs a chain: the page → a.css → (@import) b.css → url(font.woff2),
/// with a second page in a directory.
fn chain_site() -> TempDir {
    let dir = site(&[
        (
            "index.html",
            b"<!doctype html><link rel=stylesheet href=/a.css><p>chain</p>",
        ),
        ("a.css", b"@import \"b.css\";\nbody { color: red }\n"),
        (
            "b.css",
            b"@font-face { font-family: F; src: url(font.woff2) format(\"woff2\") }\n",
        ),
        ("font.woff2", &[0u8; 3000]),
        (
            "docs/index.html",
            b"<!doctype html><script src=/app.js></script>",
        ),
        ("app.js", b"console.log(1)"),
    ]);
    readable_by_all(dir.path());
    dir
}

/// `h2push export DIR --format FORMAT ARGS…`, which must succeed.
fn export(dir: &Path, format: &str, args: &[&str]) -> String {
    let out = Command::new(bin())
        .arg("export")
        .arg(dir)
        .args(["--format", format])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export {format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Per page URL (file and directory forms), the Link values and which of them are pushed.
struct Expected {
    pages: Vec<(String, Vec<String>, Vec<String>)>,
}

fn expected(dir: &Path) -> Expected {
    expected_as(dir, |_, value| value.to_owned())
}

/// h2o and Apache push only rel=preload: a pushed module script is exported as a CORS
/// script preload.
fn expected_pushable(dir: &Path) -> Expected {
    expected_as(dir, |link, value| {
        if link["module"] == true && link["action"] == "push" {
            format!(
                "{}; crossorigin",
                value.replace("rel=modulepreload", "rel=preload; as=script")
            )
        } else {
            value.to_owned()
        }
    })
}

/// Per page URL, the links as `value(link, link value)` writes them and the paths pushed.
fn expected_as(dir: &Path, value: impl Fn(&serde_json::Value, &str) -> String) -> Expected {
    let json: serde_json::Value = serde_json::from_str(&export(dir, "json", &[])).unwrap();
    let mut pages = Vec::new();
    for page in json["pages"].as_array().unwrap() {
        let links = page["links"].as_array().unwrap();
        let values: Vec<String> = links
            .iter()
            .map(|l| value(l, l["link"].as_str().unwrap()))
            .collect();
        let pushed: Vec<String> = links
            .iter()
            .filter(|l| l["action"] == "push")
            .map(|l| l["path"].as_str().unwrap().to_owned())
            .collect();
        for url in page["urls"].as_array().unwrap() {
            pages.push((
                url.as_str().unwrap().to_owned(),
                values.clone(),
                pushed.clone(),
            ));
        }
    }
    assert!(!pages.is_empty());
    Expected { pages }
}

/// The Link values of a response, from curl's header dump: each field split at `, <`.
fn link_values(headers: &str) -> Vec<String> {
    headers
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("link")
                .then(|| value.trim().to_owned())
        })
        .flat_map(|v| {
            v.split(", <")
                .map(|s| {
                    if s.starts_with('<') {
                        s.to_owned()
                    } else {
                        format!("<{s}")
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn curl_headers(url: &str) -> String {
    let out = Command::new("curl")
        .args(["-sk", "-D-", "-o", "/dev/null", url])
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {url}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.starts_with("HTTP/2 200") || text.starts_with("HTTP/1.1 200"),
        "{url}: {text}"
    );
    text
}

/// Every page URL sends its links, in order; a stylesheet sends none.
fn assert_links(base: &str, expected: &Expected, asset: &str) {
    for (url, values, _) in &expected.pages {
        let got = link_values(&curl_headers(&format!("{base}{url}")));
        assert_eq!(&got, values, "Link values of {url}");
    }
    assert_eq!(
        link_values(&curl_headers(&format!("{base}{asset}"))),
        Vec::<String>::new(),
        "{asset} is no page"
    );
}

/// What nghttp saw promised for `url`, in order.
fn promised(nghttp: &str, url: &str) -> Vec<String> {
    let out = Command::new(nghttp).args(["-nv", url]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut last_path = String::new();
    let mut promised = Vec::new();
    for line in text.lines() {
        if let Some(path) = line.split(" :path: ").nth(1) {
            last_path = path.to_owned();
        } else if line.contains("recv PUSH_PROMISE frame") {
            promised.push(last_path.clone());
        }
    }
    promised
}

#[test]
fn h2o_sends_and_pushes_the_exported_links() {
    let (Some(h2o), Some(nghttp), Some(_curl)) = (tool("h2o"), tool("nghttp"), tool("curl")) else {
        return;
    };
    let chain = chain_site();
    for (root, asset) in sites(&chain) {
        let expected = expected_pushable(&root);
        let server = start_h2o(&h2o, &root);
        let base = format!("https://127.0.0.1:{}", server.port);
        assert_links(&base, &expected, asset);
        for (url, _, pushed) in &expected.pages {
            assert_eq!(
                &promised(&nghttp, &format!("{base}{url}")),
                pushed,
                "pushes of {url}"
            );
        }
    }
}

/// The two sites every server serves, each with a file that is no page.
fn sites(chain: &TempDir) -> [(PathBuf, &'static str); 2] {
    [
        (demo_site(), "/css/site.css"),
        (chain.path().to_owned(), "/a.css"),
    ]
}

#[test]
fn the_chain_site_links_the_whole_css_chain() {
    let chain = chain_site();
    let expected = expected(chain.path());
    let index = expected
        .pages
        .iter()
        .find(|(url, _, _)| url == "/")
        .unwrap();
    assert_eq!(
        index.1,
        [
            "</b.css>; rel=preload; as=style",
            "</a.css>; rel=preload; as=style",
            "</font.woff2>; rel=preload; as=font; crossorigin",
        ]
    );
    assert_eq!(index.2, ["/b.css", "/a.css", "/font.woff2"]);
}

#[test]
fn nginx_sends_the_exported_links() {
    let (Some(nginx), Some(_curl)) = (tool("nginx"), tool("curl")) else {
        return;
    };
    let chain = chain_site();
    for (root, asset) in sites(&chain) {
        let server = start_nginx(&nginx, &root);
        assert_links(
            &format!("https://127.0.0.1:{}", server.port),
            &expected(&root),
            asset,
        );
    }
}

#[test]
fn caddy_sends_the_exported_links() {
    let (Some(caddy), Some(_curl)) = (tool("caddy"), tool("curl")) else {
        return;
    };
    let chain = chain_site();
    for (root, asset) in sites(&chain) {
        let server = start_caddy(&caddy, &root);
        assert_links(
            &format!("http://127.0.0.1:{}", server.port),
            &expected(&root),
            asset,
        );
    }
}

#[test]
fn apache_sends_the_exported_links() {
    let (Some(apache), Some(_curl)) = (tool("apache2"), tool("curl")) else {
        return;
    };
    let chain = chain_site();
    for (root, asset) in sites(&chain) {
        let server = start_apache(&apache, &root);
        assert_links(
            &format!("http://127.0.0.1:{}", server.port),
            &expected_pushable(&root),
            asset,
        );
    }
}

fn run_check(dir: &Path, file: &Path) -> (i32, String) {
    let out = Command::new(bin())
        .arg("export")
        .arg(dir)
        .args(["--format", "netlify", "--check"])
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_says_whether_the_written_file_is_current() {
    let chain = chain_site();
    let out = TempDir::new().unwrap();
    let file = out.path().join("_headers");
    let (code, err) = run_check(chain.path(), &file);
    assert_eq!(code, 1, "a missing file is stale: {err}");
    assert!(err.contains("does not exist"), "{err}");

    export(chain.path(), "netlify", &["-o", file.to_str().unwrap()]);
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        written,
        export(chain.path(), "netlify", &[]),
        "-o writes what stdout gets"
    );
    assert!(
        written.contains("/docs/\n  Link: </app.js>; rel=preload; as=script\n"),
        "{written}"
    );
    let (code, err) = run_check(chain.path(), &file);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("export is current"), "{err}");

    // The site changes: the page now needs another script.
    std::fs::write(
        chain.path().join("docs/index.html"),
        "<!doctype html><script src=/app.js></script><script src=/b.js></script>",
    )
    .unwrap();
    std::fs::write(chain.path().join("b.js"), "1").unwrap();
    let (code, err) = run_check(chain.path(), &file);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is stale (first difference on line"), "{err}");
}
