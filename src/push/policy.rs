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
/// already pushed or requested a path.
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
            } else if already_sent(&asset.path) {
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
