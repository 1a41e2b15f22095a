//! What each event from the connection changes: a 103's links (acted on in mode `hints`), a
//! response's HEADERS (the page checked, a 304 answered from the cache), a stream's end (the
//! page read for subresources, a stylesheet followed, a cancelled push asked for again), the
//! promises.

use std::time::Instant;

use anyhow::{anyhow, Result};

use super::page::check_page;
use super::stream::Event;
use super::{Loader, Mode, Via};
use crate::compare::wire::Wire;

impl Loader {
    pub(super) async fn handle(&mut self, event: Event) -> Result<()> {
        match event {
            Event::Informational { key, links } => {
                self.informational += 1;
                self.page_links += links.len();
                let stream = self.resources[key].stream_id;
                self.note_from(
                    Some(Wire::Headers(stream)),
                    format!(
                        "recv HEADERS stream {stream} :status 103{}",
                        links
                            .iter()
                            .map(|l| format!("\n          link: {l}"))
                            .collect::<String>()
                    ),
                );
                if self.mode == Mode::Hints {
                    self.act_on_links(&links).await;
                }
            }
            Event::Headers {
                key,
                status,
                links,
                content_type,
                server,
                headers,
            } => {
                if key == 0 {
                    self.page_links += links.len();
                    self.server = server;
                }
                let now = self.now();
                let cached = (status == 304)
                    .then(|| self.prior.get(&self.resources[key].path).cloned())
                    .flatten();
                let r = &mut self.resources[key];
                r.headers_ms = Some(now);
                r.status = Some(status);
                r.headers = Some(headers);
                // A 304 is answered from the store: its type and, later, its body.
                let content_type = match &cached {
                    Some(entry) => entry.content_type.clone(),
                    None => content_type,
                };
                r.content_type = content_type.clone();
                let what = format!(
                    "recv HEADERS stream {} :status {status}  {}",
                    r.stream_id, r.path
                );
                let wire = Wire::Headers(r.stream_id);
                self.note_from(Some(wire), what);
                if key == 0 {
                    let answered = if cached.is_some() { 200 } else { status };
                    check_page(&self.url, answered, content_type.as_deref())?;
                    if self.mode == Mode::Hints {
                        self.act_on_links(&links).await;
                    }
                }
            }
            Event::Done {
                key,
                body,
                bytes,
                error,
            } => {
                let now = self.now();
                let r = &mut self.resources[key];
                r.end_ms = Some(now);
                r.bytes = bytes;
                r.failed = error.is_some();
                r.body = body;
                if let (None, Some(status), Some(headers)) = (&error, r.status, &r.headers) {
                    let kept_body = r.body.clone();
                    self.kept
                        .store(&r.path, status, headers, kept_body, Instant::now());
                    if status == 304 {
                        r.body = self.prior.get(&r.path).and_then(|e| e.body.clone());
                    }
                }
                let (what, wire) = match &error {
                    Some(e) => (
                        format!("stream {} failed: {e}  {}", r.stream_id, r.path),
                        None,
                    ),
                    None => (
                        format!(
                            "recv END_STREAM stream {} ({} bytes)  {}",
                            r.stream_id, r.bytes, r.path
                        ),
                        Some(Wire::EndStream(r.stream_id)),
                    ),
                };
                self.note_from(wire, what);
                if key == 0 {
                    if let Some(error) = error {
                        return Err(anyhow!("loading {} failed: {error}", self.url));
                    }
                    if let Some(done) = self.page_done.take() {
                        let _ = done.send(());
                    }
                    if self.collecting {
                        self.discovery_waits = true;
                    } else {
                        self.discover_in_page().await;
                    }
                } else if self.resources[key].failed
                    && self.resources[key].via == Via::Push
                    && self.needed.contains(&self.resources[key].path)
                {
                    // A cancelled push the page needs: ask for it as a browser would.
                    let path = self.resources[key].path.clone();
                    self.by_path.remove(&path);
                    if self.fetch(&path, Via::Request).await.is_ok() {
                        if let Some(r) = self.resources.last_mut() {
                            r.needed = true;
                        }
                    }
                } else {
                    self.read_arrived(key).await;
                }
            }
            Event::Promise(promise) => self.take_promise(promise),
            Event::PromiseError(e) => self.note(format!("push promise error: {e}")),
            Event::PromisesDone => {
                self.collecting = false;
                if std::mem::take(&mut self.discovery_waits) {
                    self.discover_in_page().await;
                }
            }
        }
        Ok(())
    }
}
