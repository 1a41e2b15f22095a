//! The Chromium driver (cargo feature `chromium`): launches headless Chromium over the DevTools
//! protocol (chromiumoxide), loads the page through the proxy, and reads its timings back.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueResponseParams, EnableParams, EventRequestPaused, HeaderEntry, RequestPattern,
    RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::ResourceType;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use futures_util::StreamExt;
use indicatif::ProgressBar;
use url::Url;

use super::{
    chromium_args, on_path, BrowserRun, BrowserSummary, TrustedHome, BROWSER_RUN_TIMEOUT,
    CHROMIUM_NAMES, NONE_CAVEAT, PAINT_WAIT,
};
use crate::compare::load::{Mode, View};

/// Waits for `load` (and briefly for the paints), then returns what [`BrowserRun`] holds.
const TIMING_SCRIPT: &str = r#"(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const nav = () => performance.getEntriesByType('navigation')[0];
  while (!nav() || nav().loadEventEnd === 0) await sleep(10);
  const fcp = () => performance.getEntriesByType('paint').find(p => p.name === 'first-contentful-paint');
  for (let waited = 0; !fcp() && waited < PAINT_WAIT_MS; waited += 10) await sleep(10);
  const lcp = await new Promise(resolve => {
    let last = null;
    new PerformanceObserver(list => { const e = list.getEntries(); last = e[e.length - 1]; })
      .observe({ type: 'largest-contentful-paint', buffered: true });
    setTimeout(() => resolve(last ? last.startTime : null), 50);
  });
  const n = nav(), f = fcp();
  const path = name => { const u = new URL(name); return u.pathname + u.search; };
  return {
    connect_end_ms: n.connectEnd, response_start_ms: n.responseStart,
    dom_content_loaded_ms: n.domContentLoadedEventEnd, load_ms: n.loadEventEnd,
    fcp_ms: f ? f.startTime : null, lcp_ms: lcp, protocol: n.nextHopProtocol,
    resources: performance.getEntriesByType('resource').map(r => ({
      path: path(r.name), initiator_type: r.initiatorType, start_ms: r.startTime,
      response_start_ms: r.responseStart, end_ms: r.responseEnd, transfer_size: r.transferSize,
    })),
  };
})()"#;

/// Where and how the browser loads the page.
pub struct BrowserTarget {
    pub chromium: PathBuf,
    pub url: Url,
    /// The proxy (or server) the page's host:port is mapped to.
    pub connect_to: std::net::SocketAddr,
    pub home: TrustedHome,
}

impl BrowserTarget {
    /// Finds Chromium and certutil and trusts `ca`; errors say what to install.
    pub fn new(
        url: &Url,
        connect_to: std::net::SocketAddr,
        ca: Option<&Path>,
    ) -> Result<BrowserTarget> {
        let chromium = CHROMIUM_NAMES
            .iter()
            .find_map(|n| on_path(n))
            .ok_or_else(|| {
                anyhow!("--browser chromium: no chromium on PATH (apt-get install chromium)")
            })?;
        let certutil = on_path("certutil").ok_or_else(|| {
            anyhow!(
                "--browser chromium needs certutil to trust the CA (apt-get install libnss3-tools)"
            )
        })?;
        let Some(ca) = ca else {
            bail!("--browser chromium needs the server's CA (--ca): Chromium ignores 103 Early Hints over a certificate it does not trust");
        };
        if url.scheme() != "https" {
            bail!("--browser chromium loads https:// URLs (browsers speak HTTP/2 only over TLS)");
        }
        let home = TrustedHome::new(&certutil, ca)?;
        Ok(BrowserTarget {
            chromium,
            url: url.clone(),
            connect_to,
            home,
        })
    }

    /// `--host-resolver-rules`: the page's host:port goes to the proxy.
    fn resolver_rule(&self) -> String {
        let host = self.url.host_str().unwrap_or("localhost");
        let port = self.url.port_or_known_default().unwrap_or(443);
        format!("MAP {host}:{port} {}", self.connect_to)
    }

    /// Launches Chromium on `profile`, loads the page once in `mode`, and closes it (so the
    /// profile's cache is on disk for a repeat view).
    pub async fn load(&self, profile: &Path, mode: Mode) -> Result<BrowserRun> {
        tokio::time::timeout(BROWSER_RUN_TIMEOUT, self.load_inner(profile, mode))
            .await
            .map_err(|_| {
                anyhow!(
                    "Chromium did not load {} within {BROWSER_RUN_TIMEOUT:?}",
                    self.url
                )
            })?
    }

    async fn load_inner(&self, profile: &Path, mode: Mode) -> Result<BrowserRun> {
        let mut args = chromium_args();
        args.push(format!("--host-resolver-rules={}", self.resolver_rule()));
        let config = BrowserConfig::builder()
            .chrome_executable(&self.chromium)
            .disable_default_args()
            .respect_https_errors()
            .user_data_dir(profile)
            .env("HOME", self.home.path().to_string_lossy())
            .args(args)
            .build()
            .map_err(|e| anyhow!("Chromium configuration: {e}"))?;
        let (mut browser, mut handler) = Browser::launch(config)
            .await
            .with_context(|| format!("launching {}", self.chromium.display()))?;
        let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let run = self.navigate(&browser, mode).await;
        let _ = browser.close().await;
        let _ = browser.wait().await;
        events.abort();
        run
    }

