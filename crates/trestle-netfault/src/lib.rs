//! A real TCP proxy for tests and benchmarks, put between the tills and the hub: it listens on
//! 127.0.0.1 port 0, forwards each HTTP/1.1 exchange to the hub, counts the bytes the tills send
//! and receive, and — at a configurable rate, from a seeded RNG — injects one fault into an
//! exchange: the connection dropped before the request is forwarded, the request forwarded twice,
//! a delay, the connection reset (RST) part-way through the response, or the response's body cut
//! short. Nothing here knows Trestle's protocol: it only frames HTTP messages (Content-Length or
//! chunked bodies) so it can cut them at a chosen byte.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

mod rng;

pub use rng::SplitMix;

/// The largest HTTP head (request line or status line and headers) the proxy frames.
const MAX_HEAD: usize = 64 * 1024;

/// One kind of fault, injected into one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client's connection is closed before its request is forwarded: the hub never sees it.
    Drop,
    /// The request is forwarded twice on the same connection; the client gets the second answer.
    Duplicate,
    /// The exchange waits a random time (up to the configured delay) before it is forwarded.
    Delay,
    /// The answer is forwarded up to a random byte (possibly none of it), then the connection is
    /// reset (RST): the hub did the work, the client does not learn the outcome.
    Reset,
    /// The head of the answer arrives whole, its body only in part, then the connection closes.
    Truncate,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Drop,
        Fault::Duplicate,
        Fault::Delay,
        Fault::Reset,
        Fault::Truncate,
    ];

    fn index(self) -> usize {
        match self {
            Fault::Drop => 0,
            Fault::Duplicate => 1,
            Fault::Delay => 2,
            Fault::Reset => 3,
            Fault::Truncate => 4,
        }
    }

    pub fn name(self) -> &'static str {
        ["drop", "duplicate", "delay", "reset", "truncate"][self.index()]
    }
}

/// What the proxy does to the exchanges through it.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Faulty exchanges per million (0: a plain counting proxy).
    pub per_million: u32,
    /// The faults chosen from, with equal chance.
    pub kinds: Vec<Fault>,
    /// The longest delay of a [`Fault::Delay`].
    pub max_delay: Duration,
    pub seed: u64,
}

impl Faults {
    /// No faults: the proxy only counts bytes.
    pub fn none() -> Faults {
        Faults {
            per_million: 0,
            kinds: Vec::new(),
            max_delay: Duration::ZERO,
            seed: 0,
        }
    }

    /// Every kind of fault, `per_million` of the exchanges, delays up to 50 ms.
    pub fn all(per_million: u32, seed: u64) -> Faults {
        Faults {
            per_million: per_million.min(1_000_000),
            kinds: Fault::ALL.to_vec(),
            max_delay: Duration::from_millis(50),
            seed,
        }
    }
}

/// Parses a fault rate written as a fraction (`0.25`) or a percentage (`25%`) into faulty
/// exchanges per million, without floating point.
pub fn parse_rate(input: &str) -> Result<u32, String> {
    let s = input.trim();
    let (number, scale) = match s.strip_suffix('%') {
        Some(p) => (p.trim(), 10_000u64),
        None => (s, 1_000_000u64),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let bad = || format!("{input:?} is not a fault rate: write 0.25 or 25%");
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
        || frac.len() > 6
    {
        return Err(bad());
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut frac_value: u64 = 0;
    let mut unit = scale;
    for c in frac.chars() {
        unit /= 10;
        frac_value += u64::from(c.to_digit(10).unwrap_or(0)) * unit;
    }
    let value = int.saturating_mul(scale).saturating_add(frac_value);
    if value > 1_000_000 {
        return Err(format!("{input:?} is more than every exchange"));
    }
    u32::try_from(value).map_err(|_| bad())
}

/// What went through the proxy so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Bytes the clients sent (requests).
    pub bytes_up: u64,
    /// Bytes the clients received (answers, in whole or in part).
    pub bytes_down: u64,
    /// Requests read from the clients.
    pub exchanges: u64,
    /// Faults injected, by kind (in the order of [`Fault::ALL`]).
    pub faults: [u64; 5],
}

impl Counts {
    pub fn total_bytes(&self) -> u64 {
        self.bytes_up + self.bytes_down
    }
    pub fn total_faults(&self) -> u64 {
        self.faults.iter().sum()
    }
}

/// What went through the proxy for one request path (the query left out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathCounts {
    pub requests: u64,
    pub bytes_up: u64,
    pub bytes_down: u64,
}

#[derive(Default)]
struct Counters {
    up: AtomicU64,
    down: AtomicU64,
    exchanges: AtomicU64,
    faults: [AtomicU64; 5],
    by_path: Mutex<std::collections::BTreeMap<String, PathCounts>>,
}

impl Counters {
    fn path(&self, path: &str, up: u64, down: u64) {
        let mut m = lock(&self.by_path);
        let c = m.entry(path.to_string()).or_default();
        c.requests += u64::from(up > 0);
        c.bytes_up += up;
        c.bytes_down += down;
    }
}

