//! Small files kept in memory while a file watcher vouches for them, so a request for one needs
//! no file-system work and no trip to the blocking pool.
//!
//! Only used when the change feed runs (it is what drops entries when files change) and
//! symlinks are not followed (a change to a link's target is reported under the target's path,
//! not the link's). A file changed on disk may be served from memory until the watcher reports
//! it: the feed's debounce (about 100 ms) bounds that.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use super::headers::Validators;
use super::{encoding, path, OpenFile, Source};

/// Largest file kept in memory.
pub const MAX_CACHED_FILE: u64 = 64 * 1024;

/// Bytes of file bodies kept in memory at most; past it the cache starts over.
pub const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug)]
struct Cached {
    fs_path: PathBuf,
    validators: Validators,
    content_type: HeaderValue,
    /// Whether [`encoding::is_compressible`] says yes to `content_type`, asked once.
    compressible: bool,
    bytes: Bytes,
    /// The headers of a 200 with the whole file, made once: an unconditional GET clones them.
    head: HeaderMap,
}

/// A file kept in memory, as a lookup finds it.
#[derive(Debug, Clone)]
pub struct Kept(Arc<Cached>);

impl Kept {
    /// The file, to decide a conditional or range request with.
    pub fn open_file(&self) -> OpenFile {
        let cached = &self.0;
        OpenFile {
            len: cached.bytes.len() as u64,
            source: Source::Memory(cached.bytes.clone()),
            fs_path: cached.fs_path.clone(),
            validators: cached.validators.clone(),
            content_type: cached.content_type.clone(),
            is_html: false,
            whole_only: false,
            encoding: None,
            vary: false,
            identity: None,
        }
    }

    /// Whether the file's type is one a coding may apply to (see [`encoding::is_compressible`]).
    pub fn compressible(&self) -> bool {
        self.0.compressible
    }

    /// The body.
    pub fn bytes(&self) -> Bytes {
        self.0.bytes.clone()
    }

    /// The headers of a 200 with the whole body, with `Server` and the `Date` of when the file
    /// was kept (a response replaces it).
    pub fn full_head(&self) -> &HeaderMap {
        &self.0.head
    }
}

/// The kept files: by sanitized path, and by the request spelling that parses to itself.
#[derive(Debug, Default)]
struct Map {
    by_path: HashMap<PathBuf, Arc<Cached>>,
    /// `/` + the path, for paths whose plain spelling [`path::parse`]s to that same path (no
    /// `%`, no dot segments…): a request spelled that way is found without parsing it, and
    /// any other spelling of the file takes the parse. At most one entry per kept file.
    by_spelling: HashMap<Box<str>, Arc<Cached>>,
}

impl Map {
    fn clear(&mut self) {
        self.by_path.clear();
        self.by_spelling.clear();
    }
}

/// Cached small files, keyed by their sanitized path under the root.
#[derive(Debug, Default)]
pub struct FileCache {
    enabled: bool,
    map: RwLock<Map>,
    bytes: AtomicU64,
    /// Bumped by every invalidation: an insert prepared before one is dropped, since the file
    /// it read may be the one that changed.
    generation: AtomicU64,
}

