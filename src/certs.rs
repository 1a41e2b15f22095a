//! Where the local CA lives, and the `cert` subcommand.
//!
//! As mkcert's CAROOT: one CA per user, in `$H2PUSH_CAROOT`, else `$XDG_DATA_HOME/h2push`, else
//! `~/.local/share/h2push`, made the first time it is needed and reused from every directory,
//! so `h2push cert --trust` is done once. `--certs-dir` (serve) and `--dir` (cert) name
//! another directory. The set is never kept in the working directory by default: that is
//! often the served root, which would hand the CA's private key to anyone who asks for it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use tracing::{info, warn};

use crate::config::Config;
use crate::files::secrets::KeyGuard;
use crate::tls::{self, CertPaths};

/// The environment variable naming the CA directory (as mkcert's `CAROOT`).
pub const CAROOT_ENV: &str = "H2PUSH_CAROOT";

/// The directory older versions kept the certificate set in, relative to the working directory.
pub const LEGACY_DIR: &str = "certs";

#[derive(Debug, Args)]
pub struct CertArgs {
    /// Directory to write ca.pem, ca-key.pem, localhost.pem and localhost-key.pem into
    /// [default: $H2PUSH_CAROOT, else $XDG_DATA_HOME/h2push, else ~/.local/share/h2push]
    #[arg(long, alias = "certs-dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Replace certificates that are already there
    #[arg(long)]
    pub force: bool,

    /// Also name these hosts (LAN names or IP addresses) in the certificate, so a phone on the
    /// same network can use it; re-issues the certificate, keeping an existing CA
    #[arg(long = "host", value_name = "NAME", num_args = 1..)]
    pub hosts: Vec<String>,

    /// Trust the CA: add it to the user's NSS databases (Chromium's ~/.pki/nssdb, made when
    /// missing, and Firefox profiles) with certutil; the system store only with --system
    #[arg(long, conflicts_with = "untrust")]
    pub trust: bool,

    /// Take the CA out of the stores --trust put it in (the system store only with --system)
    #[arg(long)]
    pub untrust: bool,

    /// With --trust/--untrust, as root: also the system store (update-ca-certificates), which
    /// curl and every other program on the machine trust
    #[arg(long)]
    pub system: bool,

    /// The default now: --trust/--untrust leave the system store alone without --system
    #[arg(long, hide = true, conflicts_with = "system")]
    pub no_system: bool,
}

/// The per-user CA directory: `$H2PUSH_CAROOT`, else `$XDG_DATA_HOME/h2push`, else
/// `~/.local/share/h2push`. Relative values are ignored, as the XDG specification says.
pub fn user_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(root) = std::env::var_os(CAROOT_ENV).and_then(absolute) {
        return Some(root);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".local/share"))
        })?;
    Some(data.join("h2push"))
}

/// `dir`, or the per-user directory; an error says how to name one when there is none.
fn dir_or_user(dir: Option<&Path>, flag: &str) -> Result<PathBuf> {
    match dir {
        Some(dir) => Ok(dir.to_path_buf()),
        None => user_dir().with_context(|| {
            format!("no per-user directory for the local CA (HOME is not set): set {CAROOT_ENV} or give {flag} DIR")
        }),
    }
}

/// The CA `compare` trusts by default: the per-user one.
pub fn default_ca() -> Option<PathBuf> {
    user_dir().map(|dir| dir.join(tls::CA_CERT_FILE))
}

