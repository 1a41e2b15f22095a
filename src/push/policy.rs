//! What to do with each asset of a page: push it, or only hint it (and why). Pure, so `scan`
//! shows exactly what `serve` would do.

use serde::Serialize;

use super::manifest::{Asset, Manifest};
use crate::config::PushConfig;

/// The fate of one asset for one page response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// PUSH_PROMISE, then the asset's response.
    Push,
    /// Link preload (103 and/or the page's headers) only.
    Hint(HintReason),
}

/// Why an asset is hinted rather than pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HintReason {
    /// `--push off`, a response that is not a plain 200, or a client that refused push.
    PushOff,
    /// Already pushed or requested on this connection.
    AlreadySent,
    /// Past `--push-max-assets`.
    BudgetAssets,
    /// Would take the page past `--push-max-bytes`.
    BudgetBytes,
    /// The client would not take another promise (h2 refused it).
    Refused,
}

impl HintReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HintReason::PushOff => "push off",
            HintReason::AlreadySent => "already sent on this connection",
            HintReason::BudgetAssets => "over the asset budget",
            HintReason::BudgetBytes => "over the byte budget",
            HintReason::Refused => "client refused the promise",
        }
    }
}

impl Action {
    pub fn describe(self) -> String {
        match self {
            Action::Push => "push".into(),
            Action::Hint(reason) => format!("hint ({})", reason.as_str()),
        }
    }
}

/// Decides, in manifest order, which assets to push within the page's budget. `may_push` is
/// false when push is off for this response; `already_sent` says whether the connection has
/// already pushed or requested a path. The page itself (whatever its query) counts as already
/// sent: `serve` and `scan` both plan through here, so they agree on a page that links itself.
pub fn plan<'m>(
    manifest: &'m Manifest,
    config: &PushConfig,
    may_push: bool,
    already_sent: impl Fn(&str) -> bool,
) -> Vec<(&'m Asset, Action)> {
    let (mut count, mut bytes) = (0usize, 0u64);
    manifest
        .assets
        .iter()
        .map(|asset| {
            let action = if !may_push || !config.push {
                Action::Hint(HintReason::PushOff)
            } else if asset.file_path == manifest.page || already_sent(&asset.path) {
                Action::Hint(HintReason::AlreadySent)
            } else if count >= config.max_assets {
                Action::Hint(HintReason::BudgetAssets)
            } else if bytes + asset.size > config.max_bytes {
                Action::Hint(HintReason::BudgetBytes)
            } else {
                count += 1;
                bytes += asset.size;
                Action::Push
            };
            (asset, action)
        })
        .collect()
}

/// Whether an asset's `Link` on the page response carries `nopush`: when it is only hinted
/// while others are pushed, so a proxy or CDN that pushes preloads leaves it alone. `serve`
/// and `export` both mark links through here.
pub fn marks_nopush(any_pushed: bool, action: Action) -> bool {
    any_pushed && action != Action::Push
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::manifest::Destination;

    fn asset(path: &str) -> Asset {
        Asset {
            path: path.into(),
            file_path: path.split('?').next().unwrap().into(),
            dest: Destination::Fetch,
            module: false,
            mime_type: None,
            crossorigin: None,
            found_in: "/page.html".into(),
            size: 10,
        }
    }

    #[test]
    fn the_page_itself_is_already_sent_whatever_its_query() {
        let manifest = Manifest {
            page: "/page.html".into(),
            assets: ["/page.html?v=2", "/a.js", "/page.html", "/b.js"]
                .map(asset)
                .into(),
            ..Manifest::default()
        };
        let config = crate::config::Config::new("/nonexistent".into()).push;
        let plan = plan(&manifest, &config, true, |path| path == "/b.js");
        let actions: Vec<(&str, Action)> =
            plan.iter().map(|(a, x)| (a.path.as_str(), *x)).collect();
        let sent = Action::Hint(HintReason::AlreadySent);
        assert_eq!(
            actions,
            [
                ("/page.html?v=2", sent),
                ("/a.js", Action::Push),
                ("/page.html", sent),
                ("/b.js", sent),
            ]
        );
    }
}
