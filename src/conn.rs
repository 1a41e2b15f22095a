//! One task per connection: TLS handshake under a timeout, HTTP/2 settings and limits, then a
//! task per stream until the client leaves, the connection idles out, or the server shuts down.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, Instrument};

use crate::coalesce::Coalesce;
use crate::config::{CONNECTION_WINDOW, MAX_SEND_BUFFER, STREAM_WINDOW};
use crate::handler::{self, ConnCtx};
use crate::server::{State, Transport};

/// What a client that negotiated HTTP/1.1 over TLS is told before the connection closes.
const HTTP1_REFUSAL: &[u8] = b"HTTP/1.1 505 HTTP Version Not Supported\r\n\
content-type: text/plain; charset=utf-8\r\ncontent-length: 35\r\nconnection: close\r\n\r\n\
h2push speaks HTTP/2 only (ALPN h2)";

/// Serves one TCP connection to the end.
pub async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    transport: Transport,
    state: Arc<State>,
    shutdown: CancellationToken,
) {
    let span = tracing::debug_span!("conn", %peer);
    async move {
        let limits = &state.config.limits;
        let scheme = transport.scheme();
        match transport {
            Transport::Tls(acceptor) => {
                let mut tls = match tokio::time::timeout(
                    limits.handshake_timeout,
                    acceptor.accept(tcp),
                )
                .await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(err)) => return debug!(cause = %err, "tls handshake failed"),
                    Err(_) => return debug!("tls handshake timed out"),
                };
                if tls.get_ref().1.alpn_protocol() == Some(b"http/1.1") {
                    let _ = tls.write_all(HTTP1_REFUSAL).await;
                    let _ = tls.shutdown().await;
                    return debug!("refused an HTTP/1.1 client");
                }
                serve_h2(tls, peer, scheme, state, shutdown).await
            }
            Transport::Cleartext => serve_h2(tcp, peer, scheme, state, shutdown).await,
        }
    }
    .instrument(span)
    .await
}

async fn serve_h2<IO>(
    io: IO,
    peer: SocketAddr,
    scheme: http::uri::Scheme,
    state: Arc<State>,
    shutdown: CancellationToken,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = state.config.limits.clone();
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(limits.max_header_list_size)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_send_buffer_size(MAX_SEND_BUFFER);
    let io = Coalesce::new(io);
    let mut conn = match tokio::time::timeout(limits.handshake_timeout, builder.handshake(io)).await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => return debug!(cause = %err, "http/2 handshake failed"),
        Err(_) => return debug!("http/2 preface timed out"),
    };
    let ctx = Arc::new(ConnCtx::new(state, scheme, peer));
    let activity = Arc::new(Activity::default());
    let mut draining = false;
    loop {
        tokio::select! {
            next = conn.accept() => match next {
                Some(Ok((request, respond))) => {
                    let Err((request, respond)) = handler::answer_from_memory(request, respond, &ctx) else {
                        continue;
                    };
                    let guard = activity.start();
                    let ctx = ctx.clone();
                    tokio::spawn(
                        async move {
                            handler::handle(request, respond, ctx).await;
                            drop(guard);
                        }
                        .in_current_span(),
                    );
                }
                Some(Err(err)) => {
                    debug!(cause = %err, "connection ended with an error");
                    break;
                }
                None => break,
            },
            _ = shutdown.cancelled(), if !draining => {
                debug!("shutting down: GOAWAY");
                conn.graceful_shutdown();
                draining = true;
            }
            _ = activity.idle_for(limits.idle_timeout), if !draining => {
                debug!("idle: GOAWAY");
                conn.graceful_shutdown();
                draining = true;
            }
        }
    }
}

/// Counts a connection's open streams, to tell when it has been idle long enough.
#[derive(Debug, Default)]
struct Activity {
    open: AtomicUsize,
    changed: Notify,
}

impl Activity {
    fn start(self: &Arc<Self>) -> StreamGuard {
        self.open.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
        StreamGuard(self.clone())
    }

    /// Resolves once no stream has been open for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.open.load(Ordering::SeqCst) == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(timeout) => return,
                    _ = changed => {}
                }
            } else {
                changed.await;
            }
        }
    }
}

struct StreamGuard(Arc<Activity>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}
