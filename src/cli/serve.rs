//! `serve`'s flags, grouped as `--help` shows them, and what they become: a checked [`Config`]
//! and the rest of [`Startup`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::config::{self, Config, FeedConfig, Limits};
use crate::serve::start::Startup;
use crate::tls;
use crate::usage::{parse_duration, usage, Switch};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory to serve [default: ./site when present, else the current directory]
    pub dir: Option<PathBuf>,

    /// Settings file (TOML, keys are the long flag names) [default: ./h2push.toml when present]
    #[arg(long, value_name = "FILE", help_heading = "Listening")]
    pub config: Option<PathBuf>,

    /// Address for TLS: HOST:PORT (0.0.0.0:8443 for every interface), or a port on 127.0.0.1
    #[arg(long, default_value = "127.0.0.1:8443", value_parser = crate::usage::parse_listen, value_name = "ADDR", help_heading = "Listening")]
    pub listen: Option<SocketAddr>,

    /// Port for TLS on 127.0.0.1 (`--listen` for another address)
    #[arg(
        short,
        long,
        value_name = "PORT",
        conflicts_with = "listen",
        help_heading = "Listening"
    )]
    pub port: Option<u16>,

    /// Also serve cleartext HTTP/1.1 and prior-knowledge HTTP/2 on ADDR [default: 127.0.0.1:8080]
    #[arg(long, alias = "h2c", value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080", value_parser = crate::usage::parse_listen, help_heading = "Listening")]
    pub http: Option<SocketAddr>,

    /// Open the served URL in the default browser ($BROWSER, else xdg-open)
    #[arg(short, long, help_heading = "Listening")]
    pub open: bool,

    /// Worker threads of the async runtime [default: one per core; env: H2PUSH_WORKER_THREADS]
    #[arg(
        long,
        env = "H2PUSH_WORKER_THREADS",
        value_name = "N",
        help_heading = "Listening"
    )]
    pub threads: Option<usize>,

    #[command(flatten, next_help_heading = "Proxy")]
    pub upstream: crate::proxy::args::UpstreamArgs,

    /// Certificate chain (PEM) to serve instead of the generated one; needs --key
    #[arg(
        short = 'C',
        long,
        requires = "key",
        value_name = "PEM",
        help_heading = "TLS"
    )]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) for --cert
    #[arg(
        short = 'K',
        long,
        requires = "cert",
        value_name = "PEM",
        help_heading = "TLS"
    )]
    pub key: Option<PathBuf>,

    /// Where the generated CA and localhost certificate are kept (made when missing)
    /// [default: $H2PUSH_CAROOT, else $XDG_DATA_HOME/h2push, else ~/.local/share/h2push]
    #[arg(long, value_name = "DIR", help_heading = "TLS")]
    pub certs_dir: Option<PathBuf>,

    /// Serve symlinks whose target is outside the served directory (refused by default)
    #[arg(long, help_heading = "Files")]
    pub follow_symlinks: bool,

    /// Cache-Control for files other than HTML (HTML always gets `no-cache`)
    #[arg(long, default_value = config::DEFAULT_CACHE_CONTROL, value_name = "VALUE", help_heading = "Files")]
    pub cache_control: Option<String>,

    /// Single-page apps: a browser navigation that would be 404 gets PAGE (e.g. index.html)
    #[arg(long, value_name = "PAGE", help_heading = "Files")]
    pub fallback: Option<String>,

    /// Add a header on paths matching a glob, repeatable: '/assets/*: Cache-Control: immutable'
    #[arg(long = "header", value_name = "RULE", value_parser = crate::files::rules::HeaderRule::parse, help_heading = "Files")]
    pub headers: Vec<crate::files::rules::HeaderRule>,

    /// CORS for every origin: `Access-Control-Allow-Origin: *`, OPTIONS preflights answered 204
    #[arg(long, help_heading = "Files")]
    pub cors: bool,

    /// List a directory that has no index.html (HTML, or JSON for `Accept: application/json`)
    #[arg(long, help_heading = "Files")]
    pub list_dirs: bool,

    /// Leave out the `Server: h2push/VERSION` response header
    #[arg(long, help_heading = "Files")]
    pub no_server_header: bool,

    /// Push a page's assets with PUSH_PROMISE when the client allows it
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Push and hints"
    )]
    pub push: Switch,

    /// Send 103 Early Hints with the page's Link preload values before the page
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Push and hints"
    )]
    pub early_hints: Switch,

    /// Add the Link preload values to the page's own response headers
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Push and hints"
    )]
    pub preload_headers: Switch,

    /// Most assets pushed per page (the rest are hinted)
    #[arg(long, default_value_t = config::DEFAULT_PUSH_MAX_ASSETS, value_name = "N", help_heading = "Push and hints")]
    pub push_max_assets: usize,

    /// Cap on critical bytes (stylesheets, fonts, scripts) pushed per page; the rest are hinted
    #[arg(long, default_value = "8MiB", value_parser = crate::usage::parse_bytes, value_name = "SIZE", help_heading = "Push and hints")]
    pub push_max_bytes: u64,

    /// Non-critical bytes (images, async scripts) pushed per page; the rest are hinted
    #[arg(long, default_value = "64KiB", value_parser = crate::usage::parse_bytes, value_name = "SIZE", help_heading = "Push and hints")]
    pub push_extra_bytes: u64,

    /// Remember what each client received (cookie h2push-digest) and do not push it again
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Push and hints"
    )]
    pub push_digest: Switch,

    /// Compress text-like files of 1 KiB to 16 MiB (br, zstd, gzip) once per version, in the background
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Compression"
    )]
    pub compress: Switch,

    /// Serve FILE.br, FILE.zst or FILE.gz for FILE when accepted and not older than FILE
    #[arg(
        long,
        value_enum,
        default_value = "on",
        value_name = "on|off",
        hide_possible_values = true,
        help_heading = "Compression"
    )]
    pub precompressed: Switch,

    /// Memory kept for on-the-fly compressed bodies; oldest dropped past it
    #[arg(long, default_value = "64MiB", value_parser = crate::usage::parse_bytes_usize, value_name = "SIZE", help_heading = "Compression")]
    pub compress_cache: usize,

    /// Inject a script into HTML pages that reloads them, or swaps a stylesheet, on a change
    #[arg(long, help_heading = "Live reload and events")]
    pub live_reload: bool,

    /// URL prefix of the change feed: PREFIXevents (SSE) and PREFIXpoll (long-poll)
    #[arg(long, default_value = config::DEFAULT_FEED_PATH, value_name = "PREFIX", help_heading = "Live reload and events")]
    pub feed_path: String,

    /// Interval of the keep-alive comment on an idle event stream
    #[arg(long, default_value = "15s", value_parser = parse_duration, value_name = "TIME", help_heading = "Live reload and events")]
    pub sse_keep_alive: Duration,

    /// How long a long-poll request waits for a change before an empty answer
    #[arg(long, default_value = "25s", value_parser = parse_duration, value_name = "TIME", help_heading = "Live reload and events")]
    pub poll_timeout: Duration,

    /// Most established connections served at once (idle ones close to make room)
    #[arg(long, default_value_t = config::DEFAULT_MAX_CONNECTIONS, value_name = "N", help_heading = "Limits")]
    pub max_connections: usize,

    /// Most connections in their TLS handshake at once (past it, new clients wait for a slot)
    #[arg(long, default_value_t = config::DEFAULT_MAX_HANDSHAKES, value_name = "N", help_heading = "Limits")]
    pub max_handshakes: usize,

    /// Most change-feed event streams open at once (past it: 503 with Retry-After)
    #[arg(long, default_value_t = config::DEFAULT_MAX_EVENT_STREAMS, value_name = "N", help_heading = "Limits")]
    pub max_event_streams: usize,

    /// Most concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS)
    #[arg(long, default_value_t = config::DEFAULT_MAX_CONCURRENT_STREAMS, value_name = "N", help_heading = "Limits")]
    pub max_concurrent_streams: u32,

    /// Largest request header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE)
    #[arg(long, default_value = "32KiB", value_parser = crate::usage::parse_bytes_u32, value_name = "SIZE", help_heading = "Limits")]
    pub max_header_list_size: u32,

    /// Close a connection (reset an HTTP/2 stream) whose client takes no bytes for this long
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "TIME", help_heading = "Limits")]
    pub send_stall_timeout: Duration,

    /// Time allowed for the TLS handshake and HTTP/2 preface
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "TIME", help_heading = "Limits")]
    pub handshake_timeout: Option<Duration>,

    /// Close a connection with no open stream after this long
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "TIME", help_heading = "Limits")]
    pub idle_timeout: Option<Duration>,

    /// On SIGINT/SIGTERM, how long in-flight streams get to finish
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "TIME", help_heading = "Limits")]
    pub shutdown_grace: Option<Duration>,

    /// Access log line format: pretty (key=value), combined (Apache/nginx), or json
    #[arg(
        long,
        value_enum,
        default_value = "pretty",
        value_name = "FORMAT",
        hide_possible_values = true,
        help_heading = "Logging"
    )]
    pub log_format: crate::serve::access_log::LogFormat,

    /// Append the access log to FILE instead of stderr (even with RUST_LOG=warn)
    #[arg(long, value_name = "FILE", help_heading = "Logging")]
    pub access_log: Option<PathBuf>,
}

