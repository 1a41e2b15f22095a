//! The flags `scan` and `export` share: plan each page as `serve` would with the same push
//! flags, from the same origin.

use clap::Args;
use url::Url;

use crate::config::{self, Config};
use crate::usage::{usage, Switch};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The origin the site is served from: absolute links to it count as same-origin
    #[arg(long, default_value = super::scan::DEFAULT_SCAN_ORIGIN, value_name = "URL")]
    pub origin: String,

    /// Plan as `serve --push on|off` would (export, off: no link is marked nopush)
    #[arg(long, value_enum, default_value = "on", value_name = "on|off")]
    pub push: Switch,

    /// Most assets pushed per page (the rest are hinted; export marks them nopush), as for `serve`
    #[arg(long, default_value_t = config::DEFAULT_PUSH_MAX_ASSETS, value_name = "N")]
    pub push_max_assets: usize,

    /// Safety cap on the bytes of critical assets pushed per page, as for `serve`
    #[arg(long, default_value_t = config::DEFAULT_PUSH_MAX_BYTES, value_parser = crate::usage::parse_bytes, value_name = "SIZE")]
    pub push_max_bytes: u64,

    /// Bytes of non-critical assets (images, async scripts) pushed per page on top of the
    /// critical ones, as for `serve`
    #[arg(long, default_value_t = config::DEFAULT_PUSH_EXTRA_BYTES, value_parser = crate::usage::parse_bytes, value_name = "SIZE")]
    pub push_extra_bytes: u64,

    /// Count symlinks whose target is outside DIR, as `serve --follow-symlinks` would serve them
    #[arg(long)]
    pub follow_symlinks: bool,
}

impl PlanArgs {
    /// Sets `config` as these flags set `serve`'s; returns the origin, checked.
    pub fn apply(&self, config: &mut Config) -> anyhow::Result<Url> {
        config.follow_symlinks = self.follow_symlinks;
        config.push.push = self.push.on();
        config.push.max_assets = self.push_max_assets;
        config.push.max_bytes = self.push_max_bytes;
        config.push.extra_bytes = self.push_extra_bytes;
        Url::parse(&self.origin)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .ok_or_else(|| usage(format!("--origin {:?} is not an http(s) URL", self.origin)))
    }
}
