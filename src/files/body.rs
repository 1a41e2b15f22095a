//! Streaming a body into an h2 stream under flow control: a chunk is read from the file only
//! once the peer's window has room for it, so memory per stream stays bounded by
//! [`BODY_CHUNK`] however large the file and however slow the reader.

use std::future::poll_fn;
use std::io::{self, Read, Seek, SeekFrom};

use bytes::{Bytes, BytesMut};
use h2::SendStream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::response::Body;
use crate::config::BODY_CHUNK;

/// Why a body did not reach the client whole.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("stream closed by the client")]
    Closed,
    #[error("http/2: {0}")]
    H2(#[from] h2::Error),
    #[error("reading the file: {0}")]
    Io(#[from] io::Error),
}

/// Bodies up to this size are read whole on the blocking pool, with the rest of the request's
/// file-system work, instead of through the async file reader chunk by chunk.
pub const INLINE_BODY_MAX: u64 = BODY_CHUNK as u64;

/// Reads a small file body into memory. Blocking: call where `resolve` runs.
pub fn inline_small(body: Body) -> io::Result<Body> {
    match body {
        Body::File {
            mut file,
            offset,
            len,
        } if len <= INLINE_BODY_MAX => {
            file.seek(SeekFrom::Start(offset))?;
            let mut buf = vec![0; len as usize];
            file.read_exact(&mut buf)?;
            Ok(Body::Bytes(Bytes::from(buf)))
        }
        other => Ok(other),
    }
}

/// Sends `body` and ends the stream. Returns the bytes handed to h2.
pub async fn send(stream: &mut SendStream<Bytes>, body: Body) -> Result<u64, SendError> {
    match body {
        Body::File { file, offset, len } => send_file(stream, file, offset, len).await,
        in_memory => send_in_memory(stream, in_memory),
    }
}

/// Sends a body that needs no reading (empty or in memory) at once and ends the stream: h2
/// holds the bytes and sends them as the window opens. A file body is an error here.
pub fn send_in_memory(stream: &mut SendStream<Bytes>, body: Body) -> Result<u64, SendError> {
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Bytes(bytes) => bytes,
        Body::File { .. } => return Err(io::Error::other("a file body needs streaming").into()),
    };
    let len = bytes.len() as u64;
    stream.send_data(bytes, true)?;
    Ok(len)
}

async fn send_file(
    stream: &mut SendStream<Bytes>,
    file: std::fs::File,
    offset: u64,
    len: u64,
) -> Result<u64, SendError> {
    let mut file = tokio::fs::File::from_std(file);
    file.seek(SeekFrom::Start(offset)).await?;
    let mut remaining = len;
    while remaining > 0 {
        let want = remaining.min(BODY_CHUNK as u64) as usize;
        stream.reserve_capacity(want);
        let granted = wait_capacity(stream).await?.min(want);
        let mut chunk = BytesMut::zeroed(granted);
        file.read_exact(&mut chunk).await?;
        remaining -= granted as u64;
        stream.send_data(chunk.freeze(), remaining == 0)?;
    }
    Ok(len)
}

/// Waits until the peer's window gives this stream room to send.
async fn wait_capacity(stream: &mut SendStream<Bytes>) -> Result<usize, SendError> {
    loop {
        match poll_fn(|cx| stream.poll_capacity(cx)).await {
            Some(Ok(0)) => continue,
            Some(Ok(n)) => return Ok(n),
            Some(Err(e)) => return Err(e.into()),
            None => return Err(SendError::Closed),
        }
    }
}
