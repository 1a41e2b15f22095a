//! The JavaScript module graph of a page, followed the way a browser's module loader fetches
//! it: breadth first from the entry modules (`<script type=module src>`, `<link
//! rel=modulepreload>`, the imports of inline `<script type=module>`), each module's static
//! imports in source order, specifiers resolved through the page's import map.
//!
//! Every module of the static graph is critical (a module cannot run before all of its imports
//! have arrived) and is listed as a module script (`rel=modulepreload`). What a browser would
//! not fetch as a module script is recorded as skipped with the reason: `import()` (fetched
//! only if that code runs), imports `with { type }` other than JavaScript, bare specifiers the
//! import map does not map. Bounded by [`Limits`]: modules read, bytes per module and per page,
//! and import depth.

use std::collections::{HashSet, VecDeque};

use url::Url;

use super::{Class, Discovery, How, Limits};
use crate::push::import_map::ImportMap;
use crate::push::js::{self, ImportKind};

/// A module waiting to be read.
struct Pending {
    url: Url,
    /// Inline module text; None for a file.
    inline: Option<String>,
    /// Where its imports were found, as `scan` shows it: the module's path or the page's.
    name: String,
    depth: usize,
    crossorigin: Option<String>,
    /// The entry's class (an async module's graph is not render-critical), given to imports.
    class: Class,
}

/// The module graph being followed for one page.
#[derive(Default)]
pub(super) struct Graph {
    map: ImportMap,
    queue: VecDeque<Pending>,
    /// Request paths of the modules queued so far: each is read once (graphs have cycles).
    queued: HashSet<String>,
    /// Modules read, and their bytes.
    read: usize,
    bytes: usize,
    /// Imported modules listed (entries are counted as what the page names).
    pub(super) imported: usize,
}

impl Graph {
    /// Uses the page's import map (the first one; an invalid one is ignored, as a browser does).
    pub(super) fn set_map(&mut self, map: ImportMap) {
        self.map = map;
    }
}

impl Discovery<'_> {
    /// A module script the page names (`src` or modulepreload): listed, then read.
    pub(super) fn entry_module(&mut self, url: &Url, page: &str, how: How) {
        if let Some(at) = self.locate(url, page) {
            if self.graph.queued.insert(at.path.clone()) {
                self.graph.queue.push_back(Pending {
                    url: url.clone(),
                    inline: None,
                    name: at.file_path.clone(),
                    depth: 0,
                    crossorigin: how.crossorigin.clone(),
                    class: how.class,
                });
            }
            self.add(at, page, how);
        }
    }

    /// An inline `<script type=module>`: read at once (the browser runs it while parsing the
    /// page), so its imports are entries, in document order with the others.
    pub(super) fn inline_module(&mut self, source: String, base: &Url, page: &str) {
        self.read_module(Pending {
            url: base.clone(),
            inline: Some(source),
            name: page.to_string(),
            depth: 0,
            crossorigin: None,
            class: Class::Module,
        });
    }

    /// Reads the queued modules breadth first, listing their static imports.
    pub(super) fn follow_modules(&mut self) {
        while let Some(module) = self.graph.queue.pop_front() {
            self.read_module(module);
        }
    }

    fn read_module(&mut self, module: Pending) {
        if self.graph.read >= self.limits.max_modules {
            let reason = format!(
                "module limit ({}): imports not read",
                self.limits.max_modules
            );
            return self.skip(&module.url, &module.name, reason);
        }
        let Some(source) = self.module_source(&module) else {
            return;
        };
        self.graph.read += 1;
        match js::module_imports(&source) {
            Ok(imports) => {
                for import in imports {
                    self.import(&module, &import.specifier, import.kind);
                }
            }
            Err(unread) => self.skip(
                &module.url,
                &module.name,
                format!("imports not read: {unread}"),
            ),
        }
    }

    /// The module's text, within the byte limits; None (and why, recorded) past them.
    fn module_source(&mut self, module: &Pending) -> Option<String> {
        let limits: &Limits = self.limits;
        if let Some(source) = &module.inline {
            return Some(source.clone());
        }
        let room = limits
            .max_module_graph_bytes
            .saturating_sub(self.graph.bytes);
        let max = limits.max_module_bytes.min(room);
        let bytes = self.site.read(module.url.path(), max.saturating_add(1))?;
        if bytes.len() > max {
            let reason = if max < limits.max_module_bytes {
                format!(
                    "page module bytes limit ({}): imports not read",
                    limits.max_module_graph_bytes
                )
            } else {
                format!(
                    "larger than {} bytes: imports not read",
                    limits.max_module_bytes
                )
            };
            self.skip(&module.url, &module.name, reason);
            return None;
        }
        self.graph.bytes += bytes.len();
        self.module_files.push(module.url.path().to_string());
        match String::from_utf8(bytes) {
            Ok(source) => Some(source),
            Err(_) => {
                self.skip(
                    &module.url,
                    &module.name,
                    "not UTF-8: imports not read".into(),
                );
                None
            }
        }
    }

    fn import(&mut self, module: &Pending, specifier: &str, kind: ImportKind) {
        let url = match self.graph.map.resolve(specifier, &module.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            Ok(url) => return self.skip_specifier(url.as_str(), module, "not http(s)".into()),
            Err(why) => return self.skip_specifier(specifier, module, why.to_string()),
        };
        let reason = match kind {
            ImportKind::Static => None,
            ImportKind::Dynamic => Some("dynamic import(): fetched only if that code runs".into()),
            ImportKind::Typed(t) => Some(format!(
                "import with type '{t}': no preload a browser reuses for it"
            )),
        };
        if let Some(reason) = reason {
            return self.skip(&url, &module.name, reason);
        }
        // An inline module's imports are fetched as the page is parsed, like entries.
        let depth = if module.inline.is_some() {
            0
        } else {
            module.depth + 1
        };
        if depth > self.limits.max_module_depth {
            let reason = format!("module depth limit ({})", self.limits.max_module_depth);
            return self.skip(&url, &module.name, reason);
        }
        let Some(at) = self.locate(&url, &module.name) else {
            return;
        };
        if self.graph.queued.insert(at.path.clone()) {
            self.graph.imported += 1;
            self.graph.queue.push_back(Pending {
                url: url.clone(),
                inline: None,
                name: at.file_path.clone(),
                depth,
                crossorigin: module.crossorigin.clone(),
                class: module.class,
            });
        }
        let how = How::script(module.class, true, module.crossorigin.clone());
        self.add(at, &module.name, how);
    }

    /// A specifier that names no URL: recorded as written.
    fn skip_specifier(&mut self, specifier: &str, module: &Pending, reason: String) {
        let key = format!("{specifier} (in {})", module.name);
        if !self.skipped_urls.insert(key) {
            return;
        }
        self.skipped.push(crate::push::manifest::Skipped {
            url: specifier.to_string(),
            found_in: module.name.clone(),
            reason,
        });
    }
}
