//! `serve --open`: the served URL in the user's browser. `$BROWSER` (a `:`-separated list of
//! commands, `%s` standing for the URL, as xdg-utils and Python's `webbrowser` read it) comes
//! first, then `xdg-open` (`open` on macOS). The browser runs detached, its output discarded;
//! when none starts, one line says so and the server keeps serving.

use std::process::{Command, Stdio};

use tracing::{info, warn};

/// The opener tried after `$BROWSER`.
const SYSTEM_OPENER: &str = if cfg!(target_os = "macos") {
    "open"
} else {
    "xdg-open"
};

/// Starts a browser at `url`; says which one, or that none could be started.
pub fn open(url: &str) {
    let from_env = std::env::var("BROWSER").unwrap_or_default();
    let candidates = from_env
        .split(':')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .chain([SYSTEM_OPENER]);
    let mut tried = Vec::new();
    for candidate in candidates {
        match spawn(candidate, url) {
            Ok(()) => return info!(browser = candidate, url, "opened the browser"),
            Err(e) => tried.push(format!("{candidate}: {e}")),
        }
    }
    warn!(
        tried = %tried.join("; "),
        "--open: no browser could be started (set $BROWSER or install xdg-utils); open {url} yourself"
    );
}

/// Runs `candidate` (a command with arguments; `%s` is the URL, else the URL is appended).
fn spawn(candidate: &str, url: &str) -> std::io::Result<()> {
    let mut words = candidate.split_whitespace();
    let program = words.next().unwrap_or(candidate);
    let mut args: Vec<String> = words.map(|w| w.replace("%s", url)).collect();
    if !candidate.contains("%s") {
        args.push(url.to_owned());
    }
    let mut child = Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // Reap it in the background: xdg-open exits once the browser is handed the URL, and with
    // an error when it found none.
    let program = program.to_owned();
    let url = url.to_owned();
    std::thread::spawn(move || match child.wait() {
        Ok(status) if !status.success() => warn!(
            browser = program,
            %status,
            "--open: the browser command failed; open {url} yourself"
        ),
        _ => {}
    });
    Ok(())
}
