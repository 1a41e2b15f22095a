//! Keep-alive connections to one backend: a connection goes back to the pool once its
//! response body has been read to the end and hyper says it is ready for the next request;
//! at most [`POOL_MAX_IDLE`] wait, none longer than [`POOL_IDLE_TIMEOUT`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::debug;

use super::{RequestBody, POOL_IDLE_TIMEOUT, POOL_MAX_IDLE};

/// How long a kept connection may take to be ready for its next request (its last response
/// has been read; hyper only has to notice). Past it, another or a new connection is used.
const READY_WAIT: Duration = Duration::from_millis(100);

pub type Sender = SendRequest<RequestBody>;

/// Why no connection to the backend could be had.
#[derive(Debug)]
pub enum ConnectError {
    TimedOut(Duration),
    Failed(std::io::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::TimedOut(after) => write!(f, "connect timed out after {after:?}"),
            ConnectError::Failed(err) => write!(f, "connect failed: {err}"),
        }
    }
}

/// The idle connections to one backend.
#[derive(Debug)]
pub struct Pool {
    authority: String,
    idle: Mutex<Vec<(Sender, Instant)>>,
}

impl Pool {
    pub fn new(authority: String) -> Arc<Pool> {
        Arc::new(Pool {
            authority,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// An idle connection that is still open (newest first), if any, once hyper has it ready
    /// for a request (it was given back as its last response ended).
    pub async fn take_idle(&self) -> Option<Sender> {
        loop {
            let mut sender = {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                let (sender, since) = idle.pop()?;
                if since.elapsed() >= POOL_IDLE_TIMEOUT || sender.is_closed() {
                    continue;
                }
                sender
            };
            if let Ok(Ok(())) = tokio::time::timeout(READY_WAIT, sender.ready()).await {
                return Some(sender);
            }
        }
    }

    /// A new connection, within `timeout`.
    pub async fn connect(&self, timeout: Duration) -> Result<Sender, ConnectError> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(&self.authority)).await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => return Err(ConnectError::Failed(err)),
            Err(_) => return Err(ConnectError::TimedOut(timeout)),
        };
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ConnectError::Failed(std::io::Error::other(e)))?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                debug!(cause = %err, "backend connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// Puts a connection whose response was read to the end back, once hyper has it ready.
    pub fn give_back(&self, sender: Sender) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|(s, since)| since.elapsed() < POOL_IDLE_TIMEOUT && !s.is_closed());
        if idle.len() < POOL_MAX_IDLE {
            idle.push((sender, Instant::now()));
        }
    }
}
