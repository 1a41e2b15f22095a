//! A running `h2push serve` process, for tests that drive the real binary as a user does.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The binary under test: this build's, or the one `H2PUSH_TEST_BIN` names (to run the
/// binary-driven tests against another build, e.g. to check that a test fails without a fix).
pub fn bin() -> String {
    std::env::var("H2PUSH_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_h2push").to_string())
}

/// A running `h2push serve` process.
pub struct Served {
    pub child: Child,
    pub port: u16,
    /// The cleartext port, when started with `--http`.
    pub http_port: Option<u16>,
    /// What the server wrote to stderr after its start-up lines.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    pub ca: PathBuf,
    _certs: Option<tempfile::TempDir>,
}

impl Served {
    pub fn start(dir: &Path, extra: &[&str]) -> Served {
        let mut args = vec!["serve", dir.to_str().unwrap(), "--listen", "127.0.0.1:0"];
        args.extend(extra);
        Served::run(&args)
    }

    /// `h2push ARGS --certs-dir TMP`, as given: the arguments must make it listen on a free port.
    pub fn run(args: &[&str]) -> Served {
        let certs = tempfile::TempDir::new().unwrap();
        let mut cmd = Command::new(bin());
        cmd.args(args).arg("--certs-dir").arg(certs.path());
        let ca = certs.path().join("ca.pem");
        Served::spawn(cmd, args.contains(&"--http"), ca, Some(certs))
    }

    /// `h2push ARGS` in `cwd` with `H2PUSH_CAROOT=caroot` and no `--certs-dir`: the per-user CA
    /// as a user gets it.
    pub fn run_with_caroot(cwd: &Path, caroot: &Path, args: &[&str]) -> Served {
        let mut cmd = Command::new(bin());
        cmd.args(args).current_dir(cwd).env("H2PUSH_CAROOT", caroot);
        Served::spawn(cmd, args.contains(&"--http"), caroot.join("ca.pem"), None)
    }

    fn spawn(
        mut cmd: Command,
        cleartext: bool,
        ca: PathBuf,
        certs: Option<tempfile::TempDir>,
    ) -> Served {
        let mut child = cmd
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .expect("h2push starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        // The start-up lines are kept in the log too (warnings come before the URL).
        let mut startup = Vec::new();
        let port = loop {
            let line = lines.next().expect("h2push printed its URL").unwrap();
            startup.push(line.clone());
            if let Some(rest) = line.split("https://localhost:").nth(1) {
                break rest.split('/').next().unwrap().parse().unwrap();
            }
        };
        let http_port = cleartext.then(|| loop {
            let line = lines
                .next()
                .expect("h2push printed its cleartext URL")
                .unwrap();
            startup.push(line.clone());
            if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                break rest.split('/').next().unwrap().parse().unwrap();
            }
        });
        // Keep draining the log so the server never blocks on a full pipe.
        let log = std::sync::Arc::new(std::sync::Mutex::new(startup));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Served {
            child,
            port,
            http_port,
            log,
            ca,
            _certs: certs,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.port, path)
    }

    /// An h2 connection to it over TLS, trusting its CA; `window` sets both the stream and the
    /// connection receive windows (h2's defaults otherwise).
    pub async fn connect(&self, window: Option<u32>) -> h2push::client::Connection {
        let options = h2push::client::ConnectOptions {
            tls: Some(h2push::tls::client_config(Some(&self.ca), false).unwrap()),
            server_name: "localhost".into(),
            enable_push: false,
            stream_window: window,
            connection_window: window,
            frame_log: None,
        };
        let addr = format!("127.0.0.1:{}", self.port).parse().unwrap();
        h2push::client::connect(addr, &options).await.unwrap()
    }

    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// The log lines so far that contain `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|l| l.contains(needle)).cloned().collect()
    }

    pub fn terminate(self) -> std::process::ExitStatus {
        self.terminate_within(Duration::from_secs(5))
    }

    /// SIGTERM, then the exit status, failing the test if it takes longer than `limit`.
    pub fn terminate_within(mut self, limit: Duration) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let steps = (limit.as_millis() / 50).max(1);
        for _ in 0..steps {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("h2push did not exit within {limit:?} of SIGTERM");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
