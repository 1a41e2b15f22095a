//! From a request's URL path to a file under the root: one percent-decode, component filtering,
//! and symlink containment. Everything that decides *which file* lives here, so the push engine's
//! discovery applies exactly the same rules as a direct request.

use std::io;
use std::path::{Component, Path, PathBuf};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

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
    /// Key material (see [`super::secrets`]): answered as if absent.
    #[error("key material")]
    KeyMaterial,
    /// The file system said no.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A request's URL path as the file system sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct UrlPath {
    /// The file or directory it names, relative to the root.
    pub rel: PathBuf,
    /// It names a directory: after decoding, it ends in `/` (or `/.`). A file asked for this
    /// way (`/a.txt/`, `/a.txt%2F`) is not found, as with nginx and h2o.
    pub directory: bool,
}

/// Turns the path part of a request target (no query) into a path relative to the root.
///
/// Decodes percent-escapes once, then keeps only plain components: `..`, `.`, empty components,
/// NUL, backslashes and anything `Path` would read as a root or prefix are rejected or dropped.
/// Dotfiles are reported as [`PathError::Hidden`], except `.well-known`.
pub fn parse(url_path: &str) -> Result<UrlPath, PathError> {
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
    let mut directory = false;
    for segment in decoded.split('/') {
        directory = matches!(segment, "" | ".");
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
    Ok(UrlPath { rel, directory })
}

/// [`parse`], for callers that only need the relative path.
pub fn sanitize(url_path: &str) -> Result<PathBuf, PathError> {
    parse(url_path).map(|p| p.rel)
}

/// What a path segment percent-encodes: controls, space, `"`, `#`, `<`, `>`, `?`, backtick,
/// `{`, `}`, `%`, and both slashes, so each segment stays one segment and no URL built from them can start with `//` or `/\`
/// (which a browser reads as another host). Non-ASCII is always encoded.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'%')
    .add(b'/')
    .add(b'\\');

/// The URL path of plain segments (empty ones skipped): `/` + encoded segments, with a trailing
/// `/` for a directory. Always starts with exactly one `/`, so as a `Location` it stays on
/// this host.
pub fn url_path<'a>(segments: impl IntoIterator<Item = &'a str>, directory: bool) -> String {
    let mut url = String::from("/");
    for segment in segments.into_iter().filter(|s| !s.is_empty()) {
        if url.len() > 1 {
            url.push('/');
        }
        url.extend(utf8_percent_encode(segment, SEGMENT));
    }
    if directory && url.len() > 1 {
        url.push('/');
    }
    url
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
    fn a_trailing_slash_names_a_directory() {
        let dir = |p: &str| parse(p).unwrap().directory;
        for yes in ["/", "//", "/a/", "/a%2F", "/a%2f", "/a/.", "/a/%2e", "/a//"] {
            assert!(dir(yes), "{yes}");
        }
        for no in ["/a", "/a/b.txt", "/./a", "//a"] {
            assert!(!dir(no), "{no}");
        }
        assert_eq!(parse("/a.txt%2F").unwrap().rel, PathBuf::from("a.txt"));
    }

    #[test]
    fn url_paths_are_percent_encoded_segments_under_one_slash() {
        assert_eq!(url_path(["a b", "c.html"], false), "/a%20b/c.html");
        assert_eq!(url_path(["docs"], true), "/docs/");
        assert_eq!(url_path([], true), "/");
        assert_eq!(url_path(["", "", "evil.com"], true), "/evil.com/");
        assert_eq!(url_path(["/evil.com"], true), "/%2Fevil.com/");
        assert_eq!(url_path(["\\evil.com"], true), "/%5Cevil.com/");
        assert_eq!(url_path(["caf\u{e9}?#%"], false), "/caf%C3%A9%3F%23%25");
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
