//! WebSocket plumbing shared by the examples' adapters: the clock, trace printing, the
//! server's accept loop (reader and writer tasks that only move frames), the client's
//! connect, and the loops that drive any machine through `callsig::Machine` (`serve`,
//! `serve_each`, `run_client`). No protocol logic lives here: each protocol's adapter is
//! an [`App`] that reacts to its machine's events.

#![allow(dead_code)]

use std::time::Duration;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use callsig::{Input as In, Machine, Output, Timestamp};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
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

/// The largest WebSocket message read, in bytes: twice the machines' default
/// `max_frame_len`, so that the machine, not the transport, answers a frame that is too
/// long (with its protocol's error) up to here; past it the transport closes with 1009.
/// (tungstenite's own default is 64 MiB, buffered before anyone looks at it.)
pub const MAX_MESSAGE: usize = 2 << 20;

/// How long an accepted TCP connection may take to finish its WebSocket upgrade.
pub const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

/// Frames queued for one connection's writer, and their bytes at most: a peer that does not
/// read them is closed (1008) rather than buffered without end.
pub const SEND_QUEUE: usize = 256;
pub const SEND_QUEUE_BYTES: usize = 4 << 20;

/// Inputs queued from all the sockets to the task that owns a machine: a reader waits when
/// it is full.
pub const INPUT_QUEUE: usize = 1024;

fn ws_config() -> WebSocketConfig {
    WebSocketConfig {
        max_message_size: Some(MAX_MESSAGE),
        max_frame_size: Some(MAX_MESSAGE),
        ..Default::default()
    }
}

/// A binary message as the text frame it carries: peers that send JSON in binary frames
/// (some JSON-RPC libraries do) are read as the OpenSIPS daemon reads them; anything that
/// is not UTF-8 is refused.
fn binary_text(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

/// Where the adapters write what crossed the wire.
pub type Trace = Box<dyn FnMut(Timestamp, String) + Send>;

pub fn print_trace(who: &'static str) -> Trace {
    Box::new(move |t, line| println!("[{:>7.3}s] {who:<6} {line}", t.as_millis() as f64 / 1000.0))
}

/// How the task that owns a machine writes to one connection: frames through a bounded
/// queue, and an eviction that does not wait behind it.
pub struct Writer {
    tx: mpsc::Sender<Ws>,
    evict: oneshot::Sender<Ws>,
    /// Bytes queued and not yet written.
    queued: Arc<AtomicUsize>,
}

impl Writer {
    /// Queues a text frame; false when the queue is full (by frames or bytes).
    pub fn queue(&self, text: String) -> bool {
        let len = text.len();
        if self.queued.load(Ordering::Relaxed) + len > SEND_QUEUE_BYTES {
            return false;
        }
        self.queued.fetch_add(len, Ordering::Relaxed);
        if self.tx.try_send(Ws::Text(text)).is_err() {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Closes behind what is queued; at once when the queue is full.
    pub fn close(self, code: callsig::CloseCode, reason: String) {
        if let Err(e) = self.tx.try_send(Ws::Close(close_frame(code, reason))) {
            let _ = self.evict.send(e.into_inner());
        }
    }

    /// Closes at once (1008): the peer stopped reading what is queued.
    pub fn evict(self) {
        let reason = "too slow".into();
        let _ = self.evict.send(Ws::Close(close_frame(
            callsig::CloseCode::PolicyViolation,
            reason,
        )));
    }
}

/// What the socket tasks tell the task that owns a server machine.
pub enum Input {
    Open {
        conn: u64,
        url: String,
        protocols: Vec<String>,
        writer: Writer,
    },
    Frame(u64, String),
    Closed(u64, Option<u16>),
}

// The handshake callback's error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
pub async fn accept_loop(
    listener: TcpListener,
    in_tx: mpsc::Sender<Input>,
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
            let upgrade =
                tokio_tungstenite::accept_hdr_async_with_config(tcp, callback, Some(ws_config()));
            // A half-finished upgrade is dropped, not held.
            let Ok(Ok(ws)) = tokio::time::timeout(UPGRADE_TIMEOUT, upgrade).await else {
                return;
            };
            let (tx, rx) = mpsc::channel::<Ws>(SEND_QUEUE);
            let (evict, evicted) = oneshot::channel();
            let queued = Arc::new(AtomicUsize::new(0));
            let writer = Writer {
                tx,
                evict,
                queued: queued.clone(),
            };
            let open = Input::Open {
                conn,
                url,
                protocols,
                writer,
            };
            if in_tx.send(open).await.is_err() {
                return;
            }
            let code = run_socket(conn, ws, &in_tx, (rx, &queued), evicted).await;
            let _ = in_tx.send(Input::Closed(conn, code)).await;
        });
    }
}

