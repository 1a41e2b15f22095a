//! One request to the backend and its reply: the head rewritten (hop-by-hop out, forwarding
//! headers in), the body streamed both ways, the connection kept for reuse once the response
//! is read. A backend that cannot be reached or answers nothing gets 502, one that is too slow
//! 504, each with one warning line naming the backend and the cause.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, HOST};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tracing::warn;

use super::headers::{add_forwarded, strip_hop_by_hop};
use super::inbound::{self, Inbound};
use super::pool::{ConnectError, Pool, Sender};
use super::{ProxyConfig, Route};
use crate::reply::{Body, Reply};

/// The backends and their connection pools, shared by every connection of the server.
#[derive(Debug)]
pub struct Proxy {
    config: ProxyConfig,
    pools: Vec<Arc<Pool>>,
}

/// A request's head as the core hands it to the proxy.
#[derive(Debug)]
pub struct Forwarded {
    pub method: Method,
    /// Path and query, as sent.
    pub target: String,
    /// The host the client asked for (`:authority` or `Host`).
    pub authority: String,
    pub headers: HeaderMap,
}

/// Why a request got no answer from the backend.
enum Failure {
    Connect(ConnectError),
    NoAnswer(hyper::Error),
    Slow(Duration),
}

impl Proxy {
    pub fn new(config: ProxyConfig) -> Proxy {
        let pools = config
            .routes
            .iter()
            .map(|r| Pool::new(r.upstream.authority.clone()))
            .collect();
        Proxy { config, pools }
    }

    /// The route whose prefix claims `path` before any file is looked up.
    pub fn route(&self, path: &str) -> Option<usize> {
        self.config.routes.iter().position(|r| r.claims(path))
    }

    /// The route for requests that found no file.
    pub fn fallback(&self) -> Option<usize> {
        self.config.routes.iter().position(|r| r.prefix.is_none())
    }

    /// Sends the request to route `index`'s backend and gives back its response, the body
    /// streamed as the backend sends it; 502 or 504 when there is none.
    pub async fn forward(
        &self,
        index: usize,
        request: Forwarded,
        client: Option<Inbound>,
    ) -> Reply {
        let route = &self.config.routes[index];
        let target = request.target.clone();
        match self.exchange(index, request, client).await {
            Ok((response, sender)) => self.reply(index, response, sender, target),
            Err(failure) => failed(route, &target, failure),
        }
    }

    async fn exchange(
        &self,
        index: usize,
        request: Forwarded,
        client: Option<Inbound>,
    ) -> Result<(Response<Incoming>, Sender), Failure> {
        let route = &self.config.routes[index];
        let pool = &self.pools[index];
        let Forwarded {
            method,
            target,
            authority,
            mut headers,
        } = request;
        strip_hop_by_hop(&mut headers);
        let host = if self.config.rewrite_host {
            &route.upstream.authority
        } else {
            &authority
        };
        if let Ok(value) = HeaderValue::from_str(host) {
            headers.insert(HOST, value);
        }
        let body = match client {
            Some(Inbound { peer, tls, body }) => {
                add_forwarded(&mut headers, peer, tls, &authority);
                body
            }
            None => inbound::empty(),
        };
        let uri: Uri = format!("{}{}", route.upstream.base_path, target)
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        let bodiless = body.is_end_stream();
        let build = |body| {
            let mut req = Request::new(body);
            *req.method_mut() = method.clone();
            *req.uri_mut() = uri.clone();
            *req.headers_mut() = headers.clone();
            req
        };
        // A kept connection the backend closed meanwhile fails before any answer: a request
        // without a body is safe to send again, on a new connection.
        if let Some(sender) = pool.take_idle().await {
            if bodiless {
                match self.send(sender, build(inbound::empty())).await {
                    Err(Failure::NoAnswer(_)) => {}
                    other => return other,
                }
            } else {
                return self.send(sender, build(body)).await;
            }
        }
        let sender = pool
            .connect(self.config.connect_timeout)
            .await
            .map_err(Failure::Connect)?;
        let body = if bodiless { inbound::empty() } else { body };
        self.send(sender, build(body)).await
    }

