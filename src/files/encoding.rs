//! Content codings (RFC 9110 §8.4, §12.5.3): which of br, zstd and gzip a request accepts and in
//! what order, which content types are worth compressing, and the precompressed sidecar files
//! (`a.js.br`, `a.js.zst`, `a.js.gz`) next to a file. Pure except [`open_sidecar`].

use std::fs::File;
use std::path::PathBuf;

use http::header::{ACCEPT_ENCODING, RANGE};
use http::HeaderMap;

use super::OpenFile;

/// A content coding the server can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Br,
    Zstd,
    Gzip,
}

impl Encoding {
    /// The server's order among codings the client weighs equally: brotli compresses text best,
    /// zstd next (and decodes fastest), gzip is what every client has.
    pub const PREFERENCE: [Encoding; 3] = [Encoding::Br, Encoding::Zstd, Encoding::Gzip];

    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
        }
    }

    /// The sidecar file's extension, after the original name.
    pub fn extension(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Zstd => "zst",
            Encoding::Gzip => "gz",
        }
    }

    /// The representation's entity tag: the original's with `-TOKEN` before the closing quote,
    /// so a validator cached for one coding never matches another.
    pub fn etag(self, identity: &str) -> String {
        let mut etag = identity.to_owned();
        let at = if etag.ends_with('"') {
            etag.len() - 1
        } else {
            etag.len()
        };
        etag.insert_str(at, &format!("-{}", self.token()));
        etag
    }
}

/// The codings a request accepts, best first: by q-value, then by [`Encoding::PREFERENCE`].
/// Empty when the client accepts none, or weighs `identity` above every coding it accepts.
/// `*` stands for codings (and identity) the header does not name; `q=0` refuses.
pub fn accepted(headers: &HeaderMap) -> Vec<Encoding> {
    let mut q_of = [None::<f32>; 3];
    let mut star = None::<f32>;
    let mut identity = None::<f32>;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let token = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let Some(q) = quality(parts) else { continue };
            let slot = match token.as_str() {
                "br" => &mut q_of[0],
                "zstd" => &mut q_of[1],
                "gzip" | "x-gzip" => &mut q_of[2],
                "*" => &mut star,
                "identity" => &mut identity,
                _ => continue,
            };
            *slot = Some(q);
        }
    }
    let mut codings: Vec<(Encoding, f32)> = Encoding::PREFERENCE
        .iter()
        .zip(q_of)
        .filter_map(|(&e, q)| Some((e, q.or(star)?)))
        .filter(|&(_, q)| q > 0.0)
        .collect();
    // Stable: equal q-values keep the server's preference.
    codings.sort_by(|a, b| b.1.total_cmp(&a.1));
    // Identity not named is acceptable but least preferred; named, it competes on its q-value.
    if let (Some(id), Some(&(_, best))) = (identity, codings.first()) {
        if id > best {
            return Vec::new();
        }
    }
    codings.into_iter().map(|(e, _)| e).collect()
}

/// The q-value among an item's parameters: 1 without one, `None` when malformed.
fn quality<'a>(params: impl Iterator<Item = &'a str>) -> Option<f32> {
    let mut q = 1.0;
    for param in params {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            let value = value.trim();
            if value.len() > 5 || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return None;
            }
            q = value
                .parse::<f32>()
                .ok()
                .filter(|q| (0.0..=1.0).contains(q))?;
        }
    }
    Some(q)
}

/// Whether the request asks for a byte range (on-the-fly compression never serves one).
pub fn is_ranged(headers: &HeaderMap) -> bool {
    headers.contains_key(RANGE)
}

/// Whether a `Content-Type` is text-like enough that compressing pays: text, scripts, styles,
/// SVG, JSON, XML, wasm, uncompressed fonts. Images, video, archives and woff/woff2 are
/// compressed already.
pub fn is_compressible(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (kind, sub) = mime.split_once('/').unwrap_or((&mime, ""));
    kind == "text"
        || sub.ends_with("+xml")
        || sub.ends_with("+json")
        || matches!(
            (kind, sub),
            (
                "application",
                "javascript"
                    | "x-javascript"
                    | "ecmascript"
                    | "json"
                    | "xml"
                    | "wasm"
                    | "manifest+json"
                    | "x-ndjson"
                    | "vnd.ms-fontobject"
            ) | ("font", "ttf" | "otf" | "sfnt")
                | ("image", "x-icon" | "vnd.microsoft.icon" | "bmp")
        )
}

/// The sidecar `FILE.EXT` of an opened file for `encoding`, when it is a regular file (not a
/// symlink: it would be served without the containment check its original passed) at least as
/// new as the original. A stale sidecar is ignored: it may hold the file's old content.
pub fn open_sidecar(original: &OpenFile, encoding: Encoding) -> Option<(File, PathBuf, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = original.fs_path.file_name()?.to_os_string();
    name.push(".");
    name.push(encoding.extension());
    let path = original.fs_path.with_file_name(name);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    super::clear_nonblocking(&file).ok()?;
    if meta.modified().ok()? < original.validators.modified_exact {
        return None;
    }
    Some((file, path, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use Encoding::*;

    fn accept(value: &str) -> Vec<Encoding> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        accepted(&headers)
    }

    #[test]
    fn q_values_then_server_preference() {
        assert_eq!(accept("gzip, deflate, br, zstd"), [Br, Zstd, Gzip]);
        assert_eq!(accept("gzip;q=1, br;q=0.5"), [Gzip, Br]);
        assert_eq!(accept("br;q=0, gzip"), [Gzip]);
        assert_eq!(accept("*"), [Br, Zstd, Gzip]);
        assert_eq!(accept("*;q=0.5, br;q=0"), [Zstd, Gzip]);
        assert_eq!(accept("GZIP ; Q=0.8"), [Gzip]);
        assert_eq!(accept("x-gzip"), [Gzip]);
        assert_eq!(accept("deflate"), []);
        assert_eq!(accept(""), []);
        assert_eq!(accept("identity"), []);
        assert_eq!(
            accept("gzip;q=0.5, identity"),
            [],
            "identity weighed higher"
        );
        assert_eq!(accept("gzip, identity;q=0"), [Gzip]);
        assert_eq!(accept("br;q=2, gzip;q=x, zstd;q=0.001"), [Zstd]);
        assert!(accepted(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn etags_per_coding() {
        assert_eq!(Br.etag("\"1.2-3\""), "\"1.2-3-br\"");
        assert_eq!(Gzip.etag("\"x\""), "\"x-gzip\"");
    }

    #[test]
    fn compressible_types() {
        for t in [
            "text/css; charset=utf-8",
            "text/javascript",
            "application/javascript; charset=utf-8",
            "application/json",
            "image/svg+xml",
            "application/wasm",
            "application/manifest+json",
            "font/ttf",
            "Text/HTML",
            "IMAGE/SVG+XML",
            "application/vnd.api+JSON",
            "image/vnd.microsoft.icon",
        ] {
            assert!(is_compressible(t), "{t}");
        }
        for t in [
            "image/png",
            "image/jpeg",
            "font/woff2",
            "application/gzip",
            "application/zip",
            "application/octet-stream",
            "video/mp4",
            "texts/plain",
            "application/xml-dtd",
            "+xml",
            "",
        ] {
            assert!(!is_compressible(t), "{t}");
        }
    }
}
