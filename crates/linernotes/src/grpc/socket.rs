//! The server side of a gRPC client connection, tuned so that small answers leave together.
//!
//! h2 copies a DATA frame into its write buffer (to leave with the frames around it in one write) only
//! when its payload is small: up to 256 bytes on a socket that takes vectored writes, up to 1,024 bytes
//! on one that does not. A larger payload is written on its own and must be flushed before any other
//! frame is queued. Most linernotes answers are a few hundred bytes of protobuf (an artist is about
//! 450), so on a plain socket every answer cost two write system calls (the headers with the payload,
//! then the trailers), each a trip through the TCP stack. Reporting the socket as not vectored raises
//! the limit to 1 KiB: those answers are then batched with everything else waiting, many answers per
//! write. Larger answers are written as before, in two writes.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::support::net::Connection;

/// An accepted TCP connection whose small answers h2 batches (see the module documentation).
#[derive(Debug)]
pub struct BatchedWrites(pub Connection);

impl AsyncRead for BatchedWrites {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for BatchedWrites {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl Connected for BatchedWrites {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.stream().connect_info()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::support::net::{ConnectionLimits, GuardedListener};

    #[tokio::test]
    async fn reports_no_vectored_writes_and_keeps_the_peer_address_and_the_bytes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let listener = GuardedListener::new(
            listener,
            ConnectionLimits {
                max_connections: 1,
                first_byte_timeout: std::time::Duration::from_secs(30),
            },
        );
        let mut client = TcpStream::connect(addr).await.expect("connect");
        let mut server = BatchedWrites(listener.accept().await);

        assert!(server.0.is_write_vectored(), "a plain socket is vectored");
        assert!(!server.is_write_vectored());
        assert_eq!(
            server.connect_info().remote_addr(),
            client.local_addr().ok()
        );

        server.write_all(b"answer").await.expect("write");
        server.flush().await.expect("flush");
        let mut answer = [0; 6];
        client.read_exact(&mut answer).await.expect("read");
        assert_eq!(&answer, b"answer");
        client.write_all(b"ask").await.expect("write");
        let mut question = [0; 3];
        server.read_exact(&mut question).await.expect("read");
        assert_eq!(&question, b"ask");
    }
}
