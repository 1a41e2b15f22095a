//! What the runs add up to: a summary per mode and view, the ratios between modes and the
//! warnings (this file), and the ways of showing them: the terminal table, text waterfall and
//! trace ([`text`]), one self-contained HTML file with an SVG waterfall per mode ([`html`]),
//! the browser's rows in both ([`browser`]); JSON is the `Serialize` of [`Report`].

use serde::Serialize;

use super::browser::BrowserSummary;
use super::load::{Mode, RunOutcome, View};
pub use super::stats::{median_index, round_trips, stats, Stats};

mod browser;
mod html;
mod text;
pub use html::{escape, html, svg_waterfall};
pub use text::{table, trace, waterfall, WATERFALL_COLUMNS};

/// One mode over all its runs.
#[derive(Debug, Clone, Serialize)]
pub struct ModeSummary {
    pub mode: Mode,
    pub view: View,
    pub runs: usize,
    pub load_ms: Stats,
    pub ttfb_ms: Stats,
    pub connect_ms: Stats,
    /// Medians over the runs.
    pub body_bytes: f64,
    pub wire_bytes: f64,
    pub requests: f64,
    pub promises: f64,
    pub pushes_used: f64,
    pub pushes_wasted: f64,
    pub hints_unused: f64,
    pub from_cache: f64,
    pub not_modified: f64,
    pub pushed_bytes: f64,
    /// Median load time / RTT: round trips on the critical path.
    pub round_trips: Option<f64>,
    /// The run whose load time is the median, with its resources and trace.
    pub median_run: RunOutcome,
}

impl ModeSummary {
    /// Summarises the runs of one mode (`None` without runs).
    pub fn new(mode: Mode, runs: &[RunOutcome], rtt_ms: f64) -> Option<ModeSummary> {
        Self::of_view(mode, View::First, runs, rtt_ms)
    }

    /// Summarises the runs of one mode in one view (`None` without runs).
    pub fn of_view(
        mode: Mode,
        view: View,
        runs: &[RunOutcome],
        rtt_ms: f64,
    ) -> Option<ModeSummary> {
        let of = |f: &dyn Fn(&RunOutcome) -> f64| runs.iter().map(f).collect::<Vec<_>>();
        let median = |f: &dyn Fn(&RunOutcome) -> f64| stats(&of(f)).map_or(0.0, |s| s.median);
        let load = of(&|r| r.load_ms);
        let load_ms = stats(&load)?;
        Some(ModeSummary {
            mode,
            view,
            runs: runs.len(),
            load_ms,
            ttfb_ms: stats(&of(&|r| r.ttfb_ms))?,
            connect_ms: stats(&of(&|r| r.connect_ms))?,
            body_bytes: median(&|r| r.body_bytes as f64),
            wire_bytes: median(&|r| r.wire_bytes as f64),
            requests: median(&|r| r.requests as f64),
            promises: median(&|r| r.promises as f64),
            pushes_used: median(&|r| r.pushes_used as f64),
            pushes_wasted: median(&|r| r.pushes_wasted as f64),
            hints_unused: median(&|r| r.hints_unused as f64),
            from_cache: median(&|r| r.from_cache as f64),
            not_modified: median(&|r| r.not_modified as f64),
            pushed_bytes: median(&|r| r.pushed_bytes as f64),
            round_trips: round_trips(load_ms.median, rtt_ms),
            median_run: runs[median_index(&load)?].clone(),
        })
    }
}

/// How much longer a mode takes than the baseline (push when measured, else the first mode).
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub mode: Mode,
    pub baseline: Mode,
    pub view: View,
    /// Median load time of `mode` / median load time of `baseline`.
    pub ratio: f64,
    /// The difference in round trips (`None` without an emulated RTT).
    pub extra_round_trips: Option<f64>,
}

/// Everything `compare` measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub url: String,
    pub rtt_ms: f64,
    /// Server→client bits per second.
    pub bandwidth_bits_per_second: Option<u64>,
    /// The emulated link in words: RTT, rates, slow start.
    pub network: String,
    /// When the report was made (HTTP date).
    pub date: String,
    /// The `server` header of the page, from the first mode's median run.
    pub server: Option<String>,
    /// h2push's version.
    pub version: &'static str,
    /// Modes the server gave nothing to act on (no push, no hints).
    pub warnings: Vec<String>,
    pub runs: usize,
    pub modes: Vec<ModeSummary>,
    pub ratios: Vec<Ratio>,
    /// `--browser`: the browser's rows (empty without it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub browser: Vec<BrowserSummary>,
}

