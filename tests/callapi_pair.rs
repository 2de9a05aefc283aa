//! End-to-end Call API: a client and a server joined in memory with a virtual clock (both
//! driven through `callsig::Machine`), and a "daemon" application behind the server that
//! behaves like the real one.

use callsig::callapi::{
    CallEvent, Client, ClientConfig, ClientEvent, ClientOutput, Command, Leg, Outcome, Server,
    ServerConfig, ServerEvent, ServerOutput,
};
use callsig::{Input, Machine, Timestamp};

/// How the simulated daemon answers.
#[derive(Clone, Copy, PartialEq)]
enum Daemon {
    /// Strict: our server as it is.
    Ours,
    /// Sends each command's notifications before its `Started` result reaches the client.
    Overtaking,
}

struct Pair {
    now: Timestamp,
    client: Client,
    server: Server,
    daemon: Daemon,
    /// Frames from server to client held back (to let notifications overtake).
    held: Vec<String>,
    events: Vec<ClientEvent>,
    server_events: Vec<ServerEvent>,
}

impl Pair {
    fn new(daemon: Daemon) -> Self {
        Pair {
            now: Timestamp::ZERO,
            client: Client::new(ClientConfig::default()),
            server: Server::new(ServerConfig::default()),
            daemon,
            held: Vec::new(),
            events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut busy = false;
            loop {
                match self.client.poll_output() {
                    ClientOutput::Timeout(_) => break,
                    ClientOutput::Transmit { conn: (), text: t } => {
                        busy = true;
                        let frame = Input::Frame {
                            conn: &(),
                            text: &t,
                        };
                        self.server.handle_input(self.now, frame).unwrap();
                    }
                    ClientOutput::Event(e) => {
                        busy = true;
                        self.events.push(e);
                    }
                    _ => {}
                }
            }
            let mut to_client = Vec::new();
            loop {
                match self.server.poll_output() {
                    ServerOutput::Timeout(_) => break,
                    ServerOutput::Transmit { conn: (), text: t } => {
                        busy = true;
                        to_client.push(t);
                    }
                    ServerOutput::Event(e) => {
                        busy = true;
                        self.daemon_app(&e);
                        self.server_events.push(e);
                    }
                    _ => {}
                }
            }
            if self.daemon == Daemon::Overtaking {
                // Results wait until the notifications after them have gone.
                let (results, rest): (Vec<String>, Vec<String>) = to_client
                    .into_iter()
                    .partition(|t| t.contains("\"result\""));
                self.held.extend(results);
                to_client = rest;
                if !busy {
                    to_client.append(&mut self.held);
                    busy = !to_client.is_empty();
                }
            }
            for t in to_client {
                let frame = Input::Frame {
                    conn: &(),
                    text: &t,
                };
                self.client.handle_input(self.now, frame).unwrap();
            }
            if !busy {
                return;
            }
        }
        panic!("never quiet");
    }

    /// The daemon's SIP side: every command's documented sequence, at once.
    fn daemon_app(&mut self, e: &ServerEvent) {
        let ServerEvent::CommandStarted {
            cmd_id, command, ..
        } = e
        else {
            return;
        };
        let now = self.now;
        let n = |s: &mut Server, ev: &str, data: serde_json::Value| {
            s.notify(now, cmd_id, ev, Some(data)).unwrap();
        };
        let s = &mut self.server;
        match command {
            Command::CallStart { caller, callee } => {
                if caller.contains("unreachable") {
                    return s.fail(now, cmd_id, "480 Temporarily Unavailable").unwrap();
                }
                let d = serde_json::json!({"caller": caller, "callee": callee});
                n(s, "CallerAnswered", d.clone());
                n(
                    s,
                    "Transferring",
                    serde_json::json!({"caller": caller, "destination": callee}),
                );
                n(
                    s,
                    "TransferStart",
                    serde_json::json!({"callid": "new-1", "caller": caller, "callee": callee}),
                );
                n(
                    s,
                    "TransferPending",
                    serde_json::json!({"callid": "new-1", "caller": caller, "callee": callee, "extra": "180 Ringing"}),
                );
                n(
                    s,
                    "CalleeAnswered",
                    serde_json::json!({"callid": "new-1", "caller": caller, "callee": callee}),
                );
                s.end(now, cmd_id).unwrap();
            }
            Command::CallBlindTransfer { destination, .. } => {
                n(
                    s,
                    "Transferring",
                    serde_json::json!({"destination": destination}),
                );
                n(
                    s,
                    "TransferStart",
                    serde_json::json!({"callid": "t-1", "destination": destination}),
                );
                n(
                    s,
                    "TransferSuccessful",
                    serde_json::json!({"callid": "t-1", "destination": destination}),
                );
                s.end(now, cmd_id).unwrap();
            }
            Command::CallHold { .. } => {
                s.notify(now, cmd_id, "CallHolding", None).unwrap();
                for ev in ["CallHoldStart", "CallHoldSuccessful"] {
                    for leg in ["caller", "callee"] {
                        n(s, ev, serde_json::json!({"leg": leg}));
                    }
                }
                s.end(now, cmd_id).unwrap();
            }
            // Left running: the test drives or times them out.
            _ => {}
        }
    }

