//! Thin tokio adapters for the Loop progress machines, shared by the `progress_server`,
//! `progress_client` and `demo` examples (and the loopback tests). One task owns each
//! machine and one sleep; the sockets are served by `ws.rs`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use callsig::progress::{
    Client, ClientEvent, ClientOutput, Outcome, Role, Server, ServerConfig, ServerEvent,
    ServerOutput, State,
};
use callsig::Timestamp;
use futures_util::SinkExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::ws::{accept_loop, connect, next_frame, Clock, Input, Socket, Trace};

/// Serves Loop progress on `listener` for the calls given as (id, caller token, callee
/// token), created at start.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    calls: Vec<(String, String, String)>,
    mut trace: Trace,
) {
    let (in_tx, mut in_rx) = mpsc::unbounded_channel::<Input>();
    tokio::spawn(accept_loop(listener, in_tx, None));
    let clock = Clock::start();
    let mut server: Server<u64> = Server::new(config);
    for (id, a, b) in calls {
        if let Err(e) = server.create_call(clock.now(), &id, &a, &b) {
            trace(clock.now(), format!("cannot create call {id}: {e}"));
        }
    }
    let mut writers: BTreeMap<u64, mpsc::UnboundedSender<Ws>> = BTreeMap::new();
    let mut deadline;
    loop {
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
                ServerOutput::Event(ServerEvent::StateChanged {
                    call_id,
                    state,
                    reason,
                }) => {
                    let reason = reason.map(|r| format!(" ({r})")).unwrap_or_default();
                    trace(now, format!("call {call_id}: {state}{reason}"));
                }
                ServerOutput::Event(_) => {}
                _ => {}
            }
        }
        tokio::select! {
            input = in_rx.recv() => {
                let Some(input) = input else { return };
                let now = clock.now();
                match input {
                    Input::Open { conn, url, tx, .. } => {
                        trace(now, format!("conn {conn} open {url}"));
                        writers.insert(conn, tx);
                        let _ = server.handle_open(now, conn, callsig::progress::call_id_from_url(&url).as_deref());
                    }
                    Input::Frame(conn, text) => {
                        trace(now, format!("conn {conn} ← {text}"));
                        let _ = server.handle_frame(now, &conn, &text);
                    }
                    Input::Closed(conn, _) => {
                        writers.remove(&conn);
                        let _ = server.handle_close(now, &conn, None);
                    }
                }
            }
            _ = clock.sleep_until(deadline) => server.handle_timeout(clock.now()),
        }
    }
}

/// One party played from a script: the callee accepts after `accept_after` (never when
/// `None`); each party reports media up `media_up_after` once the call is connecting.
pub struct Script {
    pub accept_after: Option<Duration>,
    pub media_up_after: Duration,
    accept_at: Option<Timestamp>,
    media_up_at: Option<Timestamp>,
    /// The states this party saw, then how the setup ended.
    pub seen: Vec<String>,
    pub outcome: Option<Outcome>,
}

impl Script {
    pub fn new(accept_after: Option<Duration>, media_up_after: Duration) -> Self {
        Script {
            accept_after,
            media_up_after,
            accept_at: None,
            media_up_at: None,
            seen: Vec::new(),
            outcome: None,
        }
    }

    fn on_event(&mut self, client: &Client, now: Timestamp, event: &ClientEvent) -> bool {
        match event {
            ClientEvent::StateChanged { state, .. } => {
                self.seen.push(state.to_string());
                match state {
                    State::Alerting if client.config().role == Role::Callee => {
                        self.accept_at = self.accept_after.map(|d| now + d);
                    }
                    State::Connecting => self.media_up_at = Some(now + self.media_up_after),
                    _ => {}
                }
                true
            }
            ClientEvent::Ended(outcome) => {
                self.outcome = Some(outcome.clone());
                false
            }
            _ => true,
        }
    }

    fn wake_at(&self) -> Option<Timestamp> {
        [self.accept_at, self.media_up_at]
            .into_iter()
            .flatten()
            .min()
    }

    fn on_wake(&mut self, client: &mut Client, now: Timestamp) {
        if self.accept_at.is_some_and(|t| t <= now) {
            self.accept_at = None;
            let _ = client.accept(now);
        }
        if self.media_up_at.is_some_and(|t| t <= now) {
            self.media_up_at = None;
            let _ = client.media_up(now);
        }
    }
}

/// Connects to `url` and plays `client` by `script` until the setup ends.
pub async fn run_client(mut client: Client, url: &str, script: &mut Script, mut trace: Trace) {
    let clock = Clock::start();
    let mut ws: Option<Socket> = None;
    trace(clock.now(), format!("connect {url}"));
    match connect(url, &[]).await {
        Ok(s) => {
            ws = Some(s);
            let _ = client.handle_open(clock.now());
        }
        Err(e) => trace(clock.now(), format!("cannot connect: {e}")),
    }
    loop {
        let deadline = loop {
            let now = clock.now();
            match client.poll_output() {
                ClientOutput::Timeout(d) => break d,
                ClientOutput::Transmit { text, .. } => {
                    trace(now, format!("→ {text}"));
                    if let Some(s) = ws.as_mut() {
                        if s.send(Ws::Text(text)).await.is_err() {
                            ws = None;
                            client.handle_close(clock.now(), None, "send failed");
                        }
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
                ClientOutput::Connect(_) => {}
                ClientOutput::Event(e) if !script.on_event(&client, now, &e) => {
                    trace(now, format!("setup ended: {:?}", script.outcome));
                    if let Some(mut s) = ws.take() {
                        let _ = s.close(None).await;
                    }
                    return;
                }
                _ => {}
            }
        };
        let wake = [deadline, script.wake_at()].into_iter().flatten().min();
        if ws.is_none() && wake.is_none() {
            return;
        }
        tokio::select! {
            m = next_frame(&mut ws) => {
                let now = clock.now();
                match m {
                    Some(Ok(Ws::Text(text))) => {
                        trace(now, format!("← {text}"));
                        client.handle_frame(now, &text);
                    }
                    Some(Ok(Ws::Close(_))) | Some(Err(_)) | None => {
                        ws = None;
                        client.handle_close(now, None, "");
                    }
                    Some(Ok(_)) => {}
                }
            }
            _ = clock.sleep_until(wake) => {
                let now = clock.now();
                client.handle_timeout(now);
                script.on_wake(&mut client, now);
            }
        }
    }
}
