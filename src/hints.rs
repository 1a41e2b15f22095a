//! `Link: rel=preload` values and the 103 Early Hints response that carries them.

use http::header::LINK;
use http::{HeaderValue, Response, StatusCode};

use crate::push::discover::Asset;

/// The `Link` value for an asset; `nopush` when it is hinted on a response that pushes others
/// (so a proxy or CDN that turns preloads into pushes leaves it alone).
pub fn link_value(asset: &Asset, nopush: bool) -> Option<HeaderValue> {
    let mut value = asset.link_value();
    if nopush {
        value.push_str("; nopush");
    }
    HeaderValue::from_str(&value).ok()
}

/// A 103 Early Hints response with one `Link` field per asset.
pub fn early_hints<'a>(assets: impl IntoIterator<Item = &'a Asset>) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::EARLY_HINTS;
    for asset in assets {
        if let Some(v) = link_value(asset, false) {
            response.headers_mut().append(LINK, v);
        }
    }
    response
}