/// How long a closing connection may take to write its close frame before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Says why, if the peer's socket takes it in time, before the connection is dropped.
async fn last_word<S: futures_util::Sink<Ws> + Unpin>(sink: &mut S, close: Ws) {
    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(close)).await;
}

/// The close frame of an eviction, when one comes; never, once the machine has let go of
/// the connection normally (the eviction was dropped unused).
async fn eviction(evicted: &mut Option<oneshot::Receiver<Ws>>) -> Ws {
    if let Some(rx) = evicted {
        if let Ok(close) = rx.await {
            return close;
        }
        *evicted = None;
    }
    std::future::pending().await
}

/// Moves one accepted connection's frames: what the peer sends to `in_tx`, what `rx`
/// queues to the peer. Ends on a close either way, or at once when `evicted` fires (the
/// peer stopped reading and the queue is full), dropping the socket. Returns the close
/// code to report to the machine.
async fn run_socket(
    conn: u64,
    ws: WebSocketStream<TcpStream>,
    in_tx: &mpsc::Sender<Input>,
    (mut rx, queued): (mpsc::Receiver<Ws>, &AtomicUsize),
    evicted: oneshot::Receiver<Ws>,
) -> Option<u16> {
    let (mut sink, mut stream) = ws.split();
    let mut evicted = Some(evicted);
    loop {
        tokio::select! {
            close = eviction(&mut evicted) => {
                last_word(&mut sink, close).await;
                return Some(1008);
            }
            out = rx.recv() => {
                // The machine let go of the connection (it closed it): nothing more to say.
                let m = out?;
                let closing = matches!(m, Ws::Close(_));
                if let Ws::Text(t) = &m {
                    queued.fetch_sub(t.len(), Ordering::Relaxed);
                }
                // A write the peer does not take blocks until it is evicted.
                let sent = tokio::select! {
                    r = sink.send(m) => r.is_ok(),
                    _ = eviction(&mut evicted) => return Some(1008),
                };
                if !sent {
                    return Some(1006);
                }
                if closing {
                    return None;
                }
            }
            m = stream.next() => match m {
                Some(Ok(Ws::Text(t))) => {
                    let _ = in_tx.send(Input::Frame(conn, t)).await;
                }
                Some(Ok(Ws::Binary(b))) => match binary_text(&b) {
                    Some(t) => {
                        let _ = in_tx.send(Input::Frame(conn, t)).await;
                    }
                    None => {
                        let why = "binary frame is not UTF-8".into();
                        last_word(&mut sink, Ws::Close(close_frame(callsig::CloseCode::InvalidPayload, why))).await;
                        return Some(1007);
                    }
                },
                Some(Ok(Ws::Close(f))) => return f.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(e))) => {
                    // Past MAX_MESSAGE: said, not buffered.
                    let why = e.to_string();
                    last_word(&mut sink, Ws::Close(close_frame(callsig::CloseCode::MessageTooBig, why))).await;
                    return Some(1009);
                }
                Some(Err(_)) | None => return Some(1006),
            },
        }
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
    let connecting = tokio_tungstenite::connect_async_with_config(req, Some(ws_config()), true);
    match tokio::time::timeout(Duration::from_secs(10), connecting).await {
        Ok(Ok((s, _))) => Ok(s),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connect timed out".into()),
    }
}

// ---- driving any machine ----------------------------------------------------------------

