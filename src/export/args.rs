//! The flags of `h2push export` and what the command does with them, given the site's root.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use tracing::{info, warn};

use super::output::{self, Check};
use super::Format;
use crate::config::Config;
use crate::push::plan_args::PlanArgs;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Directory to export, as `serve` would serve it [default: ./site when present, else the
    /// current directory]
    pub dir: Option<PathBuf>,

    /// What to write: a `_headers` file, a server's configuration fragment, or JSON
    #[arg(long, value_enum)]
    pub format: Format,

    /// Write to FILE (atomically: a temporary file, then a rename) instead of stdout
    #[arg(short, long, value_name = "FILE", conflicts_with = "check")]
    pub output: Option<PathBuf>,

    /// Exit 1 when FILE differs from what would be written (stale), 0 when it is current
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,

    /// Where the site lives on the server, for formats that name files (h2o) [default: DIR]
    #[arg(long, value_name = "PATH")]
    pub docroot: Option<String>,

    #[command(flatten)]
    pub plan: PlanArgs,
}

/// Exports the site at `root` (canonical) as the flags say.
pub fn run(args: &ExportArgs, root: PathBuf) -> Result<()> {
    let mut config = Config::new(root);
    let origin = args.plan.apply(&mut config)?;
    let docroot = match &args.docroot {
        Some(docroot) => docroot.clone(),
        None => config.root.display().to_string(),
    };
    let export = super::build(&config, &origin);
    let rendered = super::render(args.format, &export, &docroot);
    for warning in &rendered.warnings {
        warn!(format = ?args.format, "{warning}");
    }
    if let Some(file) = &args.check {
        return check(file, &rendered.text);
    }
    match &args.output {
        Some(file) => {
            output::write_atomic(file, &rendered.text)?;
            info!(file = %file.display(), pages = export.pages.len(), "export written");
            Ok(())
        }
        None => print(&rendered.text),
    }
}

fn check(file: &Path, text: &str) -> Result<()> {
    match output::check(file, text)? {
        Check::Current => {
            info!(file = %file.display(), "export is current");
            Ok(())
        }
        Check::Missing => bail!("{} does not exist: write it with -o {0}", file.display()),
        Check::Stale(line) => bail!(
            "{} is stale{}: regenerate it with the same flags and -o {0}",
            file.display(),
            line.map(|l| format!(" (first difference on line {l})"))
                .unwrap_or_default()
        ),
    }
}

fn print(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing the export"),
    }
}
