//! Validators, conditional requests and byte ranges (RFC 9110 §8.8, §13, §14), as pure
//! functions over header values so each rule is unit-tested on its own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::HeaderMap;

/// The validators of one version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// Strong entity tag, quoted: `"<mtime secs>.<nanos>-<size>"` in hex.
    pub etag: String,
    /// Modification time truncated to whole seconds, as HTTP dates carry.
    pub modified: SystemTime,
    /// Modification time as the file system gives it: a precompressed sidecar must be at least
    /// this new to be served.
    pub modified_exact: SystemTime,
}

impl Validators {
    pub fn new(modified: SystemTime, len: u64) -> Self {
        let since = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
        Validators {
            etag: format!(
                "\"{:x}.{:x}-{:x}\"",
                since.as_secs(),
                since.subsec_nanos(),
                len
            ),
            modified: UNIX_EPOCH + Duration::from_secs(since.as_secs()),
            modified_exact: modified,
        }
    }

    pub fn last_modified(&self) -> String {
        httpdate::fmt_http_date(self.modified)
    }
}

/// What the conditional headers of a GET or HEAD decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve the representation (possibly a range of it).
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the order
/// RFC 9110 §13.2.2 gives.
pub fn evaluate_preconditions(headers: &HeaderMap, v: &Validators) -> Precondition {
    if let Some(if_match) = header_str(headers, IF_MATCH) {
        if !etag_list_matches(if_match, &v.etag, true) {
            return Precondition::Failed;
        }
    } else if let Some(date) = header_date(headers, IF_UNMODIFIED_SINCE) {
        if v.modified > date {
            return Precondition::Failed;
        }
    }
    if let Some(if_none_match) = header_str(headers, IF_NONE_MATCH) {
        if etag_list_matches(if_none_match, &v.etag, false) {
            return Precondition::NotModified;
        }
    } else if let Some(date) = header_date(headers, IF_MODIFIED_SINCE) {
        if v.modified <= date {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// The part of a file a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// The whole file (no Range, an ignored Range, or several ranges).
    Full,
    /// Bytes `start..=end` of the file.
    Partial { start: u64, end: u64 },
    /// A Range none of whose bytes exist: 416 with `bytes */len`.
    Unsatisfiable,
}

/// Decides the Range of a GET, honouring If-Range with a strong comparison. Syntax we do not
/// understand, other units and multiple ranges all fall back to the full body (a 200), as
/// RFC 9110 §14.2 allows.
pub fn evaluate_range(headers: &HeaderMap, v: &Validators, len: u64) -> RangeRequest {
    let Some(range) = header_str(headers, RANGE) else {
        return RangeRequest::Full;
    };
    if let Some(if_range) = header_str(headers, IF_RANGE) {
        let current = if if_range.starts_with('"') || if_range.starts_with("W/") {
            if_range == v.etag
        } else {
            // A date validates only when it equals Last-Modified exactly.
            httpdate::parse_http_date(if_range).is_ok_and(|d| d == v.modified)
        };
        if !current {
            return RangeRequest::Full;
        }
    }
    parse_range(range, len)
}

/// Parses a `bytes=` Range value against a file of `len` bytes. The unit is compared
/// case-insensitively (RFC 9110 §14.1: `BYTES=0-1` is a byte range too).
pub fn parse_range(value: &str, len: u64) -> RangeRequest {
    let Some((unit, spec)) = value.trim().split_once('=') else {
        return RangeRequest::Full;
    };
    if !unit.eq_ignore_ascii_case("bytes") {
        return RangeRequest::Full;
    }
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parse = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match parse(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Partial {
                start: len.saturating_sub(n),
                end: len - 1,
            },
            None => RangeRequest::Full,
        },
        // bytes=N-: from N to the end.
        (false, true) => match parse(first) {
            Some(start) if start < len => RangeRequest::Partial {
                start,
                end: len - 1,
            },
            Some(_) => RangeRequest::Unsatisfiable,
            None => RangeRequest::Full,
        },
        (false, false) => match (parse(first), parse(last)) {
            (Some(start), Some(end)) if start <= end => {
                if start < len {
                    RangeRequest::Partial {
                        start,
                        end: end.min(len - 1),
                    }
                } else {
                    RangeRequest::Unsatisfiable
                }
            }
            _ => RangeRequest::Full,
        },
        (true, true) => RangeRequest::Full,
    }
}

/// Whether a comma-separated entity-tag list (or `*`) matches `etag`. Strong comparison needs
/// both tags strong; weak comparison ignores the `W/` prefix.
fn etag_list_matches(list: &str, etag: &str, strong: bool) -> bool {
    if list.trim() == "*" {
        return true;
    }
    list.split(',').map(str::trim).any(|candidate| {
        if strong {
            candidate == etag
        } else {
            candidate.strip_prefix("W/").unwrap_or(candidate) == etag
        }
    })
}

fn header_str(headers: &HeaderMap, name: http::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_date(headers: &HeaderMap, name: http::HeaderName) -> Option<SystemTime> {
    header_str(headers, name).and_then(|s| httpdate::parse_http_date(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn validators() -> Validators {
        Validators::new(UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789), 1000)
    }

    fn headers(pairs: &[(http::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn etag_covers_nanoseconds_and_size() {
        let v = validators();
        assert_eq!(v.etag, "\"6553f100.75bcd15-3e8\"");
        let other_nanos = Validators::new(UNIX_EPOCH + Duration::new(1_700_000_000, 1), 1000);
        assert_ne!(v.etag, other_nanos.etag);
        assert_eq!(v.modified, other_nanos.modified, "dates are whole seconds");
        assert_eq!(v.last_modified(), "Tue, 14 Nov 2023 22:13:20 GMT");
    }

    #[test]
    fn preconditions_follow_rfc_9110_order() {
        let v = validators();
        let lm = v.last_modified();
        let etag = v.etag.clone();
        let weak = format!("W/{etag}");
        let list = format!("\"x\", {etag}");
        let cases: Vec<(Vec<(http::HeaderName, &str)>, Precondition)> = vec![
            (vec![], Precondition::Proceed),
            (vec![(IF_NONE_MATCH, &etag)], Precondition::NotModified),
            (vec![(IF_NONE_MATCH, &weak)], Precondition::NotModified),
            (vec![(IF_NONE_MATCH, &list)], Precondition::NotModified),
            (vec![(IF_NONE_MATCH, "*")], Precondition::NotModified),
            (vec![(IF_NONE_MATCH, "\"other\"")], Precondition::Proceed),
            (vec![(IF_MODIFIED_SINCE, &lm)], Precondition::NotModified),
            (
                vec![(IF_MODIFIED_SINCE, "Mon, 13 Nov 2023 00:00:00 GMT")],
                Precondition::Proceed,
            ),
            // If-None-Match wins over If-Modified-Since.
            (
                vec![(IF_NONE_MATCH, "\"other\""), (IF_MODIFIED_SINCE, &lm)],
                Precondition::Proceed,
            ),
            (vec![(IF_MATCH, &etag)], Precondition::Proceed),
            (vec![(IF_MATCH, "*")], Precondition::Proceed),
            (vec![(IF_MATCH, "\"other\"")], Precondition::Failed),
            // If-Match is strong: a weak tag never matches.
            (vec![(IF_MATCH, &weak)], Precondition::Failed),
            (
                vec![(IF_UNMODIFIED_SINCE, "Mon, 13 Nov 2023 00:00:00 GMT")],
                Precondition::Failed,
            ),
            (vec![(IF_UNMODIFIED_SINCE, &lm)], Precondition::Proceed),
            // If-Match wins over If-Unmodified-Since.
            (
                vec![
                    (IF_MATCH, &etag),
                    (IF_UNMODIFIED_SINCE, "Mon, 13 Nov 2023 00:00:00 GMT"),
                ],
                Precondition::Proceed,
            ),
            // An unparseable date is ignored.
            (
                vec![(IF_MODIFIED_SINCE, "yesterday")],
                Precondition::Proceed,
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(
                evaluate_preconditions(&headers(&pairs), &v),
                expected,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn single_ranges() {
        use RangeRequest::*;
        let cases = [
            ("bytes=0-99", 1000, Partial { start: 0, end: 99 }),
            ("BYTES=0-1", 1000, Partial { start: 0, end: 1 }),
            (
                "Bytes=-1",
                1000,
                Partial {
                    start: 999,
                    end: 999,
                },
            ),
            ("items=0-1", 1000, Full),
            (
                "bytes=900-",
                1000,
                Partial {
                    start: 900,
                    end: 999,
                },
            ),
            (
                "bytes=-100",
                1000,
                Partial {
                    start: 900,
                    end: 999,
                },
            ),
            ("bytes=-5000", 1000, Partial { start: 0, end: 999 }),
            (
                "bytes=990-5000",
                1000,
                Partial {
                    start: 990,
                    end: 999,
                },
            ),
            (
                "bytes=999-999",
                1000,
                Partial {
                    start: 999,
                    end: 999,
                },
            ),
            ("bytes=1000-", 1000, Unsatisfiable),
            ("bytes=1000-1001", 1000, Unsatisfiable),
            ("bytes=-0", 1000, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-1", 0, Unsatisfiable),
            ("bytes=0-1,5-6", 1000, Full),
            ("bytes=5-1", 1000, Full),
            ("bytes=a-b", 1000, Full),
            ("bytes=+1-2", 1000, Full),
            ("bytes=-", 1000, Full),
            ("items=0-1", 1000, Full),
            ("bytes 0-1", 1000, Full),
        ];
        for (value, len, expected) in cases {
            assert_eq!(parse_range(value, len), expected, "{value} of {len}");
        }
    }

    #[test]
    fn if_range_uses_strong_comparison() {
        let v = validators();
        let lm = v.last_modified();
        let range = (RANGE, "bytes=0-9");
        let partial = RangeRequest::Partial { start: 0, end: 9 };
        let etag = v.etag.clone();
        let weak = format!("W/{etag}");
        assert_eq!(
            evaluate_range(&headers(std::slice::from_ref(&range)), &v, 1000),
            partial
        );
        assert_eq!(
            evaluate_range(&headers(&[range.clone(), (IF_RANGE, &etag)]), &v, 1000),
            partial
        );
        assert_eq!(
            evaluate_range(&headers(&[range.clone(), (IF_RANGE, &weak)]), &v, 1000),
            RangeRequest::Full
        );
        assert_eq!(
            evaluate_range(&headers(&[range.clone(), (IF_RANGE, "\"old\"")]), &v, 1000),
            RangeRequest::Full
        );
        assert_eq!(
            evaluate_range(&headers(&[range.clone(), (IF_RANGE, &lm)]), &v, 1000),
            partial
        );
        assert_eq!(
            evaluate_range(
                &headers(&[range, (IF_RANGE, "Mon, 13 Nov 2023 00:00:00 GMT")]),
                &v,
                1000
            ),
            RangeRequest::Full
        );
    }
}
