//! `h2push`: flags → library → exit code. Usage errors (bad flags, a missing directory, a port
//! in use, unreadable certificates) exit with 2, other failures with 1.

use std::time::Duration;

use h2push::cli::{self, Command, ServeArgs, UsageError};

fn main() {
    init_logging();
    let result = h2push::config_file::parse().and_then(|cli| match cli.into_command() {
        Command::Cert(args) => cli::cert(args),
        Command::Scan(args) => cli::scan(args),
        Command::Compare(args) => cli::compare(*args),
        Command::Export(args) => cli::export(*args),
        Command::Serve(args) => serve(*args),
        Command::Proxy(args) => proxy(*args),
    });
    if let Err(err) = result {
        eprintln!("h2push: {err:#}");
        let code = if err.downcast_ref::<UsageError>().is_some() {
            2
        } else {
            1
        };
        std::process::exit(code);
    }
}

/// How long the process waits, once serving has stopped, for blocking-pool work still running
/// (a file read, a page parse) before it exits anyway. Default 1 s: by then every connection
/// is closed, so nobody is waiting for that work, and a task stuck in a system call must not
/// keep the process alive after SIGTERM.
const BLOCKING_SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = cli::runtime(args.threads)?;
    let served = runtime.block_on(cli::serve(args));
    // Dropping the runtime would wait for every blocking task, however long it takes.
    runtime.shutdown_timeout(BLOCKING_SHUTDOWN_WAIT);
    served
}

/// `h2push proxy URL`: `serve` with URL's route for every path, after any `--proxy /PREFIX=URL`.
fn proxy(args: h2push::proxy::args::ProxyArgs<ServeArgs>) -> anyhow::Result<()> {
    let (mut args, route) = args.into_parts();
    args.upstream.routes.push(route);
    serve(args)
}

/// Logs to stderr, coloured only for a terminal and when `NO_COLOR` is unset (no escape codes
/// in a file, a pipe or journald).
fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,chromiumoxide=off"));
    let colour = std::io::stderr().is_terminal()
        && !std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
}