impl ServeArgs {
    /// What [`build_config`] makes of these flags, serving `root`.
    pub fn config(&self, root: PathBuf) -> Result<Config> {
        build_config(self, root)
    }

    /// The rest of [`Startup`]: the addresses, the log, `--open`, and `cert` to serve.
    pub fn startup(&self, config: Config, cert: tls::CertPaths) -> Startup {
        let listen = match (self.port, self.listen) {
            (Some(port), _) => SocketAddr::from(([127, 0, 0, 1], port)),
            (None, Some(listen)) => listen,
            (None, None) => "127.0.0.1:8443".parse().expect("the default address"),
        };
        Startup {
            config,
            listen,
            http: self.http,
            cert,
            log_format: self.log_format,
            access_log: self.access_log.clone(),
            open: self.open,
            certs_dir: self.certs_dir.clone(),
        }
    }
}

/// Turns flags into a validated [`Config`] serving `root`.
fn build_config(args: &ServeArgs, root: PathBuf) -> Result<Config> {
    let mut config = Config::new(root);
    config.follow_symlinks = args.follow_symlinks;
    config.proxy = args.upstream.config();
    if let Some(cc) = &args.cache_control {
        http::HeaderValue::from_str(cc).map_err(|_| {
            usage(format!(
                "--cache-control {cc:?} is not a valid header value"
            ))
        })?;
        config.cache_control = cc.clone();
    }
    if args.max_connections == 0
        || args.max_concurrent_streams == 0
        || args.max_handshakes == 0
        || args.max_event_streams == 0
    {
        return Err(usage(
            "--max-connections, --max-handshakes, --max-event-streams and --max-concurrent-streams must be at least 1",
        ));
    }
    if args.no_server_header {
        config.server_header = None;
    }
    config.feed = feed_config(args)?;
    config.rules.fallback = args
        .fallback
        .as_deref()
        .map(|page| fallback_path(&config.root, page))
        .transpose()?;
    config.rules.headers = args.headers.clone();
    config.rules.cors = args.cors;
    config.rules.list_dirs = args.list_dirs;
    config.live_reload = args.live_reload;
    config.compress = config::CompressConfig {
        on_the_fly: args.compress.on(),
        precompressed: args.precompressed.on(),
        cache_bytes: args.compress_cache,
    };
    let defaults = Limits::default();
    config.limits = Limits {
        max_concurrent_streams: args.max_concurrent_streams,
        max_header_list_size: args.max_header_list_size,
        handshake_timeout: args.handshake_timeout.unwrap_or(defaults.handshake_timeout),
        idle_timeout: args.idle_timeout.unwrap_or(defaults.idle_timeout),
        max_connections: args.max_connections,
        max_handshakes: args.max_handshakes,
        max_event_streams: args.max_event_streams,
        send_stall_timeout: args.send_stall_timeout,
        shutdown_grace: args.shutdown_grace.unwrap_or(defaults.shutdown_grace),
        ..defaults
    };
    config.push.push = args.push.on();
    config.push.early_hints = args.early_hints.on();
    config.push.preload_headers = args.preload_headers.on();
    config.push.max_assets = args.push_max_assets;
    config.push.max_bytes = args.push_max_bytes;
    config.push.extra_bytes = args.push_extra_bytes;
    config.push.digest = args.push_digest.on();
    Ok(config)
}

