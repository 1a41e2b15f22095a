//! Page manifests, cached per page and reused across requests.
//!
//! An entry is keyed by the page's authority and URL path and remembers the page's ETag (which
//! every request gets for free from its own `fstat`) and the ETags of every CSS file it read.
//! With a file watcher running, [`ManifestCache::invalidate`] drops the entries a change
//! touches, so a hit costs no file-system work; without one, each hit re-checks the CSS files.
//! The cache also holds what [`super::pages`] needs to build each entry once: the discoveries
//! in flight and the slots that bound how many run.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::flight::{SingleFlight, Slots};
use crate::push::hints::PageAssets;

/// Discoveries running at once, over all pages. Discovery is CPU work on the blocking pool
/// (each holds up to the page's first `max_html_bytes` and one stylesheet in memory): more at
/// once than a small server has cores only adds memory and starves file requests. Default 4.
pub const MAX_CONCURRENT_DISCOVERIES: usize = 4;

/// Pages whose manifests are kept. Past it the cache starts over: a site with more pages than
/// this is served correctly, only with more parsing.
pub const MAX_CACHED_MANIFESTS: usize = 4096;

#[derive(Debug)]
struct Entry {
    assets: Arc<PageAssets>,
    page_etag: String,
    /// CSS files read, with the ETag each had.
    deps: Vec<(String, Option<String>)>,
    /// URL paths (no query) whose change makes this entry stale: page, CSS files, assets.
    touches: HashSet<String>,
}

/// (authority, URL path, ETag): one version of one page.
type PageVersion = (String, String, String);

/// Cached manifests. Shared by all connections.
#[derive(Debug)]
pub struct ManifestCache {
    entries: Mutex<HashMap<(String, String), Entry>>,
    /// Set once a watcher feeds `invalidate`: hits then trust the entry's CSS files.
    watched: AtomicBool,
    /// Discoveries running, one per page version.
    pub(super) flights: SingleFlight<PageVersion, Arc<PageAssets>>,
    /// Bounds the discoveries running at once.
    pub(super) slots: Slots,
    /// Blocking threads in discovery (discovering or waiting), against
    /// [`MAX_DISCOVERY_THREADS`](super::pages::MAX_DISCOVERY_THREADS).
    pub(super) threads: AtomicUsize,
    /// Discoveries run so far.
    discoveries: AtomicU64,
}

impl Default for ManifestCache {
    fn default() -> Self {
        ManifestCache {
            entries: Mutex::default(),
            watched: AtomicBool::default(),
            flights: SingleFlight::default(),
            slots: Slots::new(MAX_CONCURRENT_DISCOVERIES),
            threads: AtomicUsize::default(),
            discoveries: AtomicU64::default(),
        }
    }
}

impl ManifestCache {
    /// Says that a watcher now reports every change through [`invalidate`](Self::invalidate).
    pub fn set_watched(&self, watched: bool) {
        self.watched.store(watched, Ordering::SeqCst);
    }

    /// The cached manifest for `(authority, page)` if the page still has `page_etag` and its
    /// CSS files are unchanged. `stamp` gives a file's current ETag (used without a watcher).
    pub fn get(
        &self,
        authority: &str,
        page: &str,
        page_etag: &str,
        stamp: impl Fn(&str) -> Option<String>,
    ) -> Option<Arc<PageAssets>> {
        let entries = self.entries.lock().expect("manifest cache poisoned");
        let entry = entries.get(&(authority.to_owned(), page.to_owned()))?;
        if entry.page_etag != page_etag {
            return None;
        }
        if !self.watched.load(Ordering::SeqCst)
            && entry.deps.iter().any(|(path, etag)| stamp(path) != *etag)
        {
            return None;
        }
        Some(entry.assets.clone())
    }

