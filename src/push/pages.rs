//! A page's assets for one request: the cached manifest, or a discovery shared by every request
//! that asks for the same page version meanwhile.
//!
//! Runs on the blocking pool. Each page version (authority, URL path, ETag) is discovered once
//! however many requests want it at the same time: the first leads, the others wait for its
//! result. At most [`MAX_CONCURRENT_DISCOVERIES`] discoveries run at once. No request waits
//! longer than [`DISCOVERY_WAIT`] for either, and at most [`MAX_DISCOVERY_THREADS`] blocking
//! threads are in here at once; past either bound the page is answered at once without hints
//! (and a later request tries again), so a slow or hostile page can neither hold a thread for
//! long nor take the pool from file requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use super::cache::ManifestCache;
use super::discover;
use super::flight::Joined;
use super::site::{self, Root};
use crate::config::Config;
use crate::files::OpenFile;
use crate::push::hints::PageAssets;

pub use super::cache::MAX_CONCURRENT_DISCOVERIES;

/// How long a request waits for its page's manifest (built by another request, or for a free
/// discovery slot) before it is answered without hints. Discovery of an ordinary page takes
/// about a millisecond and of a 2 MiB one tens of milliseconds, so waiting gives every
/// concurrent request the hints; the bound keeps a waiting blocking-pool thread short.
/// Default 250 ms.
pub const DISCOVERY_WAIT: Duration = Duration::from_millis(250);

/// Blocking-pool threads in discovery at once, discovering or waiting: half of
/// [`MAX_BLOCKING_THREADS`](crate::config::MAX_BLOCKING_THREADS) (32), so file opens always
/// have the other half. A request past it gets its page at once, without hints.
pub const MAX_DISCOVERY_THREADS: usize = crate::config::MAX_BLOCKING_THREADS / 2;

/// The assets of the HTML page `file`, requested as `target` on `authority`: from the cache,
/// from a discovery another request is running, or discovered now. Empty when the page cannot
/// be read or no discovery could be had within [`DISCOVERY_WAIT`].
pub fn page_assets(
    config: &Config,
    cache: &ManifestCache,
    target: &str,
    authority: &str,
    file: &OpenFile,
) -> Arc<PageAssets> {
    let page_path = target.split('?').next().unwrap_or("/");
    let etag = &file.validators.etag;
    let stamp = |path: &str| site::stamp(config, path);
    if let Some(assets) = cache.get(authority, page_path, etag, stamp) {
        return assets;
    }
    let Some(_inside) = Inside::enter(&cache.threads) else {
        debug!(page = %page_path, "discovery busy; answering without hints");
        return Arc::default();
    };
    let deadline = Instant::now() + DISCOVERY_WAIT;
    let key = (authority.to_owned(), page_path.to_owned(), etag.clone());
    let leader = match cache.flights.join(key, DISCOVERY_WAIT) {
        Joined::Follower(assets) => return assets.unwrap_or_default(),
        Joined::Leader(leader) => leader,
    };
    // A flight that ended between the lookup above and the join has filled the cache.
    if let Some(assets) = cache.get(authority, page_path, etag, stamp) {
        leader.finish(Some(assets.clone()));
        return assets;
    }
    let Some(_slot) = cache.slots.acquire(deadline) else {
        debug!(page = %page_path, "no discovery slot free in time; answering without hints");
        leader.finish(None);
        return Arc::default();
    };
    let assets = discover_page(config, cache, page_path, authority, file);
    leader.finish(assets.clone());
    assets.unwrap_or_default()
}

/// A thread counted in [`MAX_DISCOVERY_THREADS`] until dropped.
struct Inside<'c>(&'c AtomicUsize);

impl<'c> Inside<'c> {
    fn enter(threads: &'c AtomicUsize) -> Option<Self> {
        if threads.fetch_add(1, Ordering::SeqCst) >= MAX_DISCOVERY_THREADS {
            threads.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Inside(threads))
    }
}

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reads and discovers the page, and caches its manifest. `None` when it cannot be read.
fn discover_page(
    config: &Config,
    cache: &ManifestCache,
    page_path: &str,
    authority: &str,
    file: &OpenFile,
) -> Option<Arc<PageAssets>> {
    let limits = &config.push.discovery;
    let html = match file.prefix(limits.max_html_bytes) {
        Ok(html) => html,
        Err(err) => {
            debug!(cause = %err, page = %page_path, "reading the page for discovery failed");
            return None;
        }
    };
    let origin = url::Url::parse(&format!("https://{authority}/")).ok()?;
    let started = Instant::now();
    let manifest = discover::discover(&Root(config), page_path, &html, &origin, limits);
    drop(html);
    cache.count_discovery();
    debug!(
        page = %page_path,
        assets = manifest.assets.len(),
        ms = format_args!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        "page manifest built"
    );
    if let Some(bound) = &manifest.incomplete {
        // Once per page version: the manifest is cached, and built by one request at a time.
        warn!(
            page = %page_path,
            %authority,
            %bound,
            "page discovery stopped at a bound; hinting what was found before it"
        );
    }
    let deps = manifest
        .css_files
        .iter()
        .chain(&manifest.module_files)
        .map(|css| (css.clone(), site::stamp(config, css)))
        .collect();
    let assets = Arc::new(PageAssets::new(manifest));
    cache.insert(
        authority,
        page_path,
        file.validators.etag.clone(),
        assets.clone(),
        deps,
    );
    Some(assets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_past_the_bound_are_turned_away_until_one_leaves() {
        let threads = AtomicUsize::new(0);
        let inside: Vec<Inside> = (0..MAX_DISCOVERY_THREADS)
            .map(|_| Inside::enter(&threads).expect("room"))
            .collect();
        assert!(Inside::enter(&threads).is_none());
        assert_eq!(threads.load(Ordering::SeqCst), MAX_DISCOVERY_THREADS);
        drop(inside);
        assert_eq!(threads.load(Ordering::SeqCst), 0);
        assert!(Inside::enter(&threads).is_some());
    }
}