impl Report {
    pub fn new(
        url: String,
        rtt_ms: f64,
        bandwidth: Option<u64>,
        runs: usize,
        modes: Vec<ModeSummary>,
    ) -> Report {
        let ratios = ratios(&modes, rtt_ms);
        Report {
            url,
            rtt_ms,
            bandwidth_bits_per_second: bandwidth,
            network: format!("RTT {rtt_ms} ms"),
            date: httpdate::fmt_http_date(std::time::SystemTime::now()),
            server: modes.iter().find_map(|m| m.median_run.server.clone()),
            version: env!("CARGO_PKG_VERSION"),
            warnings: warnings(&modes),
            runs,
            modes,
            ratios,
            browser: Vec::new(),
        }
    }

    pub fn mode(&self, mode: Mode) -> Option<&ModeSummary> {
        self.modes.iter().find(|m| m.mode == mode)
    }
}

/// A mode that measured nothing of what it is named for: its runs got no PUSH_PROMISE (push,
/// by the median), or its median run saw no 103 and no `Link` on the page (hints). Its
/// figures are then the `none` figures.
pub fn warnings(modes: &[ModeSummary]) -> Vec<String> {
    let mut out = Vec::new();
    // A repeat view may rightly get nothing: its page can be a 304, and what the client has
    // cached is not pushed or hinted again.
    for m in modes.iter().filter(|m| m.view == View::First) {
        let run = &m.median_run;
        match m.mode {
            Mode::Push if m.promises == 0.0 => {
                out.push("this server pushed nothing (no PUSH_PROMISE): push = none".to_string())
            }
            Mode::Hints if run.page_links == 0 && run.informational == 0 => out.push(
                "this server sent no hints (no 103, no Link on the page): hints = none".to_string(),
            ),
            _ => {}
        }
    }
    out
}

impl ModeSummary {
    /// `push`, or `push/repeat` for a repeat view.
    pub fn label(&self) -> String {
        match self.view {
            View::First => self.mode.as_str().to_string(),
            View::Repeat => format!("{}/repeat", self.mode),
        }
    }
}

/// Each mode against push (or against the first mode when push was not measured), within
/// each view.
pub fn ratios(modes: &[ModeSummary], rtt_ms: f64) -> Vec<Ratio> {
    let mut out = Vec::new();
    for view in [View::First, View::Repeat] {
        let of_view: Vec<&ModeSummary> = modes.iter().filter(|m| m.view == view).collect();
        let Some(base) = of_view
            .iter()
            .find(|m| m.mode == Mode::Push)
            .or(of_view.first())
        else {
            continue;
        };
        out.extend(
            of_view
                .iter()
                .filter(|m| m.mode != base.mode && base.load_ms.median > 0.0)
                .map(|m| Ratio {
                    mode: m.mode,
                    baseline: base.mode,
                    view,
                    ratio: m.load_ms.median / base.load_ms.median,
                    extra_round_trips: round_trips(m.load_ms.median - base.load_ms.median, rtt_ms),
                }),
        );
    }
    out
}

/// The report as `--json` prints it: every time (a field named `*_ms`, and the min/median/max
/// inside one) rounded to 0.1 ms, finer digits being clock noise.
pub fn json(report: &Report) -> serde_json::Result<String> {
    let mut value = serde_json::to_value(report)?;
    round_ms(&mut value, false);
    serde_json::to_string_pretty(&value)
}

