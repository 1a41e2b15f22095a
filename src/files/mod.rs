//! Static file semantics: deciding what a request gets ([`resolve`]), building the response
//! head for that decision ([`response`]) and streaming the body under flow control ([`body`]).
//!
//! `resolve` does all the file-system work of a request (open, fstat) and is called on the
//! blocking pool; what it returns is an owned [`Resolved`] that the async side turns into frames.

pub mod body;
pub mod cache;
pub mod compress;
pub mod encoding;
pub mod headers;
pub mod listing;
pub mod live_reload;
pub mod path;
pub mod response;
pub mod rules;
pub mod secrets;

use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use http::{HeaderMap, HeaderValue, Method};

use crate::config::Config;
use headers::{Precondition, RangeRequest, Validators};
use path::PathError;

/// Where a response body's bytes come from.
#[derive(Debug)]
pub enum Source {
    /// An open file, read as the body is sent.
    Disk(File),
    /// Bytes already in memory (a small file, a cached one, or an injected page).
    Memory(bytes::Bytes),
}

/// A file opened for a response, with what its headers need.
#[derive(Debug)]
pub struct OpenFile {
    pub source: Source,
    pub fs_path: PathBuf,
    pub len: u64,
    pub validators: Validators,
    pub content_type: HeaderValue,
    pub is_html: bool,
    /// Served whole even when a range is asked for: the body is not the file's own bytes (an
    /// HTML page with the live-reload script, see `live_reload::prepare`).
    pub whole_only: bool,
    /// The body's content coding; `None` for the file's own bytes.
    pub encoding: Option<encoding::Encoding>,
    /// The response depends on Accept-Encoding (`Vary`): a compressible file, in any coding.
    pub vary: bool,
    /// The file itself, when this is an encoded representation of it.
    pub identity: Option<Box<OpenFile>>,
}

impl OpenFile {
    /// The file's own representation: what a page scan reads, whatever coding is sent.
    pub fn original(&self) -> &OpenFile {
        self.identity.as_deref().unwrap_or(self)
    }

    /// Up to `max` bytes from the start of the body, without moving a file's cursor.
    pub fn prefix(&self, max: usize) -> io::Result<Vec<u8>> {
        match &self.source {
            Source::Memory(bytes) => Ok(bytes[..bytes.len().min(max)].to_vec()),
            Source::Disk(file) => {
                use std::os::unix::fs::FileExt;
                let len = self.len.min(max as u64) as usize;
                let mut buf = vec![0; len];
                let mut filled = 0;
                while filled < len {
                    match file.read_at(&mut buf[filled..], filled as u64)? {
                        0 => break,
                        n => filled += n,
                    }
                }
                buf.truncate(filled);
                Ok(buf)
            }
        }
    }
}

/// What a request gets. Matched once, in [`response::head`].
#[derive(Debug)]
pub enum Resolved {
    /// 200 with the whole file, or 206 with `range` (inclusive byte bounds).
    File {
        file: OpenFile,
        range: Option<(u64, u64)>,
    },
    NotModified(OpenFile),
    PreconditionFailed,
    RangeNotSatisfiable {
        len: u64,
    },
    /// 308 to the directory URL with a trailing slash: a path on this host, from
    /// [`path::url_path`], never the client's own spelling (`//evil.com` must not come back as
    /// `Location: //evil.com/`, which a browser reads as another host).
    Redirect(String),
    MethodNotAllowed,
    /// 404; with the site's own `404.html` when it has one.
    NotFound(Option<OpenFile>),
    /// 403: a symlink that leaves the root.
    Forbidden,
    /// 500: an io error that does not mean "not found". Logged where it is answered.
    Error(io::Error),
}

