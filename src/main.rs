//! `h2push`: flags → library → exit code, as [`h2push::cli::help::EXIT_CODES`] lists them: usage
//! errors (bad flags, a missing directory, a port in use, unreadable certificates, a server
//! `compare` cannot reach) exit with 2, other failures with 1.

use h2push::cli::{self, Command, UsageError};

fn main() {
    init_logging();
    let result = h2push::config_file::parse().and_then(|cli| match cli.into_command() {
        Command::Serve(args) => cli::serve(*args),
        Command::Cert(args) => cli::cert(args),
        Command::Scan(args) => cli::scan(args),
        Command::Compare(args) => cli::compare(*args),
        Command::Export(args) => cli::export(*args),
        Command::Completions(args) => cli::help::completions(args),
        Command::Man(args) => cli::help::man(args),
        Command::Proxy(args) => cli::proxy(*args),
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
