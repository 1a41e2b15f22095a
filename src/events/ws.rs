//! `{feed}ws`: the change feed over WebSocket, on HTTP/1.1 (`Upgrade: websocket`) and on
//! HTTP/2 (RFC 8441 extended CONNECT, so a browser needs no second connection).
//!
//! The transports check the handshake here ([`check`]), answer it (101, or 200 on HTTP/2) and
//! hand the stream over to [`run`]: one text message per change (the same JSON as SSE's
//! `data:`), a reset as `{"reset":true,…}`, a ping when the feed has been quiet, close 1001 when
//! the server shuts down. Frames come and go through tungstenite; what the client sends is
//! read only to answer pings and to close on hostile input with the code RFC 6455 names.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tracing::debug;

use super::follow::{parse_resume, resume_query, Follower, NDJSON};
use crate::config::FeedConfig;
use crate::reply::Reply;
use crate::watch::ChangeFeed;

/// Largest message a client may send (it has nothing to say but pings and close): larger ones
/// are closed with 1009. Also the largest frame.
pub const WS_MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// Bytes tungstenite may hold for writing (pongs queued for a client that pings but does not
/// read, plus one chunk of changes) before the session is closed.
pub const WS_MAX_WRITE_BUFFER: usize = 256 * 1024;

/// WebSocket sessions opened over each protocol since start: `[HTTP/1.1, HTTP/2]`.
static OPENED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Sessions opened so far over HTTP/1.1 and over HTTP/2 (extended CONNECT).
pub fn opened() -> (u64, u64) {
    (
        OPENED[0].load(Ordering::Relaxed),
        OPENED[1].load(Ordering::Relaxed),
    )
}

/// The protocol a session's handshake came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    H1,
    H2,
}

/// A handshake that checked out: what to answer with, and where the session resumes.
pub struct Accepted {
    /// `Sec-WebSocket-Accept` (HTTP/1.1 only; HTTP/2 has no key).
    pub accept: Option<HeaderValue>,
    resume: Option<Option<u64>>,
}

/// Checks a WebSocket handshake's headers (the transport has checked the method and the
/// upgrade itself). `Err` is the 4xx to answer with.
pub fn check(over: Over, headers: &HeaderMap, query: Option<&str>) -> Result<Accepted, Box<Reply>> {
    if headers.get("sec-websocket-version").map(|v| v.as_bytes()) != Some(b"13") {
        let mut reply = Reply::text(
            StatusCode::UPGRADE_REQUIRED,
            "websocket version 13 only (Sec-WebSocket-Version: 13)\n",
        );
        reply
            .head
            .headers_mut()
            .insert("sec-websocket-version", HeaderValue::from_static("13"));
        return Err(Box::new(reply));
    }
    let accept = match over {
        Over::H2 => None,
        Over::H1 => {
            let key = headers.get("sec-websocket-key").map(|k| k.as_bytes());
            // The key is 16 random bytes in base64: 24 characters.
            match key {
                Some(key) if key.len() == 24 => Some(
                    HeaderValue::from_str(&derive_accept_key(key)).expect("base64 is a header"),
                ),
                _ => {
                    return Err(Box::new(Reply::text(
                        StatusCode::BAD_REQUEST,
                        "bad request: Sec-WebSocket-Key must be 16 bytes in base64\n",
                    )))
                }
            }
        }
    };
    Ok(Accepted {
        accept,
        resume: parse_resume(resume_query(query)),
    })
}

/// Runs one session on the upgraded stream `io` until the client leaves, misbehaves, stops
/// reading for the stall timeout, or the feed closes (1001).
pub async fn run<IO>(
    io: IO,
    over: Over,
    accepted: Accepted,
    feed: Arc<ChangeFeed>,
    config: &FeedConfig,
    stall: Duration,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    OPENED[over as usize].fetch_add(1, Ordering::Relaxed);
    let ws_config = WebSocketConfig {
        max_message_size: Some(WS_MAX_CLIENT_MESSAGE),
        max_frame_size: Some(WS_MAX_CLIENT_MESSAGE),
        // Each message is written through at once (and flushed per chunk of changes).
        write_buffer_size: 0,
        max_write_buffer_size: WS_MAX_WRITE_BUFFER,
        ..WebSocketConfig::default()
    };
    let mut ws =
        WebSocketStream::from_raw_socket(TokioAdapter::new(io), Role::Server, Some(ws_config))
            .await;
    let mut follower = Follower::start(feed, accepted.resume, &NDJSON, config.keep_alive, b"");
    // Whether the client answered (or said anything) since the last ping.
    let mut heard = true;
    let why = loop {
        tokio::select! {
            chunk = follower.next() => {
                let Some(chunk) = chunk else { break Some(going_away()) };
                let messages = if chunk.as_ref() == NDJSON.keep_alive {
                    if !std::mem::replace(&mut heard, false) {
                        debug!("websocket client did not answer a ping: closing");
                        break None;
                    }
                    vec![Message::Ping(Vec::new())]
                } else {
                    lines(&chunk)
                };
                let sent = async {
                    for message in messages {
                        ws.feed(message).await?;
                    }
                    ws.flush().await
                };
                match tokio::time::timeout(stall, sent).await {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => break close_for(&err),
                    Err(_) => {
                        debug!(?stall, "websocket client took nothing: closing");
                        break None;
                    }
                }
            }
            message = ws.next() => match message {
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Ok(_)) => heard = true,
                Some(Err(err)) => break close_for(&err),
            },
        }
    };
    if let Some(frame) = why {
        // The close is best-effort: a client that does not read it loses nothing more.
        let _ = tokio::time::timeout(stall, ws.close(Some(frame))).await;
    }
    // End the stream cleanly (HTTP/2 END_STREAM, TLS close_notify): dropping it without this
    // can reset it before the close frame is out.
    let _ = tokio::time::timeout(stall, ws.get_mut().get_mut().shutdown()).await;
}

/// One text message per line of a chunk of NDJSON.
fn lines(chunk: &Bytes) -> Vec<Message> {
    chunk
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| Message::Text(String::from_utf8_lossy(line).into_owned()))
        .collect()
}

fn going_away() -> CloseFrame<'static> {
    CloseFrame {
        code: CloseCode::Away,
        reason: Cow::Borrowed("server shutting down"),
    }
}

/// The close frame for what went wrong, or `None` when the connection is gone anyway.
fn close_for(err: &WsError) -> Option<CloseFrame<'static>> {
    let (code, reason) = match err {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            (CloseCode::Size, "message too big")
        }
        WsError::Capacity(_) => (CloseCode::Policy, "too much to send"),
        WsError::Utf8 => (CloseCode::Invalid, "text frame is not UTF-8"),
        WsError::Protocol(ProtocolError::UnmaskedFrameFromClient) => {
            (CloseCode::Protocol, "client frames must be masked")
        }
        WsError::Protocol(_) => (CloseCode::Protocol, "protocol error"),
        _ => {
            debug!(cause = %err, "websocket session ended");
            return None;
        }
    };
    debug!(cause = %err, code = u16::from(code), "closing a websocket session");
    Some(CloseFrame {
        code,
        reason: Cow::Borrowed(reason),
    })
}
