//! The served directory as discovery sees it: the same path rules as a direct request
//! (`files::open_url_path`), so only files a client could fetch are ever hinted or pushed.

use super::discover::SiteFiles;
use crate::config::Config;
use crate::files::{self, Opened};

/// [`SiteFiles`] over the server's root.
pub struct Root<'a>(pub &'a Config);

impl SiteFiles for Root<'_> {
    fn size(&self, url_path: &str) -> Option<u64> {
        match files::open_url_path(self.0, url_path) {
            Ok(Opened::File(file)) => Some(file.len),
            _ => None,
        }
    }

    fn read(&self, url_path: &str, max: usize) -> Option<Vec<u8>> {
        match files::open_url_path(self.0, url_path) {
            Ok(Opened::File(file)) => file.prefix(max).ok(),
            _ => None,
        }
    }
}

/// The strong ETag of the file at a URL path, or `None` when it is not servable: how the
/// manifest cache tells whether a dependency changed when no watcher tells it.
pub fn stamp(config: &Config, url_path: &str) -> Option<String> {
    match files::open_url_path(config, url_path) {
        Ok(Opened::File(file)) => Some(file.validators.etag),
        _ => None,
    }
}
