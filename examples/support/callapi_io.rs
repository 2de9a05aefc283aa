//! Thin tokio adapters for the Call API machines, shared by the `callapi_server`,
//! `callapi_client` and `demo` examples (and the loopback tests). The server side is a
//! daemon whose SIP side is simulated deterministically: each command produces its
//! documented event sequence, or fails when asked to.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use callsig::callapi::{
    Client, ClientEvent, ClientOutput, Command, Outcome, Server, ServerConfig, ServerEvent,
    ServerOutput,
};
use callsig::Timestamp;
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::ws::{accept_loop, connect, next_frame, Clock, Input, Socket, Trace};

/// Which commands the simulated SIP side fails.
#[derive(Clone, Debug, Default)]
pub struct Failures {
    /// Fail every command of these methods with `Error` then `Ended`.
    pub methods: Vec<String>,
}

/// One step the simulated SIP side takes for a command: after `delay`, an event with data,
/// or the command's end.
enum SipStep {
    Event(&'static str, Option<Value>),
    Fail(String),
    End,
}

/// The documented event sequence of a command.
fn script(command: &Command, fail: bool) -> Vec<SipStep> {
    use SipStep::{End, Event, Fail};
    if fail {
        return vec![Fail("503 Service Unavailable".into())];
    }
    match command {
        Command::CallStart { caller, callee } => vec![
            Event(
                "CallerAnswered",
                Some(json!({"caller": caller, "callee": callee})),
            ),
            Event(
                "Transferring",
                Some(json!({"caller": caller, "destination": callee})),
            ),
            Event(
                "TransferStart",
                Some(json!({"callid": "sim-call-1", "caller": caller, "callee": callee})),
            ),
            Event(
                "TransferPending",
                Some(
                    json!({"callid": "sim-call-1", "caller": caller, "callee": callee, "extra": "180 Ringing"}),
                ),
            ),
            Event(
                "CalleeAnswered",
                Some(json!({"callid": "sim-call-1", "caller": caller, "callee": callee})),
            ),
            End,
        ],
        Command::CallBlindTransfer { destination, .. } => vec![
            Event("Transferring", Some(json!({"destination": destination}))),
            Event(
                "TransferStart",
                Some(json!({"callid": "sim-xfer-1", "destination": destination})),
            ),
            Event(
                "TransferPending",
                Some(
                    json!({"callid": "sim-xfer-1", "destination": destination, "extra": "180 Ringing"}),
                ),
            ),
            Event(
                "TransferSuccessful",
                Some(json!({"callid": "sim-xfer-1", "destination": destination})),
            ),
            End,
        ],
        Command::CallAttendedTransfer { .. } => vec![
            Event("Transferring", None),
            Event(
                "TransferStart",
                Some(json!({"callid": "sim-xfer-2", "destination": "sip:target@sim"})),
            ),
            Event(
                "TransferSuccessful",
                Some(json!({"callid": "sim-xfer-2", "destination": "sip:target@sim"})),
            ),
            End,
        ],
        Command::CallHold { .. } | Command::CallUnhold { .. } => {
            let (first, start, ok) = if matches!(command, Command::CallHold { .. }) {
                ("CallHolding", "CallHoldStart", "CallHoldSuccessful")
            } else {
                ("CallUnholding", "CallUnholdStart", "CallUnholdSuccessful")
            };
            vec![
                Event(first, None),
                Event(start, Some(json!({"leg": "caller"}))),
                Event(start, Some(json!({"leg": "callee"}))),
                Event(ok, Some(json!({"leg": "caller"}))),
                Event(ok, Some(json!({"leg": "callee"}))),
                End,
            ]
        }
        Command::CallEnd { .. } => vec![End],
        // The machine answers Echo itself; a command this simulation does not know ends.
        Command::Echo { .. } => Vec::new(),
        _ => vec![End],
    }
}

/// Serves the Call API on `listener`: one [`Server`] machine per connection, each owned by
/// its own task with one sleep, and a simulated SIP side that takes a step every `pace`.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    failures: Failures,
    pace: Duration,
    trace: Trace,
) {
    let (in_tx, mut in_rx) = mpsc::unbounded_channel::<Input>();
    tokio::spawn(accept_loop(listener, in_tx, None));
    let trace = std::sync::Arc::new(std::sync::Mutex::new(trace));
    // Route each connection's inputs to its own task.
    let mut conns: BTreeMap<u64, mpsc::UnboundedSender<Input>> = BTreeMap::new();
    while let Some(input) = in_rx.recv().await {
        let conn = match &input {
            Input::Open { conn, .. } | Input::Frame(conn, _) | Input::Closed(conn, _) => *conn,
        };
        if let Input::Open { .. } = &input {
            let (tx, rx) = mpsc::unbounded_channel();
            conns.insert(conn, tx);
            let (config, failures, trace) = (config.clone(), failures.clone(), trace.clone());
            tokio::spawn(connection(conn, rx, config, failures, pace, trace));
        }
        let closed = matches!(input, Input::Closed(..));
        if let Some(tx) = conns.get(&conn) {
            let _ = tx.send(input);
        }
        if closed {
            conns.remove(&conn);
        }
    }
}

