//! Where an export goes: stdout, a file replaced atomically, or a comparison with a file
//! already written (`--check`, for a site's CI).

use std::fs;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

/// What `--check` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Current,
    /// The file differs; the first differing line (1-based), when both have one.
    Stale(Option<usize>),
    Missing,
}

/// Compares `path` with what `export` would write now.
pub fn check(path: &Path, expected: &str) -> Result<Check> {
    let found = match fs::read(path) {
        Ok(found) => found,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Check::Missing),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if found == expected.as_bytes() {
        return Ok(Check::Current);
    }
    let found = String::from_utf8_lossy(&found);
    let line = found
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .or_else(|| Some(found.lines().count().min(expected.lines().count())))
        .map(|i| i + 1);
    Ok(Check::Stale(line))
}

/// Writes `text` to `path` through a temporary file in the same directory and a rename, so a
/// server reloading its configuration never reads half a file.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.h2push-{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_tells_current_stale_and_missing_apart() {
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("_headers");
        assert_eq!(check(&file, "a\nb\n").unwrap(), Check::Missing);
        write_atomic(&file, "a\nb\n").unwrap();
        assert_eq!(check(&file, "a\nb\n").unwrap(), Check::Current);
        assert_eq!(check(&file, "a\nc\n").unwrap(), Check::Stale(Some(2)));
        assert_eq!(check(&file, "a\nb\nc\n").unwrap(), Check::Stale(Some(3)));
        // Nothing but the file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("conf");
        write_atomic(&file, "old").unwrap();
        assert!(write_atomic(&dir.path().join("missing/conf"), "new").is_err());
        assert_eq!(fs::read_to_string(&file).unwrap(), "old");
    }
}