/// The application behind an adapter: what it does with its machine's events, and its own
/// timer (a simulated SIP side, a script).
pub trait App<M: Machine> {
    /// An event from the machine; false stops a client adapter.
    fn on_event(&mut self, machine: &mut M, now: Timestamp, event: &M::Event) -> bool;
    /// When the application wants [`App::on_wake`] called.
    fn wake_at(&self) -> Option<Timestamp> {
        None
    }
    /// The application's own timer fired; false stops a client adapter.
    fn on_wake(&mut self, _machine: &mut M, _now: Timestamp) -> bool {
        true
    }
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    [a, b].into_iter().flatten().min()
}

fn close_frame(code: callsig::CloseCode, reason: String) -> Option<CloseFrame<'static>> {
    Some(CloseFrame {
        code: CloseCode::from(u16::from(code)),
        reason: reason.into(),
    })
}

/// One machine behind some of the accept loop's connections: `conn` names a connection
/// the machine's way, `num` the accept loop's way. Returns when `inputs` ends, or when
/// `until_closed` and a connection closed.
async fn serve_loop<M: Machine, A: App<M>>(
    inputs: &mut mpsc::Receiver<Input>,
    machine: &mut M,
    app: &mut A,
    conn: impl Fn(u64) -> M::Conn,
    num: impl Fn(&M::Conn) -> u64,
    until_closed: bool,
    trace: &mut (dyn FnMut(Timestamp, String) + Send),
) {
    let clock = Clock::start();
    let mut writers: BTreeMap<u64, Writer> = BTreeMap::new();
    // Connections whose writer queue overflowed: closed here, reported to the machine.
    let mut overflowed: Vec<u64> = Vec::new();
    loop {
        // Drain: after every input, until the machine's deadline.
        let now = clock.now();
        let deadline = loop {
            match machine.poll_output() {
                Output::Timeout(d) => break d,
                Output::Transmit { conn, text } => {
                    let n = num(&conn);
                    trace(now, format!("conn {n} → {text}"));
                    if let Some(w) = writers.get(&n) {
                        if !w.queue(text) && !overflowed.contains(&n) {
                            overflowed.push(n);
                        }
                    }
                }
                Output::Close { conn, code, reason } => {
                    let n = num(&conn);
                    trace(now, format!("conn {n} close {code} {reason}"));
                    if let Some(w) = writers.remove(&n) {
                        w.close(code, reason);
                    }
                }
                // A server never asks for a connection.
                Output::Connect(_) => {}
                Output::Event(e) => {
                    app.on_event(machine, now, &e);
                }
            }
        };
        // Evicted at once, not at the next input: then drain what their closes produced.
        if !overflowed.is_empty() {
            for n in overflowed.drain(..) {
                trace(clock.now(), format!("conn {n}: send queue full, closed"));
                if let Some(w) = writers.remove(&n) {
                    w.evict();
                }
                let closed = In::Closed {
                    conn: &conn(n),
                    code: Some(callsig::CloseCode::PolicyViolation),
                    reason: "",
                };
                let _ = machine.handle_input(clock.now(), closed);
            }
            continue;
        }
        let app_wake = app.wake_at();
        tokio::select! {
            input = inputs.recv() => {
                let Some(input) = input else { return };
                let now = clock.now();
                match input {
                    Input::Open { conn: n, url, protocols, writer } => {
                        trace(now, format!("conn {n} open {url}"));
                        writers.insert(n, writer);
                        let protocols: Vec<&str> = protocols.iter().map(String::as_str).collect();
                        let c = conn(n);
                        let open = In::Open { conn: &c, url: &url, protocols: &protocols };
                        let _ = machine.handle_input(now, open);
                    }
                    Input::Frame(n, text) => {
                        trace(now, format!("conn {n} ← {text}"));
                        let _ = machine.handle_input(now, In::Frame { conn: &conn(n), text: &text });
                    }
                    Input::Closed(n, code) => {
                        trace(now, format!("conn {n} closed by peer ({code:?})"));
                        writers.remove(&n);
                        let closed = In::Closed { conn: &conn(n), code: code.map(Into::into), reason: "" };
                        let _ = machine.handle_input(now, closed);
                        if until_closed {
                            // What the close produced (cancellations) goes to the app.
                            machine.drain(|o| {
                                if let Output::Event(e) = o {
                                    trace(now, format!("conn {n}: {e:?}"));
                                }
                            });
                            return;
                        }
                    }
                }
            }
            _ = clock.sleep_until(earliest(deadline, app_wake)) => {
                let now = clock.now();
                let _ = machine.handle_input(now, In::Timeout);
                if app_wake.is_some_and(|w| w <= now) {
                    app.on_wake(machine, now);
                }
            }
        }
    }
}

