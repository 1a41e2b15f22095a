//! Helpers for the tests that drive the binary as a user types it (`everyday.rs`,
//! `serving_options.rs`): run it and collect what it printed, fetch with curl.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::served::{bin, Served};

/// A throw-away per-user CA directory for this test process (`H2PUSH_CAROOT`), so a server
/// started without `--certs-dir` never writes into the real HOME (statics are not dropped:
/// it stays behind as one small directory under the temp dir).
pub fn test_caroot() -> &'static std::path::Path {
    static ROOT: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| tempfile::TempDir::new().unwrap())
        .path()
}

/// `h2push ARGS` in `dir`, killed after 10 s (a flag wrongly accepted starts a server).
pub fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("H2PUSH_CAROOT", test_caroot())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if wait
            .recv_timeout(std::time::Duration::from_secs(10))
            .is_err()
        {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    out
}

/// curl over HTTP/2 trusting the server's CA: the response head and body as text.
pub fn curl(served: &Served, args: &[&str], path: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--http2",
            "--cacert",
            served.ca.to_str().unwrap(),
            "-D",
            "-",
        ])
        .args(args)
        .arg(served.url(path))
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads `path` until it has `lines` lines (the writer thread flushes within a moment).
pub fn wait_for_lines(path: &std::path::Path, lines: usize) -> Vec<String> {
    for _ in 0..100 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= lines {
            return text.lines().map(str::to_owned).collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} has fewer than {lines} lines", path.display());
}

/// `h2push serve` in `cwd` with `env`, until it prints its URL; the lines it printed.
pub fn start_lines(
    cwd: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, Vec<String>) {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(cwd)
        .env("H2PUSH_CAROOT", test_caroot());
    for (k, v) in env {
        cmd.env(k, v);
    }
    startup(cmd, "asset delivery")
}

/// Runs `cmd` (an `h2push serve`) and collects its stderr lines up to the first that contains
/// `last`, then kills it; or all of them, when it exits first (`child` then has its status).
pub fn startup(mut cmd: Command, last: &str) -> (std::process::Child, Vec<String>) {
    let mut child = cmd
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        let done = line.contains(last);
        seen.push(line);
        if done {
            let _ = child.kill();
            break;
        }
    }
    let _ = child.wait();
    (child, seen)
}
