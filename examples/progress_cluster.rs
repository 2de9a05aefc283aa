//! One node of a Loop progress cluster on Redis: every node serves `ws://ADDR/progress/ID`
//! for every call of the cluster, and a call's parties and devices may sit on any nodes.
//!
//!     cargo run --release --example progress_cluster -- --listen 127.0.0.1:8091 \
//!         --redis redis://127.0.0.1/ --node n1 --call c1:tokA:tokB
//!
//! Each call is a `CallPartition` in Redis, stepped under its lease by the node a frame
//! (or a due deadline) arrived at; see `support/cluster.rs` for the keys. Every node must
//! run with the same timers. When a node's heartbeat lapses, a survivor closes that
//! node's connections in their calls, so Loop's own rule applies: a party gone before
//! `connected` terminates the call with `closed`.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/ws.rs"]
mod ws;

use std::collections::BTreeMap;

use callsig::progress::CallPartition;
use callsig::progress::{
    call_id_from_url, ClientMessage, Server, ServerConfig, ServerEvent, ServerMessage, ServerOutput,
};
use callsig::{CloseCode, Machine};
use callsig::{Timestamp, UsageError};
use cluster::{
    conn_id, millis, split_conn, wall_now, ClusterNode, Liveness, NodeArgs, Partitioned, Remote,
    Sockets, Store,
};

const USAGE: &str = "usage: progress_cluster --listen ADDR --redis URL --node NAME\n\
    \x20   [--call ID:CALLER_TOKEN:CALLEE_TOKEN]... [--supervisory MS] [--ringing MS]\n\
    \x20   [--connection MS] [--node-ttl MS]\n\n\
    One node of a Loop progress cluster: serves ws://ADDR/progress/CALL_ID for every call\n\
    stored in Redis at URL. --call creates a call (kept if it exists). Timers default to\n\
    the library's; --node-ttl (3000) is how long this node counts as alive without a\n\
    heartbeat. Every node must be given the same timers.";

struct Node {
    server: Server<String>,
    store: Store,
    sockets: Sockets,
    /// Sockets of this node joined to a call, and the call.
    joined: BTreeMap<u64, String>,
    /// The call each socket's URL names.
    url_call: BTreeMap<u64, String>,
    liveness: Liveness,
}

impl Node {
    fn me(&self) -> String {
        self.store.node().to_owned()
    }

    /// Sends what the server put out (see `cluster::deliver`), then follows its events.
    async fn deliver(&mut self, outs: Vec<ServerOutput<String>>) {
        for e in cluster::deliver(&mut self.store, &mut self.sockets, outs).await {
            self.on_event(&e);
        }
    }

    fn on_event(&mut self, e: &ServerEvent<String>) {
        let me = self.me();
        let mine = |c: &str| split_conn(c).filter(|(node, _)| *node == me).map(|x| x.1);
        match e {
            ServerEvent::Joined { conn, call_id, .. } => {
                if let Some(n) = mine(conn) {
                    self.joined.insert(n, call_id.to_string());
                }
            }
            ServerEvent::Closed { conn, .. } => {
                if let Some(n) = mine(conn) {
                    self.joined.remove(&n);
                }
            }
            ServerEvent::StateChanged { call_id, state, .. } => {
                println!("call {call_id}: {}", state.as_str());
            }
            _ => {}
        }
    }

    /// Steps call `id` on this node (see `cluster::step`), then sends what it put out.
    async fn step_call(
        &mut self,
        id: &str,
        f: impl Fn(&mut Server<String>),
    ) -> redis::RedisResult<()> {
        let outs = cluster::step(&mut self.store, &mut self.server, id, |s| {
            f(s);
            let mut outs = Vec::new();
            s.drain(|o| outs.push(o));
            outs
        })
        .await?;
        self.deliver(outs).await;
        Ok(())
    }

    /// Steps only what this node holds (connections before their hello).
    async fn step_local(&mut self, f: impl FnOnce(&mut Server<String>)) {
        f(&mut self.server);
        let mut outs = Vec::new();
        self.server.drain(|o| outs.push(o));
        self.deliver(outs).await;
    }

    /// The store failed: refuse this socket with the protocol's error (the failure itself
    /// is said by `cluster::run`).
    fn unavailable(&mut self, n: u64) {
        let reason = "service unavailable".to_owned();
        self.sockets.local(Remote::Text {
            conn: n,
            text: ServerMessage::Error {
                reason: reason.clone(),
            }
            .encode(),
        });
        self.sockets.local(Remote::Close {
            conn: n,
            code: 1000,
            reason,
        });
    }
}