/// The certificate set `serve` uses: `--cert/--key`, else the one in `--certs-dir` or the
/// per-user directory (made when missing). Says what it did on stderr, warns about a set left
/// in `./certs` by an older version and about a certificate directory inside the served root,
/// and tells `config` which files never to serve.
pub fn for_serve(
    cert: Option<&Path>,
    key: Option<&Path>,
    certs_dir: Option<&Path>,
    config: &mut Config,
) -> Result<CertPaths> {
    let (paths, dir) = match (cert, key) {
        (Some(cert), Some(key)) => {
            let paths = CertPaths {
                ca: None,
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            };
            (paths, None)
        }
        _ => {
            let dir = dir_or_user(certs_dir, "--certs-dir")?;
            let hint = "give a writable directory with --certs-dir DIR, or --cert and --key";
            let (paths, created) =
                tls::ensure_certs(&dir).map_err(|e| anyhow::anyhow!("{e:#} ({hint})"))?;
            if created {
                info!(dir = %dir.display(), "created a local CA and a localhost certificate (once per user)");
            }
            if certs_dir.is_none() {
                warn_about_legacy_dir(&dir);
            }
            (paths, Some(dir))
        }
    };
    let guard = KeyGuard::new(dir.as_deref(), &[&paths.cert, &paths.key]);
    if let Some(inside) = guard.dir_inside(&config.root) {
        warn!(
            dir = %inside.display(),
            "the certificate directory is inside the served root: its files are refused (404), but keep keys out of what you serve"
        );
    }
    config.secrets = std::sync::Arc::new(guard);
    Ok(paths)
}

/// Older versions wrote the set to `./certs` in the working directory (often the served root).
/// It is not used silently any more: the per-user CA is, and this says so once, with how to
/// keep the old one.
fn warn_about_legacy_dir(used: &Path) {
    let legacy = Path::new(LEGACY_DIR);
    if !legacy.join(tls::CA_CERT_FILE).is_file() {
        return;
    }
    let same = match (legacy.canonicalize(), used.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        warn!(
            old = %legacy.display(),
            ca = %used.join(tls::CA_CERT_FILE).display(),
            "./certs holds a CA from an older h2push and is not used: the local CA now lives with the user (trust it once: h2push cert --trust); to keep the old one: --certs-dir certs (delete ./certs if you don't need it)"
        );
    }
}

/// The URL to show for a listening address: `localhost` for loopback, so the certificate's
/// name matches.
pub fn display_url(addr: SocketAddr) -> String {
    if addr.ip().is_loopback() {
        format!("https://localhost:{}/", addr.port())
    } else {
        format!("https://{addr}/")
    }
}

/// The start-up line saying how to trust the generated CA, with the address actually served.
pub fn trust_hint(paths: &CertPaths, certs_dir: Option<&Path>, addr: SocketAddr) {
    let Some(ca) = &paths.ca else { return };
    let dir_flag = match certs_dir {
        Some(d) => format!(" --dir {}", d.display()),
        None => String::new(),
    };
    info!(
        ca = %ca.display(),
        "to trust it once for every site (Chromium, Firefox): h2push cert --trust{dir_flag}; curl: curl --cacert {} {}",
        ca.display(),
        display_url(addr)
    );
}

/// `h2push cert`: writes the certificate set, says where it is, and trusts or untrusts it.
pub fn run(args: CertArgs) -> Result<()> {
    if args.untrust {
        return crate::trust::untrust(args.system);
    }
    let dir = dir_or_user(args.dir.as_deref(), "--dir")?;
    let paths = CertPaths::in_dir(&dir);
    if !args.hosts.is_empty() {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        tls::issue(&dir, &args.hosts, !args.force)?;
        println!(
            "wrote a certificate for localhost, 127.0.0.1, ::1, {} to {}",
            args.hosts.join(", "),
            dir.display()
        );
    } else if paths.cert.exists() && !args.force {
        println!(
            "certificates already in {} (use --force to replace them)",
            dir.display()
        );
    } else {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        tls::generate(&dir)?;
        println!(
            "wrote a new CA and localhost certificate to {}",
            dir.display()
        );
    }
    let ca = paths.ca.as_deref().unwrap_or(Path::new(""));
    println!("CA (trust this):   {}", ca.display());
    println!("certificate chain: {}", paths.cert.display());
    println!("private key:       {}", paths.key.display());
    let dir_flag = match &args.dir {
        Some(d) => format!(" --dir {}", d.display()),
        None => String::new(),
    };
    if !args.trust {
        println!("trust for browsers: h2push cert --trust{dir_flag}");
    }
    // `cert` does not know where `serve` will listen: say where that is, not a fixed port.
    println!(
        "trust for curl:     curl --cacert {} https://localhost:PORT/ (the URL `h2push serve` prints)",
        ca.display()
    );
    if args.trust {
        crate::trust::trust(ca, args.system)?;
    }
    Ok(())
}
