//! Thin tokio adapters for the WTSP machines, shared by the `wtsp_server`, `wtsp_client`
//! and `demo` examples (and the loopback tests). Each adapter is one task that owns its
//! machine and one sleep; the server's sockets are served by small reader/writer tasks
//! that only move frames (`ws.rs`). Everything protocol-related is the machine's business.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use callsig::wtsp::{
    Attach, Client, ClientEvent, ClientOutput, Event, EventKind, Jsep, Line, Registration,
    RegistrationStatus, RequestKind, ResponseKind, Server, ServerConfig, ServerEvent, ServerOutput,
    SUBPROTOCOL,
};
use callsig::Timestamp;
use futures_util::SinkExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::ws::{accept_loop, connect, next_frame, Clock, Input, Socket, Trace};

// ---- server -------------------------------------------------------------------------------

/// Accepts WebSocket connections on `listener` and runs a [`Server`] behind them, with a
/// simulated core: every token is an account of the same name (except `bad`, refused with
/// 4201), requests are acknowledged, and an `outgoing_call` goes through
/// calling → ringing → accepted as a SIP side would report it; `hangup` and `decline`
/// through hangingup → hangup.
pub async fn serve(listener: TcpListener, config: ServerConfig, mut trace: Trace) {
    let (in_tx, mut in_rx) = mpsc::unbounded_channel::<Input>();
    tokio::spawn(accept_loop(listener, in_tx, Some(SUBPROTOCOL)));

    let clock = Clock::start();
    let mut server: Server<u64> = Server::new(config);
    let mut writers: BTreeMap<u64, mpsc::UnboundedSender<Ws>> = BTreeMap::new();
    // The simulated SIP side: events to emit later, in time order.
    let mut sip: BTreeMap<(Timestamp, u64), (String, Event)> = BTreeMap::new();
    let mut seq = 0u64;
    let mut deadline = None;
    loop {
        let next_sip = sip.keys().next().map(|(t, _)| *t);
        let wake = match (deadline, next_sip) {
            (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            input = in_rx.recv() => {
                let Some(input) = input else { return };
                let now = clock.now();
                match input {
                    Input::Open { conn, url, protocols, tx } => {
                        trace(now, format!("conn {conn} open {url}"));
                        writers.insert(conn, tx);
                        let _ = server.handle_open(now, conn, &url, &protocols);
                    }
                    Input::Frame(conn, text) => {
                        trace(now, format!("conn {conn} ← {text}"));
                        let _ = server.handle_frame(now, &conn, &text);
                    }
                    Input::Closed(conn, code) => {
                        trace(now, format!("conn {conn} closed by peer ({code:?})"));
                        writers.remove(&conn);
                        let _ = server.handle_close(now, &conn, code.map(callsig::CloseCode::from));
                    }
                }
            }
            _ = clock.sleep_until(wake) => {
                let now = clock.now();
                server.handle_timeout(now);
                while let Some(entry) = sip.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    let (account, event) = entry.remove();
                    let _ = server.send_event(now, &account, event);
                }
            }
        }
        // Drain.
        let now = clock.now();
        loop {
            match server.poll_output() {
                ServerOutput::Timeout(d) => {
                    deadline = d;
                    break;
                }
                ServerOutput::Transmit { conn, text } => {
                    trace(now, format!("conn {conn} → {text}"));
                    if let Some(w) = writers.get(&conn) {
                        let _ = w.send(Ws::Text(text));
                    }
                }
                ServerOutput::Close { conn, code, reason } => {
                    trace(now, format!("conn {conn} close {code} {reason}"));
                    if let Some(w) = writers.remove(&conn) {
                        let frame = CloseFrame {
                            code: CloseCode::from(u16::from(code)),
                            reason: reason.into(),
                        };
                        let _ = w.send(Ws::Close(Some(frame)));
                    }
                }
                ServerOutput::Event(e) => {
                    simulate_core(&mut server, now, &e, &mut |at, account, event| {
                        seq += 1;
                        sip.insert((at, seq), (account, event));
                    });
                }
                _ => {}
            }
        }
    }
}