    /// Stores a freshly built manifest; `deps` are its CSS files with their ETags at the time
    /// they were read.
    pub fn insert(
        &self,
        authority: &str,
        page: &str,
        page_etag: String,
        assets: Arc<PageAssets>,
        deps: Vec<(String, Option<String>)>,
    ) {
        let manifest = &assets.manifest;
        let mut touches: HashSet<String> = deps.iter().map(|(p, _)| p.clone()).collect();
        touches.insert(page.to_owned());
        touches.extend(manifest.assets.iter().map(|a| a.file_path.clone()));
        // A link to a file that does not exist yet: its creation must rebuild the manifest.
        touches.extend(
            manifest
                .skipped
                .iter()
                .filter_map(|s| url::Url::parse(&s.url).ok())
                .map(|u| u.path().to_owned()),
        );
        let mut entries = self.entries.lock().expect("manifest cache poisoned");
        if entries.len() >= MAX_CACHED_MANIFESTS {
            entries.clear();
        }
        entries.insert(
            (authority.to_owned(), page.to_owned()),
            Entry {
                assets,
                page_etag,
                deps,
                touches,
            },
        );
    }

    /// Drops every entry that depends on the file at `url_path` (or on anything below it, for
    /// a directory). Returns how many went.
    pub fn invalidate(&self, url_path: &str) -> usize {
        let dir_prefix = format!("{}/", url_path.trim_end_matches('/'));
        let mut entries = self.entries.lock().expect("manifest cache poisoned");
        let before = entries.len();
        entries.retain(|_, e| {
            !e.touches
                .iter()
                .any(|t| t == url_path || t.starts_with(&dir_prefix))
        });
        before - entries.len()
    }

    /// Drops everything (a watcher that lost events).
    pub fn clear(&self) {
        self.entries
            .lock()
            .expect("manifest cache poisoned")
            .clear();
    }

    /// How many page discoveries have run (each builds one manifest): what tests read to see
    /// that concurrent requests for a page share one.
    pub fn discoveries(&self) -> u64 {
        self.discoveries.load(Ordering::Relaxed)
    }

    pub(super) fn count_discovery(&self) {
        self.discoveries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("manifest cache poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::manifest::{Asset, Destination, Manifest};

    fn manifest(asset: &str) -> Arc<PageAssets> {
        Arc::new(PageAssets::new(Manifest {
            page: "/".into(),
            assets: vec![Asset {
                path: format!("{asset}?v=1"),
                file_path: asset.into(),
                dest: Destination::Image,
                module: false,
                mime_type: None,
                crossorigin: None,
                found_in: "/css/site.css".into(),
                size: 10,
                critical: true,
            }],
            skipped: vec![],
            css_files: vec!["/css/site.css".into()],
            module_files: vec![],
            incomplete: None,
        }))
    }

    #[test]
    fn hits_need_the_same_page_etag_and_unchanged_css() {
        let cache = ManifestCache::default();
        let deps = vec![("/css/site.css".to_string(), Some("\"a\"".to_string()))];
        cache.insert("h", "/", "\"p1\"".into(), manifest("/img/x.png"), deps);
        let same = |_: &str| Some("\"a\"".to_string());
        let changed = |_: &str| Some("\"b\"".to_string());
        assert!(cache.get("h", "/", "\"p1\"", same).is_some());
        assert!(
            cache.get("h", "/", "\"p2\"", same).is_none(),
            "page changed"
        );
        assert!(
            cache.get("other", "/", "\"p1\"", same).is_none(),
            "other authority"
        );
        assert!(
            cache.get("h", "/", "\"p1\"", changed).is_none(),
            "css changed"
        );
        cache.set_watched(true);
        assert!(
            cache.get("h", "/", "\"p1\"", changed).is_some(),
            "with a watcher, CSS is trusted until invalidated"
        );
    }

    #[test]
    fn invalidation_drops_entries_touching_a_path() {
        let cache = ManifestCache::default();
        cache.insert(
            "h",
            "/a.html",
            "\"1\"".into(),
            manifest("/img/x.png"),
            vec![("/css/site.css".into(), None)],
        );
        cache.insert(
            "h",
            "/b.html",
            "\"1\"".into(),
            manifest("/img/y.png"),
            vec![],
        );
        assert_eq!(cache.invalidate("/unrelated.txt"), 0);
        assert_eq!(cache.invalidate("/img/x.png"), 1);
        assert_eq!(cache.len(), 1);
        assert_eq!(
            cache.invalidate("/img"),
            1,
            "a directory covers what is below it"
        );
        assert!(cache.is_empty());
    }
}