    fn outcome(&self, cmd_id: &str) -> Vec<Outcome> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Ended {
                    cmd_id: c, outcome, ..
                } if **c == *cmd_id => Some(outcome.clone()),
                _ => None,
            })
            .collect()
    }

    fn progress(&self, cmd_id: &str) -> Vec<CallEvent> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Progress {
                    cmd_id: c, event, ..
                } if **c == *cmd_id => Some(event.clone()),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn concurrent_commands_each_end_once_with_their_own_events() {
    for daemon in [Daemon::Ours, Daemon::Overtaking] {
        let mut p = Pair::new(daemon);
        let start = p
            .client
            .start(
                p.now,
                &Command::CallStart {
                    caller: "sip:alice@x".into(),
                    callee: "sip:bob@x".into(),
                },
            )
            .unwrap();
        let transfer = p
            .client
            .start(
                p.now,
                &Command::CallBlindTransfer {
                    callid: "c1".into(),
                    leg: Leg::Callee,
                    destination: "sip:cindy@x".into(),
                },
            )
            .unwrap();
        let hold = p
            .client
            .start(
                p.now,
                &Command::CallHold {
                    callid: "c1".into(),
                },
            )
            .unwrap();
        p.settle();
        assert_eq!(p.outcome(&start), [Outcome::Completed]);
        assert_eq!(p.outcome(&transfer), [Outcome::Completed]);
        assert_eq!(p.outcome(&hold), [Outcome::Completed]);
        assert_eq!(p.progress(&start).len(), 5);
        assert!(matches!(
            p.progress(&start)[3],
            CallEvent::TransferPending { .. }
        ));
        assert_eq!(p.progress(&start)[3].pending_status(), Some(180));
        assert_eq!(p.progress(&transfer).len(), 3);
        assert_eq!(p.progress(&hold).len(), 5);
        assert!(
            !p.events.iter().any(|e| matches!(
                e,
                ClientEvent::UnmatchedNotification { .. } | ClientEvent::UnmatchedResponse { .. }
            )),
            "{:?}",
            p.events
        );
        if daemon == Daemon::Overtaking {
            // The results really came last: every command had ended before its Started.
            let ended = p
                .events
                .iter()
                .position(|e| matches!(e, ClientEvent::Ended { .. }))
                .unwrap();
            assert!(!p.events[..ended]
                .iter()
                .any(|e| matches!(e, ClientEvent::Started { .. })));
        }
    }
}

#[test]
fn failures_reach_the_client_once() {
    let mut p = Pair::new(Daemon::Ours);
    let failing = p
        .client
        .start(
            p.now,
            &Command::CallStart {
                caller: "sip:unreachable@x".into(),
                callee: "sip:bob@x".into(),
            },
        )
        .unwrap();
    let bad = p
        .client
        .command(p.now, "CallStart", serde_json::Map::new())
        .unwrap();
    let unknown = p
        .client
        .command(p.now, "CallPark", serde_json::Map::new())
        .unwrap();
    p.settle();
    assert_eq!(
        p.outcome(&failing),
        [Outcome::Failed {
            message: "480 Temporarily Unavailable".into()
        }]
    );
    assert!(
        matches!(&p.outcome(&bad)[..], [Outcome::Rejected { code: -32602, message }] if message == "missing parameter caller")
    );
    assert!(matches!(
        &p.outcome(&unknown)[..],
        [Outcome::Rejected { code: -32601, .. }]
    ));
}

#[test]
fn the_server_times_out_before_the_client_and_the_client_hears_it() {
    let mut p = Pair::new(Daemon::Ours);
    let end = p
        .client
        .start(
            p.now,
            &Command::CallEnd {
                callid: "c1".into(),
            },
        )
        .unwrap();
    p.settle();
    // The daemon never ends CallEnd: the server's 120 s timeout sends Error, Ended.
    p.now = Timestamp::from_millis(120_000);
    p.server.handle_input(p.now, Input::Timeout).unwrap();
    p.settle();
    assert_eq!(
        p.outcome(&end),
        [Outcome::Failed {
            message: "timeout".into()
        }]
    );
    // The client's own timer (130 s) no longer applies.
    assert_eq!(p.client.next_timer(), None);
}

