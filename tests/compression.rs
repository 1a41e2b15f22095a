//! Content codings through the real server, over HTTP/2 and HTTP/1.1: precompressed sidecars
//! (selection, `Vary`, staleness, ETag and 304 per coding, ranges on the encoded bytes),
//! on-the-fly br/zstd/gzip whose bytes decode to the file exactly, what is never compressed,
//! the compressed cache freed when a file changes, and pushed responses in the coding of the
//! promise's `accept-encoding`.

mod common;

use std::io::Read;
use std::time::{Duration, SystemTime};

use common::{config, site, AnyClient, Proto, Resp, TestServer};
use h2push::config::Config;
use http::{Method, StatusCode};

/// Text that compresses well but not trivially: 9.6 KB of numbered rules.
fn css() -> Vec<u8> {
    (0..300)
        .map(|i| format!(".rule-{i} {{ margin: {}px; }}\n", i % 17))
        .collect::<String>()
        .into_bytes()
}

const JS: &[u8] = &[b'/'; 2000];
const BR_SIDECAR: &[u8] = b"pretend brotli bytes of a.js";
const GZ_SIDECAR: &[u8] = b"pretend gzip bytes";

fn sidecar_site() -> tempfile::TempDir {
    site(&[
        ("a.js", JS),
        ("a.js.br", BR_SIDECAR),
        ("a.js.gz", GZ_SIDECAR),
        ("b.js", JS),
    ])
}

fn sidecars_only(root: &std::path::Path) -> Config {
    let mut config = config(root);
    config.compress.on_the_fly = false;
    config
}

async fn get(client: &AnyClient, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = client.request(Method::GET, path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    client.send(req.body(()).unwrap()).await
}

fn coding(resp: &Resp) -> Option<&str> {
    resp.headers
        .get("content-encoding")
        .map(|v| v.to_str().unwrap())
}

fn decode(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "br" => brotli::BrotliDecompress(&mut &body[..], &mut out).unwrap(),
        "zstd" => out = zstd::decode_all(body).unwrap(),
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        other => panic!("unexpected coding {other}"),
    }
    out
}

