//! The page's JavaScript module graph, requested the way a browser's module loader does: a
//! module script (`<script type=module src>`, an inline module's imports, a modulepreload that
//! a module then imports) is fetched, and when it arrives its static imports are read with the
//! server's own parser ([`crate::push::js`]), resolved through the page's import map
//! ([`crate::push::import_map`]) and requested, each once. `import()` is not followed (it runs
//! only if that code runs); imports `with { type: 'json' | 'css' }` are fetched, not read.
//! So with nothing pushed or hinted, each level of the graph costs a round trip.

use url::Url;

use super::Loader;
use crate::push::import_map::ImportMap;
use crate::push::js::{self, Import, ImportKind};

/// `with { type }` values a browser fetches as part of the static graph.
const FETCHED_TYPES: [&str; 2] = ["json", "css"];

impl Loader {
    /// The page's import map: the first valid one, as a browser uses it (a later or invalid
    /// one is ignored).
    pub(super) fn set_import_map(&mut self, json: &str, base: &Url) {
        if self.import_map.is_none() {
            self.import_map = ImportMap::parse(json, base).ok();
        }
    }

    /// An inline `<script type=module>`: its imports are requested as the page is parsed.
    pub(super) async fn inline_module(&mut self, source: String, base: &Url) {
        let imports = parse(source).await;
        self.follow_imports(imports, base).await;
    }

    /// The page needs the module script at `url`: requested once, and read when it arrives.
    pub(super) async fn need_module(&mut self, url: &Url) {
        if url.origin() != self.url.origin() {
            return;
        }
        let path = super::page::path_of(url);
        if !self.modules.insert(path.clone()) {
            return;
        }
        // Named before as something else (a modulepreload): read it if it has arrived.
        if self.needed.contains(&path) {
            if let Some(&key) = self.by_path.get(&path) {
                self.read_module(key).await;
            }
            return;
        }
        self.need(url).await;
    }

    /// Requests the static imports of a needed module script once it has arrived.
    pub(super) async fn read_module(&mut self, key: usize) {
        let r = &mut self.resources[key];
        let is_js = r.content_type.as_deref().is_some_and(is_javascript);
        if !r.needed || r.parsed || r.end_ms.is_none() || r.failed || !is_js {
            return;
        }
        if !self.modules.contains(&r.path) {
            return;
        }
        r.parsed = true;
        let Some(body) = r.body.take() else { return };
        let Ok(referrer) = self.url.join(&r.path) else {
            return;
        };
        let Ok(source) = String::from_utf8(body) else {
            return; // a browser would not run it either
        };
        let imports = parse(source).await;
        self.follow_imports(imports, &referrer).await;
    }

    async fn follow_imports(&mut self, imports: Vec<Import>, referrer: &Url) {
        for import in imports {
            let map = self.import_map.get_or_insert_with(ImportMap::default);
            let Ok(url) = map.resolve(&import.specifier, referrer) else {
                continue; // a bare specifier nothing maps: the browser fails the graph
            };
            match import.kind {
                ImportKind::Static => Box::pin(self.need_module(&url)).await,
                ImportKind::Typed(t) if FETCHED_TYPES.contains(&t.as_str()) => {
                    Box::pin(self.need(&url)).await
                }
                ImportKind::Typed(_) | ImportKind::Dynamic => {}
            }
        }
    }
}

/// The imports of a module, parsed off the async threads; none if it cannot be read.
async fn parse(source: String) -> Vec<Import> {
    tokio::task::spawn_blocking(move || js::module_imports(&source).unwrap_or_default())
        .await
        .unwrap_or_default()
}

/// A JavaScript MIME type: a browser runs a module script only when served as one.
pub(super) fn is_javascript(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let essence = essence.to_ascii_lowercase();
    essence.ends_with("/javascript") || essence.ends_with("/ecmascript")
}

#[cfg(test)]
mod tests {
    use super::is_javascript;

    #[test]
    fn module_scripts_need_a_javascript_type() {
        assert!(is_javascript("text/javascript; charset=utf-8"));
        assert!(is_javascript("application/javascript"));
        assert!(!is_javascript("text/plain"));
        assert!(!is_javascript("application/json"));
    }
}