#[test]
fn closing_the_connection_cancels_on_both_sides() {
    let mut p = Pair::new(Daemon::Ours);
    let a = p
        .client
        .start(
            p.now,
            &Command::CallUnhold {
                callid: "c1".into(),
            },
        )
        .unwrap();
    p.settle();
    let closed = Input::Closed {
        conn: &(),
        code: None,
        reason: "",
    };
    p.client.handle_input(p.now, closed).unwrap();
    p.server.handle_input(p.now, closed).unwrap();
    p.settle();
    assert_eq!(p.outcome(&a), [Outcome::ConnectionClosed]);
    assert!(p
        .server_events
        .iter()
        .any(|e| matches!(e, ServerEvent::CommandCancelled { cmd_id } if **cmd_id == *a)));
}

/// A stand-in for the real OpenSIPS Call API daemon as the profile describes it: `status`
/// for `event`, +32000 for every error, `"id": ""` on parse errors, missing params reported
/// after `Started`, its own cmd_ids, and notifications that overtake `Started`.
fn real_daemon(request: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(request) else {
        return vec![
            r#"{"jsonrpc":"2.0","id":"","error":{"code":32000,"message":"parse error"}}"#.into(),
        ];
    };
    let id = v["id"].clone();
    let method = v["method"].as_str().unwrap_or_default().to_owned();
    if !callsig::callapi::METHODS.contains(&method.as_str()) {
        return vec![serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": 32000, "message": "unknown method"}}).to_string()];
    }
    let cmd = format!("daemon-{id}");
    let note = |status: &str, data: Option<serde_json::Value>| {
        let mut params = serde_json::json!({"cmd_id": cmd, "status": status});
        if let Some(d) = data {
            params["data"] = d;
        }
        serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
    };
    let started = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {"cmd_id": cmd, "status": "Started"}}).to_string();
    if v["params"].get("callee").is_none() && method == "CallStart" {
        return vec![
            started,
            note("Error", Some("callee not specified".into())),
            note("Ended", None),
        ];
    }
    // The first notification overtakes Started.
    vec![
        note(
            "CallerAnswered",
            Some(serde_json::json!({"caller": "a", "callee": "b"})),
        ),
        started,
        note("CalleeAnswered", None),
        note("Ended", None),
    ]
}

#[test]
fn the_client_survives_the_real_daemon() {
    let mut c = Client::new(ClientConfig::default());
    let now = Timestamp::ZERO;
    let ok = c
        .start(
            now,
            &Command::CallStart {
                caller: "a".into(),
                callee: "b".into(),
            },
        )
        .unwrap();
    let mut missing = serde_json::Map::new();
    missing.insert("caller".into(), "a".into());
    let bad = c.command(now, "CallStart", missing).unwrap();
    let unknown = c.command(now, "CallPark", serde_json::Map::new()).unwrap();
    let mut events = Vec::new();
    let mut outbox = Vec::new();
    loop {
        match c.poll_output() {
            ClientOutput::Transmit { conn: (), text: t } => outbox.push(t),
            ClientOutput::Event(e) => events.push(e),
            ClientOutput::Timeout(_) => break,
            _ => {}
        }
    }
    for request in outbox.iter().chain(std::iter::once(&"{garbage".to_owned())) {
        for frame in real_daemon(request) {
            c.handle_frame(now, &frame);
        }
    }
    loop {
        match c.poll_output() {
            ClientOutput::Event(e) => events.push(e),
            ClientOutput::Timeout(_) => break,
            ClientOutput::Transmit { conn: (), text: _ } => unreachable!(),
            _ => {}
        }
    }
    let outcome = |id: &str| -> Vec<Outcome> {
        events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Ended {
                    cmd_id, outcome, ..
                } if **cmd_id == *id => Some(outcome.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(outcome(&ok), [Outcome::Completed]);
    assert_eq!(
        outcome(&bad),
        [Outcome::Failed {
            message: "callee not specified".into()
        }]
    );
    assert_eq!(
        outcome(&unknown),
        [Outcome::Rejected {
            code: 32000,
            message: "unknown method".into()
        }]
    );
    // The overtaking CallerAnswered was held until Started named its command, then delivered.
    assert!(events.iter().any(|e| matches!(e, ClientEvent::Progress { cmd_id, event: CallEvent::CallerAnswered { .. }, .. } if **cmd_id == *ok)));
    // The parse error with "id": "" is reported, never fatal.
    assert!(events
        .iter()
        .any(|e| matches!(e, ClientEvent::ServerError { code: 32000, .. })));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientEvent::UnmatchedNotification { .. })),
        "{events:?}"
    );
}
