//! TLS: the rustls server configuration (ALPN `h2`), loading a certificate chain and key from
//! PEM files, and making a local CA plus a `localhost` leaf with rcgen when none is given.
//!
//! The CA is separate from the leaf so a person can trust it once (Chromium acts on 103 Early
//! Hints only over a trusted certificate) and keep trusting it when the leaf is re-issued.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// File names inside the certificate directory.
pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca-key.pem";
pub const LEAF_CERT_FILE: &str = "localhost.pem";
pub const LEAF_KEY_FILE: &str = "localhost-key.pem";

/// Days a generated leaf certificate is valid. Browsers cap publicly trusted leaves at 398 days;
/// staying under that keeps a locally trusted one acceptable everywhere.
pub const LEAF_VALIDITY_DAYS: u64 = 365;

/// Where a certificate set lives.
#[derive(Debug, Clone)]
pub struct CertPaths {
    /// The CA to trust (absent when the user gave `--cert/--key`).
    pub ca: Option<PathBuf>,
    /// The leaf certificate chain (leaf first, then the CA).
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertPaths {
    /// The paths `ensure_certs` uses in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        CertPaths {
            ca: Some(dir.join(CA_CERT_FILE)),
            cert: dir.join(LEAF_CERT_FILE),
            key: dir.join(LEAF_KEY_FILE),
        }
    }
}

/// Loads the certificate set in `dir`, or creates it there when it is missing. Returns the
/// paths and whether they were created now.
pub fn ensure_certs(dir: &Path) -> Result<(CertPaths, bool)> {
    let paths = CertPaths::in_dir(dir);
    if paths.cert.exists() && paths.key.exists() {
        return Ok((paths, false));
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    generate(dir).with_context(|| format!("generating certificates in {}", dir.display()))?;
    Ok((paths, true))
}

/// Writes a new CA and a leaf for `localhost`, `127.0.0.1` and `::1` signed by it.
pub fn generate(dir: &Path) -> Result<()> {
    issue(dir, &[], false)
}

/// Writes a leaf for `localhost`, `127.0.0.1`, `::1` and `hosts` (names or IP addresses, for a
/// phone on the LAN). With `keep_ca` and a CA already in `dir`, the leaf is signed by that CA
/// (same key and name, so a CA the user already trusts stays the one to trust); otherwise a
/// new CA is written too.
pub fn issue(dir: &Path, hosts: &[String], keep_ca: bool) -> Result<()> {
    let kept = keep_ca
        .then(|| {
            let pem = fs::read_to_string(dir.join(CA_CERT_FILE)).ok()?;
            let key = fs::read_to_string(dir.join(CA_KEY_FILE)).ok()?;
            Some((pem, KeyPair::from_pem(&key).ok()?))
        })
        .flatten();
    let (ca_key, kept_pem) = match kept {
        Some((pem, key)) => (key, Some(pem)),
        None => (KeyPair::generate()?, None),
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "h2push local development CA");
    ca_params
        .distinguished_name
        .push(DnType::OrganizationName, "h2push");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_pem = match kept_pem {
        Some(pem) => pem,
        None => ca_params.self_signed(&ca_key)?.pem(),
    };

    let leaf_key = KeyPair::generate()?;
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    names.extend(
        hosts
            .iter()
            .filter(|h| !names.contains(h))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let mut leaf_params = CertificateParams::new(names)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let now = time_now();
    leaf_params.not_before = now - time::Duration::days(1);
    leaf_params.not_after = now + time::Duration::days(LEAF_VALIDITY_DAYS as i64);
    let issuer = Issuer::new(ca_params, &ca_key);
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

    write_file(&dir.join(CA_CERT_FILE), ca_pem.as_bytes(), false)?;
    write_file(
        &dir.join(CA_KEY_FILE),
        ca_key.serialize_pem().as_bytes(),
        true,
    )?;
    let chain = format!("{}{}", leaf_cert.pem(), ca_pem);
    write_file(&dir.join(LEAF_CERT_FILE), chain.as_bytes(), false)?;
    write_file(
        &dir.join(LEAF_KEY_FILE),
        leaf_key.serialize_pem().as_bytes(),
        true,
    )?;
    Ok(())
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Writes a file; private keys are created with mode 0600 before any byte is written.
fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A rustls server configuration for the chain and key in these PEM files. It offers `h2`, and
/// `http/1.1` only so that an HTTP/1.1 client is told in words that it needs HTTP/2.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing certificate {}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("no certificate in {}", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading private key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration trusting the CA in `ca` (for tests and `compare`), offering `h2`.
pub fn client_config(ca: Option<&Path>, insecure: bool) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AcceptAny))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(ca) = ca {
            for cert in CertificateDer::pem_file_iter(ca)
                .with_context(|| format!("reading CA {}", ca.display()))?
            {
                roots
                    .add(cert.with_context(|| format!("parsing CA {}", ca.display()))?)
                    .with_context(|| format!("adding CA {}", ca.display()))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

mod insecure {
    //! `--insecure`: accept any server certificate, for measuring servers with self-signed ones.
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub struct AcceptAny;

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::ring::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
}
