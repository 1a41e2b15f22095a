//! Where `serve`'s settings come from besides the command line: `H2PUSH_*` environment
//! variables (every flag, `--idle-timeout` is `H2PUSH_IDLE_TIMEOUT`) and a TOML file
//! (`--config FILE`, else `./h2push.toml` when there is one) whose keys are the flags' long
//! names (`idle-timeout = "30s"`). Precedence: flags, then environment, then file, then
//! defaults. The file is applied by adding its settings as flags the user did not give and
//! parsing again, so a setting in the file is checked exactly as the flag is.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::cli::Cli;
use crate::usage::usage;

/// The file read when `--config` is not given and it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "h2push.toml";

/// The CLI with `H2PUSH_*` environment variables on every `serve` flag.
pub fn command() -> clap::Command {
    let with_env = |cmd: clap::Command| {
        cmd.mut_args(|arg| {
            let id = arg.get_id().as_str();
            if arg.get_env().is_some() || matches!(id, "help" | "version") {
                return arg;
            }
            let flag = arg.get_long().unwrap_or(id);
            let name = format!("H2PUSH_{}", flag.replace('-', "_").to_ascii_uppercase());
            arg.env(&*Box::leak(name.into_boxed_str()))
        })
    };
    let cmd = with_env(Cli::command());
    cmd.mut_subcommand("serve", with_env)
}

/// Parses the command line, the environment and the config file into the [`Cli`]; clap's own
/// errors (and `--help`) exit as clap does, a bad config file is a usage error.
pub fn parse() -> Result<Cli> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let matches = command().get_matches_from(&argv);
    let serve = match matches.subcommand() {
        None => &matches,
        Some(("serve", sub)) => sub,
        Some(_) => return Ok(Cli::from_arg_matches(&matches)?),
    };
    let explicit = serve.get_one::<PathBuf>("config").cloned();
    let file = match &explicit {
        Some(path) => path.clone(),
        None if Path::new(DEFAULT_CONFIG_FILE).is_file() => PathBuf::from(DEFAULT_CONFIG_FILE),
        None => return Ok(Cli::from_arg_matches(&matches)?),
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| usage(format!("config file {}: {e}", file.display())))?;
    let (extra, dir) = file_args(&command(), serve, &text)
        .map_err(|e| usage(format!("config file {}: {e}", file.display())))?;
    let mut argv = argv;
    argv.extend(extra);
    let matches = command().try_get_matches_from(&argv).map_err(|e| {
        usage(format!(
            "config file {}: {}",
            file.display(),
            e.render().to_string().trim()
        ))
    })?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    let args = match &mut cli.command {
        Some(crate::cli::Command::Serve(args)) => args,
        _ => &mut cli.serve,
    };
    if args.dir.is_none() {
        args.dir = dir;
    }
    tracing::info!(file = %file.display(), "read settings from the config file");
    Ok(cli)
}

/// The flags a config file adds: its settings the command line and environment left unset,
/// as `--name=value`; and its `dir`, which is not a flag.
fn file_args(
    cmd: &clap::Command,
    given: &ArgMatches,
    text: &str,
) -> Result<(Vec<OsString>, Option<PathBuf>), String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| e.message().to_owned())?;
    let serve = cmd.find_subcommand("serve").ok_or("no serve command")?;
    let mut extra = Vec::new();
    let mut dir = None;
    for (key, value) in &table {
        let arg = serve
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()) || (key == "dir" && a.get_id() == "dir"))
            .filter(|a| !matches!(a.get_id().as_str(), "config" | "help" | "version"))
            .ok_or_else(|| {
                format!("unknown setting `{key}` (settings are serve's long flag names)")
            })?;
        let id = arg.get_id().as_str();
        if matches!(
            given.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        if id == "dir" {
            let toml::Value::String(s) = value else {
                return Err("`dir` must be a string".into());
            };
            dir = Some(PathBuf::from(s));
            continue;
        }
        let takes_value = arg.get_action().takes_values();
        let values = match value {
            toml::Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        for value in values {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) if !takes_value => {
                    if *b {
                        extra.push(OsString::from(format!("--{key}")));
                    }
                    continue;
                }
                toml::Value::Boolean(b) => (if *b { "on" } else { "off" }).to_owned(),
                _ => {
                    return Err(format!(
                        "`{key}`: use a string, number, boolean or a list of them"
                    ))
                }
            };
            if !takes_value {
                return Err(format!("`{key}` is a switch: use true or false"));
            }
            extra.push(OsString::from(format!("--{key}={text}")));
        }
    }
    Ok((extra, dir))
}
