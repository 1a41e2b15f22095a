//! What to do with each asset of a page: push it, or only hint it (and why). Pure, so `scan`
//! shows exactly what `serve` would do.
//!
//! The rule ([`plan`]), in manifest order:
//! - what the page needs before it can render ([`Asset::critical`]: stylesheets and their
//!   imports, the fonts they use, blocking and deferred scripts, modules and modulepreloads)
//!   is pushed whole; `--push-max-bytes` ([`crate::config::DEFAULT_PUSH_MAX_BYTES`], 8 MiB) is
//!   only a safety cap for absurd pages, past which the rest is hinted;
//! - everything else (images, async scripts, preloaded fetches) is pushed only while it fits in
//!   `--push-extra-bytes` ([`crate::config::DEFAULT_PUSH_EXTRA_BYTES`], 64 KiB) on top of the
//!   critical bytes: what the connection carries in the round trips the critical bytes take
//!   anyway, without delaying them. The rest is hinted, and the browser asks for it when it
//!   wants it;
//! - an asset whose current version the client says it has (the push digest cookie, see
//!   [`super::digest`]) is hinted, not pushed: the browser checks its own cache.

use serde::Serialize;

use super::manifest::{Asset, Manifest};
use crate::config::PushConfig;

/// The fate of one asset for one page response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// PUSH_PROMISE, then the asset's response.
    Push(PushReason),
    /// Link preload (103 and/or the page's headers) only.
    Hint(HintReason),
}

/// Why an asset is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PushReason {
    /// The page needs it to render: pushed whole, within the safety cap.
    Critical,
    /// Not needed to render, but it fits in `--push-extra-bytes`.
    FitsExtra,
}

/// Why an asset is hinted rather than pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HintReason {
    /// `--push off`, a response that is not a plain 200, or a client that refused push.
    PushOff,
    /// Already pushed or requested on this connection.
    AlreadySent,
    /// The client's push digest holds this version of it: it is in the browser's cache.
    InClientDigest,
    /// Past `--push-max-assets`.
    BudgetAssets,
    /// A critical asset that would take the page past `--push-max-bytes`, the safety cap.
    OverSafetyCap,
    /// A non-critical asset that does not fit in `--push-extra-bytes`.
    OverExtraBudget,
    /// The client would not take another promise (h2 refused it).
    Refused,
}

impl PushReason {
    /// All of them, for tables and tests.
    pub const ALL: [PushReason; 2] = [PushReason::Critical, PushReason::FitsExtra];

    /// The kebab-case name serde gives it: stable for scripts.
    pub fn code(self) -> &'static str {
        match self {
            PushReason::Critical => "critical",
            PushReason::FitsExtra => "fits-extra",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PushReason::Critical => "needed to render",
            PushReason::FitsExtra => "fits the extra budget",
        }
    }
}

impl HintReason {
    /// All of them, for tables and tests.
    pub const ALL: [HintReason; 7] = [
        HintReason::PushOff,
        HintReason::AlreadySent,
        HintReason::InClientDigest,
        HintReason::BudgetAssets,
        HintReason::OverSafetyCap,
        HintReason::OverExtraBudget,
        HintReason::Refused,
    ];

    /// The kebab-case name serde gives it: stable for scripts.
    pub fn code(self) -> &'static str {
        match self {
            HintReason::PushOff => "push-off",
            HintReason::AlreadySent => "already-sent",
            HintReason::InClientDigest => "in-client-digest",
            HintReason::BudgetAssets => "budget-assets",
            HintReason::OverSafetyCap => "over-safety-cap",
            HintReason::OverExtraBudget => "over-extra-budget",
            HintReason::Refused => "refused",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HintReason::PushOff => "push off",
            HintReason::AlreadySent => "already sent on this connection",
            HintReason::InClientDigest => "client has this version (push digest)",
            HintReason::BudgetAssets => "over the asset budget",
            HintReason::OverSafetyCap => "over the safety cap",
            HintReason::OverExtraBudget => "over the extra budget",
            HintReason::Refused => "client refused the promise",
        }
    }
}

