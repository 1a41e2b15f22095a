//! `h2push scan`'s flags and what it does with them: plan each page as `serve` would and print
//! the table or JSON (the walk and the plan are `push::scan`'s).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::plan_args::PlanArgs;
use crate::config::Config;
use crate::push::scan::{self, Pages};
use crate::usage::{usage, write_stdout};

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directory to scan, as `serve` would serve it, or one HTML file: that page, with ./site as
    /// the root when the file is in it, else the file's directory [default: ./site when present,
    /// else the current directory]
    pub dir: Option<PathBuf>,

    /// Pages to scan (URL paths like /docs/, or paths under DIR) [default: every *.html under DIR]
    #[arg(requires = "dir")]
    pub pages: Vec<String>,

    /// Print JSON for scripts instead of the table
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub plan: PlanArgs,
}

/// `h2push scan` on `root` (the page `file` alone when DIR named one): builds the same
/// [`Config`] `serve` would, scans, prints the table or JSON.
pub fn run(args: &ScanArgs, root: PathBuf, file: Option<PathBuf>) -> Result<()> {
    let mut config = Config::new(root);
    let origin = args.plan.apply(&mut config)?;
    let pages = if let Some(file) = file {
        let page = scan::page_url_path(&config, &file.to_string_lossy()).map_err(usage)?;
        Pages::These(vec![page])
    } else if args.pages.is_empty() {
        Pages::All
    } else {
        let pages = args
            .pages
            .iter()
            .map(|page| scan::page_url_path(&config, page).map_err(usage))
            .collect::<Result<Vec<_>>>()?;
        Pages::These(pages)
    };
    let report = scan::scan(&config, &origin, pages);
    let text = if args.json {
        scan::render_json(&report) + "\n"
    } else {
        scan::render_table(&report)
    };
    write_stdout(text.as_bytes()).context("writing the report")
}
