//! A page's import map (`<script type=importmap>`) and module specifier resolution as the HTML
//! standard's "resolve a module specifier" does it: URL-like specifiers (`/x`, `./x`, `../x`,
//! absolute URLs) against the importing module's URL, then the map's `scopes` (the most
//! specific scope that covers the importer first) and its `imports`, each matching a key
//! exactly or by its longest trailing-slash prefix. What nothing maps stays unresolved.

use std::collections::BTreeMap;

use url::Url;

/// Specifier → address entries, longest key first (so the first prefix that matches is the
/// most specific one).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct SpecifierMap(Vec<(String, Url)>);

/// A parsed import map.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportMap {
    imports: SpecifierMap,
    /// Scope prefix (a URL) → its map, longest prefix first.
    scopes: Vec<(String, SpecifierMap)>,
}

/// Why a specifier resolves to nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// A bare specifier (`lit`) that the page's import map does not map.
    Bare,
    /// The map maps it to null or to something that is not a URL (blocked, as in a browser).
    Blocked,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unresolved::Bare => write!(f, "bare specifier the page's import map does not map"),
            Unresolved::Blocked => write!(f, "the import map blocks it"),
        }
    }
}

impl ImportMap {
    /// Parses the JSON text of an import map whose URLs resolve against `base` (the page's
    /// base URL). An invalid map is an error, as in a browser (which then ignores it).
    pub fn parse(json: &str, base: &Url) -> Result<ImportMap, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("import map is not JSON: {e}"))?;
        let object = value.as_object().ok_or("import map is not a JSON object")?;
        let imports = match object.get("imports") {
            Some(map) => SpecifierMap::parse(map, base)?,
            None => SpecifierMap::default(),
        };
        let mut scopes = Vec::new();
        if let Some(value) = object.get("scopes") {
            let map = value
                .as_object()
                .ok_or("import map scopes is not an object")?;
            for (prefix, entries) in map {
                let Ok(prefix) = base.join(prefix) else {
                    continue;
                };
                scopes.push((prefix.to_string(), SpecifierMap::parse(entries, base)?));
            }
        }
        scopes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        Ok(ImportMap { imports, scopes })
    }

    /// The URL `specifier`, imported by the module at `referrer`, names.
    pub fn resolve(&self, specifier: &str, referrer: &Url) -> Result<Url, Unresolved> {
        let as_url = url_like(specifier, referrer);
        let normalized = as_url.as_ref().map_or(specifier, |u| u.as_str());
        let referrer_str = referrer.as_str();
        for (prefix, map) in &self.scopes {
            let covers = prefix == referrer_str
                || (prefix.ends_with('/') && referrer_str.starts_with(prefix));
            if covers {
                if let Some(found) = map.resolve(normalized) {
                    return found;
                }
            }
        }
        if let Some(found) = self.imports.resolve(normalized) {
            return found;
        }
        as_url.ok_or(Unresolved::Bare)
    }
}

/// A relative (`/`, `./`, `../`) or absolute URL specifier, resolved; None for a bare one.
fn url_like(specifier: &str, base: &Url) -> Option<Url> {
    if specifier.starts_with('/') || specifier.starts_with("./") || specifier.starts_with("../") {
        return base.join(specifier).ok();
    }
    Url::parse(specifier).ok()
}

