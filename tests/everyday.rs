//! Everyday use through the real binary (issue 13): the command line as a new user types it
//! (`h2push DIR`, a port alone, durations with units, plain logs in a pipe, `scan FILE`, a
//! read-only working directory, a second Ctrl-C), settings from a file and the environment,
//! `cert --host/--trust`, and the demo site.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::cli::{curl, run_in, start_lines, startup};
use common::served::{bin, Served};
use common::site;

#[test]
fn bare_command_serves_a_positional_dir_on_a_port_alone() {
    let dir = site(&[("a.txt", b"from the bare command\n")]);
    let d = dir.path().to_str().unwrap();
    for listen in ["0", ":0", "localhost:0"] {
        let served = Served::run(&[d, "--listen", listen]);
        let text = curl(&served, &[], "/a.txt");
        assert!(text.starts_with("HTTP/2 200"), "{listen}: {text}");
        assert!(text.ends_with("from the bare command\n"), "{text}");
    }
}

#[test]
fn every_duration_flag_refuses_a_bare_number_and_names_the_unit() {
    let dir = site(&[("a.txt", b"a")]);
    let d = dir.path().to_str().unwrap();
    for flag in [
        "--send-stall-timeout",
        "--handshake-timeout",
        "--idle-timeout",
        "--shutdown-grace",
        "--sse-keep-alive",
        "--poll-timeout",
    ] {
        let out = run_in(
            dir.path(),
            &["serve", d, "--listen", "127.0.0.1:0", flag, "50"],
        );
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("50ms or 50s"), "{flag}: {stderr}");
    }
    let out = run_in(dir.path(), &["compare", "--rtt", "50"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("50ms or 50s"));
}

