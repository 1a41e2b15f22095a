//! `--live-reload`: HTML pages are served with a small script before `</body>` that listens to
//! the change feed and reloads the page when it (or one of its scripts) changes, or swaps a
//! changed stylesheet in place.
//!
//! The injected page is a different representation from the file, so it gets its own strong
//! ETag (the file's with `-lr` inside the quotes), computed before conditional requests are
//! evaluated: 304, 412, HEAD and `Content-Length` all describe the injected bytes. Ranges of an
//! injected page are answered with the whole page (200). Without the flag nothing here runs and
//! pages are byte-identical to their files.

use std::io;

use bytes::Bytes;
use tracing::debug;

use super::{OpenFile, Source};
use crate::config::{Config, LIVE_RELOAD_MAX_HTML};

/// Marks an ETag as the live-reload representation of the file.
pub const ETAG_SUFFIX: &str = "-lr";

/// What the script does once it has the feed's `events` URL as `FEED`: WebSocket, else SSE,
/// else long-polling (`live_reload.js`).
const SCRIPT_BODY: &str = include_str!("live_reload.js");

/// The `<script>` element for a feed under `feed_path`.
pub fn script(feed_path: &str) -> String {
    let url = serde_json::to_string(&format!("{feed_path}events")).expect("a string serializes");
    format!("<script>/* h2push live reload */ (() => {{\n  const FEED = {url};{SCRIPT_BODY}}})();</script>\n")
}

/// `html` with the script inserted before the last `</body>`, or appended when there is none.
pub fn inject(html: &[u8], feed_path: &str) -> Vec<u8> {
    let script = script(feed_path);
    let at = html
        .windows(7)
        .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
        .unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + script.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(script.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

/// With live reload on, turns an HTML file into the injected page: body in memory, length and
/// ETag of the injected bytes. Anything else (or a page over [`LIVE_RELOAD_MAX_HTML`]) is
/// returned unchanged. Blocking: call where `files::resolve` runs.
pub fn prepare(config: &Config, mut file: OpenFile) -> io::Result<OpenFile> {
    if !config.live_reload || !file.is_html {
        return Ok(file);
    }
    if file.len > LIVE_RELOAD_MAX_HTML {
        debug!(path = %file.fs_path.display(), "page too large for live reload: served as is");
        return Ok(file);
    }
    let html = file.prefix(LIVE_RELOAD_MAX_HTML as usize)?;
    let page = inject(&html, &config.feed.path);
    file.len = page.len() as u64;
    file.source = Source::Memory(Bytes::from(page));
    file.whole_only = true;
    let etag = &mut file.validators.etag;
    etag.insert_str(etag.len() - 1, ETAG_SUFFIX);
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_last_body_end_tag() {
        let html = b"<html><body><p>x</p><pre>&lt;/body&gt;</pre></BODY></html>";
        let out = String::from_utf8(inject(html, "/.h2push/")).unwrap();
        let script = script("/.h2push/");
        assert!(out.ends_with(&format!("{script}</BODY></html>")), "{out}");
        assert!(script.contains(r#"const FEED = "/.h2push/events";"#));
        assert_eq!(out.len(), html.len() + script.len());
    }

    #[test]
    fn without_a_body_end_tag_the_script_is_appended() {
        let out = inject(b"<!doctype html><title>t</title>", "/feed/");
        assert!(out.starts_with(b"<!doctype html><title>t</title><script>"));
        assert!(out.ends_with(b"</script>\n"));
    }
}
