//! The accept loop: HTTP/1.1 connections (WebSockets upgrade from them) with the hygiene a
//! public server needs. A connection must send its request headers within the header timeout,
//! which also bounds how long a keep-alive connection may sit idle; the server holds at most
//! `max` connections (and `per_ip` of one client address), and answers one more with a 503
//! and a GraphQL-shaped body instead of letting `accept` run out of file descriptors.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// The bounds of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections at once (0: no limit).
    pub max: usize,
    /// Connections of one client address at once (0: no limit).
    pub per_ip: usize,
    /// Time to send a request's headers, and the most a keep-alive connection stays idle.
    pub header_timeout: Duration,
}

/// The open connections of each client address.
#[derive(Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

struct IpSlot {
    owner: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn acquire(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<IpSlot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if limit > 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            owner: self.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.owner.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A connection over the limits: a short 503 with a GraphQL-shaped body, then closed.
async fn refuse(mut stream: TcpStream, why: &str) {
    let body = serde_json::json!({ "errors": [{ "message": why, "extensions": { "code": "RATE_LIMITED" } }] })
        .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (connections are asked to close after their current request).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = if limits.max > 0 {
        limits.max
    } else {
        Semaphore::MAX_PERMITS
    };
    let open = Arc::new(Semaphore::new(permits));
    let per_ip = Arc::new(PerIp::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors (or a connection reset while queued): wait a moment
                // instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse(
                stream,
                "the server holds the most connections it allows; retry shortly",
            ));
            continue;
        };
        let Some(ip_slot) = per_ip.acquire(peer.ip(), limits.per_ip) else {
            tokio::spawn(refuse(
                stream,
                "this address holds the most connections allowed; retry shortly",
            ));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| router.clone().oneshot(req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(ip_slot);
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    // Drain: wait (boundedly) until every connection finished its request.
    let _ = tokio::time::timeout(
        Duration::from_secs(30),
        open.acquire_many(permits.min(u32::MAX as usize) as u32),
    )
    .await;
    Ok(())
}
