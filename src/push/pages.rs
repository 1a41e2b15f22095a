//! A page's assets for a request: from the manifest cache, or discovered now and cached.

use std::sync::Arc;
use std::time::Instant;

use tracing::debug;

use super::cache::ManifestCache;
use super::discover;
use super::site::{self, Root};
use crate::config::Config;
use crate::files::OpenFile;
use crate::push::hints::PageAssets;

/// The cached assets of the page at `page_path` (no query), or a new manifest parsed now.
/// Blocking: call on the blocking pool.
pub fn page_assets(
    config: &Config,
    manifests: &ManifestCache,
    page_path: &str,
    authority: &str,
    file: &OpenFile,
) -> Arc<PageAssets> {
    let etag = &file.validators.etag;
    let stamp = |path: &str| site::stamp(config, path);
    if let Some(assets) = manifests.get(authority, page_path, etag, stamp) {
        return assets;
    }
    let limits = &config.push.discovery;
    let html = match file.prefix(limits.max_html_bytes) {
        Ok(html) => html,
        Err(err) => {
            debug!(cause = %err, page = %page_path, "reading the page for discovery failed");
            return Arc::default();
        }
    };
    let Ok(origin) = url::Url::parse(&format!("https://{authority}/")) else {
        return Arc::default();
    };
    let parse_started = Instant::now();
    let manifest = discover::discover(&Root(config), page_path, &html, &origin, limits);
    debug!(
        page = %page_path,
        assets = manifest.assets.len(),
        ms = format_args!("{:.2}", parse_started.elapsed().as_secs_f64() * 1000.0),
        "page manifest built"
    );
    let deps = manifest
        .css_files
        .iter()
        .map(|css| (css.clone(), stamp(css)))
        .collect();
    let assets = Arc::new(PageAssets::new(manifest));
    manifests.insert(authority, page_path, etag.clone(), assets.clone(), deps);
    assets
}
