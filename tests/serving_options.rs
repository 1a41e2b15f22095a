//! Serving options users of other static servers expect, through the real binary on both
//! protocols (issue 13): `--fallback`, `--header`, `--cors`, `--list-dirs`, and the access log
//! (`--log-format`, `--access-log`).

mod common;

use common::cli::{curl, run_in, wait_for_lines};
use common::served::Served;
use common::site;

#[test]
fn fallback_serves_the_page_for_missing_html_navigations_only() {
    let dir = site(&[
        ("index.html", b"<title>app shell</title>"),
        ("404.html", b"not here"),
    ]);
    let served = Served::start(dir.path(), &["--fallback", "index.html"]);
    let html = ["-H", "Accept: text/html,*/*;q=0.8"];
    for args in [&html[..], &["--http1.1", html[0], html[1]]] {
        let text = curl(&served, args, "/app/settings/profile");
        assert!(text.starts_with("HTTP/") && text.contains(" 200"), "{text}");
        assert!(text.ends_with("<title>app shell</title>"), "{text}");
    }
    // A script or an API call that finds nothing still gets 404.
    let text = curl(&served, &["-H", "Accept: */*"], "/js/missing.js");
    assert!(text.starts_with("HTTP/2 404"), "{text}");
    let text = curl(&served, &["-X", "POST", html[0], html[1]], "/nothing");
    assert!(!text.contains("app shell"), "{text}");

    let out = run_in(
        dir.path(),
        &[
            "serve",
            ".",
            "--listen",
            "127.0.0.1:0",
            "--fallback",
            "nope.html",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fallback \"nope.html\""));
}

#[test]
fn header_rules_apply_by_path_glob_on_both_protocols() {
    let dir = site(&[("assets/js/app.js", b"1"), ("index.html", b"<p>")]);
    let served = Served::start(
        dir.path(),
        &[
            "--header",
            "/assets/*: Cache-Control: max-age=31536000, immutable",
            "--header",
            "/*.html: X-Frame-Options: DENY",
        ],
    );
    for proto in ["--http2", "--http1.1"] {
        let text = curl(&served, &[proto], "/assets/js/app.js").to_lowercase();
        assert!(
            text.contains("cache-control: max-age=31536000, immutable"),
            "{text}"
        );
        assert!(!text.contains("x-frame-options"), "{text}");
        // The second round (HTTP/1.1) is answered from the in-memory file cache.
        let text = curl(&served, &[proto], "/index.html").to_lowercase();
        assert!(text.contains("x-frame-options: deny"), "{text}");
        assert!(!text.contains("immutable"), "{text}");
    }
    let out = run_in(dir.path(), &["serve", ".", "--header", "no-colon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must look like"));
}

#[test]
fn cors_allows_every_origin_and_answers_preflights() {
    let dir = site(&[("data.json", b"{}")]);
    let served = Served::start(dir.path(), &["--cors"]);
    let text = curl(
        &served,
        &["-H", "Origin: https://app.example"],
        "/data.json",
    )
    .to_lowercase();
    assert!(text.starts_with("http/2 200"), "{text}");
    assert!(text.contains("access-control-allow-origin: *"), "{text}");
    for proto in ["--http2", "--http1.1"] {
        let text = curl(
            &served,
            &[
                proto,
                "-X",
                "OPTIONS",
                "-H",
                "Origin: https://app.example",
                "-H",
                "Access-Control-Request-Method: GET",
                "-H",
                "Access-Control-Request-Headers: x-token, content-type",
            ],
            "/data.json",
        )
        .to_lowercase();
        assert!(text.contains(" 204"), "{text}");
        assert!(text.contains("access-control-allow-origin: *"), "{text}");
        assert!(
            text.contains("access-control-allow-methods: get, head, options"),
            "{text}"
        );
        assert!(
            text.contains("access-control-allow-headers: x-token, content-type"),
            "{text}"
        );
        assert!(text.contains("access-control-max-age: 86400"), "{text}");
    }
    // Without --cors: no CORS headers.
    let plain = Served::start(dir.path(), &[]);
    let text = curl(&plain, &[], "/data.json").to_lowercase();
    assert!(!text.contains("access-control"), "{text}");
}

