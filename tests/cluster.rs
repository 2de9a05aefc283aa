//! The cluster examples on a real Redis: several node processes sharing calls. Skipped,
//! saying so, when `redis-server` is not installed (CI installs it).

#[path = "../examples/support/procs.rs"]
mod procs;
#[path = "../examples/support/ws.rs"]
mod ws;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use procs::{free_port, redis_on};
use tokio::process::Child;
use tokio_tungstenite::tungstenite::Message as Ws;

/// A redis-server of its own on a free loopback port; `None` when none is installed.
async fn redis() -> Option<(Child, String)> {
    redis_on(free_port(), None).await
}

/// A Loop node process; its `ws://ADDR` once it accepts connections.
async fn node(args: &[&str]) -> (Child, String) {
    start("progress_cluster", args).await
}

/// A node process of example `name` (built by `cargo test` beside this test); its
/// `ws://ADDR` once it accepts connections.
async fn start(name: &str, args: &[&str]) -> (Child, String) {
    let exe = std::env::current_exe().unwrap();
    let examples = exe.parent().unwrap().parent().unwrap().join("examples");
    procs::start(&examples.join(name), args).await
}

struct Party(ws::Socket);

impl Party {
    async fn join(base: &str, call: &str, auth: &str) -> Party {
        let mut s = ws::connect(&format!("{base}/progress/{call}"), &[])
            .await
            .unwrap();
        let hello = format!(r#"{{"messageType":"hello","auth":"{auth}"}}"#);
        s.send(Ws::Text(hello)).await.unwrap();
        Party(s)
    }

    async fn send(&mut self, text: &str) {
        self.0.send(Ws::Text(text.into())).await.unwrap();
    }

    /// The next text frame, or `close` when the server closed.
    async fn next(&mut self) -> String {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), self.0.next())
                .await
                .expect("a frame in time");
            match m {
                Some(Ok(Ws::Text(t))) => return t,
                Some(Ok(Ws::Close(Some(f)))) => return format!("close {}", u16::from(f.code)),
                Some(Ok(Ws::Close(None))) | None | Some(Err(_)) => return "close".into(),
                _ => {}
            }
        }
    }

    /// Frames until one contains `what`; all of them.
    async fn until(&mut self, what: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let f = self.next().await;
            let done = f.contains(what) || f.starts_with("close");
            seen.push(f);
            if done {
                return seen;
            }
        }
    }
}

const ACCEPT: &str = r#"{"messageType":"action","event":"accept"}"#;
const MEDIA_UP: &str = r#"{"messageType":"action","event":"media-up"}"#;