impl Action {
    pub fn is_push(self) -> bool {
        matches!(self, Action::Push(_))
    }

    /// "push" or "hint".
    pub fn verb(self) -> &'static str {
        if self.is_push() {
            "push"
        } else {
            "hint"
        }
    }

    /// The reason's stable code.
    pub fn code(self) -> &'static str {
        match self {
            Action::Push(reason) => reason.code(),
            Action::Hint(reason) => reason.code(),
        }
    }

    /// The reason in words.
    pub fn words(self) -> &'static str {
        match self {
            Action::Push(reason) => reason.as_str(),
            Action::Hint(reason) => reason.as_str(),
        }
    }

    pub fn describe(self) -> String {
        format!("{} ({})", self.verb(), self.words())
    }
}

/// Decides, in manifest order, which assets to push (see the module doc for the rule).
/// `may_push` is false when push is off for this response; `already_sent` says whether the
/// connection has already pushed or requested a path; `client_has` whether the client's push
/// digest holds the asset's current version. The page itself (whatever its query) counts as
/// already sent: `serve` and `scan` both plan through here, so they agree on a page that
/// links itself.
pub fn plan<'m>(
    manifest: &'m Manifest,
    config: &PushConfig,
    may_push: bool,
    already_sent: impl Fn(&str) -> bool,
    client_has: impl Fn(&Asset) -> bool,
) -> Vec<(&'m Asset, Action)> {
    let (mut count, mut critical_bytes, mut extra_bytes) = (0usize, 0u64, 0u64);
    manifest
        .assets
        .iter()
        .map(|asset| {
            let action = if !may_push || !config.push {
                Action::Hint(HintReason::PushOff)
            } else if asset.file_path == manifest.page || already_sent(&asset.path) {
                Action::Hint(HintReason::AlreadySent)
            } else if client_has(asset) {
                Action::Hint(HintReason::InClientDigest)
            } else if count >= config.max_assets {
                Action::Hint(HintReason::BudgetAssets)
            } else if asset.critical {
                if critical_bytes.saturating_add(asset.size) > config.max_bytes {
                    Action::Hint(HintReason::OverSafetyCap)
                } else {
                    critical_bytes += asset.size;
                    Action::Push(PushReason::Critical)
                }
            } else if extra_bytes.saturating_add(asset.size) > config.extra_bytes {
                Action::Hint(HintReason::OverExtraBudget)
            } else {
                extra_bytes += asset.size;
                Action::Push(PushReason::FitsExtra)
            };
            if action.is_push() {
                count += 1;
            }
            (asset, action)
        })
        .collect()
}

