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
use clap::{Parser, Subcommand};
use tracing::info;

use crate::config;

pub use crate::certs::CertArgs;
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
    long_about = "HTTP/2 static file server that gets a page's assets to the client one round trip early.\n\nWith no subcommand, `h2push` runs `serve`: `h2push DIR -p 9000` is `h2push serve DIR -p 9000`, and a bare `h2push` serves ./site when there is one, else the current directory, on https://localhost:8443/.",
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
    /// Serve HTTPS, HTTP/2 and HTTP/1.1 in front of a backend (http://HOST:PORT); `serve`'s flags.
    Proxy(Box<crate::proxy::args::ProxyArgs<ServeArgs>>),
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

/// `h2push serve`: the root, the settings, the certificate (given, or the user's local one, made
/// when missing; see [`crate::certs`]), then the server on a runtime with `--threads` workers.
pub fn serve(args: ServeArgs) -> Result<()> {
    let mut config = args.config(site_root(args.dir.as_ref(), "serve")?)?;
    let cert = crate::certs::for_serve(
        args.cert.as_deref(),
        args.key.as_deref(),
        args.certs_dir.as_deref(),
        &mut config,
    )
    .map_err(|e| usage(format!("{e:#}")))?;
    let startup = args.startup(config, cert);
    // A burst of thousands of connections needs more descriptors than the usual soft limit.
    crate::serve::listen::raise_fd_limit();
    let runtime = runtime(args.threads)?;
    let served = runtime.block_on(crate::serve::start::run(startup));
    // Dropping the runtime would wait for every blocking task, however long it takes.
    runtime.shutdown_timeout(BLOCKING_SHUTDOWN_WAIT);
    served
}

/// `h2push proxy URL`: `serve` with URL's route for every path, after any `--proxy /PREFIX=URL`.
pub fn proxy(args: crate::proxy::args::ProxyArgs<ServeArgs>) -> Result<()> {
    let (mut args, route) = args.into_parts();
    args.upstream.routes.push(route);
    serve(args)
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

/// The directory when none is given: `./site` when there is one, else the working directory.
/// Which one is said on stderr, so nobody serves a directory without knowing it. (An installed
/// binary does not know where it was built: no path is compiled in.)
fn default_site_dir() -> PathBuf {
    let local = PathBuf::from("site");
    if local.is_dir() {
        info!(dir = "./site", "no DIR given: using ./site");
        local
    } else {
        info!(
            dir = ".",
            "no DIR given and no ./site here: using the current directory"
        );
        PathBuf::from(".")
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

/// `h2push cert`: writes the certificate set and says where it is (see [`crate::certs`]).
pub fn cert(args: CertArgs) -> Result<()> {
    crate::certs::run(args)
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