/// GETs `path` until it comes back in `coding` (the first requests get identity while the
/// compression runs in the background).
async fn until_encoded(client: &AnyClient, path: &str, accept: &str, want: &str) -> Resp {
    for _ in 0..200 {
        let resp = get(client, path, &[("accept-encoding", accept)]).await;
        assert_eq!(resp.status, StatusCode::OK);
        if coding(&resp) == Some(want) {
            return resp;
        }
        assert_eq!(coding(&resp), None, "identity until compressed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never came back in {want}");
}

/// Request headers, the coding expected, the body expected.
type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, &'a [u8]);

async fn sidecars_are_chosen_by_accept_encoding(proto: Proto) {
    let dir = sidecar_site();
    let server = TestServer::start(sidecars_only(dir.path())).await;
    let client = server.client_over(proto).await;
    let cases: [Case; 7] = [
        (
            &[("accept-encoding", "gzip, deflate, br")],
            Some("br"),
            BR_SIDECAR,
        ),
        (&[("accept-encoding", "gzip")], Some("gzip"), GZ_SIDECAR),
        (
            &[("accept-encoding", "br;q=0, gzip")],
            Some("gzip"),
            GZ_SIDECAR,
        ),
        (
            &[("accept-encoding", "br;q=0.5, gzip")],
            Some("gzip"),
            GZ_SIDECAR,
        ),
        (&[("accept-encoding", "*;q=0")], None, JS),
        (&[("accept-encoding", "zstd")], None, JS),
        (&[], None, JS),
    ];
    for (headers, want, body) in cases {
        let resp = get(&client, "/a.js", headers).await;
        assert_eq!(resp.status, StatusCode::OK, "{headers:?}");
        assert_eq!(coding(&resp), want, "{headers:?}");
        assert_eq!(resp.body, body, "{headers:?}");
        assert_eq!(resp.header("content-length"), body.len().to_string());
        assert_eq!(resp.header("vary"), "accept-encoding", "{headers:?}");
    }
    // A sidecar asked for by name is an ordinary file.
    let resp = get(&client, "/a.js.gz", &[("accept-encoding", "gzip")]).await;
    assert_eq!(resp.body, GZ_SIDECAR);
    assert_eq!(coding(&resp), None);
}

async fn a_stale_sidecar_is_ignored(proto: Proto) {
    let dir = sidecar_site();
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("a.js.br"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let server = TestServer::start(sidecars_only(dir.path())).await;
    let client = server.client_over(proto).await;
    let resp = get(&client, "/a.js", &[("accept-encoding", "br")]).await;
    assert_eq!(coding(&resp), None);
    assert_eq!(resp.body, JS);
    let resp = get(&client, "/a.js", &[("accept-encoding", "br, gzip")]).await;
    assert_eq!(coding(&resp), Some("gzip"), "the fresh one still serves");
}

async fn etags_and_304s_are_per_coding(proto: Proto) {
    let dir = sidecar_site();
    let server = TestServer::start(sidecars_only(dir.path())).await;
    let client = server.client_over(proto).await;
    let plain = get(&client, "/a.js", &[]).await;
    let br = get(&client, "/a.js", &[("accept-encoding", "br")]).await;
    let plain_tag = plain.header("etag").to_string();
    let br_tag = br.header("etag").to_string();
    assert_eq!(
        br_tag,
        format!("{}-br\"", &plain_tag[..plain_tag.len() - 1])
    );

    let again = get(
        &client,
        "/a.js",
        &[("accept-encoding", "br"), ("if-none-match", &br_tag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.header("etag"), br_tag);
    assert_eq!(again.header("vary"), "accept-encoding");
    // The br validator does not validate the identity representation, nor the reverse.
    let other = get(&client, "/a.js", &[("if-none-match", &br_tag)]).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.body, JS);
    let other = get(
        &client,
        "/a.js",
        &[("accept-encoding", "br"), ("if-none-match", &plain_tag)],
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.body, BR_SIDECAR);
    let same = get(&client, "/a.js", &[("if-none-match", &plain_tag)]).await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
}

async fn ranges_apply_to_the_sidecar_bytes(proto: Proto) {
    let dir = sidecar_site();
    let server = TestServer::start(sidecars_only(dir.path())).await;
    let client = server.client_over(proto).await;
    let resp = get(
        &client,
        "/a.js",
        &[("accept-encoding", "br"), ("range", "bytes=2-5")],
    )
    .await;
    assert_eq!(resp.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(coding(&resp), Some("br"));
    assert_eq!(resp.body, &BR_SIDECAR[2..=5]);
    assert_eq!(
        resp.header("content-range"),
        format!("bytes 2-5/{}", BR_SIDECAR.len())
    );
}

async fn on_the_fly_codings_decode_to_the_file(proto: Proto) {
    let text = css();
    let dir = site(&[("s.css", &text), ("img.svg", &text)]);
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;
    for (path, accept, want) in [
        ("/s.css", "gzip, deflate, br, zstd", "br"),
        ("/s.css", "gzip, zstd", "zstd"),
        ("/s.css", "gzip", "gzip"),
        ("/img.svg", "br", "br"),
    ] {
        let resp = until_encoded(&client, path, accept, want).await;
        assert!(
            resp.body.len() < text.len() / 4,
            "{want}: {}",
            resp.body.len()
        );
        assert_eq!(resp.header("content-length"), resp.body.len().to_string());
        assert_eq!(resp.header("vary"), "accept-encoding");
        assert!(
            resp.headers.get("accept-ranges").is_none(),
            "ranges get identity"
        );
        assert!(resp.header("etag").ends_with(&format!("-{want}\"")));
        assert_eq!(decode(want, &resp.body), text, "{path} in {want}");
        // Kept: the next request gets it at once, and 304s on its own validator.
        let tag = resp.header("etag").to_string();
        let again = get(
            &client,
            path,
            &[("accept-encoding", accept), ("if-none-match", &tag)],
        )
        .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    }
}

async fn some_files_and_requests_are_never_compressed(proto: Proto) {
    let text = css();
    let png = vec![b'a'; 20_000];
    let dir = site(&[
        ("s.css", &text),
        ("p.png", &png),
        ("small.css", b"body { margin: 0 }"),
    ]);
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(proto).await;
    until_encoded(&client, "/s.css", "gzip", "gzip").await;
    // A range of a file with no sidecar gets the file's own bytes, even with a compression kept.
    let ranged = get(
        &client,
        "/s.css",
        &[("accept-encoding", "gzip"), ("range", "bytes=0-9")],
    )
    .await;
    assert_eq!(ranged.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(coding(&ranged), None);
    assert_eq!(ranged.body, &text[..10]);
    for path in ["/p.png", "/small.css"] {
        for _ in 0..3 {
            let resp = get(&client, path, &[("accept-encoding", "gzip, br")]).await;
            assert_eq!(coding(&resp), None, "{path}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let png_resp = get(&client, "/p.png", &[("accept-encoding", "gzip")]).await;
    assert!(png_resp.headers.get("vary").is_none(), "png never varies");
}

async fn compression_off_serves_identity(proto: Proto) {
    let text = css();
    let dir = site(&[("s.css", &text), ("s.css.gz", b"sidecar")]);
    let mut config = config(dir.path());
    config.compress.on_the_fly = false;
    config.compress.precompressed = false;
    let server = TestServer::start(config).await;
    let client = server.client_over(proto).await;
    for _ in 0..3 {
        let resp = get(&client, "/s.css", &[("accept-encoding", "gzip")]).await;
        assert_eq!(coding(&resp), None);
        assert_eq!(resp.body, text);
        assert!(resp.headers.get("vary").is_none());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

over_both_protocols!(
    sidecars_are_chosen_by_accept_encoding,
    a_stale_sidecar_is_ignored,
    etags_and_304s_are_per_coding,
    ranges_apply_to_the_sidecar_bytes,
    on_the_fly_codings_decode_to_the_file,
    some_files_and_requests_are_never_compressed,
    compression_off_serves_identity,
);

#[tokio::test]
async fn a_changed_file_frees_its_compression_and_is_compressed_anew() {
    let text = css();
    let dir = site(&[("s.css", &text)]);
    let server = TestServer::start_watching(config(dir.path())).await;
    let client = server.client_over(Proto::H2).await;
    until_encoded(&client, "/s.css", "br", "br").await;
    assert!(server.state.encoder.kept_bytes() > 0);

    let mut changed = text.clone();
    changed.extend_from_slice(b".added { color: red }\n");
    std::fs::write(dir.path().join("s.css"), &changed).unwrap();
    let mut freed = false;
    for _ in 0..100 {
        if server.state.encoder.kept_bytes() == 0 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "the watcher's change dropped the kept compression");
    let resp = until_encoded(&client, "/s.css", "br", "br").await;
    assert_eq!(decode("br", &resp.body), changed);
}

#[tokio::test]
async fn pushed_responses_take_the_coding_of_the_promise() {
    let text = css();
    let page = b"<!doctype html><link rel=stylesheet href=/s.css><p>page</p>";
    let dir = site(&[("index.html", page), ("s.css", &text)]);
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client_over(Proto::H2).await;
    until_encoded(&client, "/s.css", "gzip, br", "br").await;

    let pusher = server.client_with(server.options(true)).await;
    let req = pusher
        .request(Method::GET, "/")
        .header("accept-encoding", "gzip, br")
        .body(())
        .unwrap();
    let load = pusher.load_request(req).await;
    assert_eq!(load.pushed_paths(), ["/s.css"]);
    let (_, promise, pushed) = &load.pushes[0];
    assert_eq!(promise.get("accept-encoding").unwrap(), "gzip, br");
    assert_eq!(coding(pushed), Some("br"));
    assert_eq!(pushed.header("vary"), "accept-encoding");
    assert_eq!(decode("br", &pushed.body), text);

    let fresh = server.client_with(server.options(true)).await;
    let load = fresh.load("/").await;
    assert_eq!(load.pushed_paths(), ["/s.css"]);
    let (_, promise, pushed) = &load.pushes[0];
    assert!(promise.get("accept-encoding").is_none());
    assert_eq!(coding(pushed), None);
    assert_eq!(pushed.body, text);
}

/// curl `--compressed` (it sends `deflate, gzip, br, zstd` when built with them) over HTTP/2
/// and HTTP/1.1: it receives a coding and its decoding gives the file's bytes.
#[tokio::test]
async fn curl_compressed_decodes_to_the_file() {
    let Some(curl) = common::tool("curl") else {
        return;
    };
    let text = css();
    let dir = site(&[("s.css", &text)]);
    let server = TestServer::start(config(dir.path())).await;
    let url = format!("https://localhost:{}/s.css", server.addr.port());
    let ca = server.ca.to_str().unwrap().to_owned();
    for proto in ["--http2", "--http1.1"] {
        let mut encoded = false;
        for _ in 0..100 {
            let out = tokio::process::Command::new(&curl)
                .args([
                    "-sS",
                    "--compressed",
                    proto,
                    "--cacert",
                    &ca,
                    "-D",
                    "/dev/stderr",
                ])
                .arg(&url)
                .output()
                .await
                .expect("curl runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, text, "{proto}: curl's decoding is the file");
            let head = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
            if head.contains("content-encoding: br") {
                encoded = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(encoded, "{proto}: curl was sent br");
    }
}
