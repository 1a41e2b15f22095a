//! The command line as users of other static servers type it (issues 20 and 21), through the
//! real binary: byte sizes with units in flags, H2PUSH_* and the config file; `-p/--port` and
//! the short flags; `--open`; errors that name their source (the variable, the file's line);
//! one exit-code table; short grouped `--help`; completions and man pages.

mod common;

use std::process::Command;

use common::cli::{curl, run_in, start_lines};
use common::served::{bin, Served};
use common::site;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The "asset delivery" line `serve` logs at start-up, which shows the push settings.
fn delivery(lines: &[String]) -> String {
    lines
        .iter()
        .find(|l| l.contains("asset delivery"))
        .cloned()
        .unwrap_or_else(|| panic!("no asset delivery line: {lines:?}"))
}

#[test]
fn byte_sizes_take_units_in_flags_the_environment_and_the_config_file() {
    let dir = site(&[("index.html", b"<p>")]);
    let certs = tempfile::TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    let c = certs.path().to_str().unwrap();
    let base = ["serve", d, "--listen", "127.0.0.1:0", "--certs-dir", c];

    let args = [
        &base[..],
        &["--push-extra-bytes", "1MiB", "--compress-cache", "64MiB"],
    ]
    .concat();
    let (_, lines) = start_lines(dir.path(), &args, &[("H2PUSH_PUSH_MAX_BYTES", "2MB")]);
    let line = delivery(&lines);
    assert!(line.contains("push_extra_bytes=1048576"), "{line}");
    assert!(line.contains("push_max_bytes=2000000"), "{line}");

    let cwd = tempfile::TempDir::new().unwrap();
    std::fs::write(
        cwd.path().join("h2push.toml"),
        "push-extra-bytes = \"96KiB\"\nmax-header-list-size = \"16KiB\"\npush-max-bytes = 5000\n",
    )
    .unwrap();
    let (_, lines) = start_lines(cwd.path(), &base, &[]);
    let line = delivery(&lines);
    assert!(line.contains("push_extra_bytes=98304"), "{line}");
    assert!(line.contains("push_max_bytes=5000"), "{line}");

    // scan and export read the same sizes.
    let out = run_in(
        dir.path(),
        &["scan", d, "--json", "--push-extra-bytes", "1.5MiB"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("1572864"), "{}", stdout(&out));

    // A bare k is ambiguous: the error offers both readings, as a bare duration offers units.
    let out = run_in(
        dir.path(),
        &[&base[..], &["--push-extra-bytes", "512k"]].concat(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("512KiB") && err.contains("512KB"), "{err}");
    let out = run_in(
        dir.path(),
        &[&base[..], &["--max-header-list-size", "5GiB"]].concat(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("more than 4294967295 bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn errors_name_the_variable_or_the_line_they_come_from() {
    let dir = site(&[("index.html", b"<p>")]);
    let d = dir.path().to_str().unwrap();
    let with_env = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(bin());
        cmd.args(args).current_dir(dir.path()).env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = with_env(&["serve", d], &[("H2PUSH_LISTEN", "abc")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("H2PUSH_LISTEN=abc") && err.contains("has no port"),
        "{err}"
    );
    assert!(!err.contains("--listen"), "{err}");
    let out = with_env(&[d], &[("H2PUSH_COMPRESS_CACHE", "lots")]);
    assert!(
        stderr(&out).contains("H2PUSH_COMPRESS_CACHE=lots"),
        "{}",
        stderr(&out)
    );
    // The same value on the command line is the flag's.
    let out = with_env(&["serve", d, "--listen", "abc"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--listen"), "{}", stderr(&out));

    let file = dir.path().join("bad.toml");
    let f = file.to_str().unwrap();
    std::fs::write(
        &file,
        "listen = \"0\"\npush = \"on\nidle-timeout = \"5s\"\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["serve", d, "--config", f]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.toml, line 2, column"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&file, "listen = \"0\"\n\npush-extra-bytes = \"1 parsec\"\n").unwrap();
    let out = run_in(dir.path(), &["serve", d, "--config", f]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bad.toml, line 3: `push-extra-bytes`"),
        "{err}"
    );
    assert!(err.contains("unknown unit"), "{err}");
}

#[test]
fn port_and_short_flags_serve_on_loopback() {
    let dir = site(&[("a.txt", b"short flags\n")]);
    let d = dir.path().to_str().unwrap();
    let certs = tempfile::TempDir::new().unwrap();
    let out = run_in(certs.path(), &["cert", "--dir", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pem = certs.path().join("localhost.pem");
    let key = certs.path().join("localhost-key.pem");
    let mut served = Served::run(&[
        d,
        "-p",
        "0",
        "-C",
        pem.to_str().unwrap(),
        "-K",
        key.to_str().unwrap(),
    ]);
    // Served::run found https://localhost:PORT/, which is printed for loopback addresses only.
    served.ca = certs.path().join("ca.pem");
    let text = curl(&served, &[], "/a.txt");
    assert!(text.ends_with("short flags\n"), "{text}");
    let out = run_in(dir.path(), &["serve", d, "--port", "1", "--listen", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
    let out = run_in(dir.path(), &["serve", d, "-p", "70000"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn open_starts_the_browser_at_the_served_url_or_says_there_is_none() {
    let dir = site(&[("index.html", b"<p>")]);
    let certs = tempfile::TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    let c = certs.path().to_str().unwrap();
    let opened = certs.path().join("opened");
    let script = certs.path().join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" > {}\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let args = ["serve", d, "-p", "0", "--certs-dir", c, "--open"];
    let (_, lines) = start_lines(dir.path(), &args, &[("BROWSER", script.to_str().unwrap())]);
    let url = lines
        .iter()
        .find_map(|l| l.split("url=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{lines:?}"))
        .trim_matches('"')
        .to_owned();
    assert!(url.starts_with("https://localhost:"), "{url}");
    let mut seen = String::new();
    for _ in 0..100 {
        seen = std::fs::read_to_string(&opened).unwrap_or_default();
        if !seen.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(seen.trim(), url);

    // No $BROWSER and no xdg-open on PATH: one line says so, and the server still starts.
    let empty = tempfile::TempDir::new().unwrap();
    let env = [("BROWSER", ""), ("PATH", empty.path().to_str().unwrap())];
    let (_, lines) = start_lines(dir.path(), &args, &env);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("no browser could be started")),
        "{lines:?}"
    );
    delivery(&lines);
}

#[test]
fn every_subcommand_uses_one_exit_code_table_and_says_it_in_help() {
    let dir = tempfile::TempDir::new().unwrap();
    for sub in [
        "",
        "serve",
        "cert",
        "scan",
        "compare",
        "export",
        "completions",
        "man",
    ] {
        let args: Vec<&str> = [sub, "--help"]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        let out = run_in(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{sub}");
        let text = stdout(&out);
        assert!(
            text.contains("Exit codes:") && text.contains("2    usage"),
            "{sub}: {text}"
        );
    }
    // A server compare cannot reach is a usage error (2), like a port serve cannot bind.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}/");
    let out = run_in(dir.path(), &["compare", &url, "--insecure", "--runs", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run_in(dir.path(), &["serve", ".", "-p", &port]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn help_is_short_and_grouped() {
    let dir = tempfile::TempDir::new().unwrap();
    let top = stdout(&run_in(dir.path(), &["--help"]));
    assert!(
        top.lines().count() <= 40,
        "{} lines:\n{top}",
        top.lines().count()
    );
    assert!(top.contains("h2push serve --help"), "{top}");
    assert!(!top.contains("--push-extra-bytes"), "{top}");
    let serve = stdout(&run_in(dir.path(), &["serve", "--help"]));
    assert!(
        serve.lines().count() <= 90,
        "{} lines:\n{serve}",
        serve.lines().count()
    );
    let mut at = 0;
    for heading in [
        "Listening:",
        "TLS:",
        "Files:",
        "Push and hints:",
        "Compression:",
        "Live reload and events:",
        "Limits:",
        "Logging:",
    ] {
        let found = serve[at..].find(&format!("\n{heading}\n"));
        at += found.unwrap_or_else(|| panic!("no {heading} after byte {at}:\n{serve}"));
    }
    for short in ["-p, --port", "-o, --open", "-C, --cert", "-K, --key"] {
        assert!(serve.contains(short), "{short}");
    }
    assert!(serve.contains("[default: 64KiB]"), "{serve}");
}

#[test]
fn completions_and_man_pages_come_from_the_flag_definitions() {
    let dir = tempfile::TempDir::new().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run_in(dir.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for flag in ["push-extra-bytes", "live-reload", "compare", "export"] {
            assert!(script.contains(flag), "{shell} lacks {flag}");
        }
    }
    let out = run_in(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));

    let page = stdout(&run_in(dir.path(), &["man"]));
    assert!(
        page.starts_with(".ie") || page.contains(".TH h2push 1"),
        "{page}"
    );
    assert!(
        page.contains("compare") && page.contains("Exit codes"),
        "{page}"
    );
    let serve = stdout(&run_in(dir.path(), &["man", "serve"]));
    assert!(serve.contains(".TH h2push-serve 1"), "{serve}");
    assert!(serve.contains(r"\-\-push\-extra\-bytes"), "{serve}");
    let out = run_in(dir.path(), &["man", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no subcommand `nope`"));
}
