//! Directory listings for `--list-dirs`: a directory URL with no `index.html` gets an HTML page
//! of its entries (or JSON for `Accept: application/json`): directories first, then files, by
//! name; dot-entries left out as the server hides them; names HTML-escaped, links
//! percent-encoded.

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
    name: String,
    dir: bool,
    /// Bytes; 0 for a directory.
    size: u64,
    /// Seconds since the Unix epoch.
    modified: u64,
}

/// The listing of the directory `url_path` names (which must end in `/`), or `None` when it
/// names no listable directory. Blocking.
pub fn listing(config: &Config, url_path: &str, headers: &HeaderMap) -> Option<Reply> {
    let url = path::parse(url_path).ok().filter(|u| u.directory)?;
    let dir = path::locate(&config.root, &url.rel, config.follow_symlinks).ok()?;
    let mut entries = Vec::new();
    let mut more = 0usize;
    for item in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(name) = item.file_name().into_string() else {
            continue; // not UTF-8: no URL reaches it
        };
        if name.starts_with('.') {
            continue;
        }
        if entries.len() == MAX_LISTING_ENTRIES {
            more += 1;
            continue;
        }
        let Ok(meta) = std::fs::metadata(item.path()) else {
            continue; // a dangling symlink
        };
        if !meta.is_dir() && !meta.is_file() {
            continue; // FIFOs, sockets, devices are never served
        }
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        entries.push(Entry {
            name,
            dir: meta.is_dir(),
            size: if meta.is_dir() { 0 } else { meta.len() },
            modified: modified
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        });
    }
    entries.sort_by(|a, b| b.dir.cmp(&a.dir).then_with(|| a.name.cmp(&b.name)));
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
        let href = path::url_path(segments.iter().copied().chain([e.name.as_str()]), e.dir);
        let slash = if e.dir { "/" } else { "" };
        let size = if e.dir {
            "-".to_string()
        } else {
            e.size.to_string()
        };
        let date = httpdate::fmt_http_date(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(e.modified),
        );
        let _ = writeln!(
            out,
            "<tr><td><a href=\"{}\">{}{slash}</a><td>{size}<td>{date}",
            escape(&href),
            escape(&e.name)
        );
    }
    out.push_str("</table>\n");
    if more > 0 {
        let _ = writeln!(out, "<p>{more} more entries not shown.</p>");
    }
    out
}