/// Decides what `method path?query` with `headers` gets, in the representation `encoder`
/// chooses (conditions and ranges apply to it). Blocking: call on the blocking pool.
pub fn resolve(
    config: &Config,
    encoder: &compress::Encoder,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Resolved {
    if method != Method::GET && method != Method::HEAD {
        return Resolved::MethodNotAllowed;
    }
    let (url_path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let file = match open_url_path(config, url_path) {
        Ok(Opened::File(file)) => file,
        Ok(Opened::Directory(mut location)) => {
            if let Some(q) = query {
                location.push('?');
                location.push_str(q);
            }
            return Resolved::Redirect(location);
        }
        Err(err) => return not_servable(config, err),
    };
    let file = match crate::files::live_reload::prepare(config, file) {
        Ok(file) => file,
        Err(err) => return Resolved::Error(err),
    };
    decide_file(encoder.negotiate(file, headers), method, headers)
}

/// What a GET or HEAD of an opened file gets: conditional requests, then ranges. Pure, so a
/// file served from memory is decided without the blocking pool.
pub fn decide_file(file: OpenFile, method: &Method, headers: &HeaderMap) -> Resolved {
    match headers::evaluate_preconditions(headers, &file.validators) {
        Precondition::Failed => return Resolved::PreconditionFailed,
        Precondition::NotModified => return Resolved::NotModified(file),
        Precondition::Proceed => {}
    }
    if method == Method::HEAD || file.whole_only {
        return Resolved::File { file, range: None };
    }
    match headers::evaluate_range(headers, &file.validators, file.len) {
        RangeRequest::Full => Resolved::File { file, range: None },
        RangeRequest::Partial { start, end } => Resolved::File {
            file,
            range: Some((start, end)),
        },
        RangeRequest::Unsatisfiable => Resolved::RangeNotSatisfiable { len: file.len },
    }
}

/// What a URL path (no query) names.
#[derive(Debug)]
pub enum Opened {
    File(OpenFile),
    /// A directory requested without its trailing slash; holds the URL path to redirect to
    /// (normalized, with the slash).
    Directory(String),
}

/// Opens the file a URL path names: `dir/` means `dir/index.html`; `file/` names nothing.
pub fn open_url_path(config: &Config, url_path: &str) -> Result<Opened, PathError> {
    let url = path::parse(url_path)?;
    let fs_path = path::locate(&config.root, &url.rel, config.follow_symlinks)?;
    let (file, meta) = open_regular(&fs_path)?;
    if !meta.is_dir() {
        if url.directory {
            return Err(PathError::Io(io::ErrorKind::NotFound.into()));
        }
        if config.secrets.refuses(&fs_path, &file, &meta) {
            return Err(PathError::KeyMaterial);
        }
        return Ok(Opened::File(open_file(file, fs_path, &meta)));
    }
    if !url.directory {
        // `parse` accepted each segment as UTF-8, so none is lost here.
        let segments = url.rel.iter().filter_map(|s| s.to_str());
        return Ok(Opened::Directory(path::url_path(segments, true)));
    }
    let index = path::locate(
        &config.root,
        &url.rel.join("index.html"),
        config.follow_symlinks,
    )?;
    let (file, meta) = open_regular(&index)?;
    if meta.is_dir() {
        return Err(PathError::Io(io::ErrorKind::NotFound.into()));
    }
    if config.secrets.refuses(&index, &file, &meta) {
        return Err(PathError::KeyMaterial);
    }
    Ok(Opened::File(open_file(file, index, &meta)))
}

/// Opens a regular file or a directory; anything else (FIFO, socket, device) is not found.
///
/// The open never waits: `O_NONBLOCK` makes opening a FIFO return at once instead of blocking
/// until a writer appears (which held a blocking-pool thread per request, then every request,
/// then shutdown), and `O_NOCTTY` keeps a terminal device from becoming ours. The type is
/// then read from the open descriptor, so it is the type of what was opened.
fn open_regular(path: &Path) -> Result<(File, Metadata), PathError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() {
        // Reads of a regular file ignore O_NONBLOCK on Linux; clear it anyway so no file
        // system can answer a body read with EAGAIN.
        clear_nonblocking(&file)?;
    } else if !meta.is_dir() {
        return Err(PathError::Io(io::ErrorKind::NotFound.into()));
    }
    Ok((file, meta))
}

pub(crate) fn clear_nonblocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is open for as long as `file` is borrowed; F_GETFL/F_SETFL only read and
    // set its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn open_file(file: File, fs_path: PathBuf, meta: &Metadata) -> OpenFile {
    let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
    let is_html = matches!(
        fs_path.extension().and_then(|e| e.to_str()),
        Some("html" | "htm")
    );
    OpenFile {
        content_type: content_type(&fs_path),
        validators: Validators::new(modified, meta.len()),
        len: meta.len(),
        is_html,
        source: Source::Disk(file),
        fs_path,
        whole_only: false,
        encoding: None,
        vary: false,
        identity: None,
    }
}

/// The answer for a path that named no servable file.
fn not_servable(config: &Config, err: PathError) -> Resolved {
    match err {
        PathError::Rejected | PathError::Hidden | PathError::KeyMaterial => {
            Resolved::NotFound(not_found_page(config))
        }
        PathError::OutsideRoot => Resolved::Forbidden,
        PathError::Io(e) if path::is_not_found(&e) => Resolved::NotFound(not_found_page(config)),
        PathError::Io(e) => Resolved::Error(e),
    }
}

/// The site's own `404.html`, if it has one.
fn not_found_page(config: &Config) -> Option<OpenFile> {
    let fs_path = config.root.join("404.html");
    let (file, meta) = open_regular(&fs_path).ok()?;
    meta.is_file().then(|| open_file(file, fs_path, &meta))
}

/// `Content-Type` from the file name, with `charset=utf-8` on text types.
pub fn content_type(path: &Path) -> HeaderValue {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            mime.subtype().as_str(),
            "javascript" | "json" | "xml" | "svg" | "manifest+json"
        )
        || mime.suffix().is_some_and(|s| s == "xml" || s == "json");
    let value = if textual && mime.get_param("charset").is_none() {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_carry_charset_on_text() {
        let ct = |p: &str| content_type(Path::new(p)).to_str().unwrap().to_string();
        assert_eq!(ct("a.html"), "text/html; charset=utf-8");
        assert_eq!(ct("a.css"), "text/css; charset=utf-8");
        assert!(
            ct("a.js").ends_with("javascript; charset=utf-8"),
            "{}",
            ct("a.js")
        );
        assert_eq!(ct("a.svg"), "image/svg+xml; charset=utf-8");
        assert_eq!(ct("a.png"), "image/png");
        assert_eq!(ct("a.woff2"), "font/woff2");
        assert_eq!(ct("noext"), "application/octet-stream");
    }
}
