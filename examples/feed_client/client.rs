//! The bench's clients, one per transport, over TLS on their own connection each; what they
//! read is counted in [`READ`](super::READ).

use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use anyhow::{bail, Result};
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::protocol::Role;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::WebSocketStream;
use bytes::Bytes;
use futures_util::StreamExt;
use h2push::serve::upgrade::H2Io;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::{Bench, READ};

/// A TCP stream that counts what it reads.
/// A TCP stream that counts what it reads into [`READ`] when its flag is set (not for probes).
pub(crate) struct Counted(TcpStream, bool);

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.0).poll_read(cx, buf);
        if self.1 {
            READ.fetch_add((buf.filled().len() - before) as u64, Relaxed);
        }
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, b)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

pub(crate) type Tls = tokio_rustls::client::TlsStream<Counted>;

pub(crate) async fn tls(b: &Bench, alpn: &[u8]) -> Result<Tls> {
    connect(b, alpn, true).await
}

pub(crate) async fn connect(b: &Bench, alpn: &[u8], counted: bool) -> Result<Tls> {
    let mut config = (*b.tls).clone();
    config.alpn_protocols = vec![alpn.to_vec()];
    let tcp = TcpStream::connect(b.addr).await?;
    let name = ServerName::try_from("localhost")?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, Counted(tcp, counted))
        .await?)
}

fn url(b: &Bench, path: &str) -> String {
    format!("https://localhost:{}/.h2push/{path}", b.addr.port())
}

/// One client: connects, says it is ready once following, records events until `stop`; returns
/// the last id it saw. `resume` is the id to resume after (`None`: only new changes).
pub(crate) async fn client(
    b: Arc<Bench>,
    resume: Option<u64>,
    opened: Option<tokio::sync::OwnedSemaphorePermit>,
    stop: Duration,
) -> Result<u64> {
    let mut last = resume.unwrap_or(0);
    let q = resume.map_or(String::new(), |id| format!("?last-event-id={id}"));
    let deadline = tokio::time::Instant::now() + stop;
    let mut opened = opened;
    let mut ready = |b: &Bench| {
        if opened.take().is_some() {
            b.ready.fetch_add(1, Relaxed);
        }
    };
    match b.transport.as_str() {
        "ws-h1" => {
            let io = tls(&b, b"http/1.1").await?;
            let (mut ws, _) = async_tungstenite::client_async(
                url(&b, &format!("ws{q}")).replace("https", "wss"),
                TokioAdapter::new(io),
            )
            .await?;
            ready(&b);
            while let Ok(Some(m)) = tokio::time::timeout_at(deadline, ws.next()).await {
                if let Message::Text(t) = m? {
                    b.saw(&t, &mut last);
                }
            }
        }
        "ws-h2" => {
            let io = tls(&b, b"h2").await?;
            let (client, conn) = h2::client::handshake(io).await?;
            tokio::spawn(conn);
            let mut client = client.ready().await?;
            // The server's SETTINGS (extended CONNECT) come with the connection preface.
            let (first, _) = client.send_request(
                http::Request::get(format!("https://localhost:{}/", b.addr.port())).body(())?,
                true,
            )?;
            let _ = first.await;
            let mut client = client.ready().await?;
            let req = http::Request::builder()
                .method(http::Method::CONNECT)
                .uri(url(&b, &format!("ws{q}")))
                .header("sec-websocket-version", "13")
                .extension(h2::ext::Protocol::from_static("websocket"))
                .body(())?;
            let (response, send) = client.send_request(req, false)?;
            let response = response.await?;
            if response.status() != 200 {
                bail!("extended CONNECT: {}", response.status());
            }
            let io = H2Io::new(send, response.into_body());
            let mut ws =
                WebSocketStream::from_raw_socket(TokioAdapter::new(io), Role::Client, None).await;
            ready(&b);
            while let Ok(Some(m)) = tokio::time::timeout_at(deadline, ws.next()).await {
                if let Message::Text(t) = m? {
                    b.saw(&t, &mut last);
                }
            }
        }
        "sse-h2" | "ndjson-h2" => {
            let path = if b.transport == "sse-h2" {
                "events"
            } else {
                "stream"
            };
            let io = tls(&b, b"h2").await?;
            let (client, conn) = h2::client::handshake(io).await?;
            tokio::spawn(conn);
            let mut client = client.ready().await?;
            let mut req = http::Request::get(url(&b, &format!("{path}{q}")));
            if let Some(id) = resume {
                req = req.header("last-event-id", id);
            }
            let (response, _) = client.send_request(req.body(())?, true)?;
            let response = response.await?;
            if response.status() != 200 {
                bail!("{path}: {}", response.status());
            }
            ready(&b);
            let mut body = response.into_body();
            while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, body.data()).await {
                let chunk = chunk?;
                let _ = body.flow_control().release_capacity(chunk.len());
                b.saw(&String::from_utf8_lossy(&chunk), &mut last);
            }
        }
        "sse-h1" | "ndjson-h1" | "poll-h1" => {
            let io = tls(&b, b"http/1.1").await?;
            let (mut send, conn) =
                hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(io)).await?;
            tokio::spawn(conn);
            let get = |path: String| {
                let mut req = http::Request::get(path).header("host", "localhost");
                if let Some(id) = resume {
                    req = req.header("last-event-id", id);
                }
                req.body(Empty::<Bytes>::new()).unwrap()
            };
            if b.transport == "poll-h1" {
                let mut after = resume;
                loop {
                    let path = format!("/.h2push/poll?after={}", after.unwrap_or(0));
                    let response =
                        tokio::time::timeout_at(deadline, send.send_request(get(path))).await;
                    let Ok(response) = response else { break };
                    let response = response?;
                    if response.status() != 200 {
                        bail!("poll: {}", response.status());
                    }
                    let body = response.into_body().collect().await?.to_bytes();
                    let text = String::from_utf8_lossy(&body);
                    let last_id: u64 = text
                        .split("\"last_id\":")
                        .nth(1)
                        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(0);
                    if after.is_some() {
                        b.saw(&text, &mut last);
                    }
                    last = last.max(last_id);
                    after = Some(last_id);
                    ready(&b);
                }
            } else {
                let path = if b.transport == "sse-h1" {
                    "events"
                } else {
                    "stream"
                };
                let response = send
                    .send_request(get(format!("/.h2push/{path}{q}")))
                    .await?;
                if response.status() != 200 {
                    bail!("{path}: {}", response.status());
                }
                ready(&b);
                let mut body = response.into_body();
                while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, body.frame()).await {
                    if let Ok(data) = frame?.into_data() {
                        b.saw(&String::from_utf8_lossy(&data), &mut last);
                    }
                }
            }
        }
        other => bail!("unknown transport {other}"),
    }
    Ok(last)
}
