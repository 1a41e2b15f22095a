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
    // A burst of thousands of connections needs more descriptors than the usual soft limit.
    h2push::serve::listen::raise_fd_limit();
    let runtime = cli::runtime(args.threads)?;
    let served = runtime.block_on(cli::serve(args));
    // Dropping the runtime would wait for every blocking task, however long it takes.
    runtime.shutdown_timeout(BLOCKING_SHUTDOWN_WAIT);
    served
}

/// Logs to stderr, coloured only for a terminal and when `NO_COLOR` is unset (no escape codes
/// in a file, a pipe or journald); the `h2` crate's warnings throttled like ours.
fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,chromiumoxide=off"));
    let colour = std::io::stderr().is_terminal()
        && !std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    // h2's own warnings are written by `H2Warnings`, throttled, not by the fmt layer.
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            !h2push::throttle::is_h2_warning(meta)
        }));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(h2push::throttle::H2Warnings::default())
        .init();
}
