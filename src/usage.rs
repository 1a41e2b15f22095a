//! Errors in what the user asked for, and the parsers flags share: low in the crate, so the
//! library's commands (`compare`, `scan`) report usage errors without importing the CLI.

use std::time::Duration;

/// An error in what the user asked for (a flag, a path, a port): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A usage error as an `anyhow::Error`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Parses `10s`, `500ms` or `2m`. A bare number other than 0 is refused with the units it could
/// mean: `--rtt 50` read as seconds once made a 50 ms emulation wait 50 s.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None if s.parse::<f64>() == Ok(0.0) => return Ok(Duration::ZERO),
        None => {
            return Err(format!(
                "`{s}` needs a unit: {s}ms or {s}s (units: ms, s, m)"
            ))
        }
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 10s or 500ms)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("`{s}`: {e}"))
}

/// Parses a byte size: plain bytes (`262144`), or a number with a unit: `KiB`, `MiB`, `GiB`
/// (1024-based) or `KB`, `MB`, `GB` (1000-based), any case, `B` optional (`1.5MiB`, `64kib`).
/// A bare `k`, `M` or `G` is refused with both readings: it means 1000 to some tools and 1024
/// to others.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a byte size (try 65536, 64KiB or 1MiB)"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let scale: u64 = match unit.as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "k" | "m" | "g" => {
            let u = unit.to_ascii_uppercase();
            return Err(format!(
                "`{s}`: say {number}{u}iB (1024-based) or {number}{u}B (1000-based)"
            ));
        }
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}` (use B, KiB, MiB, GiB, KB, MB or GB)"
            ))
        }
    };
    let bytes = (n * scale as f64).floor();
    if scale == 1 && number.contains('.') {
        return Err(format!("`{s}`: a number of bytes is whole"));
    }
    if bytes >= u64::MAX as f64 {
        return Err(format!("`{s}` is too large"));
    }
    Ok(bytes as u64)
}

/// [`parse_bytes`] for a setting held in 32 bits (an HTTP/2 SETTINGS value).
pub fn parse_bytes_u32(s: &str) -> Result<u32, String> {
    let bytes = parse_bytes(s)?;
    u32::try_from(bytes).map_err(|_| format!("`{}` is more than {} bytes", s.trim(), u32::MAX))
}

/// [`parse_bytes`] for a size held in memory.
pub fn parse_bytes_usize(s: &str) -> Result<usize, String> {
    let bytes = parse_bytes(s)?;
    usize::try_from(bytes).map_err(|_| format!("`{}` is more than {} bytes", s.trim(), usize::MAX))
}

/// Parses a listening address: `127.0.0.1:8443`, `[::1]:8443`, a host name with a port
/// (`localhost:8443`, resolved; its first address is used), or a port alone (`8443` or
/// `:8443`), which keeps the default host 127.0.0.1 so a port change never opens the server to
/// the network; `0.0.0.0:8443` does that on purpose.
pub fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
    let s = s.trim();
    let port_only = s.strip_prefix(':').unwrap_or(s);
    if !port_only.is_empty() && port_only.bytes().all(|b| b.is_ascii_digit()) {
        let port: u16 = port_only
            .parse()
            .map_err(|_| format!("`{s}`: port must be 0 to 65535"))?;
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if !s.contains(':') {
        return Err(format!("`{s}` has no port (try {s}:8443 or 8443)"));
    }
    s.to_socket_addrs()
        .map_err(|e| format!("`{s}`: {e}"))?
        .next()
        .ok_or_else(|| format!("`{s}`: the name has no address"))
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) is not an error worth a message.
pub fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// An on/off flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    pub fn on(self) -> bool {
        self == Switch::On
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let ok = |s: &str| parse_listen(s).unwrap().to_string();
        assert_eq!(ok("8443"), "127.0.0.1:8443");
        assert_eq!(ok(":8443"), "127.0.0.1:8443");
        assert_eq!(ok("0.0.0.0:80"), "0.0.0.0:80");
        assert_eq!(ok("[::1]:8443"), "[::1]:8443");
        assert!(parse_listen("localhost:8443").unwrap().ip().is_loopback());
        for bad in ["", ":", "70000", "localhost", "no such host:1", "1.2.3.4:x"] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bare_numbers_need_a_unit() {
        let err = parse_duration("50").unwrap_err();
        assert!(err.contains("50ms"), "{err}");
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
    }

    #[test]
    fn byte_sizes_take_units() {
        for (text, bytes) in [
            ("262144", 262_144),
            ("0", 0),
            ("64KiB", 65_536),
            ("64 kib", 65_536),
            ("1MiB", 1 << 20),
            ("1.5MiB", 3 << 19),
            ("1MB", 1_000_000),
            ("2GB", 2_000_000_000),
            ("1GiB", 1 << 30),
            ("512B", 512),
        ] {
            assert_eq!(parse_bytes(text), Ok(bytes), "{text}");
        }
        let err = parse_bytes("512k").unwrap_err();
        assert!(err.contains("512KiB") && err.contains("512KB"), "{err}");
        for bad in ["", "MiB", "ten", "1.5", "3 parsecs", "-1", "99999999999GiB"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_bytes_u32("4GiB").unwrap_err(),
            "`4GiB` is more than 4294967295 bytes"
        );
    }
}
