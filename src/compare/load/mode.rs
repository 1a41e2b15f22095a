//! The modes and views `compare` measures: what the client does with push and hints, and
//! whether it starts with an empty cache; `--modes` and `--views` parse into them.

use std::fmt;

use serde::Serialize;

/// How the client treats push and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// SETTINGS_ENABLE_PUSH=1; a promised path is not requested.
    Push,
    /// Push off; requests 103 and `Link` preloads as soon as they arrive.
    Hints,
    /// Push off, hints ignored: what the documents say, nothing else.
    None,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Push => "push",
            Mode::Hints => "hints",
            Mode::None => "none",
        }
    }

    /// Parses `push,hints,none` (any subset, in the order given, no repeats).
    pub fn parse_list(s: &str) -> Result<Vec<Mode>, String> {
        let mut modes = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let mode = match name {
                "push" => Mode::Push,
                "hints" => Mode::Hints,
                "none" => Mode::None,
                _ => return Err(format!("unknown mode `{name}` (use push, hints, none)")),
            };
            if modes.contains(&mode) {
                return Err(format!("mode `{name}` given twice"));
            }
            modes.push(mode);
        }
        if modes.is_empty() {
            return Err("no modes given (use push, hints, none)".into());
        }
        Ok(modes)
    }
}

/// Which visit a load is: a first view starts with an empty cache and no cookies; a repeat
/// view (on a new connection) has what the first view's client kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    First,
    Repeat,
}

impl View {
    pub fn as_str(self) -> &'static str {
        match self {
            View::First => "first",
            View::Repeat => "repeat",
        }
    }
}

/// `--views`: first, repeat, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewList(pub Vec<View>);

impl ViewList {
    pub fn parse(s: &str) -> Result<ViewList, String> {
        let mut views = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let view = match name {
                "first" => View::First,
                "repeat" => View::Repeat,
                _ => return Err(format!("unknown view `{name}` (use first, repeat)")),
            };
            if !views.contains(&view) {
                views.push(view);
            }
        }
        if views.is_empty() {
            return Err("no views given (use first, repeat)".into());
        }
        Ok(ViewList(views))
    }
}

/// `--modes`: the modes to compare, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeList(pub Vec<Mode>);

impl ModeList {
    pub fn parse(s: &str) -> Result<ModeList, String> {
        Mode::parse_list(s).map(ModeList)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_in_order() {
        assert_eq!(
            Mode::parse_list("none,push").unwrap(),
            vec![Mode::None, Mode::Push]
        );
        assert!(Mode::parse_list("push,push").is_err());
        assert!(Mode::parse_list("pull").is_err());
        assert!(Mode::parse_list("").is_err());
    }
}