/// Serves every connection accepted on `listener` with one machine (its connection ids are
/// the accept loop's numbers), and `app` behind it.
pub async fn serve<M: Machine<Conn = u64>, A: App<M>>(
    listener: TcpListener,
    subprotocol: Option<&'static str>,
    mut machine: M,
    mut app: A,
    mut trace: Trace,
) {
    let (in_tx, mut in_rx) = mpsc::channel::<Input>(INPUT_QUEUE);
    tokio::spawn(accept_loop(listener, in_tx, subprotocol));
    serve_loop(
        &mut in_rx,
        &mut machine,
        &mut app,
        |n| n,
        |n| *n,
        false,
        &mut *trace,
    )
    .await;
}

/// Serves every connection accepted on `listener` with its own machine and app (made by
/// `make` when it opens), each in its own task: for a machine made for one connection.
pub async fn serve_each<M, A>(
    listener: TcpListener,
    subprotocol: Option<&'static str>,
    make: impl Fn() -> (M, A),
    trace: Trace,
) where
    M: Machine<Conn = ()> + Send + 'static,
    A: App<M> + Send + 'static,
{
    let (in_tx, mut in_rx) = mpsc::channel::<Input>(INPUT_QUEUE);
    tokio::spawn(accept_loop(listener, in_tx, subprotocol));
    let trace = std::sync::Arc::new(std::sync::Mutex::new(trace));
    // Each connection's inputs go to its own task.
    let mut conns: BTreeMap<u64, mpsc::Sender<Input>> = BTreeMap::new();
    while let Some(input) = in_rx.recv().await {
        let n = match &input {
            Input::Open { conn, .. } | Input::Frame(conn, _) | Input::Closed(conn, _) => *conn,
        };
        if let Input::Open { .. } = &input {
            let (tx, mut rx) = mpsc::channel(INPUT_QUEUE);
            conns.insert(n, tx);
            let (mut machine, mut app) = make();
            let trace = trace.clone();
            tokio::spawn(async move {
                let mut log = move |t: Timestamp, line: String| {
                    if let Ok(mut f) = trace.lock() {
                        f(t, line)
                    }
                };
                serve_loop(
                    &mut rx,
                    &mut machine,
                    &mut app,
                    |_| (),
                    move |_| n,
                    true,
                    &mut log,
                )
                .await;
            });
        }
        let closed = matches!(input, Input::Closed(..));
        if let Some(tx) = conns.get(&n) {
            let _ = tx.send(input).await;
        }
        if closed {
            conns.remove(&n);
        }
    }
}

