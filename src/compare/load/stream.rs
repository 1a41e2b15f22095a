//! The connection and its frames: connecting with a browser's windows, a task per stream that
//! reads a response (and for the page its 103s) to its end, the PUSH_PROMISE collector, and
//! the [`Event`]s they send the loader; bodies are decoded for discovery.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use h2::client::{PushPromise, PushPromises};
use h2::RecvStream;
use http::Response;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::{Mode, Target, CLIENT_WINDOW};
use crate::client::{self, ConnectOptions, FrameLog};

pub(super) async fn connect(
    target: &Target,
    mode: Mode,
    wire: Arc<AtomicU64>,
    frames: FrameLog,
) -> Result<client::Connection> {
    let tcp = TcpStream::connect(target.connect_to)
        .await
        .with_context(|| format!("connecting to {}", target.connect_to))?;
    tcp.set_nodelay(true)?;
    let options = ConnectOptions {
        tls: target.tls.clone(),
        server_name: target.server_name.clone(),
        enable_push: mode == Mode::Push,
        stream_window: Some(CLIENT_WINDOW),
        connection_window: Some(CLIENT_WINDOW),
        frame_log: Some(frames),
    };
    // Counts the bytes read from the socket.
    let counted = client::ReadTap::new(tcp, move |bytes: &[u8]| {
        wire.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    });
    client::connect_over(counted, &options).await
}

/// What the connection's tasks tell the loop.
pub(super) enum Event {
    Informational {
        key: usize,
        links: Vec<String>,
    },
    Headers {
        key: usize,
        status: u16,
        links: Vec<String>,
        content_type: Option<String>,
        server: Option<String>,
        headers: http::HeaderMap,
    },
    Done {
        key: usize,
        body: Option<Vec<u8>>,
        bytes: u64,
        error: Option<String>,
    },
    Promise(PushPromise),
    PromiseError(String),
    /// The collector has forwarded every promise of the page.
    PromisesDone,
}

pub(super) fn link_values(headers: &http::HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

/// An error on the first request most often means the peer does not speak HTTP/2.
pub(super) fn no_http2(err: anyhow::Error) -> anyhow::Error {
    err.context("the server did not answer over HTTP/2 (an HTTP/1.1-only server?)")
}

/// Takes the page's PUSH_PROMISEs until the page has ended. h2's client does not wake a
/// PushPromises stream when its parent ends without (more) promises; every promise precedes the
/// parent's END_STREAM, so once the page is complete the rest are already queued.
pub(super) async fn collect_promises(
    mut promises: PushPromises,
    mut page_done: oneshot::Receiver<()>,
    tx: mpsc::UnboundedSender<Event>,
) {
    use futures_util::FutureExt;
    loop {
        tokio::select! {
            biased;
            p = promises.push_promise() => match p {
                Some(Ok(p)) => { let _ = tx.send(Event::Promise(p)); }
                Some(Err(e)) => { let _ = tx.send(Event::PromiseError(e.to_string())); break; }
                None => break,
            },
            _ = &mut page_done => {
                while let Some(Some(Ok(p))) = promises.push_promise().now_or_never() {
                    let _ = tx.send(Event::Promise(p));
                }
                break;
            }
        }
    }
    let _ = tx.send(Event::PromisesDone);
}

/// Reads one response to its end, keeping up to `keep` bytes of an HTML, CSS or JavaScript
/// body.
pub(super) async fn read_stream<F>(
    key: usize,
    response: F,
    keep: usize,
    tx: mpsc::UnboundedSender<Event>,
    total: Arc<AtomicU64>,
) where
    F: Future<Output = Result<Response<RecvStream>, h2::Error>>,
{
    let response = match response.await {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Event::Done {
                key,
                body: None,
                bytes: 0,
                error: Some(e.to_string()),
            });
            return;
        }
    };
    let (parts, mut body) = response.into_parts();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = content_type.as_deref().is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.starts_with("text/html")
            || t.starts_with("text/css")
            || t.contains("xhtml")
            || super::modules::is_javascript(&t)
    });
    let server = parts
        .headers
        .get(http::header::SERVER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let coding = parts
        .headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let _ = tx.send(Event::Headers {
        key,
        status: parts.status.as_u16(),
        links: link_values(&parts.headers),
        content_type,
        server,
        headers: parts.headers.clone(),
    });
    let mut kept = Vec::new();
    let mut received = 0;
    let mut error = None;
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(chunk) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                total.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                if text && kept.len() < keep {
                    let room = keep - kept.len();
                    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                received += chunk.len() as u64;
            }
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    let _ = tx.send(Event::Done {
        key,
        body: text.then(|| decoded(coding.as_deref(), kept, keep)),
        bytes: received,
        error,
    });
}

/// The first `keep` bytes of a body in `coding`, decoded as far as the bytes kept allow (a
/// truncated or corrupt body yields what decoded before the end).
fn decoded(coding: Option<&str>, body: Vec<u8>, keep: usize) -> Vec<u8> {
    use std::io::Read;
    let reader: Box<dyn Read + '_> = match coding {
        None | Some("identity") => return body,
        Some("br") => Box::new(brotli::Decompressor::new(&body[..], 64 * 1024)),
        Some("gzip" | "x-gzip") => Box::new(flate2::read::GzDecoder::new(&body[..])),
        Some("deflate") => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        Some("zstd") => match zstd::stream::read::Decoder::new(&body[..]) {
            Ok(decoder) => Box::new(decoder),
            Err(_) => return Vec::new(),
        },
        Some(_) => return Vec::new(),
    };
    let mut out = Vec::new();
    let _ = reader.take(keep as u64).read_to_end(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_documents_are_decoded_for_discovery() {
        use crate::files::compress::compress;
        use crate::files::encoding::Encoding;
        let html = b"<!doctype html><link rel=stylesheet href=/a.css>".repeat(50);
        for enc in Encoding::PREFERENCE {
            let body = compress(enc, &html).unwrap();
            assert_eq!(decoded(Some(enc.token()), body.clone(), 1 << 20), html);
            assert_eq!(decoded(Some(enc.token()), body, 100), &html[..100]);
        }
        assert_eq!(
            decoded(None, html.clone(), 10),
            html,
            "identity is kept as is"
        );
        assert!(decoded(Some("compress"), html, 10).is_empty());
    }
}