    async fn navigate(&self, browser: &Browser, mode: Mode) -> Result<BrowserRun> {
        let page = browser.new_page("about:blank").await?;
        if mode == Mode::None {
            strip_link(&page).await?;
        }
        page.goto(self.url.as_str())
            .await
            .with_context(|| format!("Chromium loading {}", self.url))?;
        let script = TIMING_SCRIPT.replace("PAINT_WAIT_MS", &PAINT_WAIT.as_millis().to_string());
        let params = EvaluateParams::builder()
            .expression(script)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .map_err(|e| anyhow!("{e}"))?;
        let run: BrowserRun = page
            .evaluate_expression(params)
            .await?
            .into_value()
            .context("reading the timings from Chromium")?;
        if run.protocol != "h2" {
            bail!(
                "Chromium loaded {} over {:?}, not HTTP/2",
                self.url,
                run.protocol
            );
        }
        Ok(run)
    }
}

/// Mode `none` for Chromium, as far as it goes: the page's response is held (`Fetch`,
/// response stage) to strip its `Link` header. Chromium 156 still acts on a 103: it has no
/// switch for it (the `EarlyHintsPreloadForNavigation` feature is gone), `Fetch` does not see
/// the 103's preloads (failing requests before the page's response did not stop them: the
/// server's access log shows every hinted asset requested one round trip after the page), and
/// `Network.setBlockedURLs` while the navigation is under way got no answer through
/// chromiumoxide. [`NONE_CAVEAT`] says so in the report.
async fn strip_link(page: &chromiumoxide::Page) -> Result<()> {
    let mut paused = page.event_listener::<EventRequestPaused>().await?;
    page.execute(EnableParams {
        patterns: Some(vec![RequestPattern {
            url_pattern: Some("*".into()),
            resource_type: Some(ResourceType::Document),
            request_stage: Some(RequestStage::Response),
        }]),
        handle_auth_requests: None,
    })
    .await?;
    let page = page.clone();
    tokio::spawn(async move {
        while let Some(event) = paused.next().await {
            let headers: Vec<HeaderEntry> = event
                .response_headers
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter(|h| !h.name.eq_ignore_ascii_case("link"))
                .collect();
            let mut params = ContinueResponseParams::new(event.request_id.clone());
            // Chromium takes new headers only with the status beside them.
            params.response_code = event.response_status_code;
            params.response_headers = Some(headers);
            if let Err(e) = page.execute(params).await {
                tracing::warn!(cause = %e, "Chromium: page response not released");
            }
        }
    });
    Ok(())
}

/// Runs Chromium `runs` times per mode (hints, none; push skipped), modes interleaved, each run
/// a fresh profile: first view, then the repeat view on the same profile when asked.
pub async fn measure(
    target: &BrowserTarget,
    modes: &[Mode],
    views: &[View],
    runs: usize,
    progress: &ProgressBar,
    warnings: &mut Vec<String>,
) -> Result<Vec<BrowserSummary>> {
    if modes.contains(&Mode::Push) {
        warnings.push(
            "Chromium refuses HTTP/2 push (since version 106): its push mode is skipped".into(),
        );
    }
    if modes.contains(&Mode::None) {
        warnings.push(NONE_CAVEAT.into());
    }
    let modes: Vec<Mode> = modes.iter().copied().filter(|&m| m != Mode::Push).collect();
    let rows: Vec<(View, Mode)> = [View::First, View::Repeat]
        .into_iter()
        .filter(|v| views.contains(v))
        .flat_map(|v| modes.iter().map(move |&m| (v, m)))
        .collect();
    let mut outcomes: Vec<Vec<BrowserRun>> = vec![Vec::new(); rows.len()];
    // Untimed: Chromium's own first start (fonts, caches) is not charged to the first mode.
    if let Some(&mode) = modes.first() {
        progress.set_message("Chromium: warming up");
        let profile = tempfile::TempDir::new()?;
        target.load(profile.path(), mode).await?;
    }
    for run in 0..runs {
        for &mode in &modes {
            progress.set_message(format!("Chromium run {} of {runs}: {mode}", run + 1));
            let profile = tempfile::TempDir::new()?;
            let first = target
                .load(profile.path(), mode)
                .await
                .with_context(|| format!("Chromium run {} ({mode})", run + 1))?;
            if let Some(i) = rows.iter().position(|&r| r == (View::First, mode)) {
                outcomes[i].push(first);
            }
            if let Some(i) = rows.iter().position(|&r| r == (View::Repeat, mode)) {
                let repeat = target
                    .load(profile.path(), mode)
                    .await
                    .with_context(|| format!("Chromium run {} ({mode}, repeat view)", run + 1))?;
                outcomes[i].push(repeat);
            }
        }
    }
    Ok(rows
        .iter()
        .zip(&outcomes)
        .filter_map(|(&(view, mode), runs)| BrowserSummary::of(mode, view, runs))
        .collect())
}
