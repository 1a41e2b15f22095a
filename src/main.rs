//! `h2push`: flags → library → exit code. Usage errors (bad flags, a missing directory, a port
//! in use, unreadable certificates) exit with 2, other failures with 1.

use clap::Parser;
use h2push::cli::{self, Cli, Command, ServeArgs, UsageError};

fn main() {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command.unwrap_or_else(Command::default_serve) {
        Command::Cert(args) => cli::cert(args),
        Command::Scan(args) => cli::scan(args),
        Command::Compare(args) => cli::compare(*args),
        Command::Serve(args) => serve(*args),
    };
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

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    cli::runtime(args.threads)?.block_on(cli::serve(args))
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
