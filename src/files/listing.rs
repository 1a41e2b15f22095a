//! Directory listings for `--list-dirs`: a directory URL with no `index.html` gets an HTML page
//! of its entries (or JSON for `Accept: application/json`): directories first, then files, by
//! name; dot-entries left out as the server hides them; names HTML-escaped, links
//! percent-encoded; names that are not UTF-8 shown with `\xNN` escapes and no link. Past
//! [`MAX_LISTING_ENTRIES`], the first ones in that order and a count of the rest.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, VARY};
use http::{HeaderMap, HeaderValue, Response};

use crate::compare::report::escape;
use crate::config::Config;
use crate::files::path;
use crate::reply::{Body, Reply};

/// Most entries a listing shows. Default 10 000: a listing is built in memory per request, so
/// a directory of a million files must not cost a million rows; the page says what was left out.
pub const MAX_LISTING_ENTRIES: usize = 10_000;

/// One row of a listing.
#[derive(Debug, serde::Serialize)]
struct Entry {
    /// The name; bytes that are not UTF-8 shown as `\xNN`.
    name: String,
    /// Set for a name that is not UTF-8: shown, but no URL reaches it, so it has no link.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    not_utf8: bool,
    dir: bool,
    /// Bytes; 0 for a directory.
    size: u64,
    /// Seconds since the Unix epoch.
    modified: u64,
}

/// A directory entry's place in the listing's order: directories first, then by name.
type Key = (bool, String);

/// The listing of the directory `url_path` names (which must end in `/`), or `None` when it
/// names no listable directory. Blocking.
pub fn listing(config: &Config, url_path: &str, headers: &HeaderMap) -> Option<Reply> {
    let url = path::parse(url_path).ok().filter(|u| u.directory)?;
    let dir = path::locate(&config.root, &url.rel, config.follow_symlinks).ok()?;
    let (first, more) = first_entries(std::fs::read_dir(dir).ok()?, MAX_LISTING_ENTRIES);
    let mut entries = Vec::with_capacity(first.len());
    for ((_, name), item) in first {
        let Ok(meta) = std::fs::metadata(item.path()) else {
            continue; // a dangling symlink
        };
        if !meta.is_dir() && !meta.is_file() {
            continue; // FIFOs, sockets, devices are never served
        }
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        entries.push(Entry {
            not_utf8: item.file_name().to_str().is_none(),
            name,
            dir: meta.is_dir(),
            size: if meta.is_dir() { 0 } else { meta.len() },
            modified: modified
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        });
    }
    let segments: Vec<&str> = url.rel.iter().filter_map(|s| s.to_str()).collect();
    let wants_json = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let (kind, body) = if wants_json {
        let json = serde_json::json!({ "path": path::url_path(segments.iter().copied(), true), "entries": entries, "omitted": more });
        ("application/json", json.to_string())
    } else {
        ("text/html; charset=utf-8", html(&segments, &entries, more))
    };
    let mut head = Response::new(());
    let h = head.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(VARY, HeaderValue::from_static("Accept"));
    Some(Reply::new(head, Body::Bytes(Bytes::from(body))))
}

/// The first `cap` entries of `dir` in the listing's order (directories first, then by name),
/// sorted, and how many more there were: a bounded heap, so a directory of a million entries
/// costs `cap` rows of memory, not a million. Dot-entries are left out and not counted.
fn first_entries(dir: std::fs::ReadDir, cap: usize) -> (Vec<(Key, std::fs::DirEntry)>, usize) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    /// Ordered by key only: the heap's top is the entry that sorts last.
    struct Kept(Reverse<bool>, String, std::fs::DirEntry);
    impl PartialEq for Kept {
        fn eq(&self, other: &Self) -> bool {
            (self.0, &self.1) == (other.0, &other.1)
        }
    }
    impl Eq for Kept {}
    impl PartialOrd for Kept {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Kept {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            (self.0, &self.1).cmp(&(other.0, &other.1))
        }
    }
    let mut kept = BinaryHeap::with_capacity(cap.min(1024) + 1);
    let mut more = 0usize;
    for item in dir.flatten() {
        let name = display_name(&item.file_name());
        if name.starts_with('.') {
            continue;
        }
        let is_dir = match item.file_type() {
            Ok(t) if t.is_symlink() => item.path().is_dir(),
            Ok(t) => t.is_dir(),
            Err(_) => false,
        };
        kept.push(Kept(Reverse(is_dir), name, item));
        if kept.len() > cap {
            kept.pop();
            more += 1;
        }
    }
    let first = kept
        .into_sorted_vec()
        .into_iter()
        .map(|Kept(Reverse(dir), name, item)| ((dir, name), item))
        .collect();
    (first, more)
}

/// A file name as text: UTF-8 as is, other bytes as `\xNN`.
fn display_name(name: &std::ffi::OsStr) -> String {
    use std::fmt::Write;
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

fn html(segments: &[&str], entries: &[Entry], more: usize) -> String {
    use std::fmt::Write;
    let title = escape(&format!(
        "/{}",
        segments.iter().map(|s| format!("{s}/")).collect::<String>()
    ));
    let mut out = format!(
        "<!doctype html>\n<meta charset=utf-8>\n<meta name=viewport content=\"width=device-width\">\n<title>Index of {title}</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2em}}td{{padding:.2em 1em .2em 0}}td:nth-child(2){{text-align:right}}</style>\n<h1>Index of {title}</h1>\n<table>\n"
    );
    if !segments.is_empty() {
        let parent = path::url_path(segments[..segments.len() - 1].iter().copied(), true);
        let _ = writeln!(
            out,
            "<tr><td><a href=\"{}\">../</a><td><td>",
            escape(&parent)
        );
    }
    for e in entries {
        let slash = if e.dir { "/" } else { "" };
        let size = if e.dir {
            "-".to_string()
        } else {
            e.size.to_string()
        };
        let date = httpdate::fmt_http_date(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(e.modified),
        );
        if e.not_utf8 {
            let _ = writeln!(
                out,
                "<tr><td>{}{slash} <small>(name not UTF-8: not served)</small><td>{size}<td>{date}",
                escape(&e.name)
            );
            continue;
        }
        let href = path::url_path(segments.iter().copied().chain([e.name.as_str()]), e.dir);
        let _ = writeln!(
            out,
            "<tr><td><a href=\"{}\">{}{slash}</a><td>{size}<td>{date}",
            escape(&href),
            escape(&e.name)
        );
    }
    out.push_str("</table>\n");
    if more > 0 {
        let _ = writeln!(
            out,
            "<p>{more} more entries not shown: the listing shows the first {} in this order.</p>",
            entries.len()
        );
    }
    out
}