impl SpecifierMap {
    fn parse(value: &serde_json::Value, base: &Url) -> Result<SpecifierMap, String> {
        let object = value
            .as_object()
            .ok_or("import map entry is not an object")?;
        let mut entries: BTreeMap<String, Option<Url>> = BTreeMap::new();
        for (key, address) in object {
            if key.is_empty() {
                continue;
            }
            let key = url_like(key, base).map_or_else(|| key.clone(), String::from);
            let address = address
                .as_str()
                .and_then(|a| url_like(a, base))
                // A prefix key must map to a prefix.
                .filter(|a| !key.ends_with('/') || a.as_str().ends_with('/'));
            entries.insert(key, address);
        }
        let mut entries: Vec<(String, Option<Url>)> = entries.into_iter().collect();
        entries.sort_by_key(|(key, _)| std::cmp::Reverse(key.len()));
        // A blocked entry is kept as an address that cannot be served.
        let blocked = Url::parse("about:blank").expect("a valid URL");
        Ok(SpecifierMap(
            entries
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_else(|| blocked.clone())))
                .collect(),
        ))
    }

    /// The entry for `normalized`: exact key, else the longest prefix key ending in `/`.
    fn resolve(&self, normalized: &str) -> Option<Result<Url, Unresolved>> {
        for (key, address) in &self.0 {
            let rest = if key == normalized {
                ""
            } else if key.ends_with('/') && normalized.starts_with(key.as_str()) {
                &normalized[key.len()..]
            } else {
                continue;
            };
            if address.scheme() == "about" {
                return Some(Err(Unresolved::Blocked));
            }
            let joined = if rest.is_empty() {
                Some(address.clone())
            } else {
                address.join(rest).ok()
            };
            // A prefix match must stay below its address (no `../` escapes).
            return Some(
                joined
                    .filter(|u| u.as_str().starts_with(address.as_str()))
                    .ok_or(Unresolved::Blocked),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://h.test/app/index.html").unwrap()
    }

    fn map(json: &str) -> ImportMap {
        ImportMap::parse(json, &page()).unwrap()
    }

    fn resolve(map: &ImportMap, specifier: &str, referrer: &str) -> Result<String, Unresolved> {
        let referrer = page().join(referrer).unwrap();
        map.resolve(specifier, &referrer).map(String::from)
    }

    #[test]
    fn url_specifiers_resolve_against_the_importer() {
        let m = ImportMap::default();
        assert_eq!(
            resolve(&m, "./b.js", "/app/js/a.js").unwrap(),
            "https://h.test/app/js/b.js"
        );
        assert_eq!(
            resolve(&m, "../b.js", "/app/js/a.js").unwrap(),
            "https://h.test/app/b.js"
        );
        assert_eq!(
            resolve(&m, "/b.js", "/app/js/a.js").unwrap(),
            "https://h.test/b.js"
        );
        assert_eq!(
            resolve(&m, "https://cdn.test/x.js", "/a.js").unwrap(),
            "https://cdn.test/x.js"
        );
        assert_eq!(resolve(&m, "lit", "/a.js"), Err(Unresolved::Bare));
        assert_eq!(
            resolve(&m, "b.js", "/a.js"),
            Err(Unresolved::Bare),
            "not ./b.js"
        );
    }

    #[test]
    fn imports_match_exactly_or_by_the_longest_trailing_slash_prefix() {
        let m = map(r#"{"imports": {
            "lit": "/node_modules/lit/index.js",
            "lit/": "/node_modules/lit/",
            "lit/decorators/": "/vendor/decorators/",
            "lit/bad": "/node_modules/lit/",
            "nope": null,
            "./local.js": "./mapped.js"
        }}"#);
        assert_eq!(
            resolve(&m, "lit", "/a.js").unwrap(),
            "https://h.test/node_modules/lit/index.js"
        );
        assert_eq!(
            resolve(&m, "lit/directives/x.js", "/a.js").unwrap(),
            "https://h.test/node_modules/lit/directives/x.js"
        );
        assert_eq!(
            resolve(&m, "lit/decorators/y.js", "/a.js").unwrap(),
            "https://h.test/vendor/decorators/y.js"
        );
        assert_eq!(
            resolve(&m, "lit/../../etc", "/a.js"),
            Err(Unresolved::Blocked)
        );
        assert_eq!(resolve(&m, "nope", "/a.js"), Err(Unresolved::Blocked));
        assert_eq!(
            resolve(&m, "./local.js", "/app/index.html").unwrap(),
            "https://h.test/app/mapped.js",
            "URL-like keys match the resolved URL"
        );
    }

    #[test]
    fn the_most_specific_scope_covering_the_importer_wins() {
        let m = map(r#"{
            "imports": {"dep": "/dep/v3.js"},
            "scopes": {
                "/vendor/": {"dep": "/dep/v2.js"},
                "/vendor/old/": {"dep": "/dep/v1.js"},
                "/one.js": {"dep": "/dep/one.js"}
            }}"#);
        assert_eq!(
            resolve(&m, "dep", "/app.js").unwrap(),
            "https://h.test/dep/v3.js"
        );
        assert_eq!(
            resolve(&m, "dep", "/vendor/x.js").unwrap(),
            "https://h.test/dep/v2.js"
        );
        assert_eq!(
            resolve(&m, "dep", "/vendor/old/x.js").unwrap(),
            "https://h.test/dep/v1.js"
        );
        assert_eq!(
            resolve(&m, "dep", "/one.js").unwrap(),
            "https://h.test/dep/one.js"
        );
        assert_eq!(resolve(&m, "other", "/vendor/x.js"), Err(Unresolved::Bare));
    }

    #[test]
    fn a_broken_map_is_an_error() {
        assert!(ImportMap::parse("{", &page()).is_err());
        assert!(ImportMap::parse("[]", &page()).is_err());
        assert!(ImportMap::parse(r#"{"imports": 3}"#, &page()).is_err());
    }
}
