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

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use callsig::{Machine, Output, Timestamp, UsageError};
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
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
    con: MultiplexedConnection,
    node: String,
}

/// Writes a partition (or deletes it) and its deadline, and releases its lease, all only
/// if the lease is still this node's.
const COMMIT: &str = r"
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('del', KEYS[2]) else redis.call('set', KEYS[2], ARGV[2]) end
if ARGV[3] == '' then redis.call('zrem', KEYS[3], ARGV[4])
else redis.call('zadd', KEYS[3], ARGV[3], ARGV[4]) end
redis.call('del', KEYS[1])
return 1";

const RELEASE: &str = r"
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
return 1";

impl Store {
    pub async fn connect(url: &str, node: &str) -> RedisResult<Store> {
        let client = redis::Client::open(url)?;
        let con = client.get_multiplexed_async_connection().await?;
        Ok(Store {
            client,
            con,
            node: node.to_owned(),
        })
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Takes the lease of `key`, waiting for another node's step to end (up to about a
    /// lease's time); then the partition stored under it, if any.
    pub async fn lease(&mut self, key: &str) -> RedisResult<Option<Option<String>>> {
        let lease = format!("lease:{key}");
        for attempt in 0..300u64 {
            let won: Option<String> = redis::cmd("SET")
                .arg(&lease)
                .arg(&self.node)
                .arg("NX")
                .arg("PX")
                .arg(LEASE_MS)
                .query_async(&mut self.con)
                .await?;
            if won.is_some() {
                let part: Option<String> = self.con.get(format!("part:{key}")).await?;
                return Ok(Some(part));
            }
            tokio::time::sleep(Duration::from_millis(2 + attempt.min(8))).await;
        }
        Ok(None)
    }

    /// Stores `part` (`None`: the partition is gone) with its next deadline and releases
    /// the lease; false if the lease had lapsed (nothing was written).
    pub async fn commit(
        &mut self,
        key: &str,
        part: Option<&str>,
        deadline: Option<Timestamp>,
    ) -> RedisResult<bool> {
        let done: i64 = Script::new(COMMIT)
            .key(format!("lease:{key}"))
            .key(format!("part:{key}"))
            .key("deadlines")
            .arg(&self.node)
            .arg(part.unwrap_or(""))
            .arg(deadline.map_or(String::new(), |d| d.as_millis().to_string()))
            .arg(key)
            .invoke_async(&mut self.con)
            .await?;
        Ok(done == 1)
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
                .arg("PX")
                .arg(30_000)
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
pub trait Partitioned: Machine + Clone {
    type Part: Serialize + DeserializeOwned;
    /// The store key of partition `id`.
    fn key(id: &str) -> String;
    fn put(&mut self, part: Self::Part) -> Result<(), UsageError>;
    fn take(&mut self, id: &str) -> Result<Self::Part, UsageError>;
    fn deadline(part: &Self::Part) -> Option<Timestamp>;
}

pub type Outputs<M> = Vec<Output<<M as Machine>::Conn, <M as Machine>::Event>>;

/// Steps partition `id` on this node: takes its lease and stored value, puts it into
/// `server`, runs `f` (which feeds inputs and drains, returning what came out), takes it
/// out and commits it. Returns the outputs to deliver, only once the commit held; a lapsed
/// lease discards the step (the server as before) and runs it again.
pub async fn step<M: Partitioned>(
    store: &mut Store,
    server: &mut M,
    id: &str,
    mut f: impl FnMut(&mut M) -> Outputs<M>,
) -> RedisResult<Outputs<M>> {
    let key = M::key(id);
    for _ in 0..3 {
        let Some(stored) = store.lease(&key).await? else {
            eprintln!("{key}: lease not won in time");
            return Ok(Vec::new());
        };
        let before = server.clone();
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
            store.release(&key).await?;
            return Ok(outs);
        }
        if store.commit(&key, text.as_deref(), deadline).await? {
            return Ok(outs);
        }
        eprintln!("{key}: lease lapsed during a step; stepping again");
        *server = before;
    }
    Ok(Vec::new())
}
