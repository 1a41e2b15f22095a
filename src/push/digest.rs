//! The push digest: which versions of which assets a client has, kept by the client in a
//! cookie so the server holds no per-client state (it works the same behind a load balancer).
//!
//! Each entry is a 32-bit FNV-1a hash of `path NUL etag`: a changed file has a new ETag, so it
//! is no longer in the set and gets pushed again. The cookie value is the entries, most recent
//! first, as 4 big-endian bytes each in unpadded base64url: 100 assets take 534 characters,
//! [`MAX_DIGEST_ENTRIES`] (192) take 1 024. A plain list of short hashes rather than a Bloom
//! filter or Golomb-coded set: at this size it is within the bound, merging keeps the most
//! recent entries in order, and a false "has it" (two hashes colliding among a few hundred in
//! 2^32) costs one hint instead of a push, never a wrong response. A cookie that does not
//! decode, or is longer than the bound, is treated as empty.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::header::COOKIE;
use http::HeaderMap;

/// Name of the cookie that carries the digest.
pub const DIGEST_COOKIE: &str = "h2push-digest";

/// Most entries a digest keeps (the oldest go first): 192 × 4 bytes is 1 KiB of cookie
/// value, enough for a site's shared assets plus a few pages' own, and small enough to ride on
/// every request to the site.
pub const MAX_DIGEST_ENTRIES: usize = 192;

/// Longest cookie value read: what [`MAX_DIGEST_ENTRIES`] encode to. Longer values are ignored.
const MAX_VALUE_LEN: usize = (MAX_DIGEST_ENTRIES * 4 * 4).div_ceil(3);

/// A set of asset versions, most recent first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest {
    entries: Vec<u32>,
}

/// The hash of one version of one asset.
pub fn entry(path: &str, etag: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in path.bytes().chain([0]).chain(etag.bytes()) {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

impl Digest {
    /// The digest a request carries in its `Cookie` headers; empty when there is none or it is
    /// malformed.
    pub fn from_headers(headers: &HeaderMap) -> Digest {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == DIGEST_COOKIE)
            .map_or_else(Digest::default, |(_, value)| Digest::decode(value))
    }

    /// Decodes a cookie value; empty when it is malformed or too long.
    pub fn decode(value: &str) -> Digest {
        if value.len() > MAX_VALUE_LEN {
            return Digest::default();
        }
        match URL_SAFE_NO_PAD.decode(value) {
            Ok(bytes) if bytes.len() % 4 == 0 => Digest {
                entries: bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            },
            _ => Digest::default(),
        }
    }

    pub fn encode(&self) -> String {
        let bytes: Vec<u8> = self.entries.iter().flat_map(|e| e.to_be_bytes()).collect();
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn contains(&self, path: &str, etag: &str) -> bool {
        self.entries.contains(&entry(path, etag))
    }

    /// This digest with `received` put first (most recent), without duplicates, cut to
    /// [`MAX_DIGEST_ENTRIES`].
    pub fn merged(&self, received: impl IntoIterator<Item = u32>) -> Digest {
        let mut entries: Vec<u32> = Vec::new();
        for e in received.into_iter().chain(self.entries.iter().copied()) {
            if entries.len() == MAX_DIGEST_ENTRIES {
                break;
            }
            if !entries.contains(&e) {
                entries.push(e);
            }
        }
        Digest { entries }
    }

    /// The `Set-Cookie` value that stores this digest; `Secure` only over TLS, where the
    /// browser would otherwise drop it.
    pub fn set_cookie(&self, secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!(
            "{DIGEST_COOKIE}={}{secure}; HttpOnly; SameSite=Lax; Path=/",
            self.encode()
        )
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_round_trips_through_its_cookie() {
        let digest = Digest::default().merged([entry("/a.css", "\"1\""), entry("/b.js", "\"2\"")]);
        let mut headers = HeaderMap::new();
        let cookie = format!("theme=dark; {DIGEST_COOKIE}={}; x=y", digest.encode());
        headers.insert(COOKIE, cookie.parse().unwrap());
        let back = Digest::from_headers(&headers);
        assert_eq!(back, digest);
        assert!(back.contains("/a.css", "\"1\""));
        assert!(
            !back.contains("/a.css", "\"2\""),
            "a new version is not in the set"
        );
        assert!(!back.contains("/c.css", "\"1\""));
    }

    #[test]
    fn a_hundred_assets_fit_in_a_kilobyte_and_the_set_stays_bounded() {
        let hundred = Digest::default().merged((0..100).map(|i| entry(&format!("/{i}"), "e")));
        assert!(hundred.encode().len() <= 1024, "{}", hundred.encode().len());
        let full = hundred.merged((100..200).map(|i| entry(&format!("/{i}"), "e")));
        assert_eq!(full.len(), MAX_DIGEST_ENTRIES);
        assert!(full.encode().len() <= MAX_VALUE_LEN);
        assert!(full.contains("/199", "e"), "the newest are kept");
        assert!(!full.contains("/99", "e"), "the oldest go");
        assert_eq!(Digest::decode(&full.encode()), full);
    }

    #[test]
    fn merging_keeps_one_of_each_newest_first() {
        let old = Digest::default().merged([1, 2, 3]);
        assert_eq!(old.merged([3, 4]).entries, [3, 4, 1, 2]);
    }

    #[test]
    fn malformed_or_oversized_cookies_are_empty() {
        for value in ["%%%", "AAA", "AAAAA", &"A".repeat(MAX_VALUE_LEN + 4), ""] {
            assert!(Digest::decode(value).is_empty(), "{value}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, "h2push-digest".parse().unwrap());
        assert!(Digest::from_headers(&headers).is_empty());
    }

    #[test]
    fn the_cookie_has_its_attributes() {
        let digest = Digest::default().merged([entry("/a", "e")]);
        assert_eq!(
            digest.set_cookie(true),
            format!(
                "{DIGEST_COOKIE}={}; Secure; HttpOnly; SameSite=Lax; Path=/",
                digest.encode()
            )
        );
        assert!(!digest.set_cookie(false).contains("Secure"));
    }
}