#[test]
fn directory_listing_is_escaped_sorted_and_has_json() {
    let dir = site(&[
        ("files/<b>&x\".txt", b"12345"),
        ("files/a b#c.txt", b"1"),
        ("files/zdir/inner.txt", b"1"),
        ("files/.secret", b"hidden"),
        ("files/sub/index.html", b"<p>index wins</p>"),
    ]);
    // Off by default: a directory without index.html is 404.
    let plain = Served::start(dir.path(), &[]);
    assert!(curl(&plain, &[], "/files/").starts_with("HTTP/2 404"));

    let served = Served::start(dir.path(), &["--list-dirs"]);
    let page = curl(&served, &[], "/files/");
    assert!(page.starts_with("HTTP/2 200"), "{page}");
    assert!(page.contains("text/html; charset=utf-8"), "{page}");
    assert!(
        page.contains(">&lt;b&gt;&amp;x&quot;.txt</a><td>5<td>"),
        "{page}"
    );
    assert!(!page.contains("<b>"), "unescaped name: {page}");
    assert!(page.contains("href=\"/files/a%20b%23c.txt\""), "{page}");
    assert!(page.contains("href=\"/files/zdir/\">zdir/</a>"), "{page}");
    assert!(page.contains("href=\"/\">../</a>"), "{page}");
    assert!(!page.contains("secret"), "{page}");
    // Directories first, then files by name.
    let order: Vec<usize> = ["sub/", "zdir/", "&lt;b&gt;", "a b#c.txt"]
        .iter()
        .map(|n| page.find(&format!(">{n}")).expect(n))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?} {page}");
    // A directory with an index.html still gets its page.
    assert!(curl(&served, &[], "/files/sub/").ends_with("index wins</p>"));

    let json = curl(&served, &["-H", "Accept: application/json"], "/files/");
    let body = &json[json.find("\r\n\r\n").unwrap() + 4..];
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sub", "zdir", "<b>&x\".txt", "a b#c.txt"]);
    assert_eq!(v["entries"][2]["size"], 5);
    assert_eq!(v["entries"][0]["dir"], true);
    assert!(v["entries"][2]["modified"].as_u64().unwrap() > 1_600_000_000);
}

/// Past the listing's cap, the first entries in the listing's order are shown (not whatever
/// `readdir` returned first) with a count of the rest; a name that is not UTF-8 is shown
/// escaped instead of dropped.
#[test]
fn a_listing_past_its_cap_shows_the_first_entries_and_names_are_never_dropped() {
    use std::os::unix::ffi::OsStrExt;
    let dir = site(&[]);
    let files = dir.path().join("many");
    std::fs::create_dir(&files).unwrap();
    let cap = h2push::files::listing::MAX_LISTING_ENTRIES;
    // Created in reverse, so that directory order tends to differ from name order.
    for i in (0..cap + 5).rev() {
        std::fs::File::create(files.join(format!("f{i:06}"))).unwrap();
    }
    std::fs::create_dir(files.join("zz-dir")).unwrap();
    std::fs::write(files.join(std::ffi::OsStr::from_bytes(b"z\xe9")), b"x").unwrap();
    let served = Served::start(dir.path(), &["--list-dirs"]);
    let json = curl(&served, &["-H", "Accept: application/json"], "/many/");
    let body = &json[json.find("\r\n\r\n").unwrap() + 4..];
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), cap);
    assert_eq!(v["omitted"], 7, "the last 6 f-files and the odd name");
    assert_eq!(entries[0]["name"], "zz-dir", "directories first");
    assert_eq!(entries[1]["name"], "f000000");
    assert_eq!(entries[cap - 1]["name"], format!("f{:06}", cap - 2));

    let few = dir.path().join("few");
    std::fs::create_dir(&few).unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(few.join(odd), b"x").unwrap();
    std::fs::write(few.join("plain.txt"), b"x").unwrap();
    let json = curl(&served, &["-H", "Accept: application/json"], "/few/");
    let body = &json[json.find("\r\n\r\n").unwrap() + 4..];
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["entries"][0]["name"], "caf\\xE9.txt", "{v}");
    assert_eq!(v["entries"][0]["not_utf8"], true);
    assert_eq!(v["entries"][1]["name"], "plain.txt");
    let page = curl(&served, &[], "/few/");
    assert!(
        page.contains("caf\\xE9.txt <small>(name not UTF-8"),
        "{page}"
    );
    let page = curl(&served, &[], "/many/");
    assert!(
        page.contains("7 more entries not shown: the listing shows the first 10000"),
        "{}",
        &page[page.len() - 300..]
    );
}

