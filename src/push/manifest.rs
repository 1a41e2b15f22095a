//! What discovery hands the server: a page's [`Manifest`], the ordered list of same-origin
//! files worth pushing, preloading or early-hinting, each with what a `Link` needs to say.

use std::fmt::Write as _;

use serde::Serialize;

/// What the browser fetches an asset as: the `as` of a preload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Destination {
    Style,
    Font,
    Script,
    Image,
    Fetch,
    /// Anything else. Discovery does not produce it: preloads with other `as` values are
    /// skipped, and CSS `url()`s of unknown type are images to a browser.
    Other,
}

impl Destination {
    /// The `as` value in a preload link (empty for [`Destination::Other`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Destination::Style => "style",
            Destination::Font => "font",
            Destination::Script => "script",
            Destination::Image => "image",
            Destination::Fetch => "fetch",
            Destination::Other => "",
        }
    }

    pub(super) fn from_as(value: &str) -> Option<Destination> {
        match value {
            "style" => Some(Destination::Style),
            "font" => Some(Destination::Font),
            "script" => Some(Destination::Script),
            "image" => Some(Destination::Image),
            "fetch" => Some(Destination::Fetch),
            _ => None,
        }
    }
}

/// One file worth getting to the client early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// Request path including the query exactly as the page wrote it, e.g.
    /// "/css/site.css?v=3".
    pub path: String,
    /// URL path without the query: what [`SiteFiles::size`] was asked.
    pub file_path: String,
    pub dest: Destination,
    /// A module script: its Link uses rel=modulepreload.
    pub module: bool,
    /// `type` from a preload link, if it is a plain MIME type.
    pub mime_type: Option<String>,
    /// CORS mode, normalised: "anonymous" (always for fonts; also for an empty or unknown
    /// attribute value) or "use-credentials". None for a no-cors fetch.
    pub crossorigin: Option<String>,
    /// URL path of the page or of the CSS file that referenced it.
    pub found_in: String,
    pub size: u64,
    /// The page needs it before it can render (stylesheets and their imports, their fonts,
    /// blocking and deferred scripts, modules): pushed whole. Images, async scripts and
    /// preloaded fetches are not.
    pub critical: bool,
}

impl Asset {
    /// The Link header field value that preloads this asset, e.g.
    /// `</f.woff2>; rel=preload; as=font; crossorigin`.
    pub fn link_value(&self) -> String {
        // `path` comes from Url::path and Url::query, which percent-encode spaces, quotes
        // and angle brackets, so it cannot break out of the <...>.
        let mut value = format!("<{}>", self.path);
        if self.module {
            value.push_str("; rel=modulepreload");
        } else {
            value.push_str("; rel=preload");
            if self.dest != Destination::Other {
                let _ = write!(value, "; as={}", self.dest.as_str());
            }
        }
        if let Some(mime_type) = &self.mime_type {
            let _ = write!(value, "; type=\"{mime_type}\"");
        }
        match self.crossorigin.as_deref() {
            Some("use-credentials") => value.push_str("; crossorigin=use-credentials"),
            Some(_) => value.push_str("; crossorigin"),
            None => {}
        }
        value
    }
}

/// A reference that did not become an asset, and why (shown by `scan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub url: String,
    pub found_in: String,
    pub reason: String,
}

/// Everything discovery found for one page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// URL path of the page itself (no query): it is never pushed to its own request.
    pub page: String,
    /// In the order they should reach the client.
    pub assets: Vec<Asset>,
    pub skipped: Vec<Skipped>,
    /// `file_path` of every CSS file read: the page's manifest is stale when one changes.
    pub css_files: Vec<String>,
    /// `file_path` of every JavaScript module read: the manifest is stale when one changes.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub module_files: Vec<String>,
    /// Set when discovery stopped at a bound before the end of the page, saying which: the
    /// manifest then holds what was found before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_serializes_lowercase() {
        let json = serde_json::to_string(&[Destination::Style, Destination::Fetch]).unwrap();
        assert_eq!(json, r#"["style","fetch"]"#);
    }
}
