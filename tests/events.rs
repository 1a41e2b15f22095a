//! The change feed against the real server: files written into the served directory arrive as
//! Server-Sent Events and long-poll answers through the h2 client over rustls; live reload
//! injects its script consistently; a stalled reader holds up nobody; curl reads the stream.
//!
//! The curl and Chromium tests skip when curl, chromium or certutil is missing, unless
//! `H2PUSH_REQUIRE_INTEROP=1` (CI installs `curl chromium libnss3-tools`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{chromium_dom, config, site, tool, Client, TestServer};
use h2::RecvStream;
use http::{Method, Request, StatusCode};
use serde_json::Value;

const EVENTS: &str = "/.h2push/events";

/// Fails the test if `future` takes longer than `limit`.
async fn within<F: std::future::Future>(limit: Duration, what: &str, future: F) -> F::Output {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {limit:?} waiting for {what}"))
}

/// An open event stream, read one blank-line-terminated block at a time.
struct EventStream {
    headers: http::HeaderMap,
    body: RecvStream,
    buffered: String,
}

/// One block of an event stream: `field: value` lines.
#[derive(Debug)]
struct Block(String);

impl Block {
    fn field(&self, name: &str) -> Option<&str> {
        self.0
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
    }

    fn data(&self) -> Value {
        serde_json::from_str(self.field("data").expect("a data line")).unwrap()
    }
}