#[test]
fn access_log_formats_to_a_file() {
    let dir = site(&[("a.txt", b"hello")]);
    let logs = tempfile::TempDir::new().unwrap();
    let ua = ["-A", "tester/1.0", "-e", "https://ref.example/p"];
    for (format, expect) in [
        ("combined", " - - ["),
        ("json", "{"),
        ("pretty", "INFO h2push::access: peer=127.0.0.1:"),
    ] {
        let file = logs.path().join(format!("{format}.log"));
        let served = Served::start(
            dir.path(),
            &[
                "--log-format",
                format,
                "--access-log",
                file.to_str().unwrap(),
            ],
        );
        curl(&served, &ua, "/a.txt");
        curl(&served, &[&ua[..], &["--http1.1"]].concat(), "/missing");
        let lines = wait_for_lines(&file, 2);
        assert!(lines[0].contains(expect), "{format}: {lines:?}");
        // Nothing from the access log on stderr when it goes to a file.
        assert!(served.log_lines("path=/a.txt").is_empty());
        match format {
            "combined" => {
                assert!(
                    lines[0].starts_with("127.0.0.1 - - [")
                        && lines[0].ends_with(
                            "] \"GET /a.txt HTTP/2.0\" 200 5 \"https://ref.example/p\" \"tester/1.0\""
                        ),
                    "{}",
                    lines[0]
                );
                assert!(
                    lines[1].contains("\"GET /missing HTTP/1.1\" 404 "),
                    "{}",
                    lines[1]
                );
            }
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
                assert_eq!(v["proto"], "h2");
                assert_eq!(v["method"], "GET");
                assert_eq!(v["path"], "/a.txt");
                assert_eq!(v["status"], 200);
                assert_eq!(v["bytes"], 5);
                assert_eq!(v["user_agent"], "tester/1.0");
                assert_eq!(v["referer"], "https://ref.example/p");
                assert!(v["client"].as_str().unwrap().starts_with("127.0.0.1:"));
                assert!(v["ms"].as_f64().unwrap() >= 0.0);
                let v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
                assert_eq!(
                    (v["proto"].as_str(), v["status"].as_u64()),
                    (Some("h1"), Some(404))
                );
            }
            _ => {
                assert!(
                    lines[0].contains(" proto=h2 method=GET path=/a.txt status=200 bytes=5 ms="),
                    "{}",
                    lines[0]
                );
                assert!(lines[0].ends_with(" ua=\"tester/1.0\" referer=\"https://ref.example/p\""));
            }
        }
    }
}

#[test]
fn access_log_goes_to_stderr_by_default() {
    let dir = site(&[("a.txt", b"hello")]);
    let served = Served::start(dir.path(), &[]);
    curl(&served, &[], "/a.txt");
    for _ in 0..100 {
        if !served.log_lines("path=/a.txt").is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let lines = served.log_lines("path=/a.txt");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("proto=h2 method=GET path=/a.txt status=200 bytes=5"));
}

#[test]
fn access_log_wakes_after_quiet_and_is_complete_at_stop() {
    let dir = site(&[("a.txt", b"hello")]);
    let logs = tempfile::TempDir::new().unwrap();
    let file = logs.path().join("access.log");
    let served = Served::start(dir.path(), &["--access-log", file.to_str().unwrap()]);
    // After half a second of quiet the writer parks; the next line must wake it, not wait for
    // its safety timeout (the bound here leaves a loaded machine 600 ms).
    for round in 0..2 {
        std::thread::sleep(std::time::Duration::from_millis(1200));
        curl(&served, &[], "/a.txt");
        let sent = std::time::Instant::now();
        let lines = wait_for_lines(&file, round + 1);
        assert!(
            sent.elapsed() < std::time::Duration::from_millis(600),
            "the first line after a quiet spell took {:?}",
            sent.elapsed()
        );
        assert!(lines[round].contains("path=/a.txt status=200"), "{lines:?}");
    }
    // Lines of responses sent just before SIGTERM are written before the server exits: one
    // curl, SIGTERM as soon as it is done, within the writer's polling interval.
    let urls: Vec<String> = (0..20)
        .map(|i| served.url(&format!("/a.txt?{i}")))
        .collect();
    let out = std::process::Command::new("curl")
        .args(["-sS", "--http2", "--cacert", served.ca.to_str().unwrap()])
        .args(&urls)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(served.terminate().code(), Some(0));
    let text = std::fs::read_to_string(&file).unwrap();
    for i in 0..20 {
        assert!(
            text.contains(&format!("path=/a.txt?{i} ")),
            "{i} missing:\n{text}"
        );
    }
}
