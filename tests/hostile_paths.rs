//! Paths an attacker (or an unlucky site) puts in front of the real server: a FIFO in the root,
//! redirects that could leave the host, and a file asked for as a directory. Each answer is
//! checked as a client sees it: status, Location resolved as a browser resolves it, and that
//! everything else is still served.

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{config, site, Resp, TestServer};
use http::StatusCode;

/// How long one answer may take before the server counts as stalled.
const PROMPT: Duration = Duration::from_secs(5);

/// More requests for a FIFO than the server's blocking pool has threads
/// (`config::MAX_BLOCKING_THREADS`).
const FIFO_REQUESTS: usize = 80;

/// A FIFO at `path`. On drop it is opened for writing (which releases every reader stuck in
/// `open()` on it) and removed, so a server that blocked on it can still shut down and a
/// failing test fails instead of hanging.
struct Fifo(PathBuf);

impl Fifo {
    fn make(path: &Path) -> Fifo {
        let c = CString::new(path.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
        Fifo(path.to_owned())
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        // O_RDWR never blocks on a FIFO, and counts as the writer the stuck readers wait for.
        let writer = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.0);
        let _ = std::fs::remove_file(&self.0);
        drop(writer);
    }
}

async fn get_promptly(client: &common::Client, path: &str) -> Option<Resp> {
    tokio::time::timeout(PROMPT, client.get(path)).await.ok()
}

/// Runs `test` on a runtime shaped like `h2push serve`'s (same blocking-pool bound), so
/// exhausting the pool shows up here as it would in production.
fn on_serve_runtime(test: impl std::future::Future<Output = ()>) {
    let runtime = h2push::cli::runtime(Some(2)).unwrap();
    runtime.block_on(test);
    runtime.shutdown_timeout(Duration::from_secs(1));
}

