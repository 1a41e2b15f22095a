//! What Chromium needs to run for `compare --browser` and the interop tests: its executable,
//! a HOME whose NSS database trusts the server's CA, and the flags of a measured run.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The first executable called `name` on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A throw-away HOME whose NSS database (`.pki/nssdb`) trusts one CA, as Chromium on Linux
/// reads it. Removed on drop.
pub struct TrustedHome {
    dir: tempfile::TempDir,
}

impl TrustedHome {
    /// Runs `certutil` (libnss3-tools) to make the database and add `ca` as trusted for TLS.
    pub fn new(certutil: &Path, ca: &Path) -> Result<TrustedHome> {
        let dir = tempfile::TempDir::new().context("temporary HOME for the browser")?;
        let nssdb = dir.path().join(".pki/nssdb");
        std::fs::create_dir_all(&nssdb)?;
        let db = format!("sql:{}", nssdb.display());
        let ca = ca.to_string_lossy();
        for args in [
            vec!["-N", "-d", &db, "--empty-password"],
            vec!["-A", "-d", &db, "-n", "h2push", "-t", "CP,,", "-i", &ca],
        ] {
            let out = std::process::Command::new(certutil)
                .args(&args)
                .env("HOME", dir.path())
                .output()
                .with_context(|| format!("running {}", certutil.display()))?;
            if !out.status.success() {
                bail!(
                    "certutil {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        Ok(TrustedHome { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The Chromium flags of a measured run: headless, no background traffic, no QUIC (the proxy
/// carries TCP only), and no sandbox for root (Chromium refuses to start otherwise).
pub fn chromium_args() -> Vec<String> {
    let mut args: Vec<String> = [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-breakpad",
        "--disable-dev-shm-usage",
        "--password-store=basic",
        "--use-mock-keychain",
        "--metrics-recording-only",
    ]
    .map(String::from)
    .to_vec();
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        args.push("--no-sandbox".into());
    }
    args
}