#[test]
fn logs_have_no_colour_codes_when_stderr_is_a_pipe() {
    let dir = site(&[("a.txt", b"a")]);
    let certs = tempfile::TempDir::new().unwrap();
    let mut child = Command::new(bin())
        .args([
            "serve",
            dir.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--certs-dir")
        .arg(certs.path())
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("INFO"), "{line}");
    assert!(!line.contains('\u{1b}'), "colour codes in a pipe: {line:?}");
}

#[test]
fn scan_takes_a_file_and_prints_skipped_references_as_site_paths() {
    let dir = site(&[
        ("index.html", b"<link rel=stylesheet href=/missing.css>"),
        ("other.html", b"<p>other</p>"),
    ]);
    let out = run_in(dir.path(), &["scan", "index.html"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("/index.html "), "{stdout}");
    assert!(!stdout.contains("/other.html"), "{stdout}");
    assert!(
        stdout.contains("skipped /missing.css (in /index.html): not found"),
        "{stdout}"
    );
}

/// No path is compiled in: without DIR, `./site` when there is one, else the current
/// directory, and the command says which.
#[test]
fn without_a_dir_site_is_used_when_present_else_the_current_directory() {
    let plain = site(&[("page.html", b"<p>here</p>")]);
    let out = run_in(plain.path(), &["scan"]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no ./site here: using the current directory"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("/page.html"));

    let with_site = site(&[("site/inner.html", b"<p>in site</p>"), ("outer.html", b"")]);
    let out = run_in(with_site.path(), &["scan"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no DIR given: using ./site"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("/inner.html") && !stdout.contains("/outer.html"),
        "{stdout}"
    );

    // A bare `h2push` serves the working directory there, and its start-up says so.
    let (_, lines) = start_lines(plain.path(), &["--listen", "0"], &[]);
    let root = plain.path().canonicalize().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("using the current directory")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("root={}", root.display()))),
        "{lines:?}"
    );
}

/// `h2push serve` in `cwd` with a throw-away HOME (no XDG_DATA_HOME, no H2PUSH_CAROOT unless
/// `env` sets them): its start-up lines, or how it failed.
fn serve_as_user(
    home: &std::path::Path,
    cwd: &std::path::Path,
    env: &[(&str, &std::path::Path)],
) -> Result<Vec<String>, String> {
    let mut cmd = Command::new(bin());
    cmd.args([".", "--listen", "127.0.0.1:0"])
        .current_dir(cwd)
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("H2PUSH_CAROOT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // "change feed" is the last start-up line, after the trust hint.
    let (mut child, lines) = startup(cmd, "change feed");
    match child.try_wait().unwrap().and_then(|s| s.code()) {
        Some(code) if !lines.iter().any(|l| l.contains("change feed")) => {
            Err(format!("exit Some({code}): {}", lines.join("\n")))
        }
        _ => Ok(lines),
    }
}

/// One local CA per user, as mkcert's CAROOT: made once under the data directory, reused from
/// every working directory, never written into the working directory (often the served root);
/// `XDG_DATA_HOME` and `H2PUSH_CAROOT` move it; `cert` finds the same one.
#[test]
fn the_local_ca_lives_with_the_user_and_is_reused_from_every_directory() {
    let home = tempfile::TempDir::new().unwrap();
    let (a, b) = (site(&[("a.txt", b"a")]), site(&[("b.txt", b"b")]));
    let ca = home.path().join(".local/share/h2push/ca.pem");

    let first = serve_as_user(home.path(), a.path(), &[]).unwrap();
    assert!(
        first.iter().any(|l| l.contains("created a local CA")),
        "{first:?}"
    );
    let made = std::fs::read(&ca).expect("the CA is in ~/.local/share/h2push");
    let second = serve_as_user(home.path(), b.path(), &[]).unwrap();
    assert!(!second.iter().any(|l| l.contains("created")), "{second:?}");
    assert_eq!(std::fs::read(&ca).unwrap(), made, "the CA was made again");
    for cwd in [&a, &b] {
        assert!(
            !cwd.path().join("certs").exists(),
            "certs/ written in the served root"
        );
    }
    // The trust hint names the port actually served, not a fixed one.
    let port = second
        .iter()
        .find_map(|l| l.split("url=https://localhost:").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let hint = second
        .iter()
        .find(|l| l.contains("h2push cert --trust"))
        .unwrap();
    assert!(
        hint.contains(&format!(
            "curl --cacert {} https://localhost:{port}/",
            ca.display()
        )),
        "{hint}"
    );

    // `cert` finds the same set without --dir.
    let out = Command::new(bin())
        .arg("cert")
        .env("HOME", home.path())
        .env_remove("XDG_DATA_HOME")
        .env_remove("H2PUSH_CAROOT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("certificates already in"), "{stdout}");
    assert!(stdout.contains(&ca.display().to_string()), "{stdout}");
    assert!(
        !stdout.contains("8443"),
        "a fixed port in the hint: {stdout}"
    );

    // XDG_DATA_HOME, then H2PUSH_CAROOT, move it.
    let xdg = home.path().join("xdg");
    serve_as_user(home.path(), a.path(), &[("XDG_DATA_HOME", &xdg)]).unwrap();
    assert!(xdg.join("h2push/ca.pem").is_file());
    let caroot = home.path().join("caroot");
    let env = [("XDG_DATA_HOME", xdg.as_path()), ("H2PUSH_CAROOT", &caroot)];
    serve_as_user(home.path(), a.path(), &env).unwrap();
    assert!(caroot.join("ca.pem").is_file());

    // A directory that cannot be made: exit 1, and the error says what to give.
    let blocked = home.path().join("blocked");
    std::fs::write(&blocked, "a file").unwrap();
    let err = serve_as_user(home.path(), a.path(), &[("H2PUSH_CAROOT", &blocked)]).unwrap_err();
    assert!(err.starts_with("exit Some(1)"), "{err}");
    assert!(err.contains("--certs-dir"), "{err}");
}

/// `compare` trusts the per-user CA by default, whatever CA the working directory holds: run
/// from a directory with a stray `certs/ca.pem` (another CA), it still checks the server.
#[test]
fn compare_trusts_the_per_user_ca_from_any_directory() {
    let page = site(&[("index.html", b"<!doctype html><p>hi</p>")]);
    let caroot = tempfile::TempDir::new().unwrap();
    let served = Served::run_with_caroot(page.path(), caroot.path(), &[".", "--listen", "0"]);
    let stray = site(&[]);
    h2push::tls::ensure_certs(&stray.path().join("certs")).unwrap();
    let compare = |caroot: &std::path::Path| {
        Command::new(bin())
            .args(["compare", &served.url("/"), "--rtt", "0ms", "--runs", "1"])
            .current_dir(stray.path())
            .env("H2PUSH_CAROOT", caroot)
            .output()
            .unwrap()
    };
    let out = compare(caroot.path());
    assert!(out.status.success(), "{out:?}");
    // Another user's CA: refused, and the message says what to pass.
    let out = compare(&stray.path().join("certs"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--ca"),
        "{out:?}"
    );
}

/// A `./certs` left by an older version is not used silently: one warning says where the CA
/// lives now and how to keep the old one; `--certs-dir certs` does.
#[test]
fn an_old_certs_directory_gets_one_warning_and_is_kept_with_certs_dir() {
    let home = tempfile::TempDir::new().unwrap();
    let cwd = site(&[("index.html", b"<p>old clone</p>")]);
    h2push::tls::ensure_certs(&cwd.path().join("certs")).unwrap();
    let lines = serve_as_user(home.path(), cwd.path(), &[]).unwrap();
    let old: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("WARN") && l.contains("older h2push"))
        .collect();
    assert_eq!(old.len(), 1, "{lines:?}");
    assert!(old[0].contains("--certs-dir certs"), "{}", old[0]);
    assert!(old[0].contains(".local/share/h2push/ca.pem"), "{}", old[0]);

    let served = Served::run_with_caroot(
        cwd.path(),
        &cwd.path().join("certs"),
        &[".", "--listen", "0", "--certs-dir", "certs"],
    );
    assert!(served.log_lines("older h2push").is_empty());
    // ./certs is inside the served root here: said at start-up, and none of it is served.
    assert_eq!(served.log_lines("inside the served root").len(), 1);
    for path in [
        "/certs/ca-key.pem",
        "/certs/ca.pem",
        "/certs/localhost-key.pem",
    ] {
        assert!(curl(&served, &[], path).starts_with("HTTP/2 404"), "{path}");
    }
    assert!(curl(&served, &[], "/").ends_with("<p>old clone</p>"));
}

/// A download held open by a client that stops reading keeps the first SIGINT waiting for the
/// grace period; the second SIGINT quits at once with 130.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_ctrl_c_quits_at_once() {
    let dir = site(&[("big.bin", &[7u8; 4 << 20])]);
    let served = Served::start(dir.path(), &["--shutdown-grace", "60s"]);
    let conn = served.connect(Some(16 * 1024)).await;
    let req = http::Request::get(served.url("/big.bin")).body(()).unwrap();
    let mut send = conn.send.clone().ready().await.unwrap();
    let (response, _) = send.send_request(req, true).unwrap();
    let _stalled = response.await.unwrap();
    let pid = served.child.id() as i32;
    let status = tokio::task::spawn_blocking(move || {
        let mut served = served;
        let wait = |served: &mut Served, ms: u64| {
            for _ in 0..ms / 20 {
                if let Some(status) = served.child.try_wait().unwrap() {
                    return Some(status);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            None
        };
        unsafe { libc::kill(pid, libc::SIGINT) };
        assert!(
            wait(&mut served, 500).is_none(),
            "exited on the first SIGINT"
        );
        unsafe { libc::kill(pid, libc::SIGINT) };
        wait(&mut served, 2000).expect("second SIGINT did not quit within 2 s")
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(130));
}

#[test]
fn config_file_env_and_flags_in_that_order() {
    let site_dir = site(&[("a.txt", b"a")]);
    let cwd = site(&[]);
    let certs = cwd.path().join("c");
    std::fs::write(
        cwd.path().join("h2push.toml"),
        format!(
            "dir = {:?}\nlisten = \"0\"\ncerts-dir = {:?}\npush-max-assets = 3\npush-max-bytes = 1000\nearly-hints = false\nheader = [\"/*: X-A: 1\"]\n",
            site_dir.path(),
            certs
        ),
    )
    .unwrap();
    let delivery = |lines: &[String]| {
        lines
            .iter()
            .find(|l| l.contains("asset delivery"))
            .cloned()
            .unwrap_or_else(|| panic!("{lines:?}"))
    };
    // The file alone (found in the working directory).
    let (_, lines) = start_lines(cwd.path(), &["serve"], &[]);
    let line = delivery(&lines);
    assert!(line.contains("push_max_assets=3"), "{line}");
    assert!(line.contains("push_max_bytes=1000"), "{line}");
    assert!(line.contains("early_hints=false"), "{line}");
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            "root={}",
            site_dir.path().canonicalize().unwrap().display()
        ))),
        "{lines:?}"
    );
    // The environment beats the file; a flag beats both.
    let env = [
        ("H2PUSH_PUSH_MAX_ASSETS", "5"),
        ("H2PUSH_PUSH_MAX_BYTES", "2000"),
    ];
    let (_, lines) = start_lines(cwd.path(), &["serve", "--push-max-assets", "7"], &env);
    let line = delivery(&lines);
    assert!(line.contains("push_max_assets=7"), "{line}");
    assert!(line.contains("push_max_bytes=2000"), "{line}");
    assert!(line.contains("early_hints=false"), "{line}");
    // --config names another file, also for the bare command.
    let other = cwd.path().join("other.toml");
    std::fs::write(
        &other,
        format!("listen = \"0\"\ncerts-dir = {certs:?}\npush-max-assets = 9\n"),
    )
    .unwrap();
    let (_, lines) = start_lines(
        cwd.path(),
        &[
            site_dir.path().to_str().unwrap(),
            "--config",
            other.to_str().unwrap(),
        ],
        &[],
    );
    assert!(delivery(&lines).contains("push_max_assets=9"));

    // A bad setting names the file and the setting; a bad value is checked as the flag is.
    std::fs::write(&other, "no-such-thing = 1\n").unwrap();
    let out = run_in(cwd.path(), &["serve", "--config", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("other.toml") && stderr.contains("no-such-thing"),
        "{stderr}"
    );
    std::fs::write(&other, "idle-timeout = \"5\"\n").unwrap();
    let out = run_in(cwd.path(), &["serve", "--config", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("5ms or 5s"));
}

#[test]
fn cert_host_adds_names_and_keeps_the_ca() {
    let certs = tempfile::TempDir::new().unwrap();
    let dir_arg = certs.path().to_str().unwrap();
    let cwd = site(&[("a.txt", b"lan")]);
    assert!(run_in(cwd.path(), &["cert", "--dir", dir_arg])
        .status
        .success());
    let ca_before = std::fs::read(certs.path().join("ca.pem")).unwrap();
    let out = run_in(
        cwd.path(),
        &[
            "cert",
            "--dir",
            dir_arg,
            "--host",
            "phone-test.lan",
            "10.1.2.3",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("phone-test.lan, 10.1.2.3"));
    assert_eq!(
        std::fs::read(certs.path().join("ca.pem")).unwrap(),
        ca_before
    );
    // curl, trusting the CA from before, accepts the new name.
    let served = Served::run(&[
        "serve",
        cwd.path().to_str().unwrap(),
        "--listen",
        "0",
        "--cert",
        &format!("{dir_arg}/localhost.pem"),
        "--key",
        &format!("{dir_arg}/localhost-key.pem"),
    ]);
    let resolve = format!("phone-test.lan:{}:127.0.0.1", served.port);
    let out = Command::new("curl")
        .args([
            "-sS",
            "--cacert",
            &format!("{dir_arg}/ca.pem"),
            "--resolve",
            &resolve,
        ])
        .arg(format!("https://phone-test.lan:{}/a.txt", served.port))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "lan", "{out:?}");
}

#[test]
fn cert_trust_adds_the_ca_to_a_fresh_nss_db_and_untrust_removes_it() {
    let Some(certutil) = common::tool("certutil") else {
        return;
    };
    let home = tempfile::TempDir::new().unwrap();
    let certs = home.path().join("certs");
    let cert = |args: &[&str]| {
        Command::new(bin())
            .args(["cert", "--dir", certs.to_str().unwrap()])
            .args(args)
            .env("HOME", home.path())
            .output()
            .unwrap()
    };
    let listed = || {
        let out = Command::new(&certutil)
            .args(["-L", "-d"])
            .arg(format!("sql:{}/.pki/nssdb", home.path().display()))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Without --system the system store is left alone, even as root.
    let system_ca = std::path::Path::new("/usr/local/share/ca-certificates/h2push-local-ca.crt");
    let there_before = system_ca.exists();
    let out = cert(&["--trust"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("left the system store alone"), "{stdout}");
    assert!(!stdout.contains("in the system store ("), "{stdout}");
    assert_eq!(system_ca.exists(), there_before, "the system store changed");
    assert!(stdout.contains("created the NSS database"), "{stdout}");
    assert!(stdout.contains("trusted"), "{stdout}");
    assert!(listed().contains("h2push local CA"), "{}", listed());

    let out = cert(&["--untrust"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed the h2push CA"));
    assert!(!listed().contains("h2push local CA"), "{}", listed());
}

/// `cert --trust` as root also puts the CA in the system store, so curl trusts the server with
/// no `--cacert`; `--untrust` takes it out again. It changes the machine, so it runs only where
/// `H2PUSH_TEST_SYSTEM_STORE=1` says that is fine (`.ci/run`, on a throwaway machine) and as root.
#[test]
fn cert_trust_as_root_adds_the_ca_to_the_system_store_and_untrust_removes_it() {
    if std::env::var("H2PUSH_TEST_SYSTEM_STORE").as_deref() != Ok("1")
        || unsafe { libc::geteuid() } != 0
    {
        return eprintln!("skipping: set H2PUSH_TEST_SYSTEM_STORE=1 and run as root (CI does)");
    }
    let (Some(_), Some(_)) = (
        common::tool("certutil"),
        common::tool("update-ca-certificates"),
    ) else {
        return;
    };
    let dir = site(&[("a.txt", b"hello")]);
    let served = Served::start(dir.path(), &[]);
    let home = tempfile::TempDir::new().unwrap();
    let certs = served.ca.parent().unwrap().to_str().unwrap().to_owned();
    let cert = |flag: &str| {
        let out = Command::new(bin())
            .args(["cert", "--dir", &certs, flag, "--system"])
            .env("HOME", home.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // curl with the system store only: exit 60 is "peer certificate cannot be authenticated".
    let curl_code = || {
        Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "--http2"])
            .arg(served.url("/a.txt"))
            .status()
            .unwrap()
            .code()
    };
    assert_eq!(curl_code(), Some(60), "trusted before cert --trust");
    let said = cert("--trust");
    assert!(said.contains("in the system store"), "{said}");
    let trusted = curl_code();
    let said = cert("--untrust");
    assert_eq!(
        trusted,
        Some(0),
        "curl did not trust the CA after cert --trust"
    );
    assert!(
        said.contains("removed the h2push CA from the system store"),
        "{said}"
    );
    assert_eq!(curl_code(), Some(60), "still trusted after cert --untrust");
}

#[test]
fn demo_site_has_a_favicon_and_no_fixed_port() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("site");
    let served = Served::start(&demo, &[]);
    let icon = curl(&served, &["-o", "/dev/null"], "/favicon.ico");
    assert!(icon.starts_with("HTTP/2 200"), "{icon}");
    let index = std::fs::read_to_string(demo.join("index.html")).unwrap();
    // The example's origin is filled in by script; only its placeholder names a port.
    assert!(!index.contains("canonical"), "{index}");
    assert!(index.contains("<span class=\"origin\">"), "{index}");
    let events = std::fs::read_to_string(demo.join("events.html")).unwrap();
    assert!(!events.contains("</span> times"), "{events}");
}

/// `cert --trust` in a fresh HOME, then Chromium (no `--ignore-certificate-errors`) loads the
/// demo page and its Resource Timing table reports assets started by the 103.
#[test]
fn chromium_trusts_the_ca_after_cert_trust_and_acts_on_early_hints() {
    let (Some(chromium), Some(_)) = (common::tool("chromium"), common::tool("certutil")) else {
        return;
    };
    let home = tempfile::TempDir::new().unwrap();
    let certs = home.path().join("certs");
    let c = certs.to_str().unwrap();
    let out = Command::new(bin())
        .args(["cert", "--dir", c, "--trust"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("site");
    let (cert, key) = (
        format!("{c}/localhost.pem"),
        format!("{c}/localhost-key.pem"),
    );
    let served = Served::run(&[
        "serve",
        demo.to_str().unwrap(),
        "--listen",
        "0",
        "--cert",
        &cert,
        "--key",
        &key,
    ]);
    let out = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}/profile", home.path().display()))
        .args(["--dump-dom", &served.url("/")])
        .env("HOME", home.path())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<td>/css/site.css?v=1</td><td>early-hints</td>"),
        "{dom}"
    );
}
