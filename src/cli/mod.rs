//! Command-line flags (clap): [`Cli`] and its subcommands. Each subcommand's flags live beside
//! what turns them into settings (`cli::serve`, `push::scan_args`, `compare::args`,
//! `export::args`), and running it lives with the subcommand (`serve::start`, `compare::run`,
//! `export::args::run`), which never imports `cli`. `cli::help` holds what `--help` adds and the
//! completions and man pages. `main.rs` only parses, sets up logging and picks the exit code.

pub mod help;
pub mod serve;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use tracing::info;

use crate::config;
use crate::tls;

pub use crate::compare::CompareArgs;
pub use crate::export::ExportArgs;
pub use crate::push::scan_args::ScanArgs;
use crate::usage::usage;
pub use crate::usage::Switch;
pub use crate::usage::UsageError;
pub use serve::ServeArgs;

#[derive(Debug, Parser)]
#[command(
    name = "h2push",
    version,
    about = "HTTP/2 static file server that gets a page's assets to the client one round trip early",
    long_about = "HTTP/2 static file server that gets a page's assets to the client one round trip early.\n\nWith no subcommand, `h2push` runs `serve`: `h2push DIR -p 9000` is `h2push serve DIR -p 9000`, and a bare `h2push` serves the `site/` directory on https://localhost:8443/.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `serve`'s flags and DIR, for `h2push DIR` without the subcommand (listed under `serve`).
    #[command(flatten)]
    pub serve: Box<ServeArgs>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a directory over TLS (HTTP/2 and HTTP/1.1), and optionally cleartext
    Serve(Box<ServeArgs>),
    /// Write a local CA and a localhost certificate signed by it, and print where they are
    Cert(CertArgs),
    /// Show what `serve` would push or hint for each page, and why
    Scan(ScanArgs),
    /// Load a page with push, with early hints only, and with neither, under an emulated RTT
    Compare(Box<CompareArgs>),
    /// Write the Link headers `serve` sends as a CDN's `_headers`, a server's configuration or JSON
    Export(Box<ExportArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout
    Completions(help::CompletionsArgs),
    /// Print a man page (roff) to stdout: h2push's, or a subcommand's
    Man(help::ManArgs),
}

impl Cli {
    /// The command to run: the subcommand, or `serve` with the bare command's flags.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

#[derive(Debug, Args)]
pub struct CertArgs {
    /// Directory to write ca.pem, ca-key.pem, localhost.pem and localhost-key.pem into
    #[arg(long, default_value = "certs", value_name = "DIR")]
    pub dir: PathBuf,

    /// Replace certificates that are already there
    #[arg(long)]
    pub force: bool,

    /// Also name these hosts (LAN names or IP addresses) in the certificate, so a phone on the
    /// same network can use it; re-issues the certificate, keeping an existing CA
    #[arg(long = "host", value_name = "NAME", num_args = 1..)]
    pub hosts: Vec<String>,

    /// Trust the CA: add it to the user's NSS databases (Chromium's ~/.pki/nssdb, made when
    /// missing, and Firefox profiles) with certutil, and as root to the system store
    #[arg(long, conflicts_with = "untrust")]
    pub trust: bool,

    /// Take the CA out of the stores --trust put it in
    #[arg(long)]
    pub untrust: bool,