/// What the simulated core does with the machine's events.
fn simulate_core(
    server: &mut Server<u64>,
    now: Timestamp,
    e: &ServerEvent<u64>,
    later: &mut dyn FnMut(Timestamp, String, Event),
) {
    let ms = |n: u64| now + Duration::from_millis(n);
    match e {
        ServerEvent::Authenticate { conn, token, .. } => {
            if token.expose() == "bad" {
                let _ = server.reject(
                    now,
                    conn,
                    callsig::CloseCode::SessionMissed,
                    "session missed",
                );
            } else {
                let attach = Attach {
                    account: token.expose().to_owned(),
                    timestamp: wall_clock_ms(),
                    registration: Some(Registration::new(RegistrationStatus::Registered)),
                };
                let _ = server.attach(now, conn, attach);
            }
        }
        ServerEvent::Request {
            conn,
            account,
            request,
        } => {
            let _ = server.respond(now, conn, &request.transaction, ResponseKind::Ack);
            let call = |kind| Event {
                transaction: None,
                line: request.line,
                call_id: request.call_id.clone(),
                kind,
            };
            match &request.kind {
                RequestKind::OutgoingCall { number, .. } => {
                    later(ms(50), account.clone(), call(EventKind::Calling));
                    later(ms(300), account.clone(), call(EventKind::Ringing));
                    later(
                        ms(1000),
                        account.clone(),
                        call(EventKind::Accepted {
                            jsep: Some(Jsep::answer("v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\n")),
                            callee: Some(number.clone()),
                            is_focus: None,
                        }),
                    );
                }
                RequestKind::Hangup | RequestKind::Decline { refer_id: None } => {
                    later(
                        ms(10),
                        account.clone(),
                        call(EventKind::Hangingup { code: Some(200) }),
                    );
                    later(
                        ms(60),
                        account.clone(),
                        call(EventKind::Hangup {
                            code: Some(200),
                            reason: Some("to BYE".into()),
                        }),
                    );
                }
                RequestKind::Accept { .. } => {
                    later(
                        ms(20),
                        account.clone(),
                        call(EventKind::Accepted {
                            jsep: None,
                            callee: None,
                            is_focus: None,
                        }),
                    );
                }
                _ => {}
            }
        }
        _ => {}
    }
}

fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// ---- client -------------------------------------------------------------------------------

/// The application behind a client adapter.
pub trait ClientApp {
    /// An event from the machine; return false to stop the adapter.
    fn on_event(&mut self, client: &mut Client, now: Timestamp, event: &ClientEvent) -> bool;
    /// When the application wants [`ClientApp::on_wake`] called.
    fn wake_at(&self) -> Option<Timestamp> {
        None
    }
    /// The application's own timer fired; return false to stop the adapter.
    fn on_wake(&mut self, _client: &mut Client, _now: Timestamp) -> bool {
        true
    }
}

