//! A raw HTTP/2 client over cleartext TCP (prior knowledge), for tests that must send what no
//! well-behaved client library will: header blocks built by hand with HPACK literals, so a
//! field can hold any byte. It acks SETTINGS and returns every byte of DATA it reads to the
//! flow-control windows, so a long download keeps moving while the test does something else.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// How long any one read may wait before the test fails instead of hanging.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// One frame as it came off the wire.
#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The error code of a RST_STREAM or GOAWAY.
    pub fn error_code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }

    /// The `:status` of a response HEADERS frame. h2's encoder sends the statuses the tests
    /// expect as one indexed static-table entry (RFC 7541 Appendix A), which is all this reads.
    pub fn status(&self) -> u16 {
        match self.payload.first() {
            Some(0x88) => 200,
            Some(0x89) => 204,
            Some(0x8a) => 206,
            Some(0x8b) => 304,
            Some(0x8c) => 400,
            Some(0x8d) => 404,
            Some(0x8e) => 500,
            _ => panic!("no indexed :status in {:02x?}", self.payload),
        }
    }
}

/// An HPACK field as a literal with a new (literal) name, without Huffman coding: with
/// incremental indexing (the field enters the dynamic table) or without.
pub fn literal(name: &[u8], value: &[u8], indexed: bool) -> Vec<u8> {
    let mut out = vec![if indexed { 0x40 } else { 0x00 }];
    for s in [name, value] {
        assert!(s.len() < 127, "one-byte length prefix only");
        out.push(s.len() as u8);
        out.extend_from_slice(s);
    }
    out
}

/// An HPACK reference to entry `index` of the static or dynamic table.
pub fn indexed(index: usize) -> Vec<u8> {
    assert!((1..127).contains(&index), "one-byte index only");
    vec![0x80 | index as u8]
}

/// A header block of `fields`, each a literal (see [`literal`]).
pub fn block(fields: &[(&[u8], &[u8])], indexed: bool) -> Vec<u8> {
    fields
        .iter()
        .flat_map(|(n, v)| literal(n, v, indexed))
        .collect()
}

/// The fields of a plain GET for `path`.
pub fn get(path: &[u8]) -> Vec<(&'static [u8], Vec<u8>)> {
    vec![
        (b":method", b"GET".to_vec()),
        (b":scheme", b"http".to_vec()),
        (b":authority", b"localhost".to_vec()),
        (b":path", path.to_vec()),
    ]
}

pub struct RawConn {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    /// Connects, sends the preface and an empty SETTINGS (every default).
    pub async fn connect(addr: SocketAddr) -> RawConn {
        let tcp = TcpStream::connect(addr).await.unwrap();
        // WINDOW_UPDATEs are small writes: Nagle would hold them back for delayed ACKs.
        tcp.set_nodelay(true).unwrap();
        let mut conn = RawConn {
            tcp,
            buf: Vec::new(),
        };
        conn.tcp
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        conn.send(SETTINGS, 0, 0, &[]).await;
        conn
    }

    pub async fn send(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let mut frame = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        frame.extend_from_slice(&[kind, flags]);
        frame.extend_from_slice(&stream.to_be_bytes());
        frame.extend_from_slice(payload);
        self.tcp.write_all(&frame).await.unwrap();
    }

    /// A whole request without a body: one HEADERS frame with END_HEADERS and END_STREAM.
    pub async fn request(&mut self, stream: u32, block: &[u8]) {
        self.send(HEADERS, END_HEADERS | END_STREAM, stream, block)
            .await;
    }

    /// The next frame that is not connection housekeeping (SETTINGS, PING, WINDOW_UPDATE), or
    /// `None` at end of stream. SETTINGS are acked and DATA is returned to both windows here.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            let frame = tokio::time::timeout(READ_TIMEOUT, self.read_frame())
                .await
                .expect("the server answered within the read timeout")?;
            match frame.kind {
                SETTINGS if frame.flags & ACK == 0 => self.send(SETTINGS, ACK, 0, &[]).await,
                DATA if !frame.payload.is_empty() => {
                    let n = (frame.payload.len() as u32).to_be_bytes();
                    self.send(WINDOW_UPDATE, 0, 0, &n).await;
                    if frame.flags & END_STREAM == 0 {
                        self.send(WINDOW_UPDATE, 0, frame.stream, &n).await;
                    }
                    return Some(frame);
                }
                DATA | HEADERS | RST_STREAM | GOAWAY => return Some(frame),
                _ => {}
            }
        }
    }

    async fn read_frame(&mut self) -> Option<Frame> {
        while self.buf.len() < 9 || self.buf.len() < 9 + frame_len(&self.buf) {
            let mut chunk = [0u8; 64 * 1024];
            match self.tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
        let len = frame_len(&self.buf);
        let frame = Frame {
            kind: self.buf[3],
            flags: self.buf[4],
            stream: u32::from_be_bytes(self.buf[5..9].try_into().unwrap()) & 0x7fff_ffff,
            payload: self.buf[9..9 + len].to_vec(),
        };
        self.buf.drain(..9 + len);
        Some(frame)
    }
}

fn frame_len(head: &[u8]) -> usize {
    u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize
}