    /// With --trust/--untrust as root: leave the system store alone
    #[arg(long)]
    pub no_system: bool,
}

/// `h2push serve`: the root, the settings, the certificate (given, or the local one, made when
/// missing), then the server on a runtime with `--threads` workers.
pub fn serve(args: ServeArgs) -> Result<()> {
    let config = args.config(site_root(args.dir.as_ref(), "serve")?)?;
    let cert = match args.given_cert() {
        Some(cert) => cert,
        None => {
            let (dir, paths, created) =
                certs(args.certs_dir.as_deref()).map_err(|e| usage(format!("{e:#}")))?;
            if created {
                info!(dir = %dir.display(), "created a local CA and a localhost certificate");
            }
            paths
        }
    };
    let startup = args.startup(config, cert);
    let runtime = runtime(args.threads)?;
    let served = runtime.block_on(crate::serve::start::run(startup));
    // Dropping the runtime would wait for every blocking task, however long it takes.
    runtime.shutdown_timeout(BLOCKING_SHUTDOWN_WAIT);
    served
}

/// How long the process waits, once serving has stopped, for blocking-pool work still running
/// (a file read, a page parse) before it exits anyway. Default 1 s: by then every connection
/// is closed, so nobody is waiting for that work, and a task stuck in a system call must not
/// keep the process alive after SIGTERM.
const BLOCKING_SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// `h2push compare`: on its own runtime, like `serve`.
pub fn compare(args: CompareArgs) -> Result<()> {
    runtime(None)?.block_on(crate::compare::run(args))
}

/// `h2push export`: the site's root as for `serve`, then the export.
pub fn export(args: ExportArgs) -> Result<()> {
    let root = site_root(args.dir.as_ref(), "export")?;
    crate::export::args::run(&args, root)
}

/// Where `site/` is when no directory is given: the current directory's, else the repository's
/// (the path compiled into the binary), which is said on stderr so nobody serves the demo site
/// thinking it is theirs.
fn default_site_dir() -> PathBuf {
    let local = PathBuf::from("site");
    if local.is_dir() {
        local
    } else {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("site");
        info!(dir = %repo.display(), "no ./site here: using the repository's demo site (give a DIR to serve another)");
        repo
    }
}

/// The canonical root for a DIR argument (or the default site); `verb` words the error.
fn site_root(dir: Option<&PathBuf>, verb: &str) -> Result<PathBuf> {
    let dir = dir.cloned().unwrap_or_else(default_site_dir);
    let root = dir
        .canonicalize()
        .map_err(|e| usage(format!("cannot {verb} {}: {e}", dir.display())))?;
    if !root.is_dir() {
        return Err(usage(format!(
            "cannot {verb} {}: not a directory",
            dir.display()
        )));
    }
    Ok(root)
}

/// The certificate set for `serve`: in `--certs-dir`, else `./certs`, else (a read-only working
/// directory) the per-user data directory, said on stderr. Returns the directory used.
fn certs(dir: Option<&Path>) -> Result<(PathBuf, tls::CertPaths, bool)> {
    let hint = "give a writable directory with --certs-dir DIR, or --cert and --key";
    if let Some(dir) = dir {
        let (paths, created) =
            tls::ensure_certs(dir).map_err(|e| anyhow::anyhow!("{e:#} ({hint})"))?;
        return Ok((dir.to_path_buf(), paths, created));
    }
    let local = Path::new("certs");
    let local_err = match tls::ensure_certs(local) {
        Ok((paths, created)) => return Ok((local.to_path_buf(), paths, created)),
        Err(e) => e,
    };
    let Some(user) = user_certs_dir() else {
        return Err(anyhow::anyhow!("{local_err:#} ({hint})"));
    };
    match tls::ensure_certs(&user) {
        Ok((paths, created)) => {
            info!(dir = %user.display(), cause = %format!("{local_err:#}"), "./certs is not writable: using the per-user certificate directory");
            Ok((user, paths, created))
        }
        Err(e) => Err(anyhow::anyhow!("{local_err:#}; and {e:#} ({hint})")),
    }
}

/// `$XDG_DATA_HOME/h2push/certs`, or `~/.local/share/h2push/certs`.
fn user_certs_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let data = std::env::var_os("XDG_DATA_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".local/share"))
        })?;
    Some(data.join("h2push/certs"))
}

/// `h2push cert`: writes the certificate set and says where it is.
pub fn cert(args: CertArgs) -> Result<()> {
    let paths = tls::CertPaths::in_dir(&args.dir);
    if args.untrust {
        return crate::trust::untrust(args.no_system);
    }
    if !args.hosts.is_empty() {
        std::fs::create_dir_all(&args.dir)
            .with_context(|| format!("creating {}", args.dir.display()))?;
        tls::issue(&args.dir, &args.hosts, !args.force)?;
        println!(
            "wrote a certificate for localhost, 127.0.0.1, ::1, {} to {}",
            args.hosts.join(", "),
            args.dir.display()
        );
    } else if paths.cert.exists() && !args.force {
        println!(
            "certificates already in {} (use --force to replace them)",
            args.dir.display()
        );
    } else {
        std::fs::create_dir_all(&args.dir)
            .with_context(|| format!("creating {}", args.dir.display()))?;
        tls::generate(&args.dir)?;
        println!(
            "wrote a new CA and localhost certificate to {}",
            args.dir.display()
        );
    }
    let ca = paths.ca.as_deref().unwrap_or(Path::new(""));
    println!("CA (trust this):   {}", ca.display());
    println!("certificate chain: {}", paths.cert.display());
    println!("private key:       {}", paths.key.display());
    if !args.trust {
        println!(
            "trust for browsers: h2push cert --trust --dir {}",
            args.dir.display()
        );
    }
    println!(
        "trust for curl:     curl --cacert {} https://localhost:8443/",
        ca.display()
    );
    if args.trust {
        crate::trust::trust(ca, args.no_system)?;
    }
    Ok(())
}

/// `h2push scan`: the root as for `serve` (or the page DIR names), then the scan.
pub fn scan(args: ScanArgs) -> Result<()> {
    let (root, file) = scan_root(args.dir.as_ref())?;
    crate::push::scan_args::run(&args, root, file)
}

/// The root `scan DIR` scans, and the page when DIR is an HTML file: the root is ./site when
/// the file is inside it (so absolute links resolve as served), else the file's directory.
fn scan_root(dir: Option<&PathBuf>) -> Result<(PathBuf, Option<PathBuf>)> {
    let Some(file) = dir.filter(|d| d.is_file()) else {
        return Ok((site_root(dir, "scan")?, None));
    };
    let file = file
        .canonicalize()
        .map_err(|e| usage(format!("cannot scan {}: {e}", file.display())))?;
    let site = Path::new("site").canonicalize().ok();
    let root = match site.filter(|s| file.starts_with(s)) {
        Some(site) => site,
        None => file.parent().unwrap_or(Path::new("/")).to_path_buf(),
    };
    let page = file.strip_prefix(&root).unwrap_or(&file).to_path_buf();
    Ok((root, Some(page)))
}

/// The runtime for `serve`, with `--threads` workers.
pub fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        Some(0) => return Err(usage("--threads must be at least 1")),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    builder
        .enable_all()
        .max_blocking_threads(config::MAX_BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")
}