impl ClusterNode for Node {
    type Server = Server<String>;

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
        &mut self.joined
    }

    async fn step_at(
        &mut self,
        id: &str,
        f: impl Fn(&mut Server<String>, Timestamp),
    ) -> redis::RedisResult<()> {
        let now = wall_now();
        self.step_call(id, |s| f(s, now)).await
    }

    async fn on_input(&mut self, input: ws::Input) -> redis::RedisResult<()> {
        let now = wall_now();
        let me = self.me();
        match input {
            ws::Input::Open {
                conn: n,
                url,
                writer,
                ..
            } => {
                self.sockets.0.insert(n, writer);
                let call = call_id_from_url(&url);
                if let Some(c) = &call {
                    self.url_call.insert(n, c.clone());
                }
                let id = conn_id(&me, n);
                self.step_local(|s| {
                    let _ = s.handle_open(now, id, call.as_deref());
                })
                .await;
            }
            ws::Input::Frame(n, text) => {
                let id = conn_id(&me, n);
                let call =
                    self.joined
                        .get(&n)
                        .cloned()
                        .or_else(|| match ClientMessage::decode(&text) {
                            Ok(ClientMessage::Hello {
                                call_id: Some(c), ..
                            }) => Some(c),
                            _ => self.url_call.get(&n).cloned(),
                        });
                match call {
                    Some(call) => {
                        let stepped = self
                            .step_call(&call, |s| {
                                let _ = s.handle_frame(now, &id, &text);
                            })
                            .await;
                        if stepped.is_err() {
                            self.unavailable(n);
                        }
                        return stepped;
                    }
                    None => {
                        self.step_local(|s| {
                            let _ = s.handle_frame(now, &id, &text);
                        })
                        .await
                    }
                }
            }
            ws::Input::Closed(n, code) => {
                self.sockets.0.remove(&n);
                self.url_call.remove(&n);
                let id = conn_id(&me, n);
                let code = code.map(CloseCode::from);
                match self.joined.remove(&n) {
                    Some(call) => {
                        if let Err(e) = self
                            .step_call(&call, |s| {
                                let _ = s.handle_close(now, &id, code);
                            })
                            .await
                        {
                            eprintln!("call {call}: close of {id} not applied: {e}");
                        }
                    }
                    None => {
                        self.step_local(|s| {
                            let _ = s.handle_close(now, &id, code);
                        })
                        .await
                    }
                }
            }
        }
        Ok(())
    }

    /// Local deadlines (hello timeouts), then the cluster's due calls.
    async fn on_tick(&mut self) -> redis::RedisResult<()> {
        let now = wall_now();
        if self.server.next_deadline().is_some_and(|d| d <= now) {
            self.step_local(|s| s.handle_timeout(now)).await;
        }
        for key in self.store.due(now).await? {
            if let Some(id) = key.strip_prefix("call:") {
                let id = id.to_owned();
                self.step_call(&id, |s| s.handle_timeout(now)).await?;
            }
        }
        Ok(())
    }
}

impl Partitioned for Server<String> {
    type Part = CallPartition<String>;
    const KIND: &'static str = "call";
    fn connections(&self, id: &str) -> Vec<String> {
        self.call(id)
            .map(|c| c.devices.iter().flatten().map(|c| (*c).clone()).collect())
            .unwrap_or_default()
    }
    fn put(&mut self, part: Self::Part) -> Result<(), UsageError> {
        self.put_call(part)
    }
    fn take(&mut self, id: &str) -> Result<Self::Part, UsageError> {
        self.take_call(id)
    }
    fn deadline(part: &Self::Part) -> Option<Timestamp> {
        part.next_deadline()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut calls = Vec::new();
    let mut config = ServerConfig::default();
    let args = NodeArgs::parse(USAGE, |flag, rest| {
        let value = rest.next();
        match flag {
            "--call" => calls.push(value.unwrap_or_default()),
            "--supervisory" => config.supervisory = millis(flag, value, USAGE),
            "--ringing" => config.ringing = millis(flag, value, USAGE),
            "--connection" => config.connection = millis(flag, value, USAGE),
            _ => return false,
        }
        true
    });
    let mut n = Node {
        server: Server::new(config.clone()),
        store: args.store().await,
        sockets: Sockets::default(),
        joined: BTreeMap::new(),
        url_call: BTreeMap::new(),
        liveness: Liveness::new(args.ttl),
    };
    for spec in calls {
        let parts: Vec<&str> = spec.split(':').collect();
        let [id, a, b] = parts.as_slice() else {
            eprintln!("--call wants ID:CALLER_TOKEN:CALLEE_TOKEN, got {spec:?}");
            std::process::exit(2)
        };
        let mut s: Server<String> = Server::new(config.clone());
        s.create_call(wall_now(), id, a, b)
            .expect("a new server takes a call");
        let p = s.take_call(id).expect("the call just made");
        let text = serde_json::to_string(&p).expect("a partition serialises");
        match n
            .store
            .create(&format!("call:{id}"), &text, p.next_deadline())
            .await
        {
            Ok(true) => println!("call {id} created"),
            Ok(false) => println!("call {id} exists already"),
            Err(e) => eprintln!("cannot create call {id}: {e}"),
        }
    }
    let what = "Loop progress cluster";
    cluster::run(&mut n, &args, None, what, "/progress/CALL_ID").await;
}
