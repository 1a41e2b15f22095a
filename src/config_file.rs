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

use crate::cli::help::command;
use crate::cli::Cli;
use crate::usage::usage;

/// The file read when `--config` is not given and it exists in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "h2push.toml";

/// Parses the command line, the environment and the config file into the [`Cli`]; clap's own
/// errors (and `--help`) exit as clap does, except that a bad value from an `H2PUSH_*`
/// variable is named by the variable; a bad config file is a usage error with its line.
pub fn parse() -> Result<Cli> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let matches = match command().try_get_matches_from(&argv) {
        Ok(matches) => matches,
        Err(err) => return Err(from_environment(&err, &argv).unwrap_or_else(|| err.exit())),
    };
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
    let in_file = |e: String| usage(format!("config file {}{e}", file.display()));
    let text = std::fs::read_to_string(&file).map_err(|e| in_file(format!(": {e}")))?;
    let settings = file_args(&command(), serve, &text).map_err(in_file)?;
    let mut argv = argv;
    argv.extend(settings.args.iter().map(|(arg, _)| arg.clone()));
    let matches = command().try_get_matches_from(&argv).map_err(|e| {
        let (flag, why) = invalid_value(&e);
        let line = flag.and_then(|flag| {
            let prefix = format!("--{flag}=");
            settings.args.iter().find_map(|(arg, line)| {
                arg.to_str()?
                    .starts_with(&prefix)
                    .then(|| format!(", line {line}: `{flag}`"))
            })
        });
        in_file(line.unwrap_or_default() + ": " + &why)
    })?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    let args = match &mut cli.command {
        Some(crate::cli::Command::Serve(args)) => args,
        _ => &mut cli.serve,
    };
    if args.dir.is_none() {
        args.dir = settings.dir;
    }
    tracing::info!(file = %file.display(), "read settings from the config file");
    Ok(cli)
}

/// The long name of the flag a clap error is about and why its value was refused (or the
/// whole message for other errors).
fn invalid_value(err: &clap::Error) -> (Option<String>, String) {
    use clap::error::{ContextKind, ContextValue};
    let flag = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg
            .strip_prefix("--")
            .map(|a| a.split([' ', '=']).next().unwrap_or(a).to_owned()),
        _ => None,
    };
    let why = match std::error::Error::source(err) {
        Some(source) if flag.is_some() => source.to_string(),
        _ => {
            let text = err.render().to_string();
            let text = text.trim().trim_start_matches("error: ");
            text.split("\n\n").next().unwrap_or(text).to_owned()
        }
    };
    (flag, why)
}

/// A value clap refused that came from an `H2PUSH_*` variable and not from the command line,
/// as `H2PUSH_LISTEN=abc: why`; `None` for every other error.
fn from_environment(err: &clap::Error, argv: &[OsString]) -> Option<anyhow::Error> {
    use clap::error::ErrorKind;
    if !matches!(
        err.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue
    ) {
        return None;
    }
    let (flag, why) = invalid_value(err);
    let flag = flag?;
    // The same command line without the environment parses the flag: the value is the variable's.
    if let Err(plain) = Cli::command().try_get_matches_from(argv) {
        if invalid_value(&plain).0.as_deref() == Some(flag.as_str()) {
            return None;
        }
    }
    let cmd = command();
    let serve = cmd.find_subcommand("serve")?;
    let arg = serve
        .get_arguments()
        .find(|a| a.get_long() == Some(flag.as_str()))?;
    let name = arg.get_env()?.to_string_lossy().into_owned();
    let value = std::env::var_os(&name)?;
    Some(usage(format!("{name}={}: {why}", value.to_string_lossy())))
}

/// What a config file adds to the command line.
struct FileSettings {
    /// Its settings the command line and environment left unset, as `--name=value`, each with
    /// the line it is on.
    args: Vec<(OsString, usize)>,
    /// Its `dir`, which is not a flag.
    dir: Option<PathBuf>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The settings of a config file: ", line N: why" on an error.
fn file_args(cmd: &clap::Command, given: &ArgMatches, text: &str) -> Result<FileSettings, String> {
    type Spanned<T> = toml::Spanned<T>;
    let table: std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(text).map_err(|e: toml::de::Error| {
            let message = e.message().trim();
            match e.span() {
                Some(span) => {
                    let line = line_of(text, span.start);
                    let start = text[..span.start.min(text.len())]
                        .rfind('\n')
                        .map_or(0, |i| i + 1);
                    let column = text[start..span.start.min(text.len())].chars().count() + 1;
                    format!(", line {line}, column {column}: {message}")
                }
                None => format!(": {message}"),
            }
        })?;
    let serve = cmd.find_subcommand("serve").ok_or("no serve command")?;
    let mut settings = FileSettings {
        args: Vec::new(),
        dir: None,
    };
    for (key, value) in &table {
        let line = line_of(text, key.span().start);
        let at = |why: String| format!(", line {line}: {why}");
        let key = key.get_ref();
        let arg = serve
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()) || (key == "dir" && a.get_id() == "dir"))
            .filter(|a| !matches!(a.get_id().as_str(), "config" | "help" | "version"))
            .ok_or_else(|| {
                at(format!(
                    "unknown setting `{key}` (settings are serve's long flag names)"
                ))
            })?;
        let id = arg.get_id().as_str();
        if matches!(
            given.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let value = value.get_ref();
        if id == "dir" {
            let toml::Value::String(s) = value else {
                return Err(at("`dir` must be a string".into()));
            };
            settings.dir = Some(PathBuf::from(s));
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
                        settings
                            .args
                            .push((OsString::from(format!("--{key}")), line));
                    }
                    continue;
                }
                toml::Value::Boolean(b) => (if *b { "on" } else { "off" }).to_owned(),
                _ => {
                    return Err(at(format!(
                        "`{key}`: use a string, number, boolean or a list of them"
                    )))
                }
            };
            if !takes_value {
                return Err(at(format!("`{key}` is a switch: use true or false")));
            }
            settings
                .args
                .push((OsString::from(format!("--{key}={text}")), line));
        }
    }
    Ok(settings)
}
