//! Accepting connections within limits, for both transports: at most `max_connections` open at once
//! per listener (the next waits in the kernel's backlog until one closes), and a connection that sends
//! nothing within `first_byte_timeout` is closed. Idle or half-open clients therefore cannot hold file
//! descriptors until the process runs out of them; what they do after their first byte is bounded by
//! each transport's own header and body deadlines.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long accepting pauses after the operating system refuses to accept (out of descriptors):
/// retrying at once would spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The limits every accepted connection lives under.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once on one listener.
    pub max_connections: usize,
    /// How long a new connection may stay silent before it is closed.
    pub first_byte_timeout: Duration,
}

/// A listener that admits connections within [`ConnectionLimits`].
#[derive(Debug)]
pub struct GuardedListener {
    listener: TcpListener,
    permits: Arc<Semaphore>,
    limits: ConnectionLimits,
}

/// An accepted connection; its slot is given back when it is dropped.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    _slot: OwnedSemaphorePermit,
}

impl GuardedListener {
    /// Admits connections from `listener` within `limits`.
    pub fn new(listener: TcpListener, limits: ConnectionLimits) -> Self {
        Self {
            listener,
            permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
        }
    }

    /// The limits connections live under.
    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    /// Waits for a free slot, then for the next connection. TCP_NODELAY is set on it: small answers
    /// must not wait for the client's delayed ACK (Nagle).
    pub async fn accept(&self) -> Connection {
        let slot = match self.permits.clone().acquire_owned().await {
            Ok(slot) => slot,
            // The semaphore is never closed; should it be, stop admitting.
            Err(_) => std::future::pending().await,
        };
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                    }
                    return Connection {
                        stream,
                        peer,
                        _slot: slot,
                    };
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }
}

impl Connection {
    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The socket.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// This connection once its client has sent something within `timeout`; `None` (and the
    /// connection closed) when it stayed silent or went away.
    pub async fn first_byte_within(self, timeout: Duration) -> Option<Self> {
        let mut byte = [0u8; 1];
        match tokio::time::timeout(timeout, self.stream.peek(&mut byte)).await {
            Ok(Ok(n)) if n > 0 => Some(self),
            _ => None,
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The address of the client a request comes from, once forwarding headers of trusted proxies are
/// taken into account (see [`TrustedProxies::client`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The proxies (load balancers) whose `X-Forwarded-For` headers are believed. None by default: then
/// the client is always the socket peer, and a forged header changes nothing.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// Believes the proxies in `networks`.
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks.into())
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the nearest address
    /// in `X-Forwarded-For` (read from the right, as each proxy appends the address it saw) that is
    /// not a trusted proxy, or the farthest one when all are.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in forwarded_for
            .into_iter()
            .flat_map(|header| header.rsplit(','))
        {
            let Ok(address) = hop.trim().parse::<IpAddr>() else {
                // A hop that is no address: what lies beyond it cannot be believed.
                break;
            };
            client = address.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    fn limits(max_connections: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections,
            first_byte_timeout: Duration::from_secs(30),
        }
    }

    #[tokio::test]
    async fn a_connection_past_the_limit_waits_until_one_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let guarded = GuardedListener::new(listener, limits(1));
        let _first_client = TcpStream::connect(addr).await.expect("connect");
        let _second_client = TcpStream::connect(addr).await.expect("connect");
        let first = guarded.accept().await;
        assert!(
            guarded.accept().now_or_never().is_none(),
            "no slot while the first connection is open, although a client waits"
        );
        drop(first);
        let second = guarded.accept().await;
        assert_ne!(second.peer(), addr);
    }

    #[tokio::test]
    async fn a_silent_connection_is_closed_and_a_talking_one_kept() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let guarded = GuardedListener::new(listener, limits(4));
        let _silent = TcpStream::connect(addr).await.expect("connect");
        let silent = guarded.accept().await;
        assert!(silent
            .first_byte_within(Duration::from_millis(1))
            .await
            .is_none());
        let talking = TcpStream::connect(addr).await.expect("connect");
        talking.try_write(b"G").expect("write");
        let kept = guarded.accept().await;
        assert!(kept
            .first_byte_within(Duration::from_secs(30))
            .await
            .is_some());
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("10.0.0.1"), Some("203.0.113.7")),
            ip("10.0.0.1")
        );
        let trusted = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(
            trusted.client(ip("192.0.2.1"), Some("203.0.113.7")),
            ip("192.0.2.1")
        );
        assert_eq!(
            trusted.client(ip("10.0.0.1"), Some("203.0.113.7")),
            ip("203.0.113.7")
        );
        // A forged first hop before the real one is not believed.
        assert_eq!(
            trusted.client(ip("10.0.0.1"), Some("198.51.100.9, 203.0.113.7, 10.0.0.2")),
            ip("203.0.113.7")
        );
        assert_eq!(
            trusted.client(ip("10.0.0.1"), Some("junk, 203.0.113.7")),
            ip("203.0.113.7")
        );
        assert_eq!(trusted.client(ip("10.0.0.1"), None), ip("10.0.0.1"));
        assert_eq!(
            trusted.client(ip("::ffff:10.0.0.1"), Some("203.0.113.7")),
            ip("203.0.113.7")
        );
    }
}
