//! One request stream, top to bottom: decide (on the blocking pool), answer, stream the body,
//! write the access-log line.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::RecvStream;
use http::{Method, Request, StatusCode};
use tracing::{debug, error, info};

use crate::events;
use crate::files::{self, body, response::Body, Resolved};
use crate::server::State;

/// What the streams of one connection share.
#[derive(Debug)]
pub struct ConnCtx {
    pub state: Arc<State>,
    pub scheme: http::uri::Scheme,
    pub peer: SocketAddr,
}

impl ConnCtx {
    pub fn new(state: Arc<State>, scheme: http::uri::Scheme, peer: SocketAddr) -> Self {
        ConnCtx {
            state,
            scheme,
            peer,
        }
    }
}

/// Answers one request stream.
pub async fn handle(
    request: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    ctx: Arc<ConnCtx>,
) {
    let started = Instant::now();
    // The body of a GET/HEAD means nothing to a static server; dropping it tells h2 so.
    let (parts, _body) = request.into_parts();
    let method = parts.method.clone();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());

    if let Some(endpoint) = events::route(&ctx.state, &parts.uri) {
        let (status, bytes) = endpoint.serve(&parts, respond).await;
        return access_log(&method, &target, status, bytes, started);
    }

    let config = ctx.state.config.clone();
    let decided = {
        let (method, target) = (method.clone(), target.clone());
        tokio::task::spawn_blocking(move || decide(&config, &method, &target, &parts.headers)).await
    };
    let (response, body) = match decided {
        Ok(answer) => answer,
        Err(join_err) => {
            error!(cause = %join_err, %target, "request task failed");
            respond.send_reset(h2::Reason::INTERNAL_ERROR);
            return;
        }
    };
    let status = response.status();
    let end_of_stream = body.is_empty();
    let sent = match respond.send_response(response, end_of_stream) {
        Ok(mut stream) if !end_of_stream => body::send(&mut stream, body).await,
        Ok(_) => Ok(0),
        Err(err) => Err(err.into()),
    };
    let bytes = match sent {
        Ok(n) => n,
        Err(err) => {
            debug!(cause = %err, %target, "response not completed");
            0
        }
    };
    access_log(&method, &target, status, bytes, started);
}

/// Resolves the request and builds the response head, reading small bodies into memory, all in
/// one trip to the blocking pool.
fn decide(
    config: &crate::config::Config,
    method: &Method,
    target: &str,
    headers: &http::HeaderMap,
) -> (http::Response<()>, Body) {
    let resolved = files::resolve(config, method, target, headers);
    if let Resolved::Error(err) = &resolved {
        error!(cause = %err, %target, "serving a file failed");
    }
    let (response, body) = files::response::head(resolved, method, config);
    match body::inline_small(body) {
        Ok(body) => (response, body),
        Err(err) => {
            error!(cause = %err, %target, "reading a file failed");
            files::response::head(Resolved::Error(err), method, config)
        }
    }
}

fn access_log(method: &Method, target: &str, status: StatusCode, bytes: u64, started: Instant) {
    info!(
        target: "h2push::access",
        %method,
        path = %target,
        status = status.as_u16(),
        bytes,
        ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
    );
}
