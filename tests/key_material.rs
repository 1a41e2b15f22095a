//! The server never serves key material (issue 20): not the certificate directory, not the
//! `--cert/--key` files, not a file under the root that holds a PEM private key, whatever the
//! spelling, method or range; each refusal is logged once per path.

mod common;

use common::cli::curl;
use common::served::Served;
use common::site;

/// A PEM private key, as a key file holds it.
fn key_pem() -> String {
    rcgen::KeyPair::generate().unwrap().serialize_pem()
}

/// `cd site && h2push .` where the site holds the CA directory, a stray key, a chain with its
/// key, an old `./certs` and the served `--cert/--key`: no path returns a key.
#[test]
fn no_path_under_the_served_root_returns_a_key() {
    let key = key_pem();
    // A certificate alone is public: served.
    let cert_only = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let bundle = format!("{cert_only}{key}");
    let dir = site(&[
        ("index.html", b"<p>site</p>"),
        ("key.pem", key.as_bytes()),
        ("notes/deploy.txt", key.as_bytes()),
        ("bundle.pem", bundle.as_bytes()),
        ("public.pem", cert_only.as_bytes()),
    ]);
    let root = dir.path();
    h2push::tls::ensure_certs(&root.join("certs")).unwrap();
    h2push::tls::ensure_certs(&root.join("tls")).unwrap();
    // The server's own certificate and key, given by flag, under innocent names.
    std::fs::rename(root.join("tls/localhost.pem"), root.join("tls/chain.txt")).unwrap();
    std::fs::rename(root.join("tls/localhost-key.pem"), root.join("tls/k.bin")).unwrap();
    // With --cert/--key the per-user CA is not used: keep it out of the way.
    let caroot = tempfile::TempDir::new().unwrap();
    let caroot = caroot.path();
    let mut served = Served::run_with_caroot(
        root,
        caroot,
        &[
            ".",
            "--listen",
            "0",
            "--cert",
            "tls/chain.txt",
            "--key",
            "tls/k.bin",
        ],
    );
    // curl trusts the chain's CA (tls/ca.pem).
    served.ca = root.join("tls/ca.pem");
    let refused = [
        "/key.pem",
        "/notes/deploy.txt",
        "/bundle.pem",
        "/certs/ca-key.pem",
        "/certs/localhost-key.pem",
        "/tls/chain.txt",
        "/tls/k.bin",
        "/tls/ca-key.pem",
        "/%6Bey.pem",
        "/notes/../key.pem",
        "/certs/./ca-key.pem",
    ];
    for path in refused {
        for args in [&[][..], &["-I"], &["-r", "0-99"]] {
            let text = curl(&served, args, path);
            assert!(text.starts_with("HTTP/2 404"), "{path} {args:?}: {text}");
            assert!(!text.contains("PRIVATE KEY"), "{path} {args:?}: {text}");
        }
    }
    assert!(curl(&served, &[], "/").ends_with("<p>site</p>"));
    assert!(curl(&served, &[], "/public.pem").ends_with(cert_only));
    // Each refused file is logged once, however often it was asked for.
    let logged = served.log_lines("refused to serve key material");
    for file in ["key.pem", "notes/deploy.txt", "bundle.pem", "tls/k.bin"] {
        let n = logged
            .iter()
            .filter(|l| l.contains(&format!("/{file} ")))
            .count();
        assert_eq!(n, 1, "{file}: {logged:#?}");
    }
}

/// The certificate directory inside the served root is said at start-up, and its files are
/// refused whatever they hold.
#[test]
fn a_certificate_directory_inside_the_root_is_warned_about_and_never_served() {
    let dir = site(&[("index.html", b"<p>site</p>")]);
    let caroot = dir.path().join("ca");
    let served = Served::run_with_caroot(dir.path(), &caroot, &[".", "--listen", "0"]);
    let warned = served.log_lines("inside the served root");
    assert_eq!(warned.len(), 1, "{:#?}", served.log.lock().unwrap());
    assert!(warned[0].contains("WARN"), "{}", warned[0]);
    for path in [
        "/ca/ca.pem",
        "/ca/ca-key.pem",
        "/ca/localhost.pem",
        "/ca/localhost-key.pem",
    ] {
        assert!(curl(&served, &[], path).starts_with("HTTP/2 404"), "{path}");
    }
    assert!(curl(&served, &[], "/").ends_with("<p>site</p>"));

    // Outside the root: no warning.
    let elsewhere = tempfile::TempDir::new().unwrap();
    let served = Served::run_with_caroot(dir.path(), elsewhere.path(), &[".", "--listen", "0"]);
    assert!(served.log_lines("inside the served root").is_empty());
}
