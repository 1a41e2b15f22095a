//! Unit tests of `files::compress`, beside it to keep the code file short.

use super::*;
use http::{HeaderMap, HeaderValue};
use std::time::UNIX_EPOCH;

fn file(bytes: &'static [u8], content_type: &'static str) -> OpenFile {
    OpenFile {
        source: Source::Memory(Bytes::from_static(bytes)),
        fs_path: PathBuf::from("/site/a.js"),
        len: bytes.len() as u64,
        validators: Validators::new(UNIX_EPOCH, bytes.len() as u64),
        content_type: HeaderValue::from_static(content_type),
        is_html: false,
        whole_only: false,
        encoding: None,
        vary: false,
        identity: None,
    }
}

fn accepting(value: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::ACCEPT_ENCODING,
        HeaderValue::from_static(value),
    );
    h
}

fn encoder(cache_bytes: usize) -> Encoder {
    Encoder::new(CompressConfig {
        on_the_fly: true,
        precompressed: false,
        cache_bytes,
    })
}

const TEXT: &[u8] = &[b'a'; 4096];

#[test]
fn compresses_once_then_serves_from_memory() {
    // No runtime: the compression runs inline, so the first request still gets identity.
    let enc = encoder(1 << 20);
    let first = enc.negotiate(file(TEXT, "text/javascript"), &accepting("gzip"));
    assert_eq!(first.encoding, None);
    assert!(first.vary);
    let second = enc
        .negotiate_in_memory(file(TEXT, "text/javascript"), &accepting("gzip"))
        .expect("kept");
    assert_eq!(second.encoding, Some(Encoding::Gzip));
    assert!(second.validators.etag.ends_with("-gzip\""));
    assert!(second.len < TEXT.len() as u64);
    enc.invalidate(Path::new("/site"));
    assert_eq!(enc.kept_bytes(), 0);
    assert!(enc
        .negotiate_in_memory(file(TEXT, "text/javascript"), &accepting("gzip"))
        .is_none());
}

#[test]
fn the_budget_evicts_oldest_and_unsuitable_files_pass_through() {
    let enc = encoder(ENTRY_OVERHEAD + 200);
    enc.negotiate(file(TEXT, "text/css"), &accepting("br"));
    let kept = enc.kept_bytes();
    assert!(kept > 0 && kept <= ENTRY_OVERHEAD + 200, "{kept}");
    let png = enc.negotiate(file(TEXT, "image/png"), &accepting("br"));
    assert!(png.encoding.is_none() && !png.vary);
    let small = enc.negotiate(file(b"tiny", "text/css"), &accepting("br"));
    assert!(small.encoding.is_none() && small.vary);
}

#[test]
fn every_coding_round_trips() {
    let input: Vec<u8> = (0..50_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    for enc in Encoding::PREFERENCE {
        let out = compress(enc, &input).unwrap();
        assert!(out.len() < input.len());
        let mut back = Vec::new();
        match enc {
            Encoding::Br => {
                brotli::BrotliDecompress(&mut &out[..], &mut back).unwrap();
            }
            Encoding::Zstd => back = zstd::decode_all(&out[..]).unwrap(),
            Encoding::Gzip => {
                use std::io::Read;
                flate2::read::GzDecoder::new(&out[..])
                    .read_to_end(&mut back)
                    .unwrap();
            }
        }
        assert_eq!(back, input, "{enc:?}");
    }
}
