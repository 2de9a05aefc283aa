//! One node of a WTSP cluster on Redis: every node serves `ws://ADDR/signaling/v1` as
//! `wtsp_server` does (any token is an account of that name, `bad` is refused with 4201),
//! with one session per account across the cluster, and calls between accounts online on
//! any nodes.
//!
//!     cargo run --release --example wtsp_cluster -- --listen 127.0.0.1:8081 \
//!         --redis redis://127.0.0.1/ --node n1
//!
//! Each account is an `AccountPartition` in Redis, stepped under its lease by the node a
//! frame, login or due deadline arrived at (see `support/cluster.rs`). The simulated core
//! routes an `outgoing_call` whose number is an online account to that account
//! (`incoming_call`; its `accept` reaches the caller as `accepted`; a hangup or decline on
//! either side hangs up the other); any other number gets `wtsp_server`'s simulated SIP
//! answer (calling, ringing, accepted).

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/ws.rs"]
mod ws;

use std::collections::BTreeMap;
use std::time::Duration;

use callsig::wtsp::{
    AccountPartition, Attach, CallOffer, Event, EventKind, Jsep, Registration, RegistrationStatus,
    RequestKind, ResponseKind, Server, ServerConfig, ServerEvent, ServerOutput, SUBPROTOCOL,
};
use callsig::{CloseCode, Machine, Timestamp, UsageError};
use cluster::{
    conn_id, split_conn, wall_now, ClusterNode, Liveness, NodeArgs, Outputs, Partitioned, Remote,
    Sockets, Store,
};

const USAGE: &str = "usage: wtsp_cluster --listen ADDR --redis URL --node NAME [--node-ttl MS]\n\n\
    One node of a WTSP cluster: serves ws://ADDR/signaling/v1 with a simulated core for\n\
    every account stored in Redis at URL (any token is an account of that name; `bad` is\n\
    refused with 4201). --node-ttl (3000) is how long this node counts as alive without a\n\
    heartbeat.";

/// What a step leaves to do once it is committed: work on other accounts.
enum Follow {
    /// Attach this node's connection to its account (a login).
    Attach { conn: String, account: String },
    /// `outgoing_call` from `from`: to an online account, or to the simulated SIP side.
    Dial {
        from: String,
        call_id: String,
        number: String,
        jsep: Option<Jsep>,
    },
    /// Tell the other party of a call between accounts, if the call is one.
    Cross {
        from: String,
        call_id: String,
        kind: EventKind,
    },
}

type S = Server<String>;

impl Partitioned for S {
    type Part = AccountPartition<String>;
    const KIND: &'static str = "acct";
    fn connections(&self, id: &str) -> Vec<String> {
        self.account_connection(id).cloned().into_iter().collect()
    }
    fn put(&mut self, part: Self::Part) -> Result<(), UsageError> {
        self.put_account(part)
    }
    fn take(&mut self, id: &str) -> Result<Self::Part, UsageError> {
        self.take_account(id)
    }
    fn deadline(part: &Self::Part) -> Option<Timestamp> {
        part.next_deadline()
    }
}

fn event(call_id: &str, kind: EventKind) -> Event {
    Event {
        transaction: None,
        line: None,
        call_id: Some(call_id.to_owned()),
        kind,
    }
}

fn hangup() -> EventKind {
    EventKind::Hangup {
        code: Some(200),
        reason: Some("to BYE".into()),
    }
}