    async fn send(
        &self,
        mut sender: Sender,
        request: Request<super::RequestBody>,
    ) -> Result<(Response<Incoming>, Sender), Failure> {
        let limit = self.config.first_byte_timeout;
        match tokio::time::timeout(limit, sender.send_request(request)).await {
            Ok(Ok(response)) => Ok((response, sender)),
            Ok(Err(err)) => Err(Failure::NoAnswer(err)),
            Err(_) => Err(Failure::Slow(limit)),
        }
    }

    fn reply(
        &self,
        index: usize,
        response: Response<Incoming>,
        sender: Sender,
        target: String,
    ) -> Reply {
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let head = Response::from_parts(parts, ());
        let pool = self.pools[index].clone();
        if body.is_end_stream() {
            pool.give_back(sender);
            return Reply::new(head, Body::Empty);
        }
        let reading = Reading {
            body,
            sender: Some(sender),
            pool,
            idle_timeout: self.config.idle_timeout,
            backend: self.config.routes[index].upstream.authority.clone(),
            target,
        };
        Reply::new(head, Body::Stream(Box::pin(reading.into_stream())))
    }
}

/// A response body on its way from the backend to the client.
struct Reading {
    body: Incoming,
    sender: Option<Sender>,
    pool: Arc<Pool>,
    idle_timeout: Duration,
    backend: String,
    target: String,
}

impl Reading {
    fn give_back(&mut self) {
        if let Some(sender) = self.sender.take() {
            self.pool.give_back(sender);
        }
    }

    /// The body's chunks as the backend sends them; it ends early (the client sees a body
    /// shorter than its `Content-Length`, or an HTTP/1.1 connection closed) when the backend
    /// fails or pauses past the idle timeout.
    fn into_stream(self) -> impl futures_util::Stream<Item = Bytes> + Send {
        futures_util::stream::unfold(Some(self), |reading| async move {
            let mut reading = reading?;
            loop {
                match tokio::time::timeout(reading.idle_timeout, reading.body.frame()).await {
                    Ok(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) if !data.is_empty() => {
                            // A transport that knows the length stops pulling after the last
                            // byte: the connection goes back with it.
                            if reading.body.is_end_stream() {
                                reading.give_back();
                            }
                            return Some((data, Some(reading)));
                        }
                        _ => continue,
                    },
                    Ok(None) => {
                        reading.give_back();
                        return None;
                    }
                    Ok(Some(Err(err))) => {
                        warn!(backend = %reading.backend, target = %reading.target, cause = %err,
                            "the backend closed the response mid-body; the client's response is cut");
                        return None;
                    }
                    Err(_) => {
                        warn!(backend = %reading.backend, target = %reading.target,
                            idle = ?reading.idle_timeout,
                            "the backend paused the response body past --upstream-idle-timeout; the client's response is cut");
                        return None;
                    }
                }
            }
        })
    }
}

/// The 502 or 504 for a request the backend did not answer, with its one log line.
fn failed(route: &Route, target: &str, failure: Failure) -> Reply {
    let backend = &route.upstream.authority;
    match failure {
        Failure::Connect(ConnectError::TimedOut(after)) => {
            warn!(%backend, %target, ?after, "504: connecting to the backend timed out");
            Reply::text(
                StatusCode::GATEWAY_TIMEOUT,
                "504 the backend did not accept a connection in time\n",
            )
        }
        Failure::Connect(ConnectError::Failed(err)) => {
            warn!(%backend, %target, cause = %err, "502: the backend is unreachable");
            Reply::text(StatusCode::BAD_GATEWAY, "502 the backend is unreachable\n")
        }
        Failure::NoAnswer(err) => {
            warn!(%backend, %target, cause = %err, "502: the backend closed the connection without an answer");
            Reply::text(StatusCode::BAD_GATEWAY, "502 the backend sent no answer\n")
        }
        Failure::Slow(after) => {
            warn!(%backend, %target, ?after, "504: the backend sent no response head within --upstream-timeout");
            Reply::text(
                StatusCode::GATEWAY_TIMEOUT,
                "504 the backend did not answer in time\n",
            )
        }
    }
}
