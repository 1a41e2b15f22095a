//! What the flags say about themselves: the text after every `--help` (exit codes, settings
//! from the environment and a file), the [`clap::Command`] as parsed, and the shell completions
//! and man pages generated from it.

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};

use crate::cli::Cli;
use crate::usage::{usage, write_stdout};

/// The exit codes of every subcommand, shown after each `--help`.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    done (serve: stopped by SIGINT/SIGTERM; export --check: the file is current)
  1    failed while running (a write failed; export --check: the file is stale)
  2    usage: a bad flag, H2PUSH_* variable or config file setting, or something it names
       that cannot be used (no such directory or page, a port in use, a server that cannot be
       reached or whose certificate is not trusted, unreadable certificates)
  130  serve: a second SIGINT/SIGTERM quit without draining";

/// What `serve --help` says about settings from the environment and a file.
const ENVIRONMENT: &str = "\
Every option can also be set as H2PUSH_<OPTION> (H2PUSH_IDLE_TIMEOUT=30s) or in h2push.toml
(idle-timeout = \"30s\"); flags beat the environment, which beats the file. Sizes take B, KiB,
MiB, GiB (1024-based) or KB, MB, GB (1000-based); times take ms, s or m.";

/// The CLI as parsed: [`Cli`] with an `H2PUSH_*` environment variable on every `serve` flag
/// (not listed in help: the text after it says so), the exit codes after every `--help`, and
/// the bare command's `serve` flags left out of `h2push --help` (they are in `serve --help`).
pub fn command() -> clap::Command {
    let with_env = |cmd: clap::Command| {
        cmd.mut_args(|arg| {
            let id = arg.get_id().as_str();
            if arg.get_env().is_some() || matches!(id, "help" | "version") {
                return arg.hide_env(true);
            }
            let flag = arg.get_long().unwrap_or(id);
            let name = format!("H2PUSH_{}", flag.replace('-', "_").to_ascii_uppercase());
            arg.env(name).hide_env(true)
        })
    };
    let top = with_env(Cli::command()).mut_args(|arg| match arg.get_id().as_str() {
        "help" | "version" => arg,
        _ => arg.hide_short_help(true).hide_long_help(true),
    });
    let mut top = top.mut_subcommand("serve", |serve| {
        with_env(serve).after_help(format!("{ENVIRONMENT}\n\n{EXIT_CODES}"))
    });
    let names: Vec<String> = top
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .filter(|name| name != "serve")
        .collect();
    for name in names {
        top = top.mut_subcommand(name, |sub| sub.after_help(EXIT_CODES));
    }
    top.after_help(format!(
        "`h2push [DIR] [OPTIONS]` runs `serve`: its options are in `h2push serve --help`.\n\n{EXIT_CODES}"
    ))
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for, e.g. `h2push completions bash > ~/.local/share/bash-completion/completions/h2push`
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print, e.g. `h2push man serve > h2push-serve.1`
    pub command: Option<String>,
}

/// `h2push completions SHELL`: the completion script on stdout.
pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "h2push", &mut out);
    write_stdout(&out).context("writing the completion script")
}

/// `h2push man [COMMAND]`: the man page on stdout, `h2push-serve(1)` for `man serve`.
pub fn man(args: ManArgs) -> Result<()> {
    let top = command();
    let cmd = match &args.command {
        None => top,
        Some(name) => {
            let sub = top
                .find_subcommand(name)
                .ok_or_else(|| usage(format!("no subcommand `{name}` (try h2push --help)")))?;
            sub.clone()
                .name(format!("h2push-{name}"))
                .bin_name(format!("h2push {name}"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .context("rendering the man page")?;
    write_stdout(&out).context("writing the man page")
}