/// The URL path of the `--fallback` page, which must be a file under the root.
fn fallback_path(root: &Path, page: &str) -> Result<String> {
    let rel = page.trim_start_matches('/');
    if !root.join(rel).is_file() || rel.split('/').any(|s| s == "..") {
        return Err(usage(format!(
            "--fallback {page:?}: no such file in {}",
            root.display()
        )));
    }
    Ok(crate::files::path::url_path(rel.split('/'), false))
}

/// The change feed's settings; the prefix must be a plain absolute directory path.
fn feed_config(args: &ServeArgs) -> Result<FeedConfig> {
    let path = &args.feed_path;
    let plain = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b));
    if !plain
        || path.len() < 3
        || !path.starts_with('/')
        || !path.ends_with('/')
        || path.contains("//")
    {
        return Err(usage(format!(
            "--feed-path {path:?} must look like /.h2push/: start and end with /, letters, digits and -._~ only"
        )));
    }
    if args.sse_keep_alive.is_zero() {
        return Err(usage("--sse-keep-alive must be more than 0"));
    }
    Ok(FeedConfig {
        path: path.clone(),
        keep_alive: args.sse_keep_alive,
        poll_timeout: args.poll_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::help::command;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("3").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn flags_parse_with_defaults() {
        let cli = Cli::try_parse_from(["h2push", "serve", "some/dir", "--h2c"]).unwrap();
        let Some(Command::Serve(args)) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.dir, Some(PathBuf::from("some/dir")));
        assert_eq!(args.http, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(args.listen, Some("127.0.0.1:8443".parse().unwrap()));
        // The byte sizes' defaults are written with units; they must say what config.rs says.
        assert_eq!(
            args.max_header_list_size,
            config::DEFAULT_MAX_HEADER_LIST_SIZE
        );
        assert_eq!(args.push_max_bytes, config::DEFAULT_PUSH_MAX_BYTES);
        assert_eq!(args.push_extra_bytes, config::DEFAULT_PUSH_EXTRA_BYTES);
        assert_eq!(args.compress_cache, config::DEFAULT_COMPRESS_CACHE_BYTES);
        assert_eq!(args.port, None);
        let cli = Cli::try_parse_from(["h2push", "-p", "9000", "-o"]).unwrap();
        assert_eq!((cli.serve.port, cli.serve.open), (Some(9000), true));
        assert!(Cli::try_parse_from(["h2push", "-p", "9000", "--listen", "1"]).is_err());
        command().debug_assert();
        assert!(Cli::try_parse_from(["h2push", "serve", "--cert", "a.pem"]).is_err());
        assert!(Cli::try_parse_from(["h2push", "serve", "--idle-timeout", "soon"]).is_err());
        assert_eq!(args.feed_path, config::DEFAULT_FEED_PATH);
        assert_eq!(args.sse_keep_alive, config::DEFAULT_SSE_KEEP_ALIVE);
        assert_eq!(args.poll_timeout, config::DEFAULT_POLL_TIMEOUT);
        assert!(!args.live_reload);
    }

    #[test]
    fn feed_paths_must_be_plain_directories() {
        let feed = |path: &str| {
            let cli = Cli::try_parse_from(["h2push", "serve", "--feed-path", path]).unwrap();
            let Some(Command::Serve(args)) = cli.command else {
                panic!("not serve")
            };
            feed_config(&args).map(|f| f.path)
        };
        assert_eq!(feed("/_feed/").unwrap(), "/_feed/");
        assert_eq!(feed("/a/b/").unwrap(), "/a/b/");
        for bad in [
            "/",
            "feed/",
            "/feed",
            "/fe ed/",
            "/<script>/",
            "//x/",
            "/a\\b/",
        ] {
            assert!(feed(bad).is_err(), "{bad}");
        }
    }
}
