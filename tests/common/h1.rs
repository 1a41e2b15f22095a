//! An HTTP/1.1 client over rustls (hyper's `http1` client), with the same request/response shape
//! as the h2 test client, so one test can run over both protocols.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// One HTTP/1.1 connection; requests go one at a time.
pub struct H1 {
    send: Mutex<SendRequest<Empty<Bytes>>>,
    pub authority: String,
}

/// A TLS client config trusting `ca`, offering only `http/1.1` (or no ALPN at all).
pub fn tls_config(ca: &Path, alpn: bool) -> Arc<rustls::ClientConfig> {
    let config = h2push::tls::client_config(Some(ca), false).unwrap();
    let mut config = (*config).clone();
    config.alpn_protocols = if alpn {
        vec![b"http/1.1".to_vec()]
    } else {
        Vec::new()
    };
    Arc::new(config)
}

impl H1 {
    /// Connects over TLS (`tls` given) or cleartext.
    pub async fn connect(addr: SocketAddr, tls: Option<Arc<rustls::ClientConfig>>) -> H1 {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let send = match tls {
            Some(tls) => {
                let connector = tokio_rustls::TlsConnector::from(tls);
                let name = ServerName::try_from("localhost").unwrap();
                let io = connector.connect(name, tcp).await.unwrap();
                handshake(io).await
            }
            None => handshake(tcp).await,
        };
        H1 {
            send: Mutex::new(send),
            authority: format!("localhost:{}", addr.port()),
        }
    }

    /// Sends `req` (its URI's path and query as the target, its authority as `Host`).
    pub async fn send(&self, req: Request<()>) -> super::Resp {
        let (mut parts, ()) = req.into_parts();
        let authority = parts
            .uri
            .authority()
            .map_or(self.authority.clone(), |a| a.to_string());
        parts.uri = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .unwrap();
        parts
            .headers
            .insert(http::header::HOST, authority.parse().unwrap());
        let request = Request::from_parts(parts, Empty::new());
        let mut send = self.send.lock().await;
        send.ready().await.expect("connection ready");
        let response: Response<hyper::body::Incoming> =
            send.send_request(request).await.expect("response");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("whole body").to_bytes();
        super::Resp {
            status: parts.status,
            headers: parts.headers,
            body: body.to_vec(),
        }
    }
}

async fn handshake<IO>(io: IO) -> SendRequest<Empty<Bytes>>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .unwrap();
    tokio::spawn(conn);
    send
}
