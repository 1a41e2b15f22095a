//! Key material is never served: a file inside the certificate directory, the `--cert/--key`
//! files (also through another name: a hard link, or a symlink with `--follow-symlinks`), and
//! any file of up to [`KEY_SNIFF_BYTES`] that holds a PEM private key are answered 404, as if
//! absent.
//!
//! The checks run where a file is opened for a response ([`super::open_url_path`]), before its
//! bytes can be served or kept: the path and the file's identity cost nothing (the open's own
//! `fstat`); the content check reads a small file once per open, and never a large one. Small
//! files are the ones [`super::cache`] keeps in memory, checked when kept: requests served from
//! memory (the hot path) do no checking, and a changed file is dropped and checked again.

use std::collections::HashSet;
use std::fs::{File, Metadata};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Largest file read to look for a PEM private key: the size of a file kept in memory, so a
/// file is read for this at most once per version where the memory cache runs, and large files
/// (images, video, archives) never. A key file is a few KiB; a chain with its key, about ten.
pub const KEY_SNIFF_BYTES: u64 = super::cache::MAX_CACHED_FILE;

/// Refused paths logged at most; past it refusals are not logged (a client asking for many
/// key files must not grow the set without bound).
pub const MAX_LOGGED_REFUSALS: usize = 1024;

/// Files in the certificate directory whose identity is remembered at start-up, at most.
const MAX_DIR_FILES: usize = 64;

/// What is never served, and which refusals have been logged.
#[derive(Debug, Default)]
pub struct KeyGuard {
    /// The certificate directory, canonical, when the server made or uses one.
    dir: Option<PathBuf>,
    /// Device and inode of the certificate files: found under any name.
    files: Vec<(u64, u64)>,
    logged: Mutex<HashSet<PathBuf>>,
}

impl KeyGuard {
    /// Guards the certificate directory `dir` (every file in it) and `files`.
    pub fn new(dir: Option<&Path>, files: &[&Path]) -> Self {
        let dir = dir.and_then(|d| d.canonicalize().ok());
        let mut paths: Vec<PathBuf> = files.iter().map(|f| f.to_path_buf()).collect();
        if let Some(entries) = dir.as_deref().and_then(|d| std::fs::read_dir(d).ok()) {
            paths.extend(entries.flatten().take(MAX_DIR_FILES).map(|e| e.path()));
        }
        let files = paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .filter(|m| m.is_file())
            .map(|m| (m.dev(), m.ino()))
            .collect();
        KeyGuard {
            dir,
            files,
            logged: Mutex::default(),
        }
    }

    /// The certificate directory, when it is inside `root` (canonical) and so reachable by URL.
    pub fn dir_inside(&self, root: &Path) -> Option<&Path> {
        self.dir.as_deref().filter(|d| d.starts_with(root))
    }

    /// Whether the regular file opened at `fs_path` must not be served; logs a refusal once
    /// per path. Blocking: reads the file's first bytes.
    pub fn refuses(&self, fs_path: &Path, file: &File, meta: &Metadata) -> bool {
        let why = if self.dir.as_deref().is_some_and(|d| fs_path.starts_with(d)) {
            "inside the certificate directory"
        } else if self.files.contains(&(meta.dev(), meta.ino())) {
            "a certificate file of this server"
        } else if holds_private_key(file, meta.len()) {
            "holds a PEM private key"
        } else {
            return false;
        };
        let mut logged = self.logged.lock().expect("key guard poisoned");
        if logged.len() < MAX_LOGGED_REFUSALS && logged.insert(fs_path.to_path_buf()) {
            tracing::warn!(path = %fs_path.display(), why, "refused to serve key material (404)");
        }
        true
    }
}

/// Whether `file` (of `len` bytes, at most [`KEY_SNIFF_BYTES`]) holds a PEM private key.
/// An unreadable file is not refused here: reading its body fails the same way.
fn holds_private_key(file: &File, len: u64) -> bool {
    if len > KEY_SNIFF_BYTES {
        return false;
    }
    let mut buf = vec![0; len as usize];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], filled as u64) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    is_private_key_pem(&buf[..filled])
}

/// Whether `text` has a PEM private key's first line: `-----BEGIN … PRIVATE KEY-----` (PKCS#8,
/// encrypted PKCS#8, RSA, EC, DSA, OpenSSH).
pub fn is_private_key_pem(text: &[u8]) -> bool {
    text.split(|&b| b == b'\n').any(|line| {
        let line = line.trim_ascii();
        line.starts_with(b"-----BEGIN ") && line.ends_with(b"PRIVATE KEY-----")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_private_keys_are_recognised_and_certificates_are_not() {
        for key in [
            "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\r\nMIIE\r\n",
            "-----BEGIN EC PRIVATE KEY-----\n",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
            "-----BEGIN OPENSSH PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n",
            "Bag Attributes\n    localKeyID: 01\n-----BEGIN PRIVATE KEY-----\n",
        ] {
            assert!(is_private_key_pem(key.as_bytes()), "{key}");
        }
        for not_key in [
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "-----BEGIN PUBLIC KEY-----\n",
            "<p>how to write -----BEGIN PRIVATE KEY----- in a blog post</p>",
            "",
        ] {
            assert!(!is_private_key_pem(not_key.as_bytes()), "{not_key}");
        }
    }

    #[test]
    fn small_files_are_read_whole_and_large_ones_not_at_all() {
        let dir = tempfile::TempDir::new().unwrap();
        let near = dir.path().join("near");
        let far = dir.path().join("far");
        let key = "-----BEGIN PRIVATE KEY-----\n";
        let fill = |n: u64| "x\n".repeat(n as usize / 2);
        std::fs::write(&near, format!("{}{key}", fill(KEY_SNIFF_BYTES - 100))).unwrap();
        std::fs::write(&far, format!("{key}{}", fill(KEY_SNIFF_BYTES))).unwrap();
        let guard = KeyGuard::default();
        let refused = |p: &Path| {
            let file = File::open(p).unwrap();
            guard.refuses(p, &file, &file.metadata().unwrap())
        };
        assert!(refused(&near));
        assert!(!refused(&far));
    }
}
