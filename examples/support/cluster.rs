//! What the cluster examples share, on Redis: partitions stored under one lease each and
//! committed only while the lease holds (no lost update, no two nodes stepping one
//! partition), every partition's next deadline in one sorted set (a due deadline is
//! claimed through the same lease, so it fires once cluster-wide), outputs for sockets on
//! other nodes sent there by pub/sub, and node heartbeats with a TTL.
//!
//! Keys: `part:KEY` a partition's JSON, `lease:KEY` its lease, `deadlines` (member KEY,
//! score the deadline in wall-clock ms), `node:NAME` a node's heartbeat, `nodes` every
//! node ever seen, `failover:NAME` the claim on a dead node's connections; channel
//! `out:NAME` carries outputs for NAME's sockets.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use callsig::{CloseCode, Machine, Output, Timestamp, UsageError};
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, RedisResult, Script};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// How long a lease holds if its node stops (a step takes milliseconds).
const LEASE_MS: u64 = 3_000;

/// The clock every node shares: wall-clock milliseconds.
pub fn wall_now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Timestamp::from_millis(ms)
}

/// A connection's cluster-wide id: the node holding its socket, and the socket's number.
pub fn conn_id(node: &str, n: u64) -> String {
    format!("{node}/{n}")
}

/// The node and socket number of a cluster-wide connection id.
pub fn split_conn(id: &str) -> Option<(&str, u64)> {
    let (node, n) = id.rsplit_once('/')?;
    Some((node, n.parse().ok()?))
}

/// An output for a socket another node holds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Remote {
    Text {
        conn: u64,
        text: String,
    },
    Close {
        conn: u64,
        code: u16,
        reason: String,
    },
}

pub struct Store {
    client: redis::Client,
    /// Reconnects by itself after Redis went away.
    con: ConnectionManager,
    node: String,
    steps: u64,
    /// Redis failed since the last heartbeat.
    failed: bool,
    /// Redis is failing (said once, until it answers again).
    down: bool,
}

/// Writes a partition (or deletes it) and its deadline, marks the step applied, and
/// releases its lease, all only if the lease is still this node's.
const COMMIT: &str = r"
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('set', KEYS[4], ARGV[5], 'PX', 60000)
if ARGV[2] == '' then redis.call('del', KEYS[2]) else redis.call('set', KEYS[2], ARGV[2]) end
if ARGV[3] == '' then redis.call('zrem', KEYS[3], ARGV[4])
else redis.call('zadd', KEYS[3], ARGV[3], ARGV[4]) end
redis.call('del', KEYS[1])
return 1";

const LEASE: &str = r"
local held = redis.call('get', KEYS[1])
if held == false or held == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0";

const RELEASE: &str = r"
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
return 1";

