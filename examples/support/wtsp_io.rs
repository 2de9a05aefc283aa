//! Thin tokio adapters for the WTSP machines, shared by the `wtsp_server`, `wtsp_client`
//! and `demo` examples (and the loopback tests): a simulated core and a one-call client,
//! each an `App` that `ws.rs` drives with its machine through `callsig::Machine`.
//! Everything protocol-related is the machine's business.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use callsig::wtsp::{
    Attach, Client, ClientEvent, Event, EventKind, Jsep, Line, Registration, RegistrationStatus,
    RequestKind, ResponseKind, Server, ServerConfig, ServerEvent, SUBPROTOCOL,
};
use callsig::Timestamp;
use tokio::net::TcpListener;

use crate::ws::{self, App, Clock, Trace};

// ---- server -------------------------------------------------------------------------------

/// Accepts WebSocket connections on `listener` and runs a [`Server`] behind them, with a
/// simulated core: every token is an account of the same name (except `bad`, refused with
/// 4201), requests are acknowledged, and an `outgoing_call` goes through
/// calling → ringing → accepted as a SIP side would report it; `hangup` and `decline`
/// through hangingup → hangup; `hold` is answered `holding`, `unhold` `resuming`, `update`
/// `updating` → `updated`, `transfer` `transferring`.
pub async fn serve(listener: TcpListener, config: ServerConfig, trace: Trace) {
    ws::serve(
        listener,
        Some(SUBPROTOCOL),
        Server::new(config),
        Core::default(),
        trace,
    )
    .await;
}

/// The simulated core: its SIP side's events to emit later, in time order.
#[derive(Default)]
struct Core {
    sip: BTreeMap<(Timestamp, u64), (String, Event)>,
    seq: u64,
}

impl App<Server<u64>> for Core {
    fn on_event(&mut self, server: &mut Server<u64>, now: Timestamp, e: &ServerEvent<u64>) -> bool {
        simulate_core(server, now, e, &mut |at, account, event| {
            self.seq += 1;
            self.sip.insert((at, self.seq), (account, event));
        });
        true
    }

    fn wake_at(&self) -> Option<Timestamp> {
        self.sip.keys().next().map(|(t, _)| *t)
    }

    fn on_wake(&mut self, server: &mut Server<u64>, now: Timestamp) -> bool {
        while let Some(entry) = self.sip.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (account, event) = entry.remove();
            let _ = server.send_event(now, &account, event);
        }
        true
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
                // The SIP side's re-INVITEs and REFER, reported as a core reports them.
                RequestKind::Hold { .. } => {
                    later(ms(20), account.clone(), call(EventKind::Holding))
                }
                RequestKind::Unhold => later(ms(20), account.clone(), call(EventKind::Resuming)),
                RequestKind::Update { .. } => {
                    later(ms(10), account.clone(), call(EventKind::Updating));
                    later(ms(40), account.clone(), call(EventKind::Updated));
                }
                RequestKind::Transfer { .. } => {
                    later(ms(20), account.clone(), call(EventKind::Transferring))
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

/// Connects `client` and runs it until the application stops it.
pub async fn run_client<A: App<Client>>(mut client: Client, app: &mut A, trace: Trace) {
    let _ = client.connect(Clock::start().now());
    ws::run_client(client, app, None, trace).await;
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

impl App<Client> for OneCall {
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