#[test]
fn a_fifo_is_refused_at_once_and_everything_else_is_still_served() {
    on_serve_runtime(async {
        let dir = site(&[
            ("a.txt", b"still here"),
            (
                "index.html",
                b"<!doctype html><link rel=stylesheet href=x.css><link rel=stylesheet href=ok.css>",
            ),
            ("ok.css", b"p{}"),
        ]);
        let _fifo = Fifo::make(&dir.path().join("x.css"));
        let server = TestServer::start(config(dir.path())).await;
        let client = server.client().await;

        let requests: Vec<_> = (0..FIFO_REQUESTS)
            .map(|_| {
                let req = client
                    .request(http::Method::GET, "/x.css")
                    .body(())
                    .unwrap();
                let send = client.conn.send.clone();
                tokio::spawn(async move {
                    let mut send = send.ready().await.ok()?;
                    let (response, _) = send.send_request(req, true).ok()?;
                    let response = tokio::time::timeout(PROMPT, response).await.ok()?.ok()?;
                    Some(common::read_response(response).await.status)
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for r in requests {
            statuses.push(r.await.unwrap());
        }
        let refused = statuses
            .iter()
            .filter(|s| **s == Some(StatusCode::NOT_FOUND))
            .count();
        assert_eq!(
            refused, FIFO_REQUESTS,
            "a FIFO must get a prompt 404: {statuses:?}"
        );

        // A socket cannot even be opened (ENXIO): still not found, not a server error.
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("s.css")).unwrap();
        let socket = get_promptly(&client, "/s.css")
            .await
            .expect("a socket stalled");
        assert_eq!(socket.status, StatusCode::NOT_FOUND);

        let file = get_promptly(&client, "/a.txt")
            .await
            .expect("a.txt stalled");
        assert_eq!(
            (file.status, file.body.as_slice()),
            (StatusCode::OK, &b"still here"[..])
        );

        // Discovery looks at the FIFO too: the page is answered and only its real asset hinted.
        let page = get_promptly(&client, "/").await.expect("the page stalled");
        assert_eq!(page.status, StatusCode::OK);
        let links: Vec<_> = page.headers.get_all("link").iter().collect();
        assert!(
            links
                .iter()
                .any(|l| l.to_str().unwrap().contains("/ok.css"))
                && !links.iter().any(|l| l.to_str().unwrap().contains("/x.css")),
            "{links:?}"
        );
    });
}

#[test]
fn scan_skips_a_fifo_named_like_a_page() {
    let dir = site(&[("index.html", b"<!doctype html><title>x</title>")]);
    let _fifo = Fifo::make(&dir.path().join("stuck.html"));
    let config = config(dir.path());
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(h2push::push::scan::find_pages(&config));
    });
    let (pages, over) = finished
        .recv_timeout(PROMPT)
        .expect("scan stalled on a FIFO");
    assert_eq!((pages, over), (vec!["/index.html".to_string()], 0));
}

/// Where a browser on `https://localhost:PORT/` goes for this `Location`.
fn followed(server: &TestServer, location: &str) -> url::Url {
    let base = url::Url::parse(&format!("https://localhost:{}/", server.addr.port())).unwrap();
    base.join(location).unwrap()
}

#[tokio::test]
async fn directory_redirects_stay_on_this_host() {
    let dir = site(&[
        (
            "evil.com/index.html",
            b"<!doctype html><title>a dir</title>",
        ),
        ("docs/index.html", b"<!doctype html><title>docs</title>"),
    ]);
    let server = TestServer::start(config(dir.path())).await;
    let client = server.client().await;

    for (asked, expected) in [
        ("//evil.com", "/evil.com/"),
        ("///evil.com", "/evil.com/"),
        ("/%2F%2Fevil.com", "/evil.com/"),
        ("/%2fevil.com", "/evil.com/"),
        ("/.//evil.com", "/evil.com/"),
        ("//evil.com?next=1", "/evil.com/?next=1"),
        ("/docs", "/docs/"),
        ("/./docs", "/docs/"),
    ] {
        let r = client.get(asked).await;
        assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT, "{asked}");
        let location = r.header("location");
        let target = followed(&server, location);
        assert_eq!(
            (target.host_str(), target.port()),
            (Some("localhost"), Some(server.addr.port())),
            "{asked} -> Location {location} leaves the host"
        );
        assert_eq!(location, expected, "{asked}");
        // The redirect target serves the directory's index.
        let index = client.get(location).await;
        assert_eq!(index.status, StatusCode::OK, "{asked} -> {location}");
    }

    // Backslashes (which browsers read as slashes) never reach a Location.
    for asked in ["/%5Cevil.com", "/%5C%5Cevil.com", "/%2F%5Cevil.com"] {
        let r = client.get(asked).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{asked}");
        assert!(r.headers.get("location").is_none(), "{asked}");
    }
}

#[tokio::test]
async fn a_file_asked_for_as_a_directory_is_not_found() {
    for watching in [false, true] {
        let dir = site(&[
            ("a.txt", b"a file"),
            ("docs/index.html", b"<!doctype html><title>docs</title>"),
        ]);
        let server = if watching {
            // With the change feed, small files are answered from memory.
            TestServer::start_watching(config(dir.path())).await
        } else {
            TestServer::start(config(dir.path())).await
        };
        let client = server.client().await;
        // Twice: the first GET may put a.txt in memory, the second is answered from there.
        for _ in 0..2 {
            let r = client.get("/a.txt").await;
            assert_eq!(
                (r.status, r.body.as_slice()),
                (StatusCode::OK, &b"a file"[..])
            );
        }
        for asked in [
            "/a.txt/",
            "/a.txt%2F",
            "/a.txt%2f",
            "/a.txt/.",
            "/a.txt/?x=1",
            "/docs/index.html/",
        ] {
            let r = client.get(asked).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{asked} (watching: {watching})"
            );
        }
        let docs = client.get("/docs/").await;
        assert_eq!(docs.status, StatusCode::OK);
        let docs = client.get("/docs/.").await;
        assert_eq!(docs.status, StatusCode::OK);
    }
}
