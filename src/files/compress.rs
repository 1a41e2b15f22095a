//! Choosing a file's representation for a request ([`Encoder::negotiate`]): a fresh
//! precompressed sidecar the client accepts, else the file compressed on the fly, else the file
//! itself. On-the-fly compression runs once per file version (path + ETag + coding), in the
//! background on the blocking pool at the highest levels, and its result is kept in memory
//! under a byte budget. A request that finds no result yet gets the identity response at once
//! and never waits: compressing a large script at brotli 11 takes seconds, longer than sending
//! it uncompressed. The watcher's changes drop the entries of changed files (see
//! `serve::state`); entries are keyed by ETag, so a changed file is never answered with its old
//! bytes even without a watcher.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tracing::debug;

use super::encoding::{self, Encoding};
use super::headers::Validators;
use super::{OpenFile, Source};
use crate::config::CompressConfig;

/// Smallest file compressed on the fly: 1 KiB. Below it the saving is a few hundred bytes at
/// most, less than a packet.
pub const MIN_COMPRESS_SIZE: u64 = 1024;

/// Largest file compressed on the fly: 16 MiB. Compression holds the input and output in memory
/// and brotli 11 runs at about 1 MB/s; larger files want a precompressed sidecar.
pub const MAX_COMPRESS_INPUT: u64 = 16 * 1024 * 1024;

/// Compressions running at once: 2. Each holds a blocking-pool thread for up to seconds; a
/// request that would start one past it is served identity and a later request starts it.
pub const MAX_CONCURRENT_COMPRESSIONS: usize = 2;

/// Brotli quality 11 (the highest): done once per file version, so the best ratio is worth it.
pub const BROTLI_QUALITY: i32 = 11;
/// Zstandard level 19 (the highest without `--ultra` memory).
pub const ZSTD_LEVEL: i32 = 19;
/// Gzip level 9 (the highest).
pub const GZIP_LEVEL: u32 = 9;

/// What a kept entry costs beyond its bytes (key, map slot), so "not smaller" markers count.
const ENTRY_OVERHEAD: usize = 128;

type Key = (PathBuf, String, Encoding);

#[derive(Debug)]
enum Slot {
    InFlight,
    /// The compressed bytes; `None` when they were not smaller (or too large to keep).
    Ready(Option<Bytes>),
}

#[derive(Debug, Default)]
struct Kept {
    map: HashMap<Key, Slot>,
    /// Ready entries, oldest first: evicted from the front past the budget.
    order: VecDeque<Key>,
    bytes: usize,
    in_flight: usize,
}

/// The representation chooser and its cache of compressed bodies.
#[derive(Debug)]
pub struct Encoder {
    config: CompressConfig,
    kept: Arc<Mutex<Kept>>,
}

/// What [`Encoder::choose`] decided.
enum Chosen {
    /// Serve this representation.
    This(OpenFile),
    /// The choice needs the file system (a sidecar may exist, or a compression must start).
    NeedsDisk(OpenFile),
}

enum Found {
    Hit(Bytes),
    NotSmaller,
    Pending,
}

impl Encoder {
    /// A chooser with `config`'s switches and budget, and nothing kept yet.
    pub fn new(config: CompressConfig) -> Self {
        Encoder {
            config,
            kept: Arc::default(),
        }
    }

    /// The representation of `file` for a request with `headers`: a sidecar, a compressed copy
    /// from memory, or `file` itself (with `Vary` set when it is compressible). May open files
    /// and start a background compression. Blocking.
    pub fn negotiate(&self, file: OpenFile, headers: &http::HeaderMap) -> OpenFile {
        match self.choose(file, headers, true) {
            Chosen::This(file) | Chosen::NeedsDisk(file) => file,
        }
    }

    /// Whether any coding is on (on the fly or precompressed sidecars). A file may be served in
    /// a coding (and so carries `Vary`) only when one is and its type
    /// [`encoding::is_compressible`]: otherwise a request's `Accept-Encoding` changes nothing.
    pub fn codings_on(&self) -> bool {
        self.config.on_the_fly || self.config.precompressed
    }

    /// [`Encoder::negotiate`] without the file system, for a file served from memory: `None`
    /// when the choice needs the disk (a sidecar may exist) or a compression to start.
    pub fn negotiate_in_memory(
        &self,
        file: OpenFile,
        headers: &http::HeaderMap,
    ) -> Option<OpenFile> {
        match self.choose(file, headers, false) {
            Chosen::This(file) => Some(file),
            Chosen::NeedsDisk(_) => None,
        }
    }