fn round_ms(value: &mut serde_json::Value, is_ms: bool) {
    match value {
        serde_json::Value::Number(n) if is_ms => {
            if let Some(rounded) = n
                .as_f64()
                .and_then(|ms| serde_json::Number::from_f64((ms * 10.0).round() / 10.0))
            {
                *n = rounded;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| round_ms(v, is_ms)),
        serde_json::Value::Object(fields) => {
            for (key, v) in fields.iter_mut() {
                round_ms(v, is_ms || key.ends_with("_ms"));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::load::Resource;

    fn run(mode: Mode, load_ms: f64) -> RunOutcome {
        RunOutcome {
            mode,
            connect_ms: 1.0,
            ttfb_ms: load_ms / 2.0,
            load_ms,
            body_bytes: 2048,
            wire_bytes: 4096,
            requests: 1,
            promises: 3,
            pushes_used: 2,
            pushes_wasted: 1,
            hints_unused: 0,
            from_cache: 0,
            not_modified: 0,
            pushed_bytes: 0,
            informational: 1,
            page_links: 3,
            server: Some("h2push".into()),
            resources: Vec::new(),
            trace: Vec::new(),
        }
    }

    #[test]
    fn modes_that_got_nothing_to_act_on_are_named() {
        let mut silent = run(Mode::Hints, 100.0);
        silent.page_links = 0;
        silent.informational = 0;
        let mut no_push = run(Mode::Push, 100.0);
        no_push.promises = 0;
        let modes = [
            ModeSummary::new(Mode::Push, &[no_push], 100.0).unwrap(),
            ModeSummary::new(Mode::Hints, &[silent], 100.0).unwrap(),
            ModeSummary::new(Mode::None, &[run(Mode::None, 100.0)], 100.0).unwrap(),
        ];
        let warnings = warnings(&modes);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("push = none"), "{warnings:?}");
        assert!(warnings[1].contains("hints = none"), "{warnings:?}");
        let modes = [ModeSummary::new(Mode::Hints, &[run(Mode::Hints, 9.0)], 1.0).unwrap()];
        assert!(self::warnings(&modes).is_empty());
        let mut repeat = run(Mode::Push, 100.0);
        repeat.promises = 0;
        let modes = [ModeSummary::of_view(Mode::Push, View::Repeat, &[repeat], 100.0).unwrap()];
        assert!(
            self::warnings(&modes).is_empty(),
            "a repeat view may push nothing"
        );
    }

    #[test]
    fn summaries_and_ratios_against_push() {
        let push = ModeSummary::new(
            Mode::Push,
            &[
                run(Mode::Push, 110.0),
                run(Mode::Push, 100.0),
                run(Mode::Push, 130.0),
            ],
            100.0,
        )
        .unwrap();
        assert_eq!(push.load_ms.median, 110.0);
        assert_eq!(push.median_run.load_ms, 110.0);
        assert_eq!(push.round_trips, Some(1.1));
        assert_eq!(push.ttfb_ms.median, 55.0);
        let none = ModeSummary::new(Mode::None, &[run(Mode::None, 440.0)], 100.0).unwrap();
        let report = Report::new("https://x/".into(), 100.0, None, 3, vec![none, push]);
        assert_eq!(report.ratios.len(), 1);
        let r = &report.ratios[0];
        assert_eq!((r.mode, r.baseline), (Mode::None, Mode::Push));
        assert!((r.ratio - 4.0).abs() < 1e-9);
        assert!((r.extra_round_trips.unwrap() - 3.3).abs() < 1e-9);
        let table = table(&report);
        assert!(table.contains("none / push = 4.00× (+3.3 RTT)"), "{table}");
        assert!(ModeSummary::new(Mode::Hints, &[], 0.0).is_none());
    }

    #[test]
    fn html_report_escapes_what_the_server_sent() {
        let mut r = run(Mode::Push, 100.0);
        r.resources
            .push(Resource::for_test("/<script>alert(1)</script>"));
        let summary = ModeSummary::new(Mode::Push, &[r], 50.0).unwrap();
        let report = Report::new("https://x/?a=<b>".into(), 50.0, None, 1, vec![summary]);
        let page = html(&report);
        assert!(!page.contains("<script>"), "unescaped path");
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("<svg"));
        assert!(waterfall(&report.modes[0]).contains("/<script>"));
    }

    #[test]
    fn json_times_are_rounded_to_a_tenth_of_a_millisecond() {
        let mut value = serde_json::json!({
            "load_ms": {"median": 121.4523, "min": 118.8049, "max": 124.0},
            "trace": [{"at_ms": 0.04999, "what": "x"}],
            "ratio": 1.23456,
            "bytes": 7
        });
        round_ms(&mut value, false);
        assert_eq!(
            value,
            serde_json::json!({
                "load_ms": {"median": 121.5, "min": 118.8, "max": 124.0},
                "trace": [{"at_ms": 0.0, "what": "x"}],
                "ratio": 1.23456,
                "bytes": 7
            })
        );
    }
}
