//! From a request's URL path to a file under the root: one percent-decode, component filtering,
//! and symlink containment. Everything that decides *which file* lives here, so the push engine's
//! discovery applies exactly the same rules as a direct request.

use std::io;
use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

/// Why a URL path names no servable file.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// Traversal, NUL, backslash, a non-UTF-8 or otherwise unacceptable path: never a file.
    #[error("path is not acceptable")]
    Rejected,
    /// A component starts with a dot (`.git`, `.env`): hidden from clients.
    #[error("dotfile")]
    Hidden,
    /// The path resolves (through a symlink) outside the served root.
    #[error("symlink leaves the served root")]
    OutsideRoot,
    /// The file system said no.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Turns the path part of a request target (no query) into a path relative to the root.
///
/// Decodes percent-escapes once, then keeps only plain components: `..`, `.`, empty components,
/// NUL, backslashes and anything `Path` would read as a root or prefix are rejected or dropped.
/// Dotfiles are reported as [`PathError::Hidden`], except `.well-known`.
pub fn sanitize(url_path: &str) -> Result<PathBuf, PathError> {
    if !url_path.starts_with('/') {
        return Err(PathError::Rejected);
    }
    let decoded = percent_decode_str(url_path)
        .decode_utf8()
        .map_err(|_| PathError::Rejected)?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return Err(PathError::Rejected);
    }
    let mut rel = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => continue,
            ".." => return Err(PathError::Rejected),
            s if s.starts_with('.') && s != ".well-known" => return Err(PathError::Hidden),
            s => {
                // Whatever Path makes of the segment must be exactly one ordinary component.
                let mut components = Path::new(s).components();
                match (components.next(), components.next()) {
                    (Some(Component::Normal(c)), None) if c == s => rel.push(c),
                    _ => return Err(PathError::Rejected),
                }
            }
        }
    }
    Ok(rel)
}

/// The file system path for a sanitized relative path, with symlinks resolved and checked to
/// stay under `root` (which must be canonical) unless `follow_symlinks`.
pub fn locate(root: &Path, rel: &Path, follow_symlinks: bool) -> Result<PathBuf, PathError> {
    let joined = root.join(rel);
    if follow_symlinks {
        return Ok(joined);
    }
    let real = joined.canonicalize()?;
    if real.starts_with(root) {
        Ok(real)
    } else {
        Err(PathError::OutsideRoot)
    }
}

/// Whether an io error means "no such file, as far as a client is concerned" (404) rather than
/// a server fault (500).
pub fn is_not_found(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::PermissionDenied
            | io::ErrorKind::InvalidFilename
    ) || matches!(
        err.raw_os_error(),
        // ELOOP: a symlink loop. ENXIO: opening a socket (or a device with no driver).
        Some(libc::ELOOP | libc::ENXIO)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_decode_once() {
        assert_eq!(sanitize("/").unwrap(), PathBuf::new());
        assert_eq!(sanitize("/a/b.css").unwrap(), PathBuf::from("a/b.css"));
        assert_eq!(sanitize("/a%20b.txt").unwrap(), PathBuf::from("a b.txt"));
        // %2541 decodes once to "%41", which is a literal file name, not "A".
        assert_eq!(sanitize("/%2541").unwrap(), PathBuf::from("%41"));
        assert_eq!(sanitize("//a//./b").unwrap(), PathBuf::from("a/b"));
    }

    #[test]
    fn traversal_and_odd_bytes_are_rejected() {
        for bad in [
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/x",
            "/a/%2E%2E/%2e%2e/x",
            "/a%00b",
            "/a%5c..%5cb",
            "/a\\b",
            "/%ff%fe",
            "relative",
        ] {
            assert!(
                matches!(sanitize(bad), Err(PathError::Rejected)),
                "{bad} was not rejected"
            );
        }
    }

    #[test]
    fn dotfiles_are_hidden_but_well_known_is_not() {
        assert!(matches!(sanitize("/.git/config"), Err(PathError::Hidden)));
        assert!(matches!(sanitize("/a/.env"), Err(PathError::Hidden)));
        assert!(matches!(sanitize("/%2egit"), Err(PathError::Hidden)));
        assert_eq!(
            sanitize("/.well-known/security.txt").unwrap(),
            PathBuf::from(".well-known/security.txt")
        );
    }
}