    /// With `on_disk` false, [`Chosen::NeedsDisk`] when the choice needs the file system.
    fn choose(&self, mut file: OpenFile, headers: &http::HeaderMap, on_disk: bool) -> Chosen {
        let config = &self.config;
        let compressible = file
            .content_type
            .to_str()
            .is_ok_and(encoding::is_compressible);
        if !(config.on_the_fly || config.precompressed) || !compressible || file.encoding.is_some()
        {
            return Chosen::This(file);
        }
        // Whatever is chosen, the response depends on Accept-Encoding.
        file.vary = true;
        let accepted = encoding::accepted(headers);
        if accepted.is_empty() {
            return Chosen::This(file);
        }
        // A live-reload page's sidecar would lack the injected script.
        if config.precompressed && !file.whole_only {
            if !on_disk {
                return Chosen::NeedsDisk(file);
            }
            for &enc in &accepted {
                if let Some((sidecar, path, len)) = encoding::open_sidecar(&file, enc) {
                    debug!(path = %path.display(), coding = enc.token(), "precompressed sidecar");
                    return Chosen::This(encoded(file, enc, Source::Disk(sidecar), path, len));
                }
            }
        }
        if !config.on_the_fly
            || encoding::is_ranged(headers)
            || file.len < MIN_COMPRESS_SIZE
            || file.len > MAX_COMPRESS_INPUT
        {
            return Chosen::This(file);
        }
        let enc = accepted[0];
        match self.find(&file, enc, on_disk) {
            Found::Hit(bytes) => {
                let (path, len) = (file.fs_path.clone(), bytes.len() as u64);
                Chosen::This(encoded(file, enc, Source::Memory(bytes), path, len))
            }
            Found::NotSmaller => Chosen::This(file),
            Found::Pending if on_disk => Chosen::This(file),
            Found::Pending => Chosen::NeedsDisk(file),
        }
    }

    /// The kept compression of `file` in `enc`; with `start`, a missing one is started.
    fn find(&self, file: &OpenFile, enc: Encoding, start: bool) -> Found {
        let key = (file.fs_path.clone(), file.validators.etag.clone(), enc);
        let mut kept = self.kept.lock().expect("compress cache poisoned");
        match kept.map.get(&key) {
            Some(Slot::Ready(Some(bytes))) => return Found::Hit(bytes.clone()),
            Some(Slot::Ready(None)) => return Found::NotSmaller,
            Some(Slot::InFlight) => return Found::Pending,
            None if !start || kept.in_flight >= MAX_CONCURRENT_COMPRESSIONS => {
                return Found::Pending
            }
            None => {}
        }
        let input = match &file.source {
            Source::Memory(bytes) => Input::Memory(bytes.clone()),
            Source::Disk(f) => match f.try_clone() {
                Ok(f) => Input::Disk(f, file.len, file.validators.clone()),
                Err(_) => return Found::Pending,
            },
        };
        kept.map.insert(key.clone(), Slot::InFlight);
        kept.in_flight += 1;
        drop(kept);
        let job = Job {
            kept: self.kept.clone(),
            budget: self.config.cache_bytes,
            key,
            input,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(move || job.run());
            }
            Err(_) => job.run(),
        }
        Found::Pending
    }

    /// Drops the compressions of the file at `fs_path`, or of everything under it.
    pub fn invalidate(&self, fs_path: &Path) {
        let mut kept = self.kept.lock().expect("compress cache poisoned");
        let mut freed = 0;
        kept.map.retain(|(path, _, _), slot| match slot {
            Slot::Ready(bytes) if path.starts_with(fs_path) => {
                freed += cost(path, bytes);
                false
            }
            _ => true,
        });
        kept.bytes -= freed;
        let Kept { map, order, .. } = &mut *kept;
        order.retain(|key| map.contains_key(key));
    }

    /// Drops every kept compression (a watcher that lost events).
    pub fn clear(&self) {
        let mut kept = self.kept.lock().expect("compress cache poisoned");
        kept.map.retain(|_, slot| matches!(slot, Slot::InFlight));
        kept.order.clear();
        kept.bytes = 0;
    }

    /// Bytes kept now (for tests and logs).
    pub fn kept_bytes(&self) -> usize {
        self.kept.lock().expect("compress cache poisoned").bytes
    }
}

