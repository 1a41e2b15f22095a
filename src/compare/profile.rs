//! Named network profiles for `compare --profile`, so a run can say "4G" instead of three flags.
//!
//! The numbers are WebPageTest's connectivity profiles (`www/settings/connectivity.ini.sample`
//! in WPO-Foundation/webpagetest, and the "4G" entry of its hosted instance): the RTT is the
//! round trip it adds, the rates are the shaped download/upload. Every profile turns TCP slow
//! start on, because a real link has it.

use std::time::Duration;

use super::proxy::{Shape, DEFAULT_INITCWND};

/// One named link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    pub rtt: Duration,
    /// Bits per second, server to client.
    pub down: u64,
    /// Bits per second, client to server.
    pub up: u64,
    /// Where the numbers come from.
    pub source: &'static str,
}

/// The profiles `--profile` knows.
pub const PROFILES: [Profile; 4] = [
    Profile {
        name: "3g",
        rtt: Duration::from_millis(300),
        down: 1_600_000,
        up: 768_000,
        source: "WebPageTest \"Mobile 3G\" (1.6 Mbps/768 Kbps 300ms RTT)",
    },
    Profile {
        name: "4g",
        rtt: Duration::from_millis(170),
        down: 9_000_000,
        up: 9_000_000,
        source: "WebPageTest \"4G\" (9 Mbps/9 Mbps 170ms RTT)",
    },
    Profile {
        name: "cable",
        rtt: Duration::from_millis(28),
        down: 5_000_000,
        up: 1_000_000,
        source: "WebPageTest \"Cable\" (5/1 Mbps 28ms RTT)",
    },
    Profile {
        name: "fiber",
        rtt: Duration::from_millis(4),
        down: 20_000_000,
        up: 5_000_000,
        source: "WebPageTest \"FIOS\" (20/5 Mbps 4ms RTT)",
    },
];

impl Profile {
    /// `--profile NAME`.
    pub fn parse(name: &str) -> Result<Profile, String> {
        let wanted = name.trim().to_ascii_lowercase();
        PROFILES
            .iter()
            .find(|p| p.name == wanted)
            .copied()
            .ok_or_else(|| {
                let names: Vec<_> = PROFILES.iter().map(|p| p.name).collect();
                format!("unknown profile `{name}` (known: {})", names.join(", "))
            })
    }

    /// The path this profile describes, slow start from `initcwnd` segments.
    pub fn shape(&self, initcwnd: u32) -> Shape {
        Shape {
            rtt: self.rtt,
            down: Some(self.down),
            up: Some(self.up),
            initcwnd: Some(initcwnd),
        }
    }
}

/// The path the flags ask for: a profile, overridden by `--rtt` and `--bandwidth` when given;
/// slow start on with a profile or `--slow-start`.
pub fn shape(
    profile: Option<Profile>,
    rtt: Option<Duration>,
    bandwidth: Option<u64>,
    slow_start: bool,
    initcwnd: Option<u32>,
) -> Shape {
    let initcwnd_or_default = initcwnd.unwrap_or(DEFAULT_INITCWND);
    let mut shape = match profile {
        Some(p) => p.shape(initcwnd_or_default),
        None => Shape::default(),
    };
    if let Some(rtt) = rtt {
        shape.rtt = rtt;
    }
    if let Some(bits) = bandwidth {
        shape.down = Some(bits);
        shape.up = Some(bits);
    }
    if slow_start || initcwnd.is_some() {
        shape.initcwnd = Some(initcwnd_or_default);
    }
    shape
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_by_name_and_say_which_exist() {
        assert_eq!(
            Profile::parse("4G").unwrap().rtt,
            Duration::from_millis(170)
        );
        let err = Profile::parse("5g").unwrap_err();
        assert!(err.contains("3g, 4g, cable, fiber"), "{err}");
    }

    #[test]
    fn flags_override_the_profile() {
        let cable = Profile::parse("cable").unwrap();
        let s = shape(
            Some(cable),
            Some(Duration::from_millis(100)),
            None,
            false,
            None,
        );
        assert_eq!(s.rtt, Duration::from_millis(100));
        assert_eq!((s.down, s.up), (Some(5_000_000), Some(1_000_000)));
        assert_eq!(s.initcwnd, Some(DEFAULT_INITCWND));
        let s = shape(Some(cable), None, Some(10_000_000), false, Some(4));
        assert_eq!(
            (s.down, s.up, s.initcwnd),
            (Some(10_000_000), Some(10_000_000), Some(4))
        );
    }

    #[test]
    fn without_a_profile_slow_start_is_asked_for() {
        let rtt = Some(Duration::from_millis(100));
        assert_eq!(shape(None, rtt, None, false, None).initcwnd, None);
        assert_eq!(shape(None, rtt, None, true, None).initcwnd, Some(10));
        assert_eq!(shape(None, rtt, None, false, Some(32)).initcwnd, Some(32));
    }
}