/// Runs a client machine until its app stops it: opens the connection its `Connect` asks
/// for (or uses `socket`, already open), moves frames, closes when asked.
pub async fn run_client<M: Machine<Conn = ()>, A: App<M>>(
    mut client: M,
    app: &mut A,
    mut socket: Option<Socket>,
    mut trace: Trace,
) -> M {
    let clock = Clock::start();
    fn closed(code: Option<u16>, reason: &str) -> In<'_, ()> {
        In::Closed {
            conn: &(),
            code: code.map(Into::into),
            reason,
        }
    }
    loop {
        let deadline = loop {
            let now = clock.now();
            match client.poll_output() {
                Output::Timeout(d) => break d,
                Output::Transmit { text, .. } => {
                    trace(now, format!("→ {text}"));
                    if let Some(s) = socket.as_mut() {
                        if s.send(Ws::Text(text)).await.is_err() {
                            socket = None;
                            let _ =
                                client.handle_input(clock.now(), closed(Some(1006), "send failed"));
                        }
                    }
                }
                Output::Connect(req) => {
                    trace(now, format!("connect {} {:?}", req.url, req.protocols));
                    match connect(&req.url, &req.protocols).await {
                        Ok(s) => {
                            socket = Some(s);
                            let open = In::Open {
                                conn: &(),
                                url: "",
                                protocols: &[],
                            };
                            let _ = client.handle_input(clock.now(), open);
                        }
                        Err(e) => {
                            trace(clock.now(), format!("cannot connect: {e}"));
                            let _ = client.handle_input(clock.now(), closed(None, &e));
                        }
                    }
                }
                Output::Close { code, reason, .. } => {
                    trace(now, format!("close {code} {reason}"));
                    if let Some(mut s) = socket.take() {
                        let _ = s.close(close_frame(code, reason)).await;
                    }
                }
                Output::Event(e) => {
                    if !app.on_event(&mut client, now, &e) {
                        if let Some(mut s) = socket.take() {
                            let _ = s.close(None).await;
                        }
                        return client;
                    }
                }
            }
        };
        let app_wake = app.wake_at();
        let wake = earliest(deadline, app_wake);
        if socket.is_none() && wake.is_none() {
            return client;
        }
        tokio::select! {
            m = next_frame(&mut socket) => {
                let now = clock.now();
                match m {
                    Some(Ok(Ws::Text(text))) => {
                        trace(now, format!("← {text}"));
                        let _ = client.handle_input(now, In::Frame { conn: &(), text: &text });
                    }
                    Some(Ok(Ws::Binary(b))) => match binary_text(&b) {
                        Some(text) => {
                            trace(now, format!("← (binary) {text}"));
                            let _ = client.handle_input(now, In::Frame { conn: &(), text: &text });
                        }
                        None => {
                            trace(now, "binary frame is not UTF-8: closing".into());
                            if let Some(mut s) = socket.take() {
                                let frame = close_frame(callsig::CloseCode::InvalidPayload, "binary frame is not UTF-8".into());
                                let _ = s.close(frame).await;
                            }
                            let _ = client.handle_input(now, closed(Some(1007), "binary frame is not UTF-8"));
                        }
                    },
                    Some(Ok(Ws::Close(f))) => {
                        socket = None;
                        let (code, reason) = f.map_or((None, String::new()), |f| (Some(u16::from(f.code)), f.reason.to_string()));
                        trace(now, format!("closed by server {code:?} {reason}"));
                        let _ = client.handle_input(now, closed(code, &reason));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        socket = None;
                        let _ = client.handle_input(now, closed(Some(1006), "connection lost"));
                    }
                }
            }
            _ = clock.sleep_until(wake) => {
                let now = clock.now();
                let _ = client.handle_input(now, In::Timeout);
                if app_wake.is_some_and(|w| w <= now) && !app.on_wake(&mut client, now) {
                    return client;
                }
            }
        }
    }
}

// ---- command lines --------------------------------------------------------------------

/// `-h` or `--help` anywhere on the command line: prints `usage` and exits 0.
pub fn help(usage: &str) {
    if std::env::args().skip(1).any(|a| a == "-h" || a == "--help") {
        println!("{usage}");
        std::process::exit(0);
    }
}

/// Any other argument that starts with `-` and is not in `flags`: says so and exits 2.
pub fn unknown_flag(arg: &str, usage: &str) -> ! {
    eprintln!("unknown argument {arg:?}\n\n{usage}");
    std::process::exit(2)
}

/// Listens on `addr`, or exits 2 saying which address and why (a malformed address, a
/// port in use).
pub async fn listen(addr: &str) -> TcpListener {
    match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr:?}: {e}");
            std::process::exit(2)
        }
    }
}

/// A `ws://` or `wss://` URL, or exits 2 saying what was given.
pub fn ws_url(url: &str, usage: &str) -> String {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        url.to_owned()
    } else {
        eprintln!("not a ws:// or wss:// URL: {url:?}\n\n{usage}");
        std::process::exit(2)
    }
}