/// Connects `client` and runs it until the application stops it.
pub async fn run_client(mut client: Client, app: &mut dyn ClientApp, mut trace: Trace) {
    let clock = Clock::start();
    let mut ws: Option<Socket> = None;
    let _ = client.connect(clock.now());
    loop {
        // Drain.
        let deadline = loop {
            let now = clock.now();
            match client.poll_output() {
                ClientOutput::Timeout(d) => break d,
                ClientOutput::Transmit { text, .. } => {
                    trace(now, format!("→ {text}"));
                    if let Some(s) = ws.as_mut() {
                        if s.send(Ws::Text(text)).await.is_err() {
                            ws = None;
                            client.handle_close(
                                clock.now(),
                                Some(callsig::CloseCode::Abnormal),
                                "send failed",
                            );
                        }
                    }
                }
                ClientOutput::Connect(req) => {
                    trace(now, format!("connect {} {:?}", req.url, req.protocols));
                    match connect(&req.url, &req.protocols).await {
                        Ok(s) => {
                            ws = Some(s);
                            let _ = client.handle_open(clock.now());
                        }
                        Err(e) => client.handle_close(clock.now(), None, &e),
                    }
                }
                ClientOutput::Close { code, reason, .. } => {
                    trace(now, format!("close {code} {reason}"));
                    if let Some(mut s) = ws.take() {
                        let frame = CloseFrame {
                            code: CloseCode::from(u16::from(code)),
                            reason: reason.into(),
                        };
                        let _ = s.close(Some(frame)).await;
                    }
                }
                ClientOutput::Event(e) if !app.on_event(&mut client, now, &e) => {
                    if let Some(mut s) = ws.take() {
                        let _ = s.close(None).await;
                    }
                    return;
                }
                _ => {}
            }
        };
        let app_wake = app.wake_at();
        let wake = match (deadline, app_wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        tokio::select! {
            m = next_frame(&mut ws) => {
                let now = clock.now();
                match m {
                    Some(Ok(Ws::Text(text))) => {
                        trace(now, format!("← {text}"));
                        client.handle_frame(now, &text);
                    }
                    Some(Ok(Ws::Close(f))) => {
                        ws = None;
                        let (code, reason) = f.map_or((None, String::new()), |f| (Some(u16::from(f.code)), f.reason.into_owned()));
                        trace(now, format!("closed by server {code:?} {reason}"));
                        client.handle_close(now, code.map(callsig::CloseCode::from), &reason);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        ws = None;
                        client.handle_close(now, Some(callsig::CloseCode::Abnormal), "connection lost");
                    }
                }
            }
            _ = clock.sleep_until(wake) => {
                let now = clock.now();
                client.handle_timeout(now);
                if app_wake.is_some_and(|w| w <= now) && !app.on_wake(&mut client, now) {
                    return;
                }
            }
        }
    }
}

/// A client application that places one call, holds it for `talk`, hangs up and stops.
pub struct OneCall {
    pub number: String,
    pub call_id: String,
    pub talk: Duration,
    hangup_at: Option<Timestamp>,
    placed: bool,
    /// What happened, in order (for tests): event names and transaction outcomes.
    pub seen: Vec<String>,
}

impl OneCall {
    pub fn new(number: &str, talk: Duration) -> Self {
        OneCall {
            number: number.into(),
            call_id: "demo-call-1".into(),
            talk,
            hangup_at: None,
            placed: false,
            seen: Vec::new(),
        }
    }
}

impl ClientApp for OneCall {
    fn on_event(&mut self, client: &mut Client, now: Timestamp, event: &ClientEvent) -> bool {
        match event {
            ClientEvent::Ready { .. } if !self.placed => {
                self.placed = true;
                self.seen.push("ready".into());
                let offer = RequestKind::OutgoingCall {
                    number: self.number.clone(),
                    jsep: Jsep::offer("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"),
                    from: None,
                    refer_id: None,
                    replaces: None,
                };
                client
                    .request(now, Some(Line::Index(0)), Some(self.call_id.clone()), offer)
                    .is_ok()
            }
            ClientEvent::TransactionEnded {
                request, outcome, ..
            } => {
                self.seen.push(format!("{request}: {outcome:?}"));
                true
            }
            ClientEvent::Event { event } => {
                self.seen.push(event.kind.name().to_owned());
                match event.kind {
                    EventKind::Accepted { .. } => {
                        self.hangup_at = Some(now + self.talk);
                        true
                    }
                    EventKind::Hangup { .. } => false,
                    _ => true,
                }
            }
            ClientEvent::Disconnected {
                reconnect_at: None, ..
            } => false,
            _ => true,
        }
    }

    fn wake_at(&self) -> Option<Timestamp> {
        self.hangup_at
    }

    fn on_wake(&mut self, client: &mut Client, now: Timestamp) -> bool {
        self.hangup_at = None;
        client
            .request(
                now,
                Some(Line::Index(0)),
                Some(self.call_id.clone()),
                RequestKind::Hangup,
            )
            .is_ok()
    }
}
