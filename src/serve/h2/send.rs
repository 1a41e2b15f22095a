//! Sending a body on an h2 stream under flow control: file chunks are read only once the peer's
//! window and the connection's send budget have room for them, and a produced body (an event
//! stream) is pulled only when the stream can take more. Memory per stream stays bounded by
//! [`BODY_CHUNK`] however large the file and however slow the reader.

use std::future::poll_fn;
use std::io::SeekFrom;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use h2::SendStream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tracing::{info, warn};

use crate::config::BODY_CHUNK;
use crate::reply::{Body, ChunkStream};
use crate::serve::access::Sent;
use crate::serve::limits::SendBudget;

/// Sends `body` on a stream whose HEADERS went out without END_STREAM, and ends it.
pub async fn send(
    stream: &mut SendStream<Bytes>,
    body: Body,
    budget: &SendBudget,
    stall_timeout: Duration,
) -> Sent {
    match body {
        Body::Empty | Body::Bytes(_) => now(stream, body).unwrap_or_default(),
        Body::File { file, offset, len } => send_file(stream, file, offset, len, budget).await,
        Body::Stream(chunks) => send_stream(stream, chunks, stall_timeout).await,
    }
}

/// Sends a body already in memory (or none) on a stream whose HEADERS went out (with
/// END_STREAM when the body is empty): h2 holds the bytes and sends them as the window opens.
/// Gives back a body that has to be read or produced as it goes.
pub fn now(stream: &mut SendStream<Bytes>, body: Body) -> Result<Sent, Body> {
    match body {
        Body::Empty => Ok(Sent::whole(0)),
        Body::Bytes(bytes) => {
            let len = bytes.len() as u64;
            Ok(finish(stream.send_data(bytes, true), len))
        }
        other => Err(other),
    }
}

/// [`now`] for a reply whose HEADERS may have failed, and whose body is in memory.
pub fn in_memory(headers_sent: Result<SendStream<Bytes>, h2::Error>, body: Body) -> Sent {
    match headers_sent {
        Ok(mut stream) => now(&mut stream, body)
            .unwrap_or_else(|_| Sent::cut(0, "a streamed body was sent as if in memory")),
        Err(err) => Sent::cut(0, describe(&err)),
    }
}

fn finish(result: Result<(), h2::Error>, len: u64) -> Sent {
    match result {
        Ok(()) => Sent::whole(len),
        Err(err) => Sent::cut(0, describe(&err)),
    }
}

async fn send_file(
    stream: &mut SendStream<Bytes>,
    file: std::fs::File,
    offset: u64,
    len: u64,
    budget: &SendBudget,
) -> Sent {
    let mut file = tokio::fs::File::from_std(file);
    if let Err(err) = file.seek(SeekFrom::Start(offset)).await {
        return Sent::cut(0, format!("reading the file: {err}"));
    }
    let mut sent = 0;
    while sent < len {
        let want = (len - sent).min(BODY_CHUNK as u64) as usize;
        stream.reserve_capacity(want);
        let granted = match wait_capacity(stream).await {
            Ok(n) => n.min(want),
            Err(why) => return Sent::cut(sent, why),
        };
        budget.take(granted).await;
        let mut chunk = BytesMut::zeroed(granted);
        if let Err(err) = file.read_exact(&mut chunk).await {
            stream.send_reset(h2::Reason::INTERNAL_ERROR);
            return Sent::cut(sent, shrank_or(err, sent, len));
        }
        let last = sent + granted as u64 == len;
        if let Err(err) = stream.send_data(chunk.freeze(), last) {
            return Sent::cut(sent, describe(&err));
        }
        sent += granted as u64;
    }
    Sent::whole(sent)
}

/// Why reading a file failed mid-body; a file that got shorter is worth a warning, since the
/// client got a response shorter than its `Content-Length`.
pub fn shrank_or(err: std::io::Error, sent: u64, len: u64) -> String {
    if err.kind() == std::io::ErrorKind::UnexpectedEof {
        warn!(
            sent,
            expected = len,
            "a file shrank while it was being sent; the response was cut"
        );
        "the file shrank while it was sent".into()
    } else {
        format!("reading the file: {err}")
    }
}

/// Sends what a produced body (an event stream) yields as the window opens. A client that opens
/// no window for `stall_timeout` has its stream reset: it stopped reading.
async fn send_stream(
    stream: &mut SendStream<Bytes>,
    mut chunks: ChunkStream,
    stall_timeout: Duration,
) -> Sent {
    let mut sent = 0;
    loop {
        let next = tokio::select! {
            next = chunks.next() => next,
            reason = poll_fn(|cx| stream.poll_reset(cx)) => {
                return match reason {
                    // An event stream has no end of its own: the client closing it (a reload,
                    // a closed tab) is how it ends, not a cut worth a line that reads like one.
                    Ok(reason) if reason == h2::Reason::CANCEL || reason == h2::Reason::NO_ERROR => {
                        Sent::whole(sent)
                    }
                    Ok(reason) => Sent::cut(sent, format!("client reset the stream ({reason})")),
                    Err(err) => Sent::cut(sent, describe(&err)),
                };
            }
        };
        let Some(mut chunk) = next else {
            return match stream.send_data(Bytes::new(), true) {
                Ok(()) => Sent::whole(sent),
                Err(err) => Sent::cut(sent, describe(&err)),
            };
        };
        while !chunk.is_empty() {
            stream.reserve_capacity(chunk.len());
            let granted = match tokio::time::timeout(stall_timeout, wait_capacity(stream)).await {
                Ok(Ok(n)) => n.min(chunk.len()),
                Ok(Err(why)) => return Sent::cut(sent, why),
                Err(_) => {
                    info!(
                        "closing a stream: the client took nothing for {stall_timeout:?} (an event stream reconnects with Last-Event-ID)"
                    );
                    stream.send_reset(h2::Reason::CANCEL);
                    return Sent::cut(sent, "the client stopped reading");
                }
            };
            if let Err(err) = stream.send_data(chunk.split_to(granted), false) {
                return Sent::cut(sent, describe(&err));
            }
            sent += granted as u64;
        }
    }
}

/// Waits until the peer's window gives this stream room to send.
async fn wait_capacity(stream: &mut SendStream<Bytes>) -> Result<usize, String> {
    loop {
        match poll_fn(|cx| stream.poll_capacity(cx)).await {
            Some(Ok(0)) => continue,
            Some(Ok(n)) => return Ok(n),
            Some(Err(err)) => return Err(describe(&err)),
            None => return Err("the stream was closed".into()),
        }
    }
}

/// An h2 error as the access log states it.
pub fn describe(err: &h2::Error) -> String {
    match err.reason() {
        Some(reason) if err.is_remote() => format!("client reset the stream ({reason})"),
        Some(reason) => format!("stream reset ({reason})"),
        None if err.is_io() => "the connection failed".into(),
        None => err.to_string(),
    }
}
