//! A hand-written HTTP/2 client for hostile-client tests: it sends frames a well-behaved client
//! would not (huge windows, many streams) and then never reads what the server sends.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub type Tls = tokio_rustls::client::TlsStream<TcpStream>;

/// A TLS connection to `port` that negotiated `h2`, trusting `ca`.
pub async fn connect_h2(port: u16, ca: &Path) -> Tls {
    let config = h2push::tls::client_config(Some(ca), false).unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new((*config).clone()));
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The preface and SETTINGS with a 2^31-1 stream window, then a connection WINDOW_UPDATE to
/// the same: the server may send as much as it likes.
pub fn greedy_preface() -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    let mut settings = Vec::new();
    settings.extend_from_slice(&4u16.to_be_bytes()); // SETTINGS_INITIAL_WINDOW_SIZE
    settings.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
    settings.extend_from_slice(&2u16.to_be_bytes()); // SETTINGS_ENABLE_PUSH
    settings.extend_from_slice(&0u32.to_be_bytes());
    out.extend(frame(0x4, 0, 0, &settings));
    out.extend(frame(0x8, 0, 0, &(0x7fff_ffffu32 - 65_535).to_be_bytes()));
    out
}

/// A HEADERS frame (END_STREAM | END_HEADERS) for `GET path` on `stream`, HPACK literals only.
pub fn get(stream: u32, path: &str, authority: &str) -> Vec<u8> {
    let mut block = vec![0x82, 0x87]; // :method GET, :scheme https (static table)
    for (index, value) in [(4u8, path), (1u8, authority)] {
        assert!(value.len() < 127);
        block.push(index); // literal without indexing, indexed name
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    frame(0x1, 0x5, stream, &block)
}

/// Opens `streams` GETs of `path` with a greedy window, and returns the connection unread.
pub async fn greedy_unread(port: u16, ca: &Path, path: &str, streams: u32) -> Tls {
    let mut tls = connect_h2(port, ca).await;
    let mut out = greedy_preface();
    for i in 0..streams {
        out.extend(get(1 + 2 * i, path, &format!("localhost:{port}")));
    }
    tls.write_all(&out).await.unwrap();
    tls.flush().await.unwrap();
    tls
}
