//! `Link` header field values (RFC 8288) as a client reads them from a 103 or a response: just
//! enough to find `rel=preload` and `rel=modulepreload` targets and their `as`.

/// One link: `<target>; rel=...; as=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkValue {
    pub target: String,
    /// Relation types, lowercased.
    pub rels: Vec<String>,
    /// The `as` parameter, lowercased.
    pub as_value: Option<String>,
}

impl LinkValue {
    /// A preload a browser acts on: `rel=preload` or `rel=modulepreload`, not `nopush`-only.
    pub fn is_preload(&self) -> bool {
        self.rels
            .iter()
            .any(|r| r == "preload" || r == "modulepreload")
    }
}

/// Every link in one field value (a field may list several, comma-separated). Malformed
/// entries are skipped, never an error.
pub fn parse_link_header(value: &str) -> Vec<LinkValue> {
    split_top_level(value, ',')
        .into_iter()
        .filter_map(parse_one)
        .collect()
}

fn parse_one(entry: &str) -> Option<LinkValue> {
    let entry = entry.trim();
    let rest = entry.strip_prefix('<')?;
    let close = rest.find('>')?;
    let target = rest[..close].trim().to_string();
    let mut link = LinkValue {
        target,
        rels: Vec::new(),
        as_value: None,
    };
    for param in split_top_level(&rest[close + 1..], ';') {
        let param = param.trim();
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), v.trim().trim_matches('"')),
            None => (param, ""),
        };
        if name.eq_ignore_ascii_case("rel") {
            link.rels = value
                .split_ascii_whitespace()
                .map(str::to_ascii_lowercase)
                .collect();
        } else if name.eq_ignore_ascii_case("as") {
            link.as_value = Some(value.to_ascii_lowercase());
        }
    }
    Some(link)
}

/// Splits on `sep` outside `<...>` and `"..."` (with `\` escapes in quotes).
fn split_top_level(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_angle, mut in_quote, mut escaped) = (false, false, false);
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if in_quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quote = false,
                _ => {}
            }
            continue;
        }
        match c {
            '<' => in_angle = true,
            '>' => in_angle = false,
            '"' if !in_angle => in_quote = true,
            c if c == sep && !in_angle => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preloads_with_their_as() {
        let links = parse_link_header(
            "</css/site.css?v=1>; rel=preload; as=style, </f.woff2>; rel=preload; as=font; crossorigin",
        );
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].target, "/css/site.css?v=1");
        assert_eq!(links[0].as_value.as_deref(), Some("style"));
        assert!(links[1].is_preload());
        assert_eq!(links[1].as_value.as_deref(), Some("font"));
    }

    #[test]
    fn quoted_rels_commas_in_targets_and_garbage() {
        let links = parse_link_header(
            r#"</a,b.js>; rel="modulepreload", <https://x/>; rel="canonical preconnect"; title="a, \"b\"", junk, <>; rel=preload"#,
        );
        assert_eq!(links[0].target, "/a,b.js");
        assert!(links[0].is_preload());
        assert_eq!(links[1].rels, vec!["canonical", "preconnect"]);
        assert!(!links[1].is_preload());
        assert_eq!(links.len(), 3, "{links:?}");
        assert_eq!(links[2].target, "");
        assert!(parse_link_header("").is_empty());
        assert!(parse_link_header("<<<;;;,,,\"").len() <= 1);
    }
}
