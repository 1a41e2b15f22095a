//! The servers `tests/export.rs` runs, each with an exported configuration: started the way
//! bench/lib/servers.sh starts them (a config in a temporary directory, one process or
//! worker, a loopback port), stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::export;

/// Servers started as root drop to `nobody` (h2o) or `www-data` (Apache): temporary
/// directories are 0700, so open them up.
pub fn readable_by_all(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A server process started by a test, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Running {
    child: Child,
    pub port: u16,
    dir: TempDir,
}

impl Running {
    /// Runs `program args` (from a config written in `dir`) and waits until `port` listens.
    fn start(program: &str, args: &[&str], port: u16, dir: TempDir) -> Running {
        let child = Command::new(program)
            .args(args)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let mut running = Running { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = running.child.try_wait().unwrap() {
                panic!("{program} exited ({status}): {}", running.log());
            }
            assert!(
                Instant::now() < deadline,
                "{program} did not listen: {}",
                running.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        running
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A work directory (readable by the servers' users) with a localhost certificate.
pub fn work_dir() -> (TempDir, PathBuf, PathBuf) {
    let dir = TempDir::new().unwrap();
    readable_by_all(dir.path());
    h2push::tls::generate(dir.path()).unwrap();
    let paths = h2push::tls::CertPaths::in_dir(dir.path());
    (dir, paths.cert, paths.key)
}

pub fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

/// h2o with the exported `paths:` as its host's.
pub fn start_h2o(h2o: &str, root: &Path) -> Running {
    let (dir, cert, key) = work_dir();
    let port = free_port();
    let paths = export(root, "h2o", &[]);
    let conf = format!(
        "num-threads: 1\nerror-log: {log}\nlisten:\n  host: 127.0.0.1\n  port: {port}\n  ssl:\n    \
         certificate-file: {cert}\n    key-file: {key}\n    ocsp-update-interval: 0\n\
         hosts:\n  default:\n{paths}",
        log = dir.path().join("stderr").display(),
        cert = cert.display(),
        key = key.display(),
        paths = indent(&paths, "    "),
    );
    std::fs::write(dir.path().join("h2o.conf"), conf).unwrap();
    let conf = dir.path().join("h2o.conf");
    Running::start(h2o, &["-c", conf.to_str().unwrap()], port, dir)
}

/// nginx with the exported include in its server block, as bench/lib/servers.sh runs it
/// (one process here: `master_process off`).
pub fn start_nginx(nginx: &str, root: &Path) -> Running {
    let (dir, cert, key) = work_dir();
    let port = free_port();
    std::fs::write(dir.path().join("links.conf"), export(root, "nginx", &[])).unwrap();
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/stderr warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
         server {{\n    listen 127.0.0.1:{port} ssl http2;\n    ssl_certificate {cert};\n    \
         ssl_certificate_key {key};\n    root {root};\n    include {d}/links.conf;\n  }}\n}}\n",
        cert = cert.display(),
        key = key.display(),
        root = root.display(),
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let conf = dir.path().join("nginx.conf");
    let prefix = format!("{d}/");
    Running::start(
        nginx,
        &[
            "-e",
            &format!("{d}/stderr"),
            "-p",
            &prefix,
            "-c",
            conf.to_str().unwrap(),
        ],
        port,
        dir,
    )
}

/// Caddy over cleartext HTTP with the exported snippet in its site block.
pub fn start_caddy(caddy: &str, root: &Path) -> Running {
    let (dir, _, _) = work_dir();
    let port = free_port();
    let conf = format!(
        "{{\n  admin off\n  auto_https off\n}}\nhttp://127.0.0.1:{port} {{\n  root * {root}\n  \
         file_server\n{snippet}}}\n",
        root = root.display(),
        snippet = indent(&export(root, "caddy", &[]), "  "),
    );
    std::fs::write(dir.path().join("Caddyfile"), conf).unwrap();
    let conf = dir.path().join("Caddyfile");
    Running::start(
        caddy,
        &[
            "run",
            "--adapter",
            "caddyfile",
            "--config",
            conf.to_str().unwrap(),
        ],
        port,
        dir,
    )
}

/// Apache in the foreground (-X) over cleartext HTTP with the exported blocks.
pub fn start_apache(apache: &str, root: &Path) -> Running {
    let (dir, _, _) = work_dir();
    let port = free_port();
    std::fs::write(dir.path().join("links.conf"), export(root, "apache", &[])).unwrap();
    let d = dir.path().display();
    let modules = "/usr/lib/apache2/modules";
    let conf = format!(
        "ServerRoot {d}\nServerName localhost\nListen 127.0.0.1:{port}\nPidFile {d}/httpd.pid\n\
         ErrorLog {d}/stderr\nUser nobody\nGroup nogroup\n\
         LoadModule mpm_event_module {modules}/mod_mpm_event.so\n\
         LoadModule authz_core_module {modules}/mod_authz_core.so\n\
         LoadModule dir_module {modules}/mod_dir.so\n\
         LoadModule mime_module {modules}/mod_mime.so\n\
         LoadModule headers_module {modules}/mod_headers.so\n\
         TypesConfig /etc/mime.types\nDocumentRoot {root}\nDirectoryIndex index.html\n\
         <Directory {root}>\n  Require all granted\n</Directory>\nInclude {d}/links.conf\n",
        root = root.display(),
    );
    std::fs::write(dir.path().join("httpd.conf"), conf).unwrap();
    let conf = dir.path().join("httpd.conf");
    Running::start(apache, &["-X", "-f", conf.to_str().unwrap()], port, dir)
}
