//! Thin tokio adapters for the Loop progress machines, shared by the `progress_server`,
//! `progress_client` and `demo` examples (and the loopback tests): the coordinator's and
//! the parties' applications, each an `App` that `ws.rs` drives with its machine.

#![allow(dead_code)]

use std::time::Duration;

use callsig::progress::{
    Client, ClientEvent, Outcome, Role, Server, ServerConfig, ServerEvent, State,
};
use callsig::Timestamp;
use tokio::net::TcpListener;

use crate::ws::{self, connect, App, Clock, Trace};

/// Serves Loop progress on `listener` for the calls given as (id, caller token, callee
/// token), created at start.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    calls: Vec<(String, String, String)>,
    mut trace: Trace,
) {
    let now = Clock::start().now();
    let mut server: Server<u64> = Server::new(config);
    for (id, a, b) in calls {
        if let Err(e) = server.create_call(now, &id, &a, &b) {
            trace(now, format!("cannot create call {id}: {e}"));
        }
    }
    let states = States(std::sync::Arc::new(std::sync::Mutex::new(trace)));
    let trace = states.0.clone();
    let log: Trace = Box::new(move |t, line| {
        if let Ok(mut f) = trace.lock() {
            f(t, line)
        }
    });
    ws::serve(listener, None, server, states, log).await;
}

/// The coordinator's application: it only writes each call's states to the trace.
struct States(std::sync::Arc<std::sync::Mutex<Trace>>);

impl App<Server<u64>> for States {
    fn on_event(&mut self, _: &mut Server<u64>, now: Timestamp, e: &ServerEvent<u64>) -> bool {
        if let ServerEvent::StateChanged {
            call_id,
            state,
            reason,
        } = e
        {
            let reason = reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            if let Ok(mut f) = self.0.lock() {
                f(now, format!("call {call_id}: {state}{reason}"));
            }
        }
        true
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

    fn event(&mut self, client: &Client, now: Timestamp, event: &ClientEvent) -> bool {
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

    fn next_wake(&self) -> Option<Timestamp> {
        [self.accept_at, self.media_up_at]
            .into_iter()
            .flatten()
            .min()
    }

    fn wake(&mut self, client: &mut Client, now: Timestamp) {
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

impl App<Client> for Script {
    fn on_event(&mut self, client: &mut Client, now: Timestamp, event: &ClientEvent) -> bool {
        self.event(client, now, event)
    }
    fn wake_at(&self) -> Option<Timestamp> {
        self.next_wake()
    }
    fn on_wake(&mut self, client: &mut Client, now: Timestamp) -> bool {
        self.wake(client, now);
        true
    }
}

/// Connects to `url` and plays `client` by `script` until the setup ends.
pub async fn run_client(mut client: Client, url: &str, script: &mut Script, mut trace: Trace) {
    let clock = Clock::start();
    trace(clock.now(), format!("connect {url}"));
    let socket = match connect(url, &[]).await {
        Ok(s) => {
            let _ = client.handle_open(clock.now());
            Some(s)
        }
        Err(e) => {
            trace(clock.now(), format!("cannot connect: {e}"));
            client.handle_close(clock.now(), None, &e);
            None
        }
    };
    let log = std::sync::Arc::new(std::sync::Mutex::new(trace));
    let shared = log.clone();
    let trace: Trace = Box::new(move |t, line| {
        if let Ok(mut f) = shared.lock() {
            f(t, line)
        }
    });
    ws::run_client(client, script, socket, trace).await;
    let ended = format!("setup ended: {:?}", script.outcome);
    if let Ok(mut f) = log.lock() {
        f(clock.now(), ended);
    };
}