impl EventStream {
    async fn open(client: &Client, last_event_id: Option<&str>) -> EventStream {
        let mut req = client.request(Method::GET, EVENTS);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let response = open(client, req.body(()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let (parts, body) = response.into_parts();
        let mut stream = EventStream {
            headers: parts.headers,
            body,
            buffered: String::new(),
        };
        let first = stream.next().await;
        assert_eq!(first.0, "retry: 2000", "the stream starts with its retry");
        stream
    }

    /// The next block, without its terminating blank line.
    async fn next(&mut self) -> Block {
        loop {
            if let Some(end) = self.buffered.find("\n\n") {
                let block = self.buffered[..end].to_string();
                self.buffered.drain(..end + 2);
                return Block(block);
            }
            let chunk: Bytes = self
                .body
                .data()
                .await
                .expect("the stream stays open")
                .expect("a chunk");
            let _ = self.body.flow_control().release_capacity(chunk.len());
            self.buffered.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next `event: change` (or `reset`) block, skipping keep-alive comments.
    async fn next_event(&mut self) -> Block {
        loop {
            let block = self.next().await;
            if !block.0.starts_with(':') {
                return block;
            }
        }
    }
}

async fn open(client: &Client, req: Request<()>) -> http::Response<RecvStream> {
    let mut send = client.conn.send.clone().ready().await.expect("ready");
    let (response, _) = send.send_request(req, true).expect("request sent");
    response.await.expect("response")
}

fn change(block: &Block) -> (u64, String, String) {
    assert_eq!(block.field("event"), Some("change"), "{block:?}");
    let data = block.data();
    let id: u64 = block.field("id").unwrap().parse().unwrap();
    assert_eq!(data["id"].as_u64(), Some(id), "id line and data agree");
    (
        id,
        data["path"].as_str().unwrap().to_string(),
        data["kind"].as_str().unwrap().to_string(),
    )
}

fn demo() -> tempfile::TempDir {
    site(&[
        (
            "index.html",
            b"<!doctype html><title>t</title><body><p>hi</p></body></html>\n",
        ),
        ("css/site.css", b"body { color: red; }\n"),
        ("about.html", b"<!doctype html><title>no body tag</title>"),
    ])
}

/// Waits until the server's feed has published `id`. A bound on a wait, not on speed: a burst
/// of a few hundred files once took over 3 s with the Chromium tests busy on both cores of CI.
async fn published(server: &TestServer, id: u64) {
    let feed = server.state.changes.clone().unwrap();
    within(Duration::from_secs(15), "the watcher", async {
        while feed.last_id() < id {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(feed.last_id(), id, "exactly the expected changes");
}

/// Waits until the watcher has published at least `id` changes and the feed has been quiet
/// for a moment; returns the last id.
async fn published_at_least(server: &TestServer, id: u64) -> u64 {
    let feed = server.state.changes.clone().unwrap();
    within(Duration::from_secs(15), "the watcher", async {
        while feed.last_id() < id {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let a straggling burst land before the id is read.
        let mut last = feed.last_id();
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if feed.last_id() == last {
                return last;
            }
            last = feed.last_id();
        }
    })
    .await
}

/// A busy site: files read every 20 ms (as a server answering requests does) raise inotify
/// access events; they must not hold a change back until the 1 s burst cap.
#[tokio::test]
async fn reads_of_the_root_do_not_delay_a_change() {
    let dir = demo();
    let server = TestServer::start_watching(config(dir.path())).await;
    let client = server.client().await;
    let mut events = EventStream::open(&client, None).await;
    let reading = Arc::new(AtomicBool::new(true));
    let reader = {
        let (reading, page) = (reading.clone(), dir.path().join("index.html"));
        std::thread::spawn(move || {
            while reading.load(Ordering::Relaxed) {
                let _ = std::fs::read(&page);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = Instant::now();
    std::fs::write(dir.path().join("css/site.css"), "body { color: teal; }\n").unwrap();
    let block = within(
        Duration::from_secs(3),
        "the change event",
        events.next_event(),
    )
    .await;
    let took = written.elapsed();
    reading.store(false, Ordering::Relaxed);
    reader.join().unwrap();
    assert_eq!(block.data()["path"], "/css/site.css", "{block:?}");
    // DEBOUNCE is 100 ms and DEBOUNCE_MAX 1 s: well under the cap, with room for a busy machine.
    assert!(took < Duration::from_millis(700), "{took:?}");
}

#[tokio::test]
async fn a_written_file_arrives_as_a_change_event_within_a_second() {
    let dir = demo();
    let server = TestServer::start_watching(config(dir.path())).await;
    let client = server.client().await;
    let mut events = EventStream::open(&client, None).await;
    assert_eq!(events.headers["content-type"], "text/event-stream");
    assert_eq!(events.headers["cache-control"], "no-cache");

    let written = Instant::now();
    std::fs::write(dir.path().join("css/site.css"), "body { color: blue; }\n").unwrap();
    let block = within(
        Duration::from_secs(1),
        "the change event",
        events.next_event(),
    )
    .await;
    assert!(written.elapsed() < Duration::from_secs(1));
    assert_eq!(
        change(&block),
        (1, "/css/site.css".to_string(), "modified".to_string())
    );

    std::fs::write(dir.path().join("new page.html"), "new").unwrap();
    std::fs::write(dir.path().join(".hidden"), "x").unwrap();
    std::fs::write(dir.path().join("index.html~"), "x").unwrap();
    let block = within(
        Duration::from_secs(1),
        "the next event",
        events.next_event(),
    )
    .await;
    assert_eq!(
        change(&block),
        (2, "/new%20page.html".to_string(), "created".to_string())
    );
    std::fs::remove_file(dir.path().join("about.html")).unwrap();
    let block = within(Duration::from_secs(1), "the removal", events.next_event()).await;
    assert_eq!(
        change(&block),
        (3, "/about.html".to_string(), "removed".to_string()),
        "dotfiles and editor backups are not reported"
    );
}

#[tokio::test]
async fn last_event_id_replays_exactly_the_missed_events() {
    let dir = demo();
    let server = TestServer::start_watching(config(dir.path())).await;
    let client = server.client().await;
    for (i, name) in ["a.css", "b.css", "c.css"].iter().enumerate() {
        std::fs::write(dir.path().join(name), "x").unwrap();
        published(&server, i as u64 + 1).await;
    }

    let mut resumed = EventStream::open(&client, Some("1")).await;
    let replayed = [resumed.next_event().await, resumed.next_event().await];
    let paths: Vec<_> = replayed.iter().map(|b| change(b).1).collect();
    assert_eq!(paths, ["/b.css", "/c.css"]);
    // Nothing else was queued: the next event is the next change, with the next id.
    std::fs::write(dir.path().join("d.css"), "x").unwrap();
    let next = within(Duration::from_secs(1), "a live event", resumed.next_event()).await;
    assert_eq!(change(&next).0, 4);

    let mut all = EventStream::open(&client, Some("0")).await;
    for id in 1..=4 {
        assert_eq!(change(&all.next_event().await).0, id);
    }

    // An id this server never issued (a client of an earlier run): reset, resume from the last.
    let mut stale = EventStream::open(&client, Some("99")).await;
    let reset = stale.next_event().await;
    assert_eq!(reset.field("event"), Some("reset"), "{reset:?}");
    assert_eq!(reset.field("id"), Some("4"));
    assert_eq!(reset.data()["last_id"], 4);
    let mut garbled = EventStream::open(&client, Some("not a number")).await;
    assert_eq!(garbled.next_event().await.field("event"), Some("reset"));
}

#[tokio::test]
async fn a_client_behind_the_buffer_gets_a_reset() {
    let dir = demo();
    let server = TestServer::start_watching(config(dir.path())).await;
    let client = server.client().await;
    let count = h2push::watch::FEED_CAPACITY as u64 + 30;
    // A new directory's files are reported even when written before the watcher sees them.
    std::fs::create_dir(dir.path().join("many")).unwrap();
    for i in 0..count {
        std::fs::write(dir.path().join(format!("many/{i}.txt")), "x").unwrap();
    }
    // A file the new directory's scan found may be reported once more when its own inotify
    // event lands in the next burst, so the feed can end a change or two past `count`.
    let last = published_at_least(&server, count).await;
    let mut stream = EventStream::open(&client, Some("5")).await;
    let reset = stream.next_event().await;
    assert_eq!(reset.field("event"), Some("reset"));
    assert_eq!(reset.field("id"), Some(last.to_string().as_str()));
}

#[tokio::test]
async fn an_idle_stream_gets_keep_alive_comments() {
    let dir = demo();
    let mut cfg = config(dir.path());
    cfg.feed.keep_alive = Duration::from_millis(200);
    let server = TestServer::start_watching(cfg).await;
    let client = server.client().await;
    let mut events = EventStream::open(&client, None).await;
    for _ in 0..2 {
        let block = within(Duration::from_secs(1), "a keep-alive", events.next()).await;
        assert_eq!(block.0, ": keep-alive");
    }
}

async fn poll(client: &Client, query: &str) -> (common::Resp, Duration) {
    let started = Instant::now();
    let r = client.get(&format!("/.h2push/poll{query}")).await;
    (r, started.elapsed())
}

#[tokio::test]
async fn long_poll_answers_on_change_and_on_timeout() {
    let dir = demo();
    let mut cfg = config(dir.path());
    cfg.feed.poll_timeout = Duration::from_millis(400);
    let server = TestServer::start_watching(cfg).await;
    let client = server.client().await;

    let (r, took) = poll(&client, "?after=0").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json");
    let json: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"events": [], "last_id": 0, "reset": false})
    );
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(2),
        "{took:?}"
    );

    let path = dir.path().join("css/site.css");
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        std::fs::write(path, "changed").unwrap();
    });
    let (r, took) = poll(&client, "?after=0").await;
    writer.await.unwrap();
    let json: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["events"][0]["path"], "/css/site.css", "{json}");
    assert_eq!(json["last_id"], 1);
    assert!(took < Duration::from_secs(1), "{took:?}");

    // What is already there is answered at once.
    let (r, took) = poll(&client, "?after=0").await;
    assert!(took < Duration::from_millis(300), "{took:?}");
    assert_eq!(
        r.header("content-length"),
        r.body.len().to_string().as_str()
    );
    let json: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["events"].as_array().unwrap().len(), 1);
    let (r, _) = poll(&client, "?after=50").await;
    let json: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["reset"], true);
    assert_eq!(json["last_id"], 1);
}

#[tokio::test]
async fn bad_requests_to_the_feed_get_4xx() {
    let dir = demo();
    let server = TestServer::start_watching(config(dir.path())).await;
    let client = server.client().await;
    for query in ["", "?after=", "?after=abc", "?after=-1", "?since=3"] {
        let (r, _) = poll(&client, query).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            String::from_utf8_lossy(&r.body).contains("?after=ID"),
            "{query}: a clear message"
        );
    }
    let req = client.request(Method::POST, EVENTS).body(()).unwrap();
    let r = client.send(req).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), "GET, HEAD");
    assert_eq!(
        client.get("/.h2push/other").await.status,
        StatusCode::NOT_FOUND
    );
    let req = client.request(Method::HEAD, EVENTS).body(()).unwrap();
    let head = client.send(req).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-type"), "text/event-stream");
    assert!(head.body.is_empty());

    // Without a watcher there is no feed: the prefix is a dot-directory like any other.
    let plain = TestServer::start(config(dir.path())).await;
    let plain_client = plain.client().await;
    assert_eq!(plain_client.get(EVENTS).await.status, StatusCode::NOT_FOUND);
    assert_eq!(plain_client.get("/").await.status, StatusCode::OK);
}

