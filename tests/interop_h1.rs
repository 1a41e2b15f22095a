//! HTTP/1.1 through the real binary with the clients people script with: wget and Python's
//! urllib (no ALPN), curl --http1.1, curl on the cleartext port (beside nghttp's h2c there),
//! h2load --h1, and the change feed (SSE, long-poll) over HTTP/1.1.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::served::Served;
use common::{site, tool};

const CSS: &[u8] = b"body { color: #123; }\n";
const PAGE: &[u8] =
    b"<!doctype html><link rel=stylesheet href=/style.css><script src=/app.js></script>";

fn demo() -> tempfile::TempDir {
    site(&[
        ("index.html", PAGE),
        ("style.css", CSS),
        ("app.js", b"console.log(1)\n"),
    ])
}

fn run(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().expect("the client runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn wget_and_urllib_without_alpn_get_the_files() {
    let Some(wget) = tool("wget") else { return };
    let Some(python) = tool("python3") else {
        return;
    };
    let dir = demo();
    let served = Served::start(dir.path(), &[]);
    let ca = served.ca.to_str().unwrap().to_owned();

    let (body, _) = run(Command::new(&wget).args([
        "-q",
        "-O",
        "-",
        "--tries=1",
        "--ca-certificate",
        &ca,
        &served.url("/style.css"),
    ]));
    assert_eq!(body.as_bytes(), CSS);

    let script = "import ssl, sys, urllib.request\n\
        ctx = ssl.create_default_context(cafile=sys.argv[1])\n\
        r = urllib.request.urlopen(sys.argv[2], context=ctx)\n\
        sys.stdout.write(str(r.status) + '\\n' + r.headers['Link'] + '\\n' + r.read().decode())";
    let (out, _) = run(Command::new(&python).args(["-c", script, &ca, &served.url("/")]));
    let mut lines = out.splitn(3, '\n');
    assert_eq!(lines.next(), Some("200"));
    let link = lines.next().unwrap();
    assert!(
        link.contains("</style.css>; rel=preload; as=style"),
        "{link}"
    );
    assert_eq!(lines.next().unwrap().as_bytes(), PAGE);
}

#[test]
fn curl_http11_gets_link_headers_and_keeps_the_connection() {
    let Some(curl) = tool("curl") else { return };
    let dir = demo();
    let served = Served::start(dir.path(), &[]);
    let ca = served.ca.to_str().unwrap().to_owned();
    let (out, err) = run(Command::new(&curl).args([
        "-sv",
        "--http1.1",
        "--cacert",
        &ca,
        "-D",
        "-",
        "-o",
        "/dev/null",
        &served.url("/"),
        "-o",
        "/dev/null",
        &served.url("/style.css"),
    ]));
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        out.contains("link: </style.css>; rel=preload; as=style"),
        "{out}"
    );
    assert!(
        out.contains("link: </app.js>; rel=preload; as=script"),
        "{out}"
    );
    assert!(!out.contains("HTTP/1.1 103"), "no 103 over HTTP/1.1: {out}");
    assert!(
        err.contains("Re-using existing") || err.contains("left intact"),
        "keep-alive: {err}"
    );
}

#[test]
fn the_cleartext_port_speaks_http11_and_h2c() {
    let Some(curl) = tool("curl") else { return };
    let Some(nghttp) = tool("nghttp") else { return };
    let dir = demo();
    let served = Served::start(dir.path(), &["--http", "127.0.0.1:0"]);
    let url = format!("http://127.0.0.1:{}/style.css", served.http_port.unwrap());
    let (out, _) = run(Command::new(&curl).args(["-s", "-D", "-", &url]));
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.ends_with(std::str::from_utf8(CSS).unwrap()), "{out}");

    let (out, _) = run(Command::new(&nghttp).args(["-nv", &url]));
    assert!(out.contains(":status: 200"), "h2c prior knowledge: {out}");
}

#[test]
fn h2load_h1_completes_every_request() {
    let Some(h2load) = tool("h2load") else { return };
    let dir = demo();
    let served = Served::start(dir.path(), &[]);
    let (out, _) = run(Command::new(&h2load).args([
        "--h1",
        "-n",
        "200",
        "-c",
        "4",
        &served.url("/style.css"),
    ]));
    assert!(out.contains("200 succeeded, 0 failed"), "{out}");
}

#[test]
fn the_change_feed_streams_and_long_polls_over_http11() {
    let Some(curl) = tool("curl") else { return };
    let dir = demo();
    let served = Served::start(dir.path(), &[]);
    let ca = served.ca.to_str().unwrap().to_owned();
    let mut events = Command::new(&curl)
        .args([
            "-sN",
            "--http1.1",
            "--cacert",
            &ca,
            "-D",
            "-",
            "--max-time",
            "20",
            &served.url("/.h2push/events"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(events.stdout.take().unwrap()).lines();
    let mut head = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("retry:") {
            break;
        }
        head.push(line);
    }
    let head = head.join("\n").to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");

    let started = Instant::now();
    std::fs::write(dir.path().join("new.css"), "p{}").unwrap();
    let change = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("data:"))
        .expect("an event arrives");
    assert!(change.contains("/new.css"), "{change}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let _ = events.kill();
    let _ = events.wait();

    let (poll, _) = run(Command::new(&curl).args([
        "-s",
        "--http1.1",
        "--cacert",
        &ca,
        &served.url("/.h2push/poll?after=0"),
    ]));
    assert!(poll.contains("/new.css"), "{poll}");
}