/// Whether an asset's `Link` on the page response carries `nopush`: when it is only hinted
/// while others are pushed, so a proxy or CDN that pushes preloads leaves it alone. `serve`
/// and `export` both mark links through here.
pub fn marks_nopush(any_pushed: bool, action: Action) -> bool {
    any_pushed && !action.is_push()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::manifest::Destination;

    fn asset(path: &str) -> Asset {
        sized(path, 10, true)
    }

    fn sized(path: &str, size: u64, critical: bool) -> Asset {
        Asset {
            path: path.into(),
            file_path: path.split('?').next().unwrap().into(),
            dest: Destination::Fetch,
            module: false,
            mime_type: None,
            crossorigin: None,
            found_in: "/page.html".into(),
            size,
            critical,
        }
    }

    fn config() -> PushConfig {
        crate::config::Config::new("/nonexistent".into()).push
    }

    fn actions<'m>(plan: &[(&'m Asset, Action)]) -> Vec<(&'m str, Action)> {
        plan.iter().map(|(a, x)| (a.path.as_str(), *x)).collect()
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
        let plan = plan(
            &manifest,
            &config(),
            true,
            |path| path == "/b.js",
            |_| false,
        );
        let sent = Action::Hint(HintReason::AlreadySent);
        assert_eq!(
            actions(&plan),
            [
                ("/page.html?v=2", sent),
                ("/a.js", Action::Push(PushReason::Critical)),
                ("/page.html", sent),
                ("/b.js", sent),
            ]
        );
    }

    /// A page like the reveal.js demo: a 900 KB script it needs is pushed whole under the
    /// default flags, while images only fill the extra budget and the rest is hinted.
    #[test]
    fn critical_assets_are_pushed_whole_and_the_rest_fills_the_extra_budget() {
        let config = config();
        assert_eq!(config.max_bytes, 8 * 1024 * 1024);
        assert_eq!(config.extra_bytes, 64 * 1024);
        let manifest = Manifest {
            page: "/page.html".into(),
            assets: vec![
                sized("/site.css", 200_000, true),
                sized("/highlight.js", 900_000, true),
                sized("/small.png", 40_000, false),
                sized("/big.jpg", 500_000, false),
                sized("/icon.png", 20_000, false),
                sized("/more.png", 10_000, false),
            ],
            ..Manifest::default()
        };
        let plan = plan(&manifest, &config, true, |_| false, |_| false);
        let critical = Action::Push(PushReason::Critical);
        let extra = Action::Push(PushReason::FitsExtra);
        let over = Action::Hint(HintReason::OverExtraBudget);
        assert_eq!(
            actions(&plan),
            [
                ("/site.css", critical),
                ("/highlight.js", critical),
                ("/small.png", extra),
                ("/big.jpg", over),
                ("/icon.png", extra),
                // 40 000 + 20 000 + 10 000 > 65 536.
                ("/more.png", over),
            ]
        );
    }

    #[test]
    fn the_safety_cap_hints_critical_assets_past_it() {
        let config = PushConfig {
            max_bytes: 1000,
            ..config()
        };
        let manifest = Manifest {
            page: "/page.html".into(),
            assets: vec![
                sized("/a.css", 600, true),
                sized("/b.js", 600, true),
                sized("/c.js", 400, true),
                sized("/d.png", 600, false),
            ],
            ..Manifest::default()
        };
        let plan = plan(&manifest, &config, true, |_| false, |_| false);
        let critical = Action::Push(PushReason::Critical);
        assert_eq!(
            actions(&plan),
            [
                ("/a.css", critical),
                ("/b.js", Action::Hint(HintReason::OverSafetyCap)),
                ("/c.js", critical),
                // The extra budget is its own: the cap does not eat it.
                ("/d.png", Action::Push(PushReason::FitsExtra)),
            ]
        );
    }

    #[test]
    fn assets_in_the_client_digest_are_hinted_and_push_off_wins() {
        let manifest = Manifest {
            page: "/page.html".into(),
            assets: ["/a.css", "/b.css"].map(asset).into(),
            ..Manifest::default()
        };
        let config = config();
        let has_a = |a: &Asset| a.path == "/a.css";
        let on = plan(&manifest, &config, true, |_| false, has_a);
        assert_eq!(
            actions(&on),
            [
                ("/a.css", Action::Hint(HintReason::InClientDigest)),
                ("/b.css", Action::Push(PushReason::Critical)),
            ]
        );
        let off = plan(&manifest, &config, false, |_| false, has_a);
        assert!(off
            .iter()
            .all(|(_, x)| *x == Action::Hint(HintReason::PushOff)));
    }

    #[test]
    fn the_asset_budget_counts_pushes_of_both_kinds() {
        let config = PushConfig {
            max_assets: 2,
            ..config()
        };
        let manifest = Manifest {
            page: "/page.html".into(),
            assets: vec![
                sized("/a.css", 10, true),
                sized("/b.png", 10, false),
                sized("/c.js", 10, true),
            ],
            ..Manifest::default()
        };
        let plan = plan(&manifest, &config, true, |_| false, |_| false);
        assert_eq!(plan[2].1, Action::Hint(HintReason::BudgetAssets));
    }

    #[test]
    fn codes_are_what_serde_calls_them() {
        for reason in HintReason::ALL {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.code());
        }
        for reason in PushReason::ALL {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.code());
        }
    }
}