#[tokio::test]
async fn a_call_across_three_nodes_is_answered_elsewhere_and_connects() {
    let Some((_redis, url)) = redis().await else {
        return;
    };
    let common = ["--redis", &url, "--call", "c1:tA:tB"];
    let (_n1, a1) = node(&[&common[..], &["--node", "n1"]].concat()).await;
    let (_n2, a2) = node(&[&common[..], &["--node", "n2"]].concat()).await;
    let (_n3, a3) = node(&[&common[..], &["--node", "n3"]].concat()).await;

    let mut caller = Party::join(&a1, "c1", "tA").await;
    assert_eq!(
        caller.next().await,
        r#"{"messageType":"hello","state":"init"}"#
    );
    let mut phone = Party::join(&a2, "c1", "tB").await;
    let mut tablet = Party::join(&a3, "c1", "tB").await;
    assert!(caller
        .until("alerting")
        .await
        .last()
        .unwrap()
        .contains("alerting"));
    tablet.until("alerting").await;
    phone.until("alerting").await;

    tablet.send(ACCEPT).await;
    let told = phone.until("answered-elsewhere").await;
    assert!(
        told.last().unwrap().contains("answered-elsewhere"),
        "{told:?}"
    );
    assert!(caller
        .until("connecting")
        .await
        .last()
        .unwrap()
        .contains("connecting"));
    tablet.until("connecting").await;
    caller.send(MEDIA_UP).await;
    caller.until("half-connected").await;
    tablet.send(MEDIA_UP).await;
    for p in [&mut caller, &mut tablet] {
        let seen = p.until(r#""connected""#).await;
        assert!(
            seen.last().unwrap().contains(r#""state":"connected""#),
            "{seen:?}"
        );
    }
}

/// Three nodes poll the deadlines; each timer ends its call once: every party is told
/// `terminated`/`timeout` exactly once, then closed.
#[tokio::test]
async fn each_timer_fires_once_with_three_nodes_polling() {
    let Some((_redis, url)) = redis().await else {
        return;
    };
    let timers = [
        "--supervisory",
        "400",
        "--ringing",
        "400",
        "--connection",
        "400",
    ];
    let calls = [
        "--call",
        "sup:a1:b1",
        "--call",
        "ring:a2:b2",
        "--call",
        "conn:a3:b3",
    ];
    let common = [&["--redis", url.as_str()][..], &timers[..], &calls[..]].concat();
    let (_n1, a1) = node(&[&common[..], &["--node", "n1"]].concat()).await;
    let (_n2, a2) = node(&[&common[..], &["--node", "n2"]].concat()).await;
    let (_n3, _) = node(&[&common[..], &["--node", "n3"]].concat()).await;

    // supervisory: the callee never says hello.
    let mut lone = Party::join(&a1, "sup", "a1").await;
    // ringing: nobody accepts.
    let mut r_caller = Party::join(&a1, "ring", "a2").await;
    let mut r_callee = Party::join(&a2, "ring", "b2").await;
    // connection: accepted, media never up.
    let mut c_caller = Party::join(&a2, "conn", "a3").await;
    let mut c_callee = Party::join(&a1, "conn", "b3").await;
    c_callee.until("alerting").await;
    c_callee.send(ACCEPT).await;

    for p in [
        &mut lone,
        &mut r_caller,
        &mut r_callee,
        &mut c_caller,
        &mut c_callee,
    ] {
        let seen = p.until("close").await;
        let ends: Vec<&String> = seen.iter().filter(|f| f.contains("terminated")).collect();
        assert_eq!(ends.len(), 1, "{seen:?}");
        assert!(ends[0].contains(r#""reason":"timeout""#), "{seen:?}");
    }
}

/// A node killed with a party's socket: its connection is closed in the call by a
/// survivor within the TTL, so the other party is told `terminated`/`closed`. A node
/// killed with no socket of a call changes nothing for it.
#[tokio::test]
async fn a_dead_nodes_parties_leave_their_calls_and_others_go_on() {
    let Some((_redis, url)) = redis().await else {
        return;
    };
    let common = [
        "--redis",
        &url,
        "--node-ttl",
        "600",
        "--call",
        "c1:tA:tB",
        "--call",
        "c2:tC:tD",
    ];
    let (_n1, a1) = node(&[&common[..], &["--node", "n1"]].concat()).await;
    let (mut n2, a2) = node(&[&common[..], &["--node", "n2"]].concat()).await;
    let (mut n3, _) = node(&[&common[..], &["--node", "n3"]].concat()).await;

    let mut caller = Party::join(&a1, "c1", "tA").await;
    let _callee = Party::join(&a2, "c1", "tB").await;
    caller.until("alerting").await;
    let mut c2_caller = Party::join(&a1, "c2", "tC").await;
    let mut c2_callee = Party::join(&a1, "c2", "tD").await;
    c2_callee.until("alerting").await;

    // n3 holds no socket: c2 goes on to connected.
    n3.kill().await.unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    c2_callee.send(ACCEPT).await;
    c2_caller.until("connecting").await;
    c2_caller.send(MEDIA_UP).await;
    c2_callee.send(MEDIA_UP).await;
    let seen = c2_caller.until(r#""connected""#).await;
    assert!(
        seen.last().unwrap().contains(r#""state":"connected""#),
        "{seen:?}"
    );

    // n2 holds c1's callee.
    let killed = std::time::Instant::now();
    n2.kill().await.unwrap();
    let seen = caller.until("terminated").await;
    assert!(
        seen.last()
            .unwrap()
            .contains(r#""state":"terminated","reason":"closed""#),
        "{seen:?}"
    );
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "{:?}",
        killed.elapsed()
    );
}

// ---- WTSP ------------------------------------------------------------------------------

async fn login(base: &str, account: &str, force: bool) -> Party {
    let url = format!("{base}/signaling/v1?token={account}&force={force}");
    Party(
        ws::connect(&url, &["webtrit-protocol".into()])
            .await
            .unwrap(),
    )
}

/// One session per account across the cluster: without `force` a second login on
/// another node is refused with 4431; with it, the first session is closed with 4441.
#[tokio::test]
async fn one_session_per_account_across_nodes() {
    let Some((_redis, url)) = redis().await else {
        return;
    };
    let (_n1, a1) = start("wtsp_cluster", &["--redis", &url, "--node", "n1"]).await;
    let (_n2, a2) = start("wtsp_cluster", &["--redis", &url, "--node", "n2"]).await;
    let mut first = login(&a1, "alice", false).await;
    assert!(first.next().await.starts_with(r#"{"handshake":"state""#));
    let mut refused = login(&a2, "alice", false).await;
    assert_eq!(refused.next().await, "close 4431");
    let mut second = login(&a2, "alice", true).await;
    assert!(second.next().await.starts_with(r#"{"handshake":"state""#));
    assert_eq!(first.until("close").await.last().unwrap(), "close 4441");
    let mut bad = login(&a1, "bad", false).await;
    assert_eq!(bad.next().await, "close 4201");
}

/// A call from an account on one node to an account online on another: incoming call,
/// accept, accepted on both sides, hangup crossing.
#[tokio::test]
async fn a_call_between_accounts_on_two_nodes() {
    let Some((_redis, url)) = redis().await else {
        return;
    };
    let (_n1, a1) = start("wtsp_cluster", &["--redis", &url, "--node", "n1"]).await;
    let (_n2, a2) = start("wtsp_cluster", &["--redis", &url, "--node", "n2"]).await;
    let mut alice = login(&a1, "alice", false).await;
    let mut bob = login(&a2, "bob", false).await;
    alice.until("handshake").await;
    bob.until("handshake").await;

    alice
        .send(r#"{"request":"outgoing_call","transaction":"t1","line":0,"call_id":"k","number":"bob","jsep":{"type":"offer","sdp":"v=0"}}"#)
        .await;
    let offer = bob.until("incoming_call").await;
    let offer = offer.last().unwrap();
    assert!(
        offer.contains(r#""caller":"alice""#) && offer.contains(r#""sdp":"v=0""#),
        "{offer}"
    );
    let seen = alice.until("ringing").await;
    assert!(
        seen.iter().any(|f| f.contains(r#""event":"calling""#)),
        "{seen:?}"
    );

    bob.send(r#"{"request":"accept","transaction":"t2","line":0,"call_id":"k","jsep":{"type":"answer","sdp":"v=1"}}"#)
        .await;
    let seen = alice.until("accepted").await;
    assert!(seen.last().unwrap().contains(r#""sdp":"v=1""#), "{seen:?}");
    bob.until("accepted").await;

    alice
        .send(r#"{"request":"hangup","transaction":"t3","line":0,"call_id":"k"}"#)
        .await;
    let seen = bob.until(r#""event":"hangup""#).await;
    assert!(
        seen.last().unwrap().contains(r#""call_id":"k""#),
        "{seen:?}"
    );
    alice.until(r#""event":"hangup""#).await;
}

/// Redis goes away: nodes keep their sockets and refuse new logins with 1013 (after
/// retrying for a few seconds); once it is back (its data kept), logins work again and an
/// existing session goes on.
#[tokio::test]
async fn a_redis_outage_refuses_logins_and_keeps_sessions() {
    let dir = std::env::temp_dir().join(format!("callsig-redis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let Some((mut redis, url)) = redis_on(port, Some(&dir)).await else {
        return;
    };
    let (_n1, a1) = start("wtsp_cluster", &["--redis", &url, "--node", "n1"]).await;
    let (_n2, a2) = start("wtsp_cluster", &["--redis", &url, "--node", "n2"]).await;
    let mut alice = login(&a1, "alice", false).await;
    assert!(alice.next().await.starts_with(r#"{"handshake":"state""#));

    redis.kill().await.unwrap();
    let mut bob = login(&a2, "bob", false).await;
    assert_eq!(bob.next().await, "close 1013");
    let quiet = tokio::time::timeout(Duration::from_millis(300), alice.0.next()).await;
    assert!(quiet.is_err(), "alice's session was left alone: {quiet:?}");

    let (_redis, _) = redis_on(port, Some(&dir)).await.unwrap();
    let mut carol = login(&a2, "carol", false).await;
    assert!(carol.next().await.starts_with(r#"{"handshake":"state""#));
    alice
        .send(r#"{"handshake":"keepalive","transaction":"k1"}"#)
        .await;
    assert_eq!(
        alice.next().await,
        r#"{"handshake":"keepalive","transaction":"k1"}"#
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A node killed with an account's session: a survivor ends the session within the TTL,
/// so a login without `force` on another node is accepted again. A number that is not an
/// online account gets the simulated SIP answer.
#[tokio::test]
async fn a_dead_nodes_sessions_end_and_other_numbers_get_the_simulated_answer() {
    let Some((_redis, url)) = redis().await else {
        return;
    };
    let ttl = ["--redis", url.as_str(), "--node-ttl", "600"];
    let (mut n1, a1) = start("wtsp_cluster", &[&ttl[..], &["--node", "n1"]].concat()).await;
    let (_n2, a2) = start("wtsp_cluster", &[&ttl[..], &["--node", "n2"]].concat()).await;
    let mut alice = login(&a1, "alice", false).await;
    alice.until("handshake").await;
    n1.kill().await.unwrap();
    let killed = std::time::Instant::now();
    let mut again = loop {
        let mut p = login(&a2, "alice", false).await;
        let first = p.next().await;
        if first.starts_with(r#"{"handshake":"state""#) {
            break p;
        }
        assert_eq!(
            first, "close 4431",
            "refused only while the old session lives"
        );
        assert!(
            killed.elapsed() < Duration::from_secs(3),
            "the session never ended"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    again
        .send(r#"{"request":"outgoing_call","transaction":"t1","line":0,"call_id":"k","number":"100","jsep":{"type":"offer","sdp":"v=0"}}"#)
        .await;
    let seen = again.until(r#""event":"accepted""#).await;
    for e in ["calling", "ringing", "accepted"] {
        assert!(
            seen.iter()
                .any(|f| f.contains(&format!(r#""event":"{e}""#))),
            "{seen:?}"
        );
    }
}

/// Redis goes away under a Loop cluster: a hello that cannot reach its call is answered
/// `error` "service unavailable" and closed (after a few seconds of retrying); a party
/// already in a call keeps its socket.
#[tokio::test]
async fn a_redis_outage_refuses_hellos_and_keeps_parties() {
    let Some((mut redis, url)) = redis().await else {
        return;
    };
    let (_n1, a1) = node(&["--redis", &url, "--node", "n1", "--call", "c1:tA:tB"]).await;
    let mut caller = Party::join(&a1, "c1", "tA").await;
    assert_eq!(
        caller.next().await,
        r#"{"messageType":"hello","state":"init"}"#
    );
    redis.kill().await.unwrap();
    let mut callee = Party::join(&a1, "c1", "tB").await;
    assert_eq!(
        callee.next().await,
        r#"{"messageType":"error","reason":"service unavailable"}"#
    );
    assert!(callee.next().await.starts_with("close"));
    let quiet = tokio::time::timeout(Duration::from_millis(300), caller.0.next()).await;
    assert!(
        quiet.is_err(),
        "the caller's socket was left alone: {quiet:?}"
    );
}

/// A proxy to Redis that, once armed, lets the next commit through to Redis but cuts the
/// connection before its answer comes back: the node cannot know whether it was applied.
async fn cutting_proxy(redis: &str) -> (String, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let target = redis
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}/", listener.local_addr().unwrap());
    let armed = Arc::new(AtomicBool::new(false));
    let arm = armed.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                continue;
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let cut = Arc::new(AtomicBool::new(false));
            let (armed, cut_up) = (armed.clone(), cut.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 << 10];
                while let Ok(n) = cr.read(&mut buf).await {
                    let chunk = &buf[..n];
                    let commit = chunk.windows(8).any(|w| w == b"applied:");
                    if n == 0 || cut_up.load(Ordering::SeqCst) {
                        break;
                    }
                    if commit && armed.swap(false, Ordering::SeqCst) {
                        cut_up.store(true, Ordering::SeqCst);
                    }
                    if sw.write_all(chunk).await.is_err() {
                        break;
                    }
                }
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 << 10];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 || cut.load(Ordering::SeqCst) {
                        break;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (url, arm)
}

/// A commit that reached Redis but whose answer was lost: the node steps again, finds its
/// step applied, and sends what it made once. The request is acknowledged once and not
/// applied a second time (which would answer it with an error: its line is busy).
#[tokio::test]
async fn a_commit_whose_answer_is_lost_is_applied_once() {
    let Some((_redis, url)) = redis().await else {
        return;
    };
    let (proxied, arm) = cutting_proxy(&url).await;
    let (_n1, a1) = start("wtsp_cluster", &["--redis", &proxied, "--node", "n1"]).await;
    let mut alice = login(&a1, "alice", false).await;
    alice.until("handshake").await;
    arm.store(true, std::sync::atomic::Ordering::SeqCst);
    alice
        .send(r#"{"request":"outgoing_call","transaction":"t1","line":0,"call_id":"k","number":"100","jsep":{"type":"offer","sdp":"v=0"}}"#)
        .await;
    let seen = alice.until(r#""event":"accepted""#).await;
    assert!(
        !arm.load(std::sync::atomic::Ordering::SeqCst),
        "the commit was cut"
    );
    let acks = seen
        .iter()
        .filter(|f| f.contains(r#""response":"ack""#))
        .count();
    assert_eq!(acks, 1, "{seen:?}");
    assert!(
        !seen.iter().any(|f| f.contains(r#""response":"error""#)),
        "{seen:?}"
    );
    let calling = seen
        .iter()
        .filter(|f| f.contains(r#""event":"calling""#))
        .count();
    assert_eq!(calling, 1, "{seen:?}");
}
