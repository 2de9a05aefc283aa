//! Thin tokio adapters for the Call API machines, shared by the `callapi_server`,
//! `callapi_client` and `demo` examples (and the loopback tests). The server side is a
//! daemon whose SIP side is simulated deterministically: each command produces its
//! documented event sequence, or fails when asked to.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use callsig::callapi::{Client, ClientEvent, Command, Outcome, Server, ServerConfig, ServerEvent};
use callsig::Timestamp;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::ws::{self, connect, App, Clock, Trace};

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
    let make = move || {
        let sip = Sip {
            failures: failures.clone(),
            pace,
            steps: BTreeMap::new(),
            seq: 0,
        };
        (Server::new(config.clone()), sip)
    };
    ws::serve_each(listener, None, make, trace).await;
}

/// The simulated SIP side of one connection: steps per command, in time order.
struct Sip {
    failures: Failures,
    pace: Duration,
    steps: BTreeMap<(Timestamp, u64), (std::sync::Arc<str>, SipStep)>,
    seq: u64,
}

impl App<Server> for Sip {
    fn on_event(&mut self, _: &mut Server, now: Timestamp, event: &ServerEvent) -> bool {
        match event {
            ServerEvent::CommandStarted {
                cmd_id, command, ..
            } => {
                let fail = self.failures.methods.iter().any(|m| m == command.method());
                for (i, step) in script(command, fail).into_iter().enumerate() {
                    self.seq += 1;
                    let at = now + self.pace * (i as u32 + 1);
                    self.steps.insert((at, self.seq), (cmd_id.clone(), step));
                }
            }
            ServerEvent::CommandCancelled { cmd_id } => {
                self.steps.retain(|_, (c, _)| c != cmd_id);
            }
            _ => {}
        }
        true
    }

    fn wake_at(&self) -> Option<Timestamp> {
        self.steps.keys().next().map(|(t, _)| *t)
    }

    fn on_wake(&mut self, server: &mut Server, now: Timestamp) -> bool {
        while let Some(entry) = self.steps.first_entry() {
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
        true
    }
}

/// The client's application: runs its commands one after another (each once the previous
/// ended) and keeps each one's outcome.
struct Commands<'t> {
    queue: std::collections::VecDeque<Command>,
    live: Option<std::sync::Arc<str>>,
    outcomes: Vec<(String, Outcome)>,
    trace: &'t std::sync::Mutex<Trace>,
}

impl Commands<'_> {
    fn log(&self, now: Timestamp, line: String) {
        if let Ok(mut f) = self.trace.lock() {
            f(now, line);
        };
    }

    /// Starts the next command; false when none is left.
    fn start_next(&mut self, client: &mut Client, now: Timestamp) -> bool {
        while self.live.is_none() {
            let Some(next) = self.queue.pop_front() else {
                return false;
            };
            match client.start(now, &next) {
                Ok(cmd_id) => self.live = Some(cmd_id),
                Err(e) => self.log(now, format!("cannot start {}: {e}", next.method())),
            }
        }
        true
    }
}

impl App<Client> for Commands<'_> {
    fn on_event(&mut self, client: &mut Client, now: Timestamp, event: &ClientEvent) -> bool {
        match event {
            ClientEvent::Ended {
                cmd_id,
                method,
                outcome,
            } => {
                self.log(now, format!("{method} {cmd_id} ended: {outcome:?}"));
                if self.live.as_deref() == Some(&**cmd_id) {
                    self.live = None;
                }
                self.outcomes.push((method.to_string(), outcome.clone()));
                self.start_next(client, now)
            }
            ClientEvent::Progress { event, .. } => {
                self.log(now, format!("  progress: {event:?}"));
                true
            }
            _ => true,
        }
    }
}

/// Connects to `url`, runs `commands` one after another (each once the previous ended),
/// and returns each command's outcome.
pub async fn run_client(
    mut client: Client,
    url: &str,
    commands: Vec<Command>,
    trace: Trace,
) -> Vec<(String, Outcome)> {
    let clock = Clock::start();
    let trace = std::sync::Arc::new(std::sync::Mutex::new(trace));
    let mut app = Commands {
        queue: commands.into(),
        live: None,
        outcomes: Vec::new(),
        trace: &trace,
    };
    let socket = match connect(url, &[]).await {
        Ok(s) => s,
        Err(e) => {
            app.log(clock.now(), format!("cannot connect: {e}"));
            return app.outcomes;
        }
    };
    if app.start_next(&mut client, clock.now()) {
        let shared = trace.clone();
        let log: Trace = Box::new(move |t, line| {
            if let Ok(mut f) = shared.lock() {
                f(t, line)
            };
        });
        ws::run_client(client, &mut app, Some(socket), log).await;
    }
    app.outcomes
}