impl FileCache {
    pub fn new(enabled: bool) -> Self {
        FileCache {
            enabled,
            ..Default::default()
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The file at a URL path (no query), from memory.
    pub fn get(&self, url_path: &str) -> Option<OpenFile> {
        self.lookup(url_path).map(|kept| kept.open_file())
    }

    /// The kept file at a URL path (no query).
    pub fn lookup(&self, url_path: &str) -> Option<Kept> {
        if !self.enabled {
            return None;
        }
        let map = self.map.read().expect("file cache poisoned");
        if let Some(cached) = map.by_spelling.get(url_path) {
            return Some(Kept(cached.clone()));
        }
        let url = path::parse(url_path).ok()?;
        if url.directory {
            // `/a.txt/` and `/a.txt%2F` name a directory: a file is not found that way.
            return None;
        }
        Some(Kept(map.by_path.get(&url.rel)?.clone()))
    }

    /// The generation to pass to [`FileCache::insert`]: read it before opening the file.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Reads a small, non-HTML file opened for `url_path` into memory, keeps it with `head`
    /// (the headers of its 200), and switches `file` to serve from those bytes. Does nothing
    /// for files it should not keep. Blocking.
    pub fn insert(
        &self,
        root: &Path,
        url_path: &str,
        file: &mut OpenFile,
        head: HeaderMap,
        generation: u64,
    ) {
        if !self.enabled
            || file.is_html
            || file.whole_only
            || file.encoding.is_some()
            || file.len > MAX_CACHED_FILE
            || !matches!(file.source, Source::Disk(_))
        {
            return;
        }
        let Ok(path::UrlPath {
            rel: key,
            directory: false,
        }) = path::parse(url_path)
        else {
            return;
        };
        // Reached through a symlink: the watcher would report changes under another path.
        if file.fs_path != root.join(&key) {
            return;
        }
        let Ok(bytes) = file.prefix(file.len as usize) else {
            return;
        };
        if bytes.len() as u64 != file.len {
            return;
        }
        let bytes = Bytes::from(bytes);
        file.source = Source::Memory(bytes.clone());
        let entry = Arc::new(Cached {
            fs_path: file.fs_path.clone(),
            validators: file.validators.clone(),
            content_type: file.content_type.clone(),
            compressible: file
                .content_type
                .to_str()
                .is_ok_and(encoding::is_compressible),
            bytes,
            head,
        });
        let mut map = self.map.write().expect("file cache poisoned");
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        let size = entry.bytes.len() as u64;
        if self.bytes.load(Ordering::SeqCst) + size > MAX_CACHED_BYTES as u64 {
            map.clear();
            self.bytes.store(0, Ordering::SeqCst);
        }
        self.bytes.fetch_add(size, Ordering::SeqCst);
        if let Some(spelling) = plain_spelling(&key) {
            map.by_spelling.insert(spelling, entry.clone());
        }
        if let Some(old) = map.by_path.insert(key, entry) {
            self.bytes
                .fetch_sub(old.bytes.len() as u64, Ordering::SeqCst);
        }
    }

    /// Drops the file at a URL path, or everything under it for a directory.
    pub fn invalidate(&self, url_path: &str) {
        let mut map = self.map.write().expect("file cache poisoned");
        self.generation.fetch_add(1, Ordering::SeqCst);
        let Ok(key) = path::sanitize(url_path) else {
            return;
        };
        let mut freed = 0;
        map.by_spelling
            .retain(|spelling, _| !Path::new(&spelling[1..]).starts_with(&key));
        map.by_path.retain(|k, v| {
            let keep = !k.starts_with(&key);
            if !keep {
                freed += v.bytes.len() as u64;
            }
            keep
        });
        self.bytes.fetch_sub(freed, Ordering::SeqCst);
    }

    /// Drops everything (a watcher that lost events).
    pub fn clear(&self) {
        let mut map = self.map.write().expect("file cache poisoned");
        self.generation.fetch_add(1, Ordering::SeqCst);
        map.clear();
        self.bytes.store(0, Ordering::SeqCst);
    }
}

/// `/` + `rel` when that request path parses back to exactly `rel` as a file.
fn plain_spelling(rel: &Path) -> Option<Box<str>> {
    let spelling = format!("/{}", rel.to_str()?);
    match path::parse(&spelling) {
        Ok(path::UrlPath {
            rel: parsed,
            directory: false,
        }) if parsed == rel => Some(spelling.into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn open(dir: &Path, name: &str) -> OpenFile {
        let fs_path = dir.join(name);
        let file = std::fs::File::open(&fs_path).unwrap();
        let len = file.metadata().unwrap().len();
        OpenFile {
            source: Source::Disk(file),
            fs_path,
            len,
            validators: Validators::new(UNIX_EPOCH, len),
            content_type: HeaderValue::from_static("text/plain"),
            is_html: false,
            whole_only: false,
            encoding: None,
            vary: false,
            identity: None,
        }
    }

    #[test]
    fn keeps_small_files_under_their_normalized_path_until_invalidated() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/b.txt"), "hello").unwrap();
        let cache = FileCache::new(true);
        let mut file = open(dir.path(), "a/b.txt");
        cache.insert(
            dir.path(),
            "/a/b.txt",
            &mut file,
            HeaderMap::new(),
            cache.generation(),
        );
        assert!(matches!(file.source, Source::Memory(ref b) if b == "hello"));
        let hit = cache.get("//a/%62.txt").expect("same file, other spelling");
        assert!(matches!(hit.source, Source::Memory(ref b) if b == "hello"));
        for as_directory in ["/a/b.txt/", "/a/b.txt%2F", "/a/b.txt/."] {
            assert!(cache.get(as_directory).is_none(), "{as_directory}");
        }
        cache.invalidate("/a");
        assert!(
            cache.get("/a/b.txt").is_none(),
            "a directory change covers its files"
        );
    }

    #[test]
    fn a_name_with_a_percent_is_found_only_by_its_escaped_spelling() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(dir.path().join("a%62.txt"), "literal").unwrap();
        std::fs::write(dir.path().join("ab.txt"), "decoded").unwrap();
        let cache = FileCache::new(true);
        // Kept from a request for it, spelled (as it must be) with the `%` escaped.
        let mut file = open(dir.path(), "a%62.txt");
        cache.insert(dir.path(), "/a%2562.txt", &mut file, HeaderMap::new(), 0);
        assert!(
            cache.get("/a%62.txt").is_none(),
            "that spelling names ab.txt"
        );
        let hit = cache.get("/a%2562.txt").expect("the escaped spelling");
        assert!(matches!(hit.source, Source::Memory(ref b) if b == "literal"));
        assert_eq!(
            plain_spelling(Path::new("a/b.txt")).as_deref(),
            Some("/a/b.txt")
        );
        assert_eq!(plain_spelling(Path::new("a%62.txt")), None);
    }

    #[test]
    fn an_invalidation_during_an_insert_wins() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(dir.path().join("x.txt"), "old").unwrap();
        let cache = FileCache::new(true);
        let before = cache.generation();
        cache.invalidate("/x.txt");
        let mut file = open(dir.path(), "x.txt");
        cache.insert(dir.path(), "/x.txt", &mut file, HeaderMap::new(), before);
        assert!(cache.get("/x.txt").is_none());
    }

    #[test]
    fn disabled_or_unsuitable_files_are_not_kept() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::write(dir.path().join("x.txt"), "x").unwrap();
        let off = FileCache::new(false);
        let mut file = open(dir.path(), "x.txt");
        off.insert(
            dir.path(),
            "/x.txt",
            &mut file,
            HeaderMap::new(),
            off.generation(),
        );
        assert!(off.get("/x.txt").is_none());

        let cache = FileCache::new(true);
        let mut html = open(dir.path(), "x.txt");
        html.is_html = true;
        cache.insert(
            dir.path(),
            "/x.txt",
            &mut html,
            HeaderMap::new(),
            cache.generation(),
        );
        assert!(cache.get("/x.txt").is_none());
        std::os::unix::fs::symlink(dir.path().join("x.txt"), dir.path().join("link.txt")).unwrap();
        let mut linked = open(dir.path(), "x.txt");
        cache.insert(
            dir.path(),
            "/link.txt",
            &mut linked,
            HeaderMap::new(),
            cache.generation(),
        );
        assert!(
            cache.get("/link.txt").is_none(),
            "reached through a symlink"
        );
    }
}