/// The representation of `identity` in `enc`, with its own ETag and length.
fn encoded(identity: OpenFile, enc: Encoding, source: Source, path: PathBuf, len: u64) -> OpenFile {
    // A compression from memory is never ranged (a Range request gets the file's own bytes), so
    // its response does not offer `Accept-Ranges`; a sidecar's bytes are ranged like a file's.
    let whole_only = matches!(source, Source::Memory(_));
    OpenFile {
        source,
        fs_path: path,
        len,
        validators: Validators {
            etag: enc.etag(&identity.validators.etag),
            ..identity.validators.clone()
        },
        content_type: identity.content_type.clone(),
        is_html: identity.is_html,
        whole_only,
        encoding: Some(enc),
        vary: true,
        identity: Some(Box::new(identity)),
    }
}

fn cost(path: &Path, bytes: &Option<Bytes>) -> usize {
    ENTRY_OVERHEAD + path.as_os_str().len() + bytes.as_ref().map_or(0, Bytes::len)
}

enum Input {
    Memory(Bytes),
    /// The open file, its length and validators when the request saw it.
    Disk(std::fs::File, u64, Validators),
}

struct Job {
    kept: Arc<Mutex<Kept>>,
    budget: usize,
    key: Key,
    input: Input,
}

impl Job {
    fn run(self) {
        let result = read(&self.input).and_then(|input| {
            let out = compress(self.key.2, &input)?;
            Ok((out.len() < input.len()).then(|| Bytes::from(out)))
        });
        let mut kept = self.kept.lock().expect("compress cache poisoned");
        kept.in_flight -= 1;
        let compressed = match result {
            Ok(compressed) => compressed,
            Err(err) => {
                debug!(cause = %err, path = %self.key.0.display(), "not compressed");
                kept.map.remove(&self.key);
                return;
            }
        };
        debug!(
            path = %self.key.0.display(),
            coding = self.key.2.token(),
            bytes = compressed.as_ref().map(Bytes::len),
            "compressed"
        );
        // Larger than the whole budget: remember not to try again.
        let compressed = compressed.filter(|b| cost(&self.key.0, &Some(b.clone())) <= self.budget);
        let size = cost(&self.key.0, &compressed);
        while kept.bytes + size > self.budget {
            let Some(old) = kept.order.pop_front() else {
                break;
            };
            if let Some(Slot::Ready(bytes)) = kept.map.get(&old) {
                let freed = cost(&old.0, bytes);
                kept.map.remove(&old);
                kept.bytes -= freed;
            }
        }
        kept.bytes += size;
        kept.order.push_back(self.key.clone());
        kept.map.insert(self.key, Slot::Ready(compressed));
    }
}

/// The whole input; fails when the file changed since the request saw it (its bytes would be
/// kept under the old version's ETag).
fn read(input: &Input) -> io::Result<Bytes> {
    match input {
        Input::Memory(bytes) => Ok(bytes.clone()),
        Input::Disk(file, len, validators) => {
            use std::os::unix::fs::FileExt;
            let mut buf = vec![0; *len as usize];
            file.read_exact_at(&mut buf, 0)?;
            let meta = file.metadata()?;
            let now = Validators::new(meta.modified()?, meta.len());
            if now.etag != validators.etag {
                return Err(io::Error::other("file changed while read"));
            }
            Ok(Bytes::from(buf))
        }
    }
}

/// `input` compressed with `enc` at the highest level.
pub fn compress(enc: Encoding, input: &[u8]) -> io::Result<Vec<u8>> {
    match enc {
        Encoding::Br => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY,
                size_hint: input.len(),
                ..Default::default()
            };
            let mut out = Vec::with_capacity(input.len() / 3);
            brotli::BrotliCompress(&mut &input[..], &mut out, &params)?;
            Ok(out)
        }
        Encoding::Zstd => zstd::bulk::compress(input, ZSTD_LEVEL),
        Encoding::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(input.len() / 3),
                flate2::Compression::new(GZIP_LEVEL),
            );
            encoder.write_all(input)?;
            encoder.finish()
        }
    }
}

#[cfg(test)]
mod tests;
