//! `h2push cert --trust/--untrust`: puts the local CA into (or takes it out of) the stores that
//! browsers read, as mkcert does: the user's NSS databases (`~/.pki/nssdb`, which Chromium reads
//! and which is created when missing, and every Firefox profile) through `certutil`
//! (libnss3-tools), and, only when asked with `--system` (as root), the system store through
//! `update-ca-certificates`: that one is trusted by every program on the machine, so it is
//! never written by default. Each step prints what it changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The nickname the CA gets in NSS databases.
pub const NSS_NAME: &str = "h2push local CA";

/// Where the CA goes in the Debian system store.
const SYSTEM_CA: &str = "/usr/local/share/ca-certificates/h2push-local-ca.crt";

/// The user's NSS databases: Chromium's (made when missing, with `create`) and Firefox's.
fn nss_dbs(create: bool) -> Result<Vec<PathBuf>> {
    let home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    let mut dbs = Vec::new();
    let chromium = home.join(".pki/nssdb");
    if !chromium.join("cert9.db").exists() && create {
        std::fs::create_dir_all(&chromium)
            .with_context(|| format!("creating {}", chromium.display()))?;
        certutil(&["-N", "-d", &sql(&chromium), "--empty-password"])?;
        println!("created the NSS database {}", chromium.display());
    }
    if chromium.join("cert9.db").exists() {
        dbs.push(chromium);
    }
    for profiles in [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"] {
        let Ok(entries) = std::fs::read_dir(home.join(profiles)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().join("cert9.db").exists() {
                dbs.push(entry.path());
            }
        }
    }
    Ok(dbs)
}

fn sql(dir: &Path) -> String {
    format!("sql:{}", dir.display())
}

fn certutil(args: &[&str]) -> Result<std::process::Output> {
    let out = Command::new("certutil")
        .args(args)
        .output()
        .map_err(|e| anyhow::anyhow!("running certutil: {e} (apt-get install libnss3-tools)"))?;
    Ok(out)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Adds the CA at `ca` to the NSS databases and, with `system`, the system store (as root).
pub fn trust(ca: &Path, system: bool) -> Result<()> {
    if system {
        require_root("--system")?;
    }
    let ca_str = ca.to_str().context("the CA path is not UTF-8")?;
    for db in nss_dbs(true)? {
        // Replace an older h2push CA of the same name.
        let _ = certutil(&["-D", "-d", &sql(&db), "-n", NSS_NAME]);
        let out = certutil(&[
            "-A",
            "-d",
            &sql(&db),
            "-n",
            NSS_NAME,
            "-t",
            "C,,",
            "-i",
            ca_str,
        ])?;
        if !out.status.success() {
            bail!(
                "certutil could not add the CA to {}: {}",
                db.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        println!("trusted {} in {}", ca.display(), db.display());
    }
    if system {
        std::fs::copy(ca, SYSTEM_CA).with_context(|| format!("copying the CA to {SYSTEM_CA}"))?;
        update_ca_certificates()?;
        println!("trusted {} in the system store ({SYSTEM_CA})", ca.display());
    }
    if !system {
        println!("left the system store alone (`--system`, as root, trusts it machine-wide)");
    }
    Ok(())
}

/// `--system` writes a root-owned store: say so before trying, not after a permission error.
fn require_root(flag: &str) -> Result<()> {
    if !is_root() {
        bail!("{flag} changes the system store: run it as root (sudo h2push cert ... {flag})");
    }
    Ok(())
}

/// Takes the CA out of the NSS databases and, with `system`, the system store.
pub fn untrust(system: bool) -> Result<()> {
    if system {
        require_root("--system")?;
    }
    for db in nss_dbs(false)? {
        let out = certutil(&["-D", "-d", &sql(&db), "-n", NSS_NAME])?;
        if out.status.success() {
            println!("removed the h2push CA from {}", db.display());
        }
    }
    if system && Path::new(SYSTEM_CA).exists() {
        std::fs::remove_file(SYSTEM_CA).with_context(|| format!("removing {SYSTEM_CA}"))?;
        update_ca_certificates()?;
        println!("removed the h2push CA from the system store ({SYSTEM_CA})");
    }
    Ok(())
}

fn update_ca_certificates() -> Result<()> {
    let status = Command::new("update-ca-certificates")
        .arg("--fresh")
        .stdout(std::process::Stdio::null())
        .status()
        .context("running update-ca-certificates (apt-get install ca-certificates)")?;
    if !status.success() {
        bail!("update-ca-certificates failed ({status})");
    }
    Ok(())
}
