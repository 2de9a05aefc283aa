//! WebSocket plumbing shared by the examples' adapters: the clock, trace printing, the
//! server's accept loop (reader and writer tasks that only move frames), and the client's
//! connect. No protocol logic lives here.

#![allow(dead_code)]

use std::time::Duration;

use callsig::Timestamp;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Milliseconds since the adapter started, as the machines' clock.
#[derive(Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    /// The process's clock: every adapter in one process counts from the same origin, so
    /// their traces line up.
    pub fn start() -> Self {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        Clock(*ORIGIN.get_or_init(Instant::now))
    }
    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.elapsed().as_millis() as u64)
    }
    pub fn instant(&self, t: Timestamp) -> Instant {
        self.0 + Duration::from_millis(t.as_millis())
    }
    /// Sleeps until `t`, or forever when there is none.
    pub async fn sleep_until(&self, t: Option<Timestamp>) {
        match t {
            Some(t) => tokio::time::sleep_until(self.instant(t)).await,
            None => std::future::pending().await,
        }
    }
}

/// Where the adapters write what crossed the wire.
pub type Trace = Box<dyn FnMut(Timestamp, String) + Send>;

pub fn print_trace(who: &'static str) -> Trace {
    Box::new(move |t, line| println!("[{:>7.3}s] {who:<6} {line}", t.as_millis() as f64 / 1000.0))
}

/// What the socket tasks tell the task that owns a server machine.
pub enum Input {
    Open {
        conn: u64,
        url: String,
        protocols: Vec<String>,
        tx: mpsc::UnboundedSender<Ws>,
    },
    Frame(u64, String),
    Closed(u64, Option<u16>),
}

// The handshake callback's error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
pub async fn accept_loop(
    listener: TcpListener,
    in_tx: mpsc::UnboundedSender<Input>,
    subprotocol: Option<&'static str>,
) {
    let mut next = 1u64;
    while let Ok((tcp, _)) = listener.accept().await {
        let _ = tcp.set_nodelay(true);
        let conn = next;
        next += 1;
        let in_tx = in_tx.clone();
        tokio::spawn(async move {
            let mut url = String::new();
            let mut protocols = Vec::new();
            let callback = |req: &Request, mut resp: Response| {
                url = req.uri().to_string();
                protocols = req
                    .headers()
                    .get_all("sec-websocket-protocol")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(',').map(|p| p.trim().to_owned()))
                    .collect();
                if let Some(wanted) = subprotocol.filter(|w| protocols.iter().any(|p| p == w)) {
                    resp.headers_mut()
                        .insert("sec-websocket-protocol", HeaderValue::from_static(wanted));
                }
                Ok(resp)
            };
            let Ok(ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
                return;
            };
            let (mut sink, mut stream) = ws.split();
            let (tx, mut rx) = mpsc::unbounded_channel::<Ws>();
            if in_tx
                .send(Input::Open {
                    conn,
                    url,
                    protocols,
                    tx,
                })
                .is_err()
            {
                return;
            }
            tokio::spawn(async move {
                while let Some(m) = rx.recv().await {
                    let closing = matches!(m, Ws::Close(_));
                    if sink.send(m).await.is_err() || closing {
                        break;
                    }
                }
                let _ = sink.close().await;
            });
            let mut code = None;
            while let Some(m) = stream.next().await {
                match m {
                    Ok(Ws::Text(t)) => {
                        let _ = in_tx.send(Input::Frame(conn, t));
                    }
                    Ok(Ws::Close(f)) => {
                        code = f.map(|f| u16::from(f.code));
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => {
                        code = Some(1006);
                        break;
                    }
                }
            }
            let _ = in_tx.send(Input::Closed(conn, code));
        });
    }
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn next_frame(
    ws: &mut Option<Socket>,
) -> Option<Result<Ws, tokio_tungstenite::tungstenite::Error>> {
    match ws {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

pub async fn connect(url: &str, protocols: &[String]) -> Result<Socket, String> {
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    if !protocols.is_empty() {
        let value = HeaderValue::from_str(&protocols.join(", ")).map_err(|e| e.to_string())?;
        req.headers_mut().insert("sec-websocket-protocol", value);
    }
    // Signaling frames are small and latency matters: no Nagle.
    let connecting = tokio_tungstenite::connect_async_with_config(req, None, true);
    match tokio::time::timeout(Duration::from_secs(10), connecting).await {
        Ok(Ok((s, _))) => Ok(s),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connect timed out".into()),
    }
}
