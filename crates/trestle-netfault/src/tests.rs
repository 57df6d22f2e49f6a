//! The proxy against a real TCP echo-ish HTTP server on 127.0.0.1: plain forwarding and counting,
//! each fault's effect as a client sees it, and the rate parser.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::*;

/// A tiny HTTP/1.1 server: answers every request with its number (how many it has seen) in a
/// body of `size` bytes, keeping the connection open.
fn server(size: usize) -> (SocketAddr, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let s = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(c) = c else { continue };
            let s = s.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(c.try_clone().unwrap());
                let mut w = c;
                while let Ok(Some(_)) = read_message(&mut r, None) {
                    let n = s.fetch_add(1, Ordering::SeqCst) + 1;
                    let mut body = format!("{n}").into_bytes();
                    body.resize(size.max(body.len()), b'.');
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                    if w.write_all(head.as_bytes())
                        .and_then(|()| w.write_all(&body))
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// Sends one POST and reads the answer to the end of its body; `Err` when the connection ended
/// first.
fn post(addr: SocketAddr, body: &[u8]) -> io::Result<Vec<u8>> {
    let mut c = TcpStream::connect(addr)?;
    let head = format!(
        "POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes())?;
    c.write_all(body)?;
    let mut r = BufReader::new(c);
    match read_message(&mut r, Some("POST"))? {
        Some(m) => Ok(m.bytes[m.head_len..].to_vec()),
        None => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

fn only(kind: Fault) -> Faults {
    Faults {
        per_million: 1_000_000,
        kinds: vec![kind],
        max_delay: Duration::from_millis(5),
        seed: 7,
    }
}

#[test]
fn a_plain_proxy_forwards_and_counts_both_directions() {
    let (addr, seen) = server(100);
    let p = Proxy::start(addr, Faults::none()).unwrap();
    let body = post(p.addr(), b"hello").unwrap();
    assert_eq!(body.len(), 100);
    assert!(body.starts_with(b"1"));
    let c = p.counts();
    assert_eq!(c.exchanges, 1);
    assert_eq!(c.total_faults(), 0);
    let request_len = "POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello".len();
    assert_eq!(c.bytes_up, request_len as u64);
    assert_eq!(
        c.bytes_down,
        ("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n".len() + 100) as u64
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[test]
fn a_dropped_exchange_never_reaches_the_server() {
    let (addr, seen) = server(10);
    let p = Proxy::start(addr, only(Fault::Drop)).unwrap();
    assert!(post(p.addr(), b"x").is_err());
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(seen.load(Ordering::SeqCst), 0);
    assert_eq!(p.counts().faults[0], 1);
}

#[test]
fn a_duplicated_request_reaches_the_server_twice_and_the_client_gets_the_second_answer() {
    let (addr, seen) = server(10);
    let p = Proxy::start(addr, only(Fault::Duplicate)).unwrap();
    let body = post(p.addr(), b"x").unwrap();
    assert!(
        body.starts_with(b"2"),
        "{:?}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[test]
fn a_reset_or_truncated_answer_is_done_at_the_server_but_never_whole_at_the_client() {
    for kind in [Fault::Reset, Fault::Truncate] {
        let (addr, seen) = server(10_000);
        let p = Proxy::start(addr, only(kind)).unwrap();
        for _ in 0..5 {
            assert!(post(p.addr(), b"x").is_err(), "{kind:?}");
        }
        assert_eq!(seen.load(Ordering::SeqCst), 5);
        let c = p.counts();
        assert!(c.bytes_down < 5 * 10_000, "{kind:?}: {c:?}");
    }
}

#[test]
fn a_delayed_exchange_still_arrives_whole() {
    let (addr, _) = server(10);
    let p = Proxy::start(addr, only(Fault::Delay)).unwrap();
    assert_eq!(post(p.addr(), b"x").unwrap().len(), 10);
}

#[test]
fn a_stopped_server_closes_the_clients_connection_and_a_new_upstream_is_used() {
    let (addr, _) = server(10);
    let dead = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let p = Proxy::start(dead, Faults::none()).unwrap();
    assert!(post(p.addr(), b"x").is_err());
    p.set_upstream(addr);
    assert_eq!(post(p.addr(), b"x").unwrap().len(), 10);
}

#[test]
fn the_same_seed_gives_the_same_schedule() {
    let f = Faults::all(250_000, 42);
    let a: Vec<_> = (0..1000).map(|n| choose(&f, n).0).collect();
    let b: Vec<_> = (0..1000).map(|n| choose(&f, n).0).collect();
    assert_eq!(a, b);
    let faulty = a.iter().filter(|x| x.is_some()).count();
    assert!((200..300).contains(&faulty), "{faulty}");
}

#[test]
fn rates_parse_as_fractions_or_percentages_without_floats() {
    assert_eq!(parse_rate("0.25"), Ok(250_000));
    assert_eq!(parse_rate("25%"), Ok(250_000));
    assert_eq!(parse_rate("1"), Ok(1_000_000));
    assert_eq!(parse_rate(".2"), Ok(200_000));
    assert_eq!(parse_rate("0"), Ok(0));
    assert!(parse_rate("1.5").is_err());
    assert!(parse_rate("abc").is_err());
    assert!(parse_rate("").is_err());
    assert!(parse_rate("-0.1").is_err());
}
