//! The real `h2push` binary, as a user runs it: exit codes for usage errors, bounded memory for
//! a large file through a small client window, SIGTERM, and interop with nghttp and curl.
//!
//! Interop tests skip when nghttp or curl is missing, unless `H2PUSH_REQUIRE_INTEROP=1` (set by
//! `.ci/run`), where a missing tool is a failure.

mod common;

use std::process::Command;
use std::time::Duration;

use common::served::{bin, Served};
use common::{site, tool};
use http::{Request, StatusCode};

fn run(args: &[&str]) -> std::process::Output {
    Command::new(bin()).args(args).output().unwrap()
}

#[test]
fn usage_errors_exit_2_with_one_clear_line() {
    let missing = run(&["serve", "/definitely/not/here"]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("cannot serve /definitely/not/here"),
        "{stderr}"
    );

    let bad_flag = run(&["serve", "--no-such-flag"]);
    assert_eq!(bad_flag.status.code(), Some(2));

    let dir = site(&[("a.txt", b"a")]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let certs = tempfile::TempDir::new().unwrap();
    let in_use = run(&[
        "serve",
        dir.path().to_str().unwrap(),
        "--listen",
        &addr,
        "--certs-dir",
        certs.path().to_str().unwrap(),
    ]);
    assert_eq!(in_use.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&in_use.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}: address already in use")),
        "{stderr}"
    );
}

#[test]
fn cert_writes_a_ca_and_private_keys_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::TempDir::new().unwrap();
    let out = run(&["cert", "--dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ca.pem"), "{stdout}");
    for key in ["ca-key.pem", "localhost-key.pem"] {
        let mode = std::fs::metadata(dir.path().join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let chain = std::fs::read_to_string(dir.path().join("localhost.pem")).unwrap();
    assert_eq!(
        chain.matches("BEGIN CERTIFICATE").count(),
        2,
        "leaf then CA"
    );
}

#[tokio::test]
async fn large_file_through_a_small_window_keeps_memory_bounded() {
    const SIZE: usize = 96 * 1024 * 1024;
    let dir = site(&[]);
    let data: Vec<u8> = (0..SIZE as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(dir.path().join("large.bin"), &data).unwrap();
    let served = Served::start(dir.path(), &[]);
    let baseline = served.status_kib("VmRSS:");

    let conn = served.connect(Some(16 * 1024)).await;
    let req = Request::get(served.url("/large.bin")).body(()).unwrap();
    let mut send = conn.send.clone().ready().await.unwrap();
    let (response, _) = send.send_request(req, true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A stalled reader: the server must wait, not read the file into memory.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let stalled = served.status_kib("VmRSS:");

    let mut body = response.into_body();
    let mut received = Vec::with_capacity(SIZE);
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        received.extend_from_slice(&chunk);
    }
    let peak = served.status_kib("VmHWM:");
    assert!(
        received == data,
        "body differs ({} of {} bytes)",
        received.len(),
        SIZE
    );
    let growth = peak.saturating_sub(baseline);
    assert!(
        stalled.saturating_sub(baseline) < 8 * 1024 && growth < 16 * 1024,
        "server memory grew: baseline {baseline} KiB, stalled {stalled} KiB, peak {peak} KiB for a {} MiB file",
        SIZE >> 20
    );
}

#[test]
fn sigterm_exits_0() {
    let dir = site(&[("a.txt", b"a")]);
    let served = Served::start(dir.path(), &[]);
    assert_eq!(served.terminate().code(), Some(0));
}

/// A FIFO in the root must neither tie up a request nor keep the process alive after SIGTERM
/// (a blocking-pool thread stuck in `open()` on it used to do both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_after_a_fifo_was_requested() {
    let dir = site(&[("a.txt", b"a")]);
    let fifo = dir.path().join("x.css");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0, "mkfifo");
    let served = Served::start(dir.path(), &["--shutdown-grace", "1s"]);
    let conn = served.connect(None).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let req = Request::get(served.url("/x.css")).body(()).unwrap();
        let mut send = conn.send.clone().ready().await.unwrap();
        let (response, _) = send.send_request(req, true).unwrap();
        let answered = tokio::time::timeout(Duration::from_secs(1), response).await;
        statuses.push(answered.ok().and_then(Result::ok).map(|r| r.status()));
    }
    let exit = tokio::task::spawn_blocking(move || served.terminate())
        .await
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    assert_eq!(statuses, vec![Some(StatusCode::NOT_FOUND); 4]);
}

#[test]
fn nghttp_fetches_a_file_over_tls_h2() {
    let Some(nghttp) = tool("nghttp") else { return };
    let dir = site(&[("hello.txt", b"hello from h2push\n")]);
    let served = Served::start(dir.path(), &[]);
    let out = Command::new(nghttp)
        .args(["-nv", &served.url("/hello.txt")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("The negotiated protocol: h2"), "{stdout}");
    assert!(stdout.contains(":status: 200"), "{stdout}");
    assert!(stdout.contains("content-length: 18"), "{stdout}");
    assert!(
        stdout.contains("recv DATA frame <length=18, flags=0x01"),
        "{stdout}"
    );
}

#[test]
fn curl_reads_headers_ranges_and_bytes() {
    let Some(curl) = tool("curl") else { return };
    let dir = site(&[("style.css", b"body { color: red; }\n")]);
    let served = Served::start(dir.path(), &[]);
    let ca = served.ca.to_str().unwrap().to_string();
    let out = Command::new(&curl)
        .args([
            "-sS",
            "--http2",
            "--cacert",
            &ca,
            "-D",
            "-",
            &served.url("/style.css"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("HTTP/2 200"), "{text}");
    assert!(
        text.contains("content-type: text/css; charset=utf-8"),
        "{text}"
    );
    assert!(text.ends_with("body { color: red; }\n"), "{text}");

    let out = Command::new(&curl)
        .args([
            "-sS",
            "--http2",
            "--cacert",
            &ca,
            "-r",
            "5-9",
            "-D",
            "-",
            &served.url("/style.css"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/2 206"), "{text}");
    assert!(text.contains("content-range: bytes 5-9/21"), "{text}");
    assert!(text.ends_with("{ col"), "{text}");

    // An HTTP/1.1-only client is served the same file, with Date and Server.
    let out = Command::new(&curl)
        .args([
            "-sS",
            "--http1.1",
            "--cacert",
            &ca,
            "-D",
            "-",
            &served.url("/style.css"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("content-length: 21"), "{text}");
    assert!(text.contains("\ndate: "), "{text}");
    assert!(text.contains("\nserver: h2push/"), "{text}");
    assert!(text.ends_with("body { color: red; }\n"), "{text}");
}