struct Shared {
    upstream: Mutex<SocketAddr>,
    faults: Mutex<Faults>,
    counters: Counters,
    stop: AtomicBool,
}

/// A running proxy; stopped when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy on 127.0.0.1 port 0 forwarding to `upstream`.
    pub fn start(upstream: SocketAddr, faults: Faults) -> io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream),
            faults: Mutex::new(faults),
            counters: Counters::default(),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let acceptor = std::thread::Builder::new()
            .name("netfault-accept".into())
            .spawn(move || accept_loop(&listener, &s))?;
        Ok(Proxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:PORT`: the URL the clients use instead of the hub's.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Points new connections at another upstream (a hub restarted on another port).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *lock(&self.shared.upstream) = upstream;
    }

    /// The faults injected now.
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).clone()
    }

    /// Changes the faults of the exchanges from now on.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    pub fn counts(&self) -> Counts {
        let c = &self.shared.counters;
        let mut faults = [0; 5];
        for (slot, n) in faults.iter_mut().zip(&c.faults) {
            *slot = n.load(Ordering::Relaxed);
        }
        Counts {
            bytes_up: c.up.load(Ordering::Relaxed),
            bytes_down: c.down.load(Ordering::Relaxed),
            exchanges: c.exchanges.load(Ordering::Relaxed),
            faults,
        }
    }

    /// Requests and bytes by request path (`/v1/sync/exchange`, …), since the last reset.
    pub fn counts_by_path(&self) -> std::collections::BTreeMap<String, PathCounts> {
        lock(&self.shared.counters.by_path).clone()
    }

    /// Sets every count back to zero.
    pub fn reset_counts(&self) {
        let c = &self.shared.counters;
        lock(&c.by_path).clear();
        for n in [&c.up, &c.down, &c.exchanges].into_iter().chain(&c.faults) {
            n.store(0, Ordering::Relaxed);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                let s = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("netfault-conn".into())
                    .spawn(move || {
                        if let Err(e) = serve(client, &s) {
                            tracing::trace!(error = %e, "proxied connection ended");
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "no thread for a proxied connection");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// One upstream connection per client connection, exchange after exchange.
fn serve(client: TcpStream, shared: &Shared) -> io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_nodelay(true)?;
    client.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut to_client = client;
    let mut upstream: Option<(BufReader<TcpStream>, TcpStream)> = None;
    loop {
        let Some(request) = read_message(&mut from_client, None)? else {
            return Ok(());
        };
        let c = &shared.counters;
        c.up.fetch_add(len64(&request.bytes), Ordering::Relaxed);
        c.path(&request.path, len64(&request.bytes), 0);
        let n = c.exchanges.fetch_add(1, Ordering::Relaxed);
        let (fault, mut rng) = choose(&lock(&shared.faults), n);
        if let Some(f) = fault {
            c.faults[f.index()].fetch_add(1, Ordering::Relaxed);
        }
        let max_delay = lock(&shared.faults).max_delay;
        match fault {
            Some(Fault::Drop) => {
                let _ = to_client.shutdown(Shutdown::Both);
                return Ok(());
            }
            Some(Fault::Delay) => {
                let ms = u64::try_from(max_delay.as_millis()).unwrap_or(u64::MAX);
                std::thread::sleep(Duration::from_millis(rng.below(ms.max(1)) + 1));
            }
            _ => {}
        }
        if upstream.is_none() {
            let addr = *lock(&shared.upstream);
            let Ok(up) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
                // The hub is not there: the client sees its connection closed.
                let _ = to_client.shutdown(Shutdown::Both);
                return Ok(());
            };
            up.set_nodelay(true)?;
            up.set_read_timeout(Some(Duration::from_secs(60)))?;
            upstream = Some((BufReader::new(up.try_clone()?), up));
        }
        let Some((up_read, up_write)) = upstream.as_mut() else {
            return Ok(());
        };
        let times = if fault == Some(Fault::Duplicate) {
            2
        } else {
            1
        };
        let mut answer = None;
        for _ in 0..times {
            let forwarded = up_write
                .write_all(&request.bytes)
                .and_then(|()| up_write.flush());
            answer = match forwarded.and_then(|()| read_message(up_read, Some(&request.method))) {
                Ok(Some(a)) => Some(a),
                _ => None,
            };
            if answer.is_none() {
                break;
            }
        }
        let Some(answer) = answer else {
            let _ = to_client.shutdown(Shutdown::Both);
            return Ok(());
        };
        match fault {
            Some(Fault::Reset) => {
                let cut = usize::try_from(rng.below(len64(&answer.bytes))).unwrap_or(0);
                c.down
                    .fetch_add(len64(&answer.bytes[..cut]), Ordering::Relaxed);
                c.path(&request.path, 0, len64(&answer.bytes[..cut]));
                let _ = to_client.write_all(&answer.bytes[..cut]);
                let _ = socket2::SockRef::from(&to_client).set_linger(Some(Duration::ZERO));
                return Ok(());
            }
            Some(Fault::Truncate) => {
                let body = len64(&answer.bytes) - len64(&answer.bytes[..answer.head_len]);
                let keep = answer.head_len
                    + usize::try_from(rng.below(body.max(1)))
                        .unwrap_or(0)
                        .min(answer.bytes.len() - answer.head_len);
                c.down
                    .fetch_add(len64(&answer.bytes[..keep]), Ordering::Relaxed);
                c.path(&request.path, 0, len64(&answer.bytes[..keep]));
                let _ = to_client.write_all(&answer.bytes[..keep]);
                let _ = to_client.shutdown(Shutdown::Both);
                return Ok(());
            }
            _ => {}
        }
        c.down.fetch_add(len64(&answer.bytes), Ordering::Relaxed);
        c.path(&request.path, 0, len64(&answer.bytes));
        to_client.write_all(&answer.bytes)?;
        to_client.flush()?;
        if answer.close || request.close {
            return Ok(());
        }
    }
}

fn len64(b: &[u8]) -> u64 {
    u64::try_from(b.len()).unwrap_or(u64::MAX)
}

/// Whether exchange `n` gets a fault, and which; the RNG for its details. The same seed and
/// exchange number always give the same choice.
fn choose(f: &Faults, n: u64) -> (Option<Fault>, SplitMix) {
    let mut rng = SplitMix::new(f.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let faulty = !f.kinds.is_empty() && rng.below(1_000_000) < u64::from(f.per_million);
    let kind = if faulty {
        let i = usize::try_from(rng.below(len64_usize(f.kinds.len()))).unwrap_or(0);
        f.kinds.get(i).copied()
    } else {
        None
    };
    (kind, rng)
}

fn len64_usize(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// One whole HTTP/1.1 message as it came on the wire.
struct Message {
    bytes: Vec<u8>,
    /// The length of the start line and headers, blank line included.
    head_len: usize,
    /// The request's method (requests only).
    method: String,
    /// The request's path without its query (requests only).
    path: String,
    /// The message says `Connection: close`.
    close: bool,
}

/// Reads one message; `None` at a clean end of the stream before any byte of it. `request_method`
/// is the method of the request being answered (for a response), `None` when reading a request.
fn read_message(
    r: &mut BufReader<TcpStream>,
    request_method: Option<&str>,
) -> io::Result<Option<Message>> {
    let mut bytes = Vec::new();
    let mut first = String::new();
    let mut content_length: Option<u64> = None;
    let (mut chunked, mut close) = (false, false);
    loop {
        let mut line = Vec::new();
        let n = r.by_ref().take(8 * 1024).read_until(b'\n', &mut line)?;
        if n == 0 {
            if bytes.is_empty() {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        bytes.extend_from_slice(&line);
        if bytes.len() > MAX_HEAD || !line.ends_with(b"\n") {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too long"));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if first.is_empty() {
            if text.is_empty() {
                // Stray blank lines between messages are allowed.
                bytes.clear();
                continue;
            }
            first = text.to_string();
            continue;
        }
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => content_length = value.parse().ok(),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let head_len = bytes.len();
    let method = match request_method {
        None => first.split(' ').next().unwrap_or("").to_string(),
        Some(m) => m.to_string(),
    };
    let status: u16 = if request_method.is_some() {
        first
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    } else {
        0
    };
    let bodiless = request_method.is_some()
        && (method == "HEAD" || status == 204 || status == 304 || (100..200).contains(&status));
    if bodiless {
    } else if chunked {
        read_chunked(r, &mut bytes)?;
    } else if let Some(n) = content_length {
        let start = bytes.len();
        r.by_ref().take(n).read_to_end(&mut bytes)?;
        if len64(&bytes[start..]) != n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    } else if request_method.is_some() {
        // A response without a length runs to the end of the connection.
        r.read_to_end(&mut bytes)?;
        close = true;
    }
    let path = match request_method {
        None => first
            .split(' ')
            .nth(1)
            .and_then(|t| t.split('?').next())
            .unwrap_or("")
            .to_string(),
        Some(_) => String::new(),
    };
    Ok(Some(Message {
        bytes,
        head_len,
        method,
        path,
        close,
    }))
}

fn read_chunked(r: &mut BufReader<TcpStream>, bytes: &mut Vec<u8>) -> io::Result<()> {
    loop {
        let mut line = Vec::new();
        r.by_ref().take(1024).read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\n") {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        bytes.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        let size_text = text.trim().split(';').next().unwrap_or("").to_string();
        let size = u64::from_str_radix(&size_text, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers, then the blank line.
            loop {
                let mut t = Vec::new();
                r.by_ref().take(8 * 1024).read_until(b'\n', &mut t)?;
                if !t.ends_with(b"\n") {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                bytes.extend_from_slice(&t);
                if t == b"\r\n" || t == b"\n" {
                    return Ok(());
                }
            }
        }
        let start = bytes.len();
        r.by_ref().take(size + 2).read_to_end(bytes)?;
        if len64(&bytes[start..]) != size + 2 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

#[cfg(test)]
mod tests;
