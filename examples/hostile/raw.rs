//! HTTP/2 written by hand over TLS, for clients the h2 crate will not be: one that opens a huge
//! window and then never reads a byte, so the server is left holding everything it wants to send.

use std::sync::Arc;

use anyhow::{Context, Result};
use rustls_pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The client connection preface (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The largest flow-control window there is.
pub const MAX_WINDOW: u32 = (1 << 31) - 1;
/// Every connection starts with this much connection-level window (RFC 9113 §6.9.2).
const DEFAULT_WINDOW: u32 = 65_535;

const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const WINDOW_UPDATE: u8 = 0x8;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const SETTINGS_ENABLE_PUSH: u16 = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;

/// A TLS connection with ALPN h2 and nothing sent on it yet.
pub async fn connect(
    addr: std::net::SocketAddr,
    authority: &str,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await.context("connect")?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from(authority.to_string()).context("server name")?;
    let tls = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(name, tcp)
        .await
        .context("TLS handshake")?;
    Ok(tls)
}

/// Preface, SETTINGS (no push, every stream window 2^31-1), a connection WINDOW_UPDATE to
/// 2^31-1, and `streams` GETs of `path` on streams 1, 3, 5, …: all in one write.
pub async fn greedy_gets(
    io: &mut TlsStream<TcpStream>,
    authority: &str,
    path: &str,
    streams: u32,
) -> Result<()> {
    let mut out = Vec::with_capacity(128 + streams as usize * (16 + path.len()));
    out.extend_from_slice(PREFACE);
    let mut settings = Vec::new();
    for (id, value) in [
        (SETTINGS_ENABLE_PUSH, 0),
        (SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW),
    ] {
        settings.extend_from_slice(&id.to_be_bytes());
        settings.extend_from_slice(&value.to_be_bytes());
    }
    frame(&mut out, SETTINGS, 0, 0, &settings);
    frame(
        &mut out,
        WINDOW_UPDATE,
        0,
        0,
        &(MAX_WINDOW - DEFAULT_WINDOW).to_be_bytes(),
    );
    let block = get_headers(authority, path);
    for i in 0..streams {
        frame(
            &mut out,
            HEADERS,
            END_HEADERS | END_STREAM,
            2 * i + 1,
            &block,
        );
    }
    io.write_all(&out).await.context("writing the requests")?;
    io.flush().await.context("flushing the requests")?;
    Ok(())
}

/// An HPACK block for `GET https://authority/path`: indexed `:method GET` and `:scheme https`,
/// then `:path` and `:authority` as literals without indexing (RFC 7541 §6.2.2), no Huffman.
fn get_headers(authority: &str, path: &str) -> Vec<u8> {
    let mut block = vec![0x82, 0x87]; // static table 2 (:method GET), 7 (:scheme https)
    for (name_index, value) in [(4u8, path), (1u8, authority)] {
        block.push(name_index); // 0000xxxx: literal without indexing, name from the static table
        hpack_int(&mut block, 0, 7, value.len());
        block.extend_from_slice(value.as_bytes());
    }
    block
}

/// An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1) after the high bits in `first`.
fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, mut value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128 + 128) as u8);
        value /= 128;
    }
    out.push(value as u8);
}

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}