/// Drains `s`, answering what the core answers at once (requests are acknowledged; a
/// login, a dial and what crosses to another account are left in `follow`; the simulated
/// SIP side's events in `later`). Returns every output, events included.
fn settle(
    s: &mut S,
    now: Timestamp,
    follow: &mut Vec<Follow>,
    later: &mut Vec<(Timestamp, String, Event)>,
) -> Outputs<S> {
    let ms = |n: u64| now + Duration::from_millis(n);
    let mut outs = Vec::new();
    loop {
        let mut batch = Vec::new();
        s.drain(|o| batch.push(o));
        if batch.is_empty() {
            return outs;
        }
        for o in &batch {
            let ServerOutput::Event(e) = o else { continue };
            match e {
                ServerEvent::Authenticate { conn, token, .. } => {
                    if token.expose() == "bad" {
                        let _ = s.reject(now, conn, CloseCode::SessionMissed, "session missed");
                    } else {
                        follow.push(Follow::Attach {
                            conn: conn.clone(),
                            account: token.expose().to_owned(),
                        });
                    }
                }
                ServerEvent::Request {
                    conn,
                    account,
                    request,
                } => {
                    let _ = s.respond(now, conn, &request.transaction, ResponseKind::Ack);
                    let Some(call_id) = request.call_id.clone() else {
                        continue;
                    };
                    match &request.kind {
                        RequestKind::OutgoingCall { number, jsep, .. } => {
                            let _ = s.send_event(now, account, event(&call_id, EventKind::Calling));
                            follow.push(Follow::Dial {
                                from: account.clone(),
                                call_id,
                                number: number.clone(),
                                jsep: Some(jsep.clone()),
                            });
                        }
                        RequestKind::Accept { jsep } => {
                            let accepted = |jsep| EventKind::Accepted {
                                jsep,
                                callee: None,
                                is_focus: None,
                            };
                            later.push((ms(20), account.clone(), event(&call_id, accepted(None))));
                            follow.push(Follow::Cross {
                                from: account.clone(),
                                call_id,
                                kind: accepted(Some(jsep.clone())),
                            });
                        }
                        RequestKind::Hangup | RequestKind::Decline { refer_id: None } => {
                            let hangingup = EventKind::Hangingup { code: Some(200) };
                            later.push((ms(10), account.clone(), event(&call_id, hangingup)));
                            later.push((ms(60), account.clone(), event(&call_id, hangup())));
                            follow.push(Follow::Cross {
                                from: account.clone(),
                                call_id,
                                kind: hangup(),
                            });
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        outs.extend(batch);
    }
}

struct Node {
    server: S,
    store: Store,
    sockets: Sockets,
    /// This node's attached sockets and their accounts.
    attached: BTreeMap<u64, String>,
    /// The simulated SIP side's events, due later: (when, order) → (account, event).
    sip: BTreeMap<(Timestamp, u64), (String, Event)>,
    seq: u64,
    liveness: Liveness,
}

impl Node {
    fn me(&self) -> String {
        self.store.node().to_owned()
    }

    /// Steps account `id` with `f`, then sends what came out and does what it left to do.
    async fn step(&mut self, id: &str, f: impl Fn(&mut S, Timestamp)) -> redis::RedisResult<()> {
        let now = wall_now();
        let mut follow = Vec::new();
        let mut later = Vec::new();
        let outs = cluster::step(&mut self.store, &mut self.server, id, |s| {
            follow.clear();
            later.clear();
            f(s, now);
            settle(s, now, &mut follow, &mut later)
        })
        .await?;
        self.finish(outs, follow, later).await
    }

    /// Steps only what this node holds (connections before their login).
    async fn step_local(&mut self, f: impl FnOnce(&mut S, Timestamp)) -> redis::RedisResult<()> {
        let now = wall_now();
        let (mut follow, mut later) = (Vec::new(), Vec::new());
        f(&mut self.server, now);
        let outs = settle(&mut self.server, now, &mut follow, &mut later);
        self.finish(outs, follow, later).await
    }

    async fn finish(
        &mut self,
        outs: Outputs<S>,
        follow: Vec<Follow>,
        later: Vec<(Timestamp, String, Event)>,
    ) -> redis::RedisResult<()> {
        self.deliver(outs).await;
        for (at, account, e) in later {
            self.seq += 1;
            self.sip.insert((at, self.seq), (account, e));
        }
        for f in follow {
            Box::pin(self.follow(f)).await?;
        }
        Ok(())
    }

    async fn follow(&mut self, f: Follow) -> redis::RedisResult<()> {
        match f {
            Follow::Attach { conn, account } => {
                let attach = Attach {
                    account: account.clone(),
                    timestamp: wall_now().as_millis(),
                    registration: Some(Registration::new(RegistrationStatus::Registered)),
                };
                let step = self
                    .step(&account, |s, now| {
                        let _ = s.attach(now, &conn, attach.clone());
                    })
                    .await;
                if let Err(e) = step {
                    // Refused with the protocol's close, not left hanging.
                    self.step_local(|s, now| {
                        let _ = s.reject(now, &conn, CloseCode::TryAgainLater, "store unavailable");
                    })
                    .await?;
                    return Err(e);
                }
            }
            Follow::Dial {
                from,
                call_id,
                number,
                jsep,
            } => {
                let online = self
                    .store
                    .get_part(&S::key(&number))
                    .await?
                    .and_then(|p| serde_json::from_str::<AccountPartition<String>>(&p).ok())
                    .is_some_and(|p| p.connection().is_some());
                if online && number != from {
                    self.store
                        .set_pair(&format!("xcall:{call_id}"), &from, &number)
                        .await?;
                    let offer = CallOffer {
                        caller: Some(from.clone()),
                        callee: Some(number.clone()),
                        jsep,
                        ..CallOffer::default()
                    };
                    let incoming = event(&call_id, EventKind::IncomingCall(offer));
                    self.step(&number, |s, now| {
                        let _ = s.send_event(now, &number, incoming.clone());
                    })
                    .await?;
                    let ringing = event(&call_id, EventKind::Ringing);
                    self.step(&from, |s, now| {
                        let _ = s.send_event(now, &from, ringing.clone());
                    })
                    .await?;
                } else {
                    // The simulated SIP side answers, as wtsp_server's does.
                    let now = wall_now();
                    let ms = |n: u64| now + Duration::from_millis(n);
                    let accepted = EventKind::Accepted {
                        jsep: Some(Jsep::answer("v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\n")),
                        callee: Some(number.clone()),
                        is_focus: None,
                    };
                    for (at, kind) in [(ms(300), EventKind::Ringing), (ms(1000), accepted)] {
                        self.seq += 1;
                        self.sip
                            .insert((at, self.seq), (from.clone(), event(&call_id, kind)));
                    }
                }
            }
            Follow::Cross {
                from,
                call_id,
                kind,
            } => {
                let Some((a, b)) = self.store.get_pair(&format!("xcall:{call_id}")).await? else {
                    return Ok(());
                };
                let other = if from == a { b } else { a };
                if matches!(kind, EventKind::Hangup { .. }) {
                    self.store.del(&format!("xcall:{call_id}")).await?;
                }
                let e = event(&call_id, kind);
                self.step(&other, |s, now| {
                    let _ = s.send_event(now, &other, e.clone());
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Sends what the server put out (see `cluster::deliver`), then follows its events.
    async fn deliver(&mut self, outs: Outputs<S>) {
        for e in cluster::deliver(&mut self.store, &mut self.sockets, outs).await {
            self.on_event(&e);
        }
    }

    fn on_event(&mut self, e: &ServerEvent<String>) {
        let me = self.me();
        let mine = |c: &str| split_conn(c).filter(|(node, _)| *node == me).map(|x| x.1);
        match e {
            ServerEvent::Attached { conn, account } => {
                if let Some(n) = mine(conn) {
                    self.attached.insert(n, account.clone());
                }
            }
            ServerEvent::Closed { conn, .. } => {
                if let Some(n) = mine(conn) {
                    self.attached.remove(&n);
                }
            }
            _ => {}
        }
    }
}

impl ClusterNode for Node {
    type Server = S;

    fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    fn sockets(&mut self) -> &mut Sockets {
        &mut self.sockets
    }

    fn liveness(&mut self) -> (&mut Store, &mut Liveness) {
        (&mut self.store, &mut self.liveness)
    }

    fn in_partitions(&mut self) -> &mut BTreeMap<u64, String> {
        &mut self.attached
    }

    async fn step_at(&mut self, id: &str, f: impl Fn(&mut S, Timestamp)) -> redis::RedisResult<()> {
        self.step(id, f).await
    }

    async fn on_input(&mut self, input: ws::Input) -> redis::RedisResult<()> {
        let me = self.me();
        match input {
            ws::Input::Open {
                conn: n,
                url,
                protocols,
                writer,
            } => {
                self.sockets.0.insert(n, writer);
                let id = conn_id(&me, n);
                let protocols: Vec<&str> = protocols.iter().map(String::as_str).collect();
                self.step_local(|s, now| {
                    let _ = s.handle_open(now, id, &url, &protocols);
                })
                .await
            }
            ws::Input::Frame(n, text) => {
                let id = conn_id(&me, n);
                match self.attached.get(&n).cloned() {
                    Some(account) => {
                        let stepped = self
                            .step(&account, |s, now| {
                                let _ = s.handle_frame(now, &id, &text);
                            })
                            .await;
                        if stepped.is_err() {
                            // Not applied: the client reconnects and learns the state.
                            let reason = "store unavailable".into();
                            self.sockets.local(Remote::Close {
                                conn: n,
                                code: 1013,
                                reason,
                            });
                        }
                        stepped
                    }
                    None => {
                        self.step_local(|s, now| {
                            let _ = s.handle_frame(now, &id, &text);
                        })
                        .await
                    }
                }
            }
            ws::Input::Closed(n, code) => {
                self.sockets.0.remove(&n);
                let id = conn_id(&me, n);
                let code = code.map(CloseCode::from);
                match self.attached.remove(&n) {
                    Some(account) => {
                        self.step(&account, |s, now| {
                            let _ = s.handle_close(now, &id, code);
                        })
                        .await
                    }
                    None => {
                        self.step_local(|s, now| {
                            let _ = s.handle_close(now, &id, code);
                        })
                        .await
                    }
                }
            }
        }
    }

    /// Local deadlines, the simulated SIP side's due events, then the cluster's due
    /// accounts.
    async fn on_tick(&mut self) -> redis::RedisResult<()> {
        let now = wall_now();
        if self.server.next_deadline().is_some_and(|d| d <= now) {
            self.step_local(|s, now| s.handle_timeout(now)).await?;
        }
        while let Some(entry) = self.sip.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (account, e) = entry.remove();
            self.step(&account, |s, now| {
                let _ = s.send_event(now, &account, e.clone());
            })
            .await?;
        }
        for key in self.store.due(now).await? {
            if let Some(account) = key.strip_prefix("acct:") {
                let account = account.to_owned();
                self.step(&account, |s, now| s.handle_timeout(now)).await?;
            }
        }
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = NodeArgs::parse(USAGE, |_, _| false);
    let mut n = Node {
        server: Server::new(ServerConfig::default()),
        store: args.store().await,
        sockets: Sockets::default(),
        attached: BTreeMap::new(),
        sip: BTreeMap::new(),
        seq: 0,
        liveness: Liveness::new(args.ttl),
    };
    cluster::run(
        &mut n,
        &args,
        Some(SUBPROTOCOL),
        "WTSP cluster",
        "/signaling/v1",
    )
    .await;
}