impl Store {
    pub async fn connect(url: &str, node: &str) -> RedisResult<Store> {
        let client = redis::Client::open(url)?;
        // Fail fast while Redis is away (the steps retry with their own backoff), and
        // reconnect on the next command once it is back.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(300)))
            .set_response_timeout(Some(Duration::from_millis(1_000)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let con = client.get_connection_manager_with_config(config).await?;
        Ok(Store {
            client,
            con,
            node: node.to_owned(),
            steps: 0,
            failed: false,
            down: false,
        })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Takes the lease of `key` (a lease this node still holds from a failed attempt is
    /// its own), waiting for another node's step to end or its lease to lapse; then the
    /// partition stored under it, if any. An error if the lease stays taken.
    pub async fn lease(&mut self, key: &str) -> RedisResult<Option<String>> {
        let started = std::time::Instant::now();
        let mut pause = 1;
        loop {
            let won: i64 = Script::new(LEASE)
                .key(format!("lease:{key}"))
                .arg(&self.node)
                .arg(LEASE_MS)
                .invoke_async(&mut self.con)
                .await?;
            if won == 1 {
                return self.con.get(format!("part:{key}")).await;
            }
            if started.elapsed() > Duration::from_millis(LEASE_MS + 1_000) {
                let busy = (redis::ErrorKind::Io, "lease stays taken");
                return Err(busy.into());
            }
            tokio::time::sleep(Duration::from_millis(pause)).await;
            pause = (pause * 2).min(20);
        }
    }

    /// Stores `part` (`None`: the partition is gone) with its next deadline, marks step
    /// `step` applied, and releases the lease; false if the lease had lapsed (nothing was
    /// written).
    pub async fn commit(
        &mut self,
        key: &str,
        step: &str,
        part: Option<&str>,
        deadline: Option<Timestamp>,
    ) -> RedisResult<bool> {
        let done: i64 = Script::new(COMMIT)
            .key(format!("lease:{key}"))
            .key(format!("part:{key}"))
            .key("deadlines")
            .key(format!("applied:{key}"))
            .arg(&self.node)
            .arg(part.unwrap_or(""))
            .arg(deadline.map_or(String::new(), |d| d.as_millis().to_string()))
            .arg(key)
            .arg(step)
            .invoke_async(&mut self.con)
            .await?;
        Ok(done == 1)
    }

    /// Whether step `step` was the last one applied to `key` (its commit went through
    /// even if its answer was lost).
    pub async fn applied(&mut self, key: &str, step: &str) -> RedisResult<bool> {
        let last: Option<String> = self.con.get(format!("applied:{key}")).await?;
        Ok(last.as_deref() == Some(step))
    }

    /// Redis failed (the next heartbeat restarts the wait before judging other nodes).
    pub fn saw_failure(&mut self) {
        self.failed = true;
    }

    /// Follows how Redis answered a node's work: a failure is said once, until it answers.
    pub fn report(&mut self, result: &RedisResult<()>) {
        match result {
            Ok(()) => self.down = false,
            Err(e) => {
                self.saw_failure();
                if !std::mem::replace(&mut self.down, true) {
                    eprintln!("redis unavailable: {e}; refusing new work until it is back");
                }
            }
        }
    }

    /// A name for the next step, unique across the cluster.
    pub fn step_name(&mut self) -> String {
        self.steps += 1;
        format!("{}:{}:{}", self.node, wall_now().as_millis(), self.steps)
    }

    /// Gives the lease of `key` up without writing.
    pub async fn release(&mut self, key: &str) -> RedisResult<()> {
        let _: i64 = Script::new(RELEASE)
            .key(format!("lease:{key}"))
            .arg(&self.node)
            .invoke_async(&mut self.con)
            .await?;
        Ok(())
    }

    /// Stores a new partition unless one is stored under `key` already.
    pub async fn create(
        &mut self,
        key: &str,
        part: &str,
        deadline: Option<Timestamp>,
    ) -> RedisResult<bool> {
        let created: bool = self.con.set_nx(format!("part:{key}"), part).await?;
        if created {
            if let Some(d) = deadline {
                let _: i64 = self.con.zadd("deadlines", key, d.as_millis()).await?;
            }
        }
        Ok(created)
    }

    /// The partition stored under `key`, read without its lease.
    pub async fn get_part(&mut self, key: &str) -> RedisResult<Option<String>> {
        self.con.get(format!("part:{key}")).await
    }

    /// Two names under `key` (a call between two accounts).
    pub async fn set_pair(&mut self, key: &str, a: &str, b: &str) -> RedisResult<()> {
        let value = serde_json::to_string(&(a, b)).expect("strings serialise");
        self.con.set(key, value).await
    }

    pub async fn get_pair(&mut self, key: &str) -> RedisResult<Option<(String, String)>> {
        let value: Option<String> = self.con.get(key).await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }

    pub async fn del(&mut self, key: &str) -> RedisResult<()> {
        self.con.del(key).await
    }

    /// Partitions whose deadline has come, earliest first.
    pub async fn due(&mut self, now: Timestamp) -> RedisResult<Vec<String>> {
        redis::cmd("ZRANGEBYSCORE")
            .arg("deadlines")
            .arg("-inf")
            .arg(now.as_millis())
            .arg("LIMIT")
            .arg(0)
            .arg(64)
            .query_async(&mut self.con)
            .await
    }

    /// Every stored partition key starting with `prefix`.
    pub async fn keys(&mut self, prefix: &str) -> RedisResult<Vec<String>> {
        let mut iter: redis::AsyncIter<String> =
            self.con.scan_match(format!("part:{prefix}*")).await?;
        let mut keys = Vec::new();
        while let Some(k) = iter.next().await {
            keys.push(k?.trim_start_matches("part:").to_owned());
        }
        Ok(keys)
    }

    /// Sends an output to the node holding its socket.
    pub async fn send(&mut self, node: &str, out: &Remote) -> RedisResult<()> {
        let text = serde_json::to_string(out).expect("an output serialises");
        let _: i64 = self.con.publish(format!("out:{node}"), text).await?;
        Ok(())
    }

    /// This node is alive for `ttl`.
    pub async fn heartbeat(&mut self, ttl: Duration) -> RedisResult<()> {
        let _: () = self
            .con
            .pset_ex(format!("node:{}", self.node), 1, ttl.as_millis() as u64)
            .await?;
        let _: i64 = self.con.sadd("nodes", &self.node).await?;
        Ok(())
    }

    /// Nodes whose heartbeat lapsed and whose connections this node now answers for (each
    /// dead node is claimed by one survivor).
    pub async fn claim_dead(&mut self) -> RedisResult<Vec<String>> {
        let nodes: Vec<String> = self.con.smembers("nodes").await?;
        let mut dead = Vec::new();
        for n in nodes.into_iter().filter(|n| *n != self.node) {
            let alive: bool = self.con.exists(format!("node:{n}")).await?;
            if alive {
                continue;
            }
            let won: Option<String> = redis::cmd("SET")
                .arg(format!("failover:{n}"))
                .arg(&self.node)
                .arg("NX")
                .query_async(&mut self.con)
                .await?;
            if won.is_some() {
                dead.push(n);
            }
        }
        Ok(dead)
    }

    /// A dead node's connections are all closed: it leaves the cluster.
    pub async fn forget_node(&mut self, node: &str) -> RedisResult<()> {
        let _: i64 = self.con.srem("nodes", node).await?;
        Ok(())
    }

    /// Outputs other nodes send this one, forever (resubscribing after an outage).
    pub fn subscribe(&self) -> mpsc::Receiver<Remote> {
        let (tx, rx) = mpsc::channel(1024);
        let (client, channel) = (self.client.clone(), format!("out:{}", self.node));
        tokio::spawn(async move {
            loop {
                if let Ok(mut pubsub) = client.get_async_pubsub().await {
                    if pubsub.subscribe(&channel).await.is_ok() {
                        let mut messages = pubsub.into_on_message();
                        while let Some(m) = messages.next().await {
                            let Ok(text) = m.get_payload::<String>() else {
                                continue;
                            };
                            if let Ok(out) = serde_json::from_str(&text) {
                                if tx.send(out).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        rx
    }
}

/// A server whose partitions (Loop calls, WTSP accounts) move through the store.
pub trait Partitioned: Machine<Conn = String> + Clone {
    type Part: Serialize + DeserializeOwned;
    /// What a partition is, as its store keys begin (`call`, `acct`).
    const KIND: &'static str;
    /// The store key of partition `id`.
    fn key(id: &str) -> String {
        format!("{}:{id}", Self::KIND)
    }
    /// The connections the server holds in partition `id`.
    fn connections(&self, id: &str) -> Vec<String>;
    fn put(&mut self, part: Self::Part) -> Result<(), UsageError>;
    fn take(&mut self, id: &str) -> Result<Self::Part, UsageError>;
    fn deadline(part: &Self::Part) -> Option<Timestamp>;
}

pub type Outputs<M> = Vec<Output<<M as Machine>::Conn, <M as Machine>::Event>>;

/// Steps partition `id` on this node: takes its lease and stored value, puts it into
/// `server`, runs `f` (which feeds inputs and drains, returning what came out), takes it
/// out and commits it. Returns the outputs to deliver, only once the commit held.
///
/// A lapsed lease discards the step (the server as before) and runs it again. When Redis
/// fails, the step is tried again with backoff for a few seconds (the connection
/// reconnects by itself); a commit whose answer was lost is recognised by its step name,
/// so a frame is applied once. Past that, the error: nothing was applied.
pub async fn step<M: Partitioned>(
    store: &mut Store,
    server: &mut M,
    id: &str,
    mut f: impl FnMut(&mut M) -> Outputs<M>,
) -> RedisResult<Outputs<M>> {
    let key = M::key(id);
    let name = store.step_name();
    let before = server.clone();
    // What the step made, once it made it: kept for a commit whose answer is lost.
    let mut made: Option<(M, Outputs<M>)> = None;
    let mut backoff = Duration::from_millis(100);
    let mut lapsed = 0;
    loop {
        match try_step(store, server, &before, &key, id, &name, &mut f, &mut made).await {
            Ok(Some(outs)) => return Ok(outs),
            Ok(None) => {
                lapsed += 1;
                eprintln!("{key}: lease lapsed during a step; stepping again");
                if lapsed == 3 {
                    return Ok(Vec::new());
                }
            }
            Err(e) if backoff < Duration::from_secs(2) => {
                store.saw_failure();
                eprintln!("{key}: redis failed ({e}); trying again in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(e) => {
                store.saw_failure();
                *server = before;
                return Err(e);
            }
        }
    }
}

/// One attempt of [`step`]: `Some(outputs)` once committed, `None` if the lease lapsed.
#[allow(clippy::too_many_arguments)]
async fn try_step<M: Partitioned>(
    store: &mut Store,
    server: &mut M,
    before: &M,
    key: &str,
    id: &str,
    name: &str,
    f: &mut impl FnMut(&mut M) -> Outputs<M>,
    made: &mut Option<(M, Outputs<M>)>,
) -> RedisResult<Option<Outputs<M>>> {
    *server = before.clone();
    let stored = store.lease(key).await?;
    if made.is_some() && store.applied(key, name).await? {
        store.release(key).await?;
        let (after, outs) = made.take().expect("checked");
        *server = after;
        return Ok(Some(outs));
    }
    if let Some(text) = &stored {
        match serde_json::from_str(text) {
            Ok(p) => {
                if let Err(e) = server.put(p) {
                    eprintln!("{key}: cannot put it here: {e}");
                }
            }
            Err(e) => eprintln!("{key}: stored partition refused: {e}"),
        }
    }
    let outs = f(server);
    let (text, deadline) = match server.take(id) {
        Ok(p) => (
            Some(serde_json::to_string(&p).expect("a partition serialises")),
            M::deadline(&p),
        ),
        Err(_) => (None, None),
    };
    // A partition never stored that did not come to be stays absent.
    if stored.is_none() && text.is_none() {
        store.release(key).await?;
        return Ok(Some(outs));
    }
    *made = Some((server.clone(), outs));
    if store.commit(key, name, text.as_deref(), deadline).await? {
        return Ok(made.take().map(|(_, outs)| outs));
    }
    *made = None;
    Ok(None)
}

/// What one heartbeat found.
pub struct Beat {
    /// Nodes whose heartbeat lapsed, now this node's to close connections for.
    pub dead: Vec<String>,
    /// Another node declared this one dead meanwhile (it could not reach Redis for
    /// longer than its TTL) and closed its connections in their partitions: this node's
    /// sockets are stale and must be closed.
    pub fenced: bool,
}

/// A node's heartbeat, with the care an outage needs: no node can heartbeat while Redis
/// is away, so after one a node waits a full TTL of reaching Redis before it judges others
/// dead.
pub struct Liveness {
    ttl: Duration,
    up_since: Option<std::time::Instant>,
}

impl Liveness {
    pub fn new(ttl: Duration) -> Self {
        Liveness {
            ttl,
            up_since: Some(std::time::Instant::now()),
        }
    }

    pub async fn beat(&mut self, store: &mut Store) -> RedisResult<Beat> {
        let beat = self.try_beat(store).await;
        if beat.is_err() {
            self.up_since = None;
        }
        beat
    }

    async fn try_beat(&mut self, store: &mut Store) -> RedisResult<Beat> {
        if std::mem::take(&mut store.failed) {
            self.up_since = None;
        }
        store.heartbeat(self.ttl).await?;
        let fenced: i64 = store.con.del(format!("failover:{}", store.node)).await?;
        let up = *self.up_since.get_or_insert_with(std::time::Instant::now);
        let dead = if up.elapsed() >= self.ttl {
            store.claim_dead().await?
        } else {
            Vec::new()
        };
        Ok(Beat {
            dead,
            fenced: fenced > 0,
        })
    }
}

/// This node's sockets, by number.
#[derive(Default)]
pub struct Sockets(pub BTreeMap<u64, crate::ws::Writer>);

impl Sockets {
    /// Closes these sockets: a survivor ended their sessions while this node was cut off
    /// from Redis (see [`Beat::fenced`]).
    pub fn cut_off(&mut self, conns: impl IntoIterator<Item = u64>) {
        println!("declared dead meanwhile: closing this node's sessions");
        for conn in conns {
            let reason = "session ended while this node was cut off".into();
            self.local(Remote::Close {
                conn,
                code: 1013,
                reason,
            });
        }
    }

    /// An output for one of this node's sockets (a socket whose queue is full is evicted).
    pub fn local(&mut self, out: Remote) {
        match out {
            Remote::Text { conn, text } => {
                if let Some(w) = self.0.get(&conn) {
                    if !w.queue(text) {
                        if let Some(w) = self.0.remove(&conn) {
                            w.evict();
                        }
                    }
                }
            }
            Remote::Close { conn, code, reason } => {
                if let Some(w) = self.0.remove(&conn) {
                    w.close(CloseCode::from(code), reason);
                }
            }
        }
    }
}

/// Sends what a server put out to the sockets it names, this node's directly and another
/// node's through Redis (printing each); returns the events, in order.
pub async fn deliver<E>(
    store: &mut Store,
    sockets: &mut Sockets,
    outs: Vec<Output<String, E>>,
) -> Vec<E> {
    let mut events = Vec::new();
    for o in outs {
        let (id, remote) = match o {
            Output::Transmit { conn, text } => {
                println!("{conn} -> {text}");
                let n = split_conn(&conn).map_or(0, |x| x.1);
                (conn, Remote::Text { conn: n, text })
            }
            Output::Close { conn, code, reason } => {
                println!("{conn} close {code} {reason}");
                let n = split_conn(&conn).map_or(0, |x| x.1);
                let code = u16::from(code);
                (
                    conn,
                    Remote::Close {
                        conn: n,
                        code,
                        reason,
                    },
                )
            }
            Output::Event(e) => {
                events.push(e);
                continue;
            }
            _ => continue,
        };
        let Some((node, _)) = split_conn(&id) else {
            continue;
        };
        if node == store.node() {
            sockets.local(remote);
        } else if let Err(e) = store.send(node, &remote).await {
            eprintln!("cannot send to {node}: {e}");
        }
    }
    events
}

// ---- a node's command line and main loop ------------------------------------------------

/// The flags every node takes.
pub struct NodeArgs {
    pub listen: String,
    pub redis: String,
    pub node: String,
    /// How long the node counts as alive without a heartbeat.
    pub ttl: Duration,
}

/// The milliseconds given to `flag`, or exit 2 with `usage`.
pub fn millis(flag: &str, v: Option<String>, usage: &str) -> Duration {
    match v.and_then(|v| v.parse().ok()) {
        Some(ms) => Duration::from_millis(ms),
        None => {
            eprintln!("{flag} wants milliseconds\n\n{usage}");
            std::process::exit(2)
        }
    }
}

impl NodeArgs {
    /// Reads the command line: `--help`, `--listen`, `--redis` and `--node` (required),
    /// `--node-ttl` (3000 ms); any other flag goes to `own` with the arguments after it,
    /// which returns false for a flag it does not know. A bad one exits 2 with `usage`.
    pub fn parse(
        usage: &str,
        mut own: impl FnMut(&str, &mut dyn Iterator<Item = String>) -> bool,
    ) -> NodeArgs {
        crate::ws::help(usage);
        let mut args = std::env::args().skip(1);
        let (mut listen, mut redis, mut node) = (None, None, None);
        let mut ttl = Duration::from_millis(3000);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--listen" => listen = args.next(),
                "--redis" => redis = args.next(),
                "--node" => node = args.next(),
                "--node-ttl" => ttl = millis(&a, args.next(), usage),
                other => {
                    if !own(other, &mut args) {
                        crate::ws::unknown_flag(other, usage)
                    }
                }
            }
        }
        let (Some(listen), Some(redis), Some(node)) = (listen, redis, node) else {
            eprintln!("--listen, --redis and --node are required\n\n{usage}");
            std::process::exit(2)
        };
        if node.contains('/') {
            eprintln!("a node name cannot contain '/'");
            std::process::exit(2);
        }
        NodeArgs {
            listen,
            redis,
            node,
            ttl,
        }
    }

    /// This node's store, or exit 1 naming the Redis URL.
    pub async fn store(&self) -> Store {
        match Store::connect(&self.redis, &self.node).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cannot reach redis at {}: {e}", self.redis);
                std::process::exit(1)
            }
        }
    }
}

/// One node of a cluster example, as [`run`] drives it.
#[allow(async_fn_in_trait)]
pub trait ClusterNode {
    type Server: Partitioned;
    fn store(&mut self) -> &mut Store;
    fn sockets(&mut self) -> &mut Sockets;
    /// The store and this node's view of who is alive, together (a heartbeat uses both).
    fn liveness(&mut self) -> (&mut Store, &mut Liveness);
    /// This node's sockets that are in a partition (joined to a call, attached to an
    /// account), by socket number: what a fenced node cuts off.
    fn in_partitions(&mut self) -> &mut BTreeMap<u64, String>;
    /// Steps partition `id` with `f` (given the time) and sends what came out.
    async fn step_at(
        &mut self,
        id: &str,
        f: impl Fn(&mut Self::Server, Timestamp),
    ) -> RedisResult<()>;
    /// A socket opened, sent a frame or closed.
    async fn on_input(&mut self, input: crate::ws::Input) -> RedisResult<()>;
    /// Every 20 ms: due deadlines.
    async fn on_tick(&mut self) -> RedisResult<()>;
}

/// Every third of the TTL: this node's heartbeat. A node found claimed by another while it
/// was away cuts off its sockets in partitions; the connections of each node whose
/// heartbeat lapsed are closed in their partitions, so the protocol's rule for a party
/// gone applies.
pub async fn heartbeat<N: ClusterNode>(n: &mut N) -> RedisResult<()> {
    let (store, liveness) = n.liveness();
    let beat = liveness.beat(store).await?;
    if beat.fenced {
        let gone = std::mem::take(n.in_partitions());
        n.sockets().cut_off(gone.into_keys());
    }
    let kind = format!("{}:", <N::Server as Partitioned>::KIND);
    for dead in beat.dead {
        println!("node {dead} is gone: closing its connections");
        let prefix = format!("{dead}/");
        for key in n.store().keys(&kind).await? {
            let id = key.trim_start_matches(kind.as_str()).to_owned();
            n.step_at(&id, |s, now| {
                for conn in s.connections(&id) {
                    if conn.starts_with(&prefix) {
                        let closed = callsig::Input::Closed {
                            conn: &conn,
                            code: None,
                            reason: "",
                        };
                        let _ = s.handle_input(now, closed);
                    }
                }
            })
            .await?;
        }
        n.store().forget_node(&dead).await?;
    }
    Ok(())
}

/// Beats once (exit 1 when Redis cannot be reached), listens on `--listen`, prints
/// `node NAME: WHAT on ws://ADDR/PATH`, then runs the node for ever: its sockets' inputs,
/// outputs other nodes send to them, the deadline tick and the heartbeat. A Redis failure
/// is said once, until Redis answers again.
pub async fn run<N: ClusterNode>(
    n: &mut N,
    args: &NodeArgs,
    subprotocol: Option<&'static str>,
    what: &str,
    path: &str,
) {
    if let Err(e) = n.store().heartbeat(args.ttl).await {
        eprintln!("cannot reach redis at {}: {e}", args.redis);
        std::process::exit(1);
    }
    let listener = crate::ws::listen(&args.listen).await;
    let addr = listener.local_addr().expect("a bound address");
    println!("node {}: {what} on ws://{addr}{path}", args.node);
    let (in_tx, mut inputs) = mpsc::channel(crate::ws::INPUT_QUEUE);
    tokio::spawn(crate::ws::accept_loop(listener, in_tx, subprotocol));
    let mut remote = n.store().subscribe();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut beat = tokio::time::interval(args.ttl / 3);
    loop {
        let done = tokio::select! {
            Some(input) = inputs.recv() => n.on_input(input).await,
            Some(out) = remote.recv() => {
                n.sockets().local(out);
                Ok(())
            }
            _ = tick.tick() => n.on_tick().await,
            _ = beat.tick() => heartbeat(n).await,
        };
        n.store().report(&done);
    }
}