#[tokio::test]
async fn feed_path_is_configurable() {
    let dir = demo();
    let mut cfg = config(dir.path());
    cfg.feed.path = "/_live/".into();
    let server = TestServer::start_watching(cfg).await;
    let client = server.client().await;
    std::fs::write(dir.path().join("css/site.css"), "changed").unwrap();
    published(&server, 1).await;
    let r = client.get("/_live/poll?x&after=0").await;
    assert_eq!(r.status, StatusCode::OK);
    let json: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["events"][0]["path"], "/css/site.css");
    assert_eq!(client.get(EVENTS).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn live_reload_injects_a_script_with_its_own_validators() {
    let dir = demo();
    let file = std::fs::read(dir.path().join("index.html")).unwrap();
    let plain = TestServer::start_watching(config(dir.path())).await;
    let mut cfg = config(dir.path());
    cfg.live_reload = true;
    let live = TestServer::start_watching(cfg).await;
    let (plain, live) = (plain.client().await, live.client().await);

    let original = plain.get("/").await;
    assert_eq!(original.body, file, "byte-identical without --live-reload");
    let page = live.get("/").await;
    let text = String::from_utf8(page.body.clone()).unwrap();
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-length"), page.body.len().to_string());
    assert!(
        text.contains(r#"new EventSource(FEED)"#) && text.contains(r#""/.h2push/events""#),
        "{text}"
    );
    assert!(
        text.ends_with("</script>\n</body></html>\n"),
        "before </body>: {text}"
    );
    let (etag, plain_etag) = (page.header("etag"), original.header("etag"));
    assert_ne!(etag, plain_etag);
    assert_eq!(
        etag,
        format!("{}-lr\"", plain_etag.trim_end_matches('"')),
        "the file's tag, marked"
    );

    let conditional = |tag: &str| {
        live.request(Method::GET, "/")
            .header("if-none-match", tag)
            .body(())
            .unwrap()
    };
    let not_modified = live.send(conditional(etag)).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.header("etag"), etag);
    assert_eq!(
        live.send(conditional(plain_etag)).await.status,
        StatusCode::OK,
        "the file's own tag does not validate the injected page"
    );
    let head = live
        .send(live.request(Method::HEAD, "/").body(()).unwrap())
        .await;
    assert_eq!(head.header("content-length"), page.header("content-length"));
    assert_eq!(head.header("etag"), etag);
    let ranged = live
        .send(
            live.request(Method::GET, "/index.html")
                .header("range", "bytes=0-9")
                .body(())
                .unwrap(),
        )
        .await;
    assert_eq!(ranged.status, StatusCode::OK, "ranges get the whole page");
    assert_eq!(ranged.body, page.body);

    let no_body_tag = live.get("/about.html").await;
    assert!(String::from_utf8(no_body_tag.body)
        .unwrap()
        .ends_with("</script>\n"));
    let css = live.get("/css/site.css").await;
    assert_eq!(
        css.body,
        std::fs::read(dir.path().join("css/site.css")).unwrap()
    );
    assert_eq!(css.header("accept-ranges"), "bytes");
}

/// Under `--live-reload` every response is revalidated (`no-cache` with its ETag), so a reload
/// fetches what changed and gets 304 for the rest; without it assets keep `--cache-control`.
#[tokio::test]
async fn under_live_reload_every_response_is_revalidated() {
    let dir = site(&[
        (
            "index.html",
            b"<link rel=stylesheet href=s.css><script src=a.js></script>",
        ),
        ("s.css", b"p { margin: 0 }"),
        ("a.js", b"console.log(1)"),
        ("m.mjs", b"export const v = 1;"),
        (
            "i.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
        ),
        ("big.bin", &[7u8; 200 * 1024]),
    ]);
    let plain = TestServer::start_watching(config(dir.path())).await;
    let mut cfg = config(dir.path());
    cfg.live_reload = true;
    let live = TestServer::start_watching(cfg).await;
    let (plain, live) = (plain.client().await, live.client().await);
    for path in ["/s.css", "/a.js", "/m.mjs", "/i.svg", "/big.bin"] {
        let kept = plain.get(path).await;
        assert_eq!(
            kept.header("cache-control"),
            h2push::config::DEFAULT_CACHE_CONTROL,
            "{path}"
        );
        // Twice: the second answer comes from the in-memory copy, with its own stored head.
        for _ in 0..2 {
            let r = live.get(path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert_eq!(r.header("cache-control"), "no-cache", "{path}");
            let etag = r.header("etag").to_owned();
            let again = live
                .send(
                    live.request(Method::GET, path)
                        .header("if-none-match", &etag)
                        .body(())
                        .unwrap(),
                )
                .await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
            assert_eq!(again.header("cache-control"), "no-cache", "{path}");
        }
    }
}

#[tokio::test]
async fn a_stalled_reader_does_not_hold_up_another_stream() {
    let dir = demo();
    std::fs::create_dir(dir.path().join("burst")).unwrap();
    let mut cfg = config(dir.path());
    cfg.limits.send_stall_timeout = Duration::from_millis(500);
    let server = TestServer::start_watching(cfg).await;
    let mut options = server.options(false);
    options.stream_window = Some(4096);
    options.connection_window = Some(8 * 1024 * 1024);
    let client = server.client_with(options).await;
    // Same connection: one stream never read, one read as events come.
    let stalled = open(
        &client,
        client.request(Method::GET, EVENTS).body(()).unwrap(),
    )
    .await;
    let mut reader = EventStream::open(&client, None).await;

    let count = 700u64;
    for i in 0..count {
        let name = format!("burst/file-{i:04}-with-a-long-name-to-fill-the-queue.txt");
        std::fs::write(dir.path().join(name), "x").unwrap();
    }
    let last = within(
        Duration::from_secs(5),
        "every event on the read stream",
        async {
            let mut last = 0;
            while last < count {
                last = change(&reader.next_event().await).0;
            }
            last
        },
    )
    .await;
    assert_eq!(last, count);

    // The stalled stream got at most its window, then was cut off rather than buffered.
    let mut body = stalled.into_body();
    let mut received = 0;
    let ended = within(Duration::from_secs(5), "the stalled stream's end", async {
        loop {
            match body.data().await {
                Some(Ok(chunk)) => received += chunk.len(),
                Some(Err(err)) => return err,
                None => panic!("the stalled stream ended normally"),
            }
        }
    })
    .await;
    assert_eq!(ended.reason(), Some(h2::Reason::CANCEL), "{ended}");
    assert!(received <= 4096, "{received} bytes past a 4 KiB window");
}

#[tokio::test]
async fn curl_reads_the_event_stream_over_http2() {
    let Some(curl) = tool("curl") else { return };
    let dir = demo();
    let server = TestServer::start_watching(config(dir.path())).await;
    let url = format!("https://localhost:{}{EVENTS}", server.addr.port());
    let ca = server.ca.clone();
    let port = server.addr.port();
    let reading = tokio::task::spawn_blocking(move || {
        Command::new(curl)
            .args(["-sS", "-N", "--http2", "--max-time", "3", "-D", "-"])
            .arg("--cacert")
            .arg(&ca)
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .arg(&url)
            .output()
            .unwrap()
    });
    // Let curl connect before the change.
    tokio::time::sleep(Duration::from_millis(800)).await;
    std::fs::write(dir.path().join("css/site.css"), "changed").unwrap();
    let out = reading.await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // curl stops at --max-time (exit 28): the stream never ends by itself.
    assert_eq!(
        out.status.code(),
        Some(28),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("HTTP/2 200"), "{text}");
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    assert!(text.contains("retry: 2000\n\n"), "{text}");
    assert!(
        text.contains(
            "event: change\nid: 1\ndata: {\"id\":1,\"path\":\"/css/site.css\",\"kind\":\"modified\"}\n\n"
        ),
        "{text}"
    );
}

/// `--dump-dom` dumps at the load event, which comes as soon as the page has opened its
/// EventSource. A frame on the endless event stream holds the load open, so the DOM is dumped
/// at `--timeout` instead, after the page has had time to hear about changes.
const HOLD_LOAD: &str = r#"<iframe hidden src="/.h2push/events"></iframe>"#;

/// Keeps rewriting `path` (with `contents`) every 250 ms until the returned guard drops, so a
/// page that connected at any moment sees a change.
fn keep_writing(path: PathBuf, contents: &'static str) -> impl Drop {
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        while !flag.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(250));
            std::fs::write(&path, contents).unwrap();
        }
    });
    Stop(stop)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_the_change_on_the_events_page() {
    let (Some(chromium), Some(certutil)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("site"),
        dir.path(),
    );
    let page = dir.path().join("events.html");
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::write(
        &page,
        html.replace("</body>", &format!("{HOLD_LOAD}</body>")),
    )
    .unwrap();
    let server = TestServer::start_watching(config(dir.path())).await;
    let url = format!("https://localhost:{}/events.html", server.addr.port());
    let ca = server.ca.clone();
    let writing = keep_writing(dir.path().join("css/base.css"), "body { margin: 0; }\n");
    let dom =
        tokio::task::spawn_blocking(move || chromium_dom(&chromium, &certutil, &ca, &url, 4000))
            .await
            .unwrap();
    drop(writing);
    assert!(
        dom.contains(r#"<li class="open">"#),
        "the page saw the stream open: {dom}"
    );
    assert!(
        dom.contains(r#"<li class="change">"#) && dom.contains("modified /css/base.css"),
        "the page shows the change event: {dom}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_applies_a_css_edit_without_reloading_under_live_reload() {
    let (Some(chromium), Some(certutil)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    // The page counts its loads in sessionStorage and reports the marker's colour: a reload
    // would count 2, a swapped stylesheet turns the colour blue with the count still 1.
    let dir = site(&[
        (
            "index.html",
            br#"<!doctype html><html><head><link rel="stylesheet" href="style.css"></head><body>
<p id="marker">marker</p><p id="report"></p>
<iframe hidden src="/.h2push/events"></iframe>
<script>
const loads = Number(sessionStorage.getItem('loads') || 0) + 1;
sessionStorage.setItem('loads', loads);
setInterval(() => {
  const color = getComputedStyle(document.getElementById('marker')).color;
  document.getElementById('report').textContent = `loads=${loads} color=${color}`;
}, 100);
</script>
</body></html>
"#,
        ),
        ("style.css", b"#marker { color: rgb(255, 0, 0); }\n"),
    ]);
    let mut cfg = config(dir.path());
    cfg.live_reload = true;
    let server = TestServer::start_watching(cfg).await;
    let url = format!("https://localhost:{}/", server.addr.port());
    let ca = server.ca.clone();
    let writing = keep_writing(
        dir.path().join("style.css"),
        "#marker { color: rgb(0, 0, 255); }\n",
    );
    let dom =
        tokio::task::spawn_blocking(move || chromium_dom(&chromium, &certutil, &ca, &url, 4000))
            .await
            .unwrap();
    drop(writing);
    assert!(
        dom.contains("loads=1 color=rgb(0, 0, 255)"),
        "the new colour, without a reload: {dom}"
    );
    assert!(
        dom.contains("style.css?h2push-reload="),
        "the link was re-pointed: {dom}"
    );
}

/// The edit-reload loop in Chromium: after the first load, a module script, a classic script, a
/// stylesheet and an image are edited; the script edit reloads the page, and the reloaded page
/// runs and renders the new versions. With assets cached for `--cache-control`'s max-age, a
/// reload revalidated only the page and ran the old scripts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_runs_and_renders_the_edited_assets_after_a_live_reload() {
    let (Some(chromium), Some(certutil)) = (tool("chromium"), tool("certutil")) else {
        return;
    };
    let svg = |w: u32| format!("<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='5'/>");
    let dir = site(&[
        (
            "index.html",
            br#"<!doctype html><html><head><link rel="stylesheet" href="style.css">
<script src="classic.js"></script><script type="module" src="mod.js"></script></head><body>
<p id="marker">marker</p><img id="pic" src="pic.svg"><p id="report"></p>
<iframe hidden src="/.h2push/events"></iframe>
<script>
const loads = Number(sessionStorage.getItem('loads') || 0) + 1;
sessionStorage.setItem('loads', loads);
setTimeout(() => fetch('/loaded-' + loads), 300);
setInterval(() => {
  const color = getComputedStyle(document.getElementById('marker')).color;
  const width = document.getElementById('pic').naturalWidth;
  document.getElementById('report').textContent =
    `loads=${loads} classic=${window.classicVersion} module=${window.moduleVersion} color=${color} width=${width}`;
}, 100);
</script>
</body></html>
"#,
        ),
        ("style.css", b"#marker { color: rgb(255, 0, 0); }\n"),
        ("classic.js", b"window.classicVersion = 1;\n"),
        ("mod.js", b"window.moduleVersion = 1;\n"),
        ("pic.svg", svg(10).as_bytes()),
    ]);
    let served = common::served::Served::start(dir.path(), &["--live-reload"]);
    // Edit once the first load has run (its beacon is in the access log), not before.
    let log = served.log.clone();
    let root = dir.path().to_path_buf();
    let editor = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !log.lock().unwrap().iter().any(|l| l.contains("/loaded-1")) {
            assert!(Instant::now() < deadline, "the page never loaded");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        std::fs::write(root.join("pic.svg"), svg(20)).unwrap();
        std::fs::write(
            root.join("style.css"),
            "#marker { color: rgb(0, 0, 255); }\n",
        )
        .unwrap();
        std::fs::write(root.join("mod.js"), "window.moduleVersion = 2;\n").unwrap();
        std::fs::write(root.join("classic.js"), "window.classicVersion = 2;\n").unwrap();
    });
    let (ca, url) = (served.ca.clone(), served.url("/"));
    let dom =
        tokio::task::spawn_blocking(move || chromium_dom(&chromium, &certutil, &ca, &url, 8000))
            .await
            .unwrap();
    editor.join().unwrap();
    assert!(
        !dom.contains("loads=1 "),
        "the page did not reload after the edit: {dom}"
    );
    assert!(
        dom.contains("classic=2 module=2 color=rgb(0, 0, 255) width=20"),
        "the reloaded page runs and renders the new versions: {dom}"
    );
    let revalidated = served.log_lines("status=304");
    assert!(
        !revalidated.is_empty(),
        "nothing was revalidated: {:#?}",
        served.log_lines("path=")
    );
}

/// The `change feed` line `h2push serve` logs at start-up with `extra` flags.
fn startup_feed_line(extra: &[&str]) -> String {
    use std::io::{BufRead, BufReader};
    let dir = demo();
    let certs = tempfile::TempDir::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_h2push"))
        .args([
            "serve",
            dir.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--certs-dir")
        .arg(certs.path())
        .args(extra)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .find(|l| l.contains("change feed"));
    let _ = child.kill();
    let _ = child.wait();
    line.expect("a change feed line")
}

#[test]
fn serve_logs_whether_live_reload_is_on() {
    let on = startup_feed_line(&["--live-reload", "--feed-path", "/_feed/"]);
    assert!(on.contains(r#"live_reload="on""#), "{on}");
    assert!(on.contains("/_feed/events"), "{on}");
    let off = startup_feed_line(&[]);
    assert!(off.contains(r#"live_reload="off""#), "{off}");
    assert!(off.contains("/.h2push/events"), "{off}");
}
