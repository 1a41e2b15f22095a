//! Building the response head (and choosing the body) for a [`Resolved`] outcome. Pure: all
//! file-system work happened in `resolve`.

use bytes::Bytes;
use http::header::{
    ACCEPT_RANGES, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE,
    CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION, VARY,
};
use http::{HeaderValue, Method, Response, StatusCode};

use super::{OpenFile, Resolved, Source};
use crate::config::{Config, HTML_CACHE_CONTROL};
use crate::reply::{Body, Reply};

const NOT_FOUND_PAGE: &str = "<!doctype html>\n<meta charset=utf-8>\n<title>404 Not Found</title>\n<h1>404 Not Found</h1>\n<p>No file here.</p>\n";

/// The response head and body for an outcome. HEAD gets the same head and no body.
pub fn reply(resolved: Resolved, method: &Method, config: &Config) -> Reply {
    let head_only = method == Method::HEAD;
    let (response, body) = match resolved {
        Resolved::File { file, range } => file_response(file, range, config),
        Resolved::NotModified(file) => {
            let mut r = status(StatusCode::NOT_MODIFIED);
            validator_headers(&mut r, &file, config);
            (r, Body::Empty)
        }
        Resolved::PreconditionFailed => {
            text(StatusCode::PRECONDITION_FAILED, "precondition failed\n")
        }
        Resolved::RangeNotSatisfiable { len } => {
            let (mut r, body) = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
            insert(&mut r, CONTENT_RANGE, format!("bytes */{len}"));
            (r, body)
        }
        Resolved::Redirect(location) => {
            let mut r = status(StatusCode::PERMANENT_REDIRECT);
            match HeaderValue::from_str(&location) {
                Ok(v) => {
                    r.headers_mut().insert(LOCATION, v);
                }
                Err(_) => return reply(Resolved::NotFound(None), method, config),
            }
            r.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
            (r, Body::Empty)
        }
        Resolved::MethodNotAllowed => {
            let (mut r, body) = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            (r, body)
        }
        Resolved::NotFound(Some(page)) => {
            let (mut r, body) = file_response(page, None, config);
            *r.status_mut() = StatusCode::NOT_FOUND;
            // A 404 page is not a representation of the requested URL: no validators for it.
            r.headers_mut().remove(ETAG);
            r.headers_mut().remove(LAST_MODIFIED);
            r.headers_mut().remove(ACCEPT_RANGES);
            (r, body)
        }
        Resolved::NotFound(None) => {
            let mut r = status(StatusCode::NOT_FOUND);
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            insert(&mut r, CONTENT_LENGTH, NOT_FOUND_PAGE.len().to_string());
            (
                r,
                Body::Bytes(Bytes::from_static(NOT_FOUND_PAGE.as_bytes())),
            )
        }
        Resolved::Forbidden => text(StatusCode::FORBIDDEN, "forbidden\n"),
        Resolved::Error(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "internal server error\n"),
    };
    let reply = Reply::new(response, body);
    if head_only {
        reply.head_only()
    } else {
        reply
    }
}

/// The headers of a 200 carrying the whole of `file` (without `Date` and `Server`).
pub fn full_headers(file: &OpenFile, config: &Config) -> http::HeaderMap {
    let mut r = status(StatusCode::OK);
    r.headers_mut()
        .insert(CONTENT_TYPE, file.content_type.clone());
    if let Some(encoding) = file.encoding {
        r.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.token()));
    }
    validator_headers(&mut r, file, config);
    if !file.whole_only {
        r.headers_mut()
            .insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    insert(&mut r, CONTENT_LENGTH, file.len.to_string());
    r.into_parts().0.headers
}

fn file_response(
    file: OpenFile,
    range: Option<(u64, u64)>,
    config: &Config,
) -> (Response<()>, Body) {
    let mut r = status(StatusCode::OK);
    *r.headers_mut() = full_headers(&file, config);
    let (offset, len) = match range {
        Some((start, end)) => {
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
            insert(
                &mut r,
                CONTENT_RANGE,
                format!("bytes {start}-{end}/{}", file.len),
            );
            insert(&mut r, CONTENT_LENGTH, (end - start + 1).to_string());
            (start, end - start + 1)
        }
        None => (0, file.len),
    };
    let body = match file.source {
        _ if len == 0 => Body::Empty,
        Source::Memory(bytes) => Body::Bytes(bytes.slice(offset as usize..(offset + len) as usize)),
        Source::Disk(file) => Body::File { file, offset, len },
    };
    (r, body)
}

/// ETag, Last-Modified, Cache-Control and Vary: what 200, 206 and 304 all carry.
fn validator_headers(r: &mut Response<()>, file: &OpenFile, config: &Config) {
    insert(r, ETAG, file.validators.etag.clone());
    if file.vary {
        r.headers_mut()
            .insert(VARY, HeaderValue::from_static("accept-encoding"));
    }
    insert(r, LAST_MODIFIED, file.validators.last_modified());
    // Under live reload every response is revalidated (a reload then fetches what changed and
    // gets 304 for the rest), not kept for `--cache-control`'s max-age: a stale script or
    // stylesheet would survive the reload that was meant to show the edit.
    let cache_control = if file.is_html || config.live_reload {
        HTML_CACHE_CONTROL
    } else {
        &config.cache_control
    };
    insert(r, CACHE_CONTROL, cache_control.to_string());
}

fn status(code: StatusCode) -> Response<()> {
    let mut r = Response::new(());
    *r.status_mut() = code;
    r
}

fn text(code: StatusCode, message: &'static str) -> (Response<()>, Body) {
    let Reply { head, body } = Reply::text(code, message);
    (head, body)
}

fn insert(r: &mut Response<()>, name: http::HeaderName, value: String) {
    if let Ok(v) = HeaderValue::try_from(value) {
        r.headers_mut().insert(name, v);
    }
}
