//! `Link: rel=preload` values and the 103 Early Hints response that carries them.

use http::header::LINK;
use http::{HeaderValue, Response, StatusCode};

use crate::push::manifest::{Asset, Manifest};

/// The `Link` value for an asset; `nopush` when it is hinted on a response that pushes others
/// (so a proxy or CDN that turns preloads into pushes leaves it alone).
pub fn link_value(asset: &Asset, nopush: bool) -> Option<HeaderValue> {
    let mut value = asset.link_value();
    if nopush {
        value.push_str("; nopush");
    }
    HeaderValue::from_str(&value).ok()
}

/// A page's manifest with its `Link` values made once, when the manifest is built, rather than
/// formatted and validated for every page request.
#[derive(Debug, Default)]
pub struct PageAssets {
    pub manifest: Manifest,
    /// Per asset, in manifest order: the plain value and the `nopush` one.
    links: Vec<Option<(HeaderValue, HeaderValue)>>,
}

impl PageAssets {
    pub fn new(manifest: Manifest) -> Self {
        let links = manifest
            .assets
            .iter()
            .map(|a| Some((link_value(a, false)?, link_value(a, true)?)))
            .collect();
        PageAssets { manifest, links }
    }

    /// The `Link` value of the `i`th asset of the manifest.
    pub fn link(&self, i: usize, nopush: bool) -> Option<&HeaderValue> {
        let (plain, marked) = self.links.get(i)?.as_ref()?;
        Some(if nopush { marked } else { plain })
    }

    /// A 103 Early Hints response with one `Link` field per asset.
    pub fn early_hints(&self) -> Response<()> {
        let mut response = Response::new(());
        *response.status_mut() = StatusCode::EARLY_HINTS;
        for i in 0..self.links.len() {
            if let Some(v) = self.link(i, false) {
                response.headers_mut().append(LINK, v.clone());
            }
        }
        response
    }
}