async fn connection(
    conn: u64,
    mut rx: mpsc::UnboundedReceiver<Input>,
    config: ServerConfig,
    failures: Failures,
    pace: Duration,
    trace: std::sync::Arc<std::sync::Mutex<Trace>>,
) {
    let clock = Clock::start();
    let mut server = Server::new(config.clone());
    let mut writer: Option<mpsc::UnboundedSender<Ws>> = None;
    // The simulated SIP side: steps per command, in time order.
    let mut sip: BTreeMap<(Timestamp, u64), (std::sync::Arc<str>, SipStep)> = BTreeMap::new();
    let mut seq = 0u64;
    let log = |t: Timestamp, line: String| {
        if let Ok(mut f) = trace.lock() {
            f(t, line)
        }
    };
    loop {
        // Drain.
        let deadline = loop {
            let now = clock.now();
            match server.poll_output() {
                ServerOutput::Timeout(d) => break d,
                ServerOutput::Transmit { text, .. } => {
                    log(now, format!("conn {conn} → {text}"));
                    if let Some(w) = &writer {
                        let _ = w.send(Ws::Text(text));
                    }
                }
                ServerOutput::Event(ServerEvent::CommandStarted {
                    cmd_id, command, ..
                }) => {
                    let fail = failures.methods.iter().any(|m| m == command.method());
                    for (i, step) in script(&command, fail).into_iter().enumerate() {
                        seq += 1;
                        sip.insert((now + pace * (i as u32 + 1), seq), (cmd_id.clone(), step));
                    }
                }
                ServerOutput::Event(ServerEvent::CommandCancelled { cmd_id }) => {
                    sip.retain(|_, (c, _)| *c != cmd_id);
                }
                ServerOutput::Event(_) => {}
                _ => {}
            }
        };
        let wake = [deadline, sip.keys().next().map(|(t, _)| *t)]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            input = rx.recv() => {
                let now = clock.now();
                match input {
                    Some(Input::Open { url, tx, .. }) => {
                        log(now, format!("conn {conn} open {url}"));
                        writer = Some(tx);
                    }
                    Some(Input::Frame(_, text)) => {
                        log(now, format!("conn {conn} ← {text}"));
                        let _ = server.handle_frame(now, &(), &text);
                    }
                    Some(Input::Closed(..)) | None => {
                        let _ = server.handle_close(now, &(), None);
                        // Drain the cancellations, then stop.
                        while !matches!(server.poll_output(), ServerOutput::Timeout(_)) {}
                        return;
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
                    let (cmd_id, step) = entry.remove();
                    let _ = match step {
                        SipStep::Event(name, data) => server.notify(now, &cmd_id, name, data),
                        SipStep::Fail(text) => server.fail(now, &cmd_id, &text),
                        SipStep::End => server.end(now, &cmd_id),
                    };
                }
            }
        }
    }
}

/// Connects to `url`, runs `commands` one after another (each once the previous ended),
/// and returns each command's outcome.
pub async fn run_client(
    mut client: Client,
    url: &str,
    commands: Vec<Command>,
    mut trace: Trace,
) -> Vec<(String, Outcome)> {
    let clock = Clock::start();
    let mut outcomes = Vec::new();
    let mut ws: Option<Socket> = match connect(url, &[]).await {
        Ok(s) => Some(s),
        Err(e) => {
            trace(clock.now(), format!("cannot connect: {e}"));
            return outcomes;
        }
    };
    let mut queue: std::collections::VecDeque<Command> = commands.into();
    let mut live: Option<String> = None;
    loop {
        if live.is_none() {
            let Some(next) = queue.pop_front() else { break };
            match client.start(clock.now(), &next) {
                Ok(cmd_id) => live = Some(cmd_id),
                Err(e) => trace(clock.now(), format!("cannot start {}: {e}", next.method())),
            }
        }
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
                ClientOutput::Event(ClientEvent::Ended {
                    cmd_id,
                    method,
                    outcome,
                }) => {
                    trace(now, format!("{method} {cmd_id} ended: {outcome:?}"));
                    if live.as_deref() == Some(&*cmd_id) {
                        live = None;
                    }
                    outcomes.push((method.into_owned(), outcome));
                }
                ClientOutput::Event(ClientEvent::Progress { event, .. }) => {
                    trace(now, format!("  progress: {event:?}"));
                }
                ClientOutput::Event(_) => {}
                _ => {}
            }
        };
        if live.is_none() {
            continue;
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
            _ = clock.sleep_until(deadline) => client.handle_timeout(clock.now()),
        }
    }
    if let Some(mut s) = ws.take() {
        let _ = s.close(None).await;
    }
    outcomes
}
