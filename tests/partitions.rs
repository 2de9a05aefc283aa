//! Partitions: a call (Loop) moved between servers mid-flow goes on exactly as it would
//! have on one server, and a partition that does not fit is refused.

use callsig::progress::{CallPartition, Server, ServerConfig, ServerOutput};
use callsig::{Machine, Timestamp, UsageError};

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// What a server sent, as `conn: text` lines (closes too).
fn sent(s: &mut Server<u32>, log: &mut Vec<String>) {
    s.drain(|o| match o {
        ServerOutput::Transmit { conn, text } => log.push(format!("{conn}: {text}")),
        ServerOutput::Close { conn, code, .. } => log.push(format!("{conn}: close {code}")),
        _ => {}
    });
}

/// Through JSON, as a cluster's store would hold it.
fn stored(p: CallPartition<u32>) -> CallPartition<u32> {
    serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap()
}

const ACCEPT: &str = r#"{"messageType":"action","event":"accept"}"#;
const MEDIA_UP: &str = r#"{"messageType":"action","event":"media-up"}"#;

fn hello(auth: &str) -> String {
    format!(r#"{{"messageType":"hello","auth":"{auth}"}}"#)
}

#[test]
fn a_call_moved_between_servers_goes_on_as_on_one() {
    // One server: the caller (1) joins, two callee devices (2, 3) join, 3 accepts
    // (2 is answered elsewhere), both media up: connected.
    let mut one: Server<u32> = Server::new(ServerConfig::default());
    let mut expected = Vec::new();
    one.create_call(t(0), "c1", "tA", "tB").unwrap();
    for (conn, auth) in [(1, "tA"), (2, "tB"), (3, "tB")] {
        one.handle_open(t(1), conn, Some("c1")).unwrap();
        one.handle_frame(t(2), &conn, &hello(auth));
        sent(&mut one, &mut expected);
    }
    for (conn, frame, at) in [(3, ACCEPT, 3), (1, MEDIA_UP, 4), (3, MEDIA_UP, 5)] {
        one.handle_frame(t(at), &conn, frame);
        sent(&mut one, &mut expected);
    }

    // Three servers, one per device's socket: the call moves to whichever server holds
    // the connection a frame came on (its devices' outputs would travel to their nodes).
    let mut nodes: Vec<Server<u32>> = (0..3)
        .map(|_| Server::new(ServerConfig::default()))
        .collect();
    let node_of = |conn: u32| (conn - 1) as usize;
    let mut got = Vec::new();
    nodes[0].create_call(t(0), "c1", "tA", "tB").unwrap();
    let mut at_node = 0;
    let mut step = |nodes: &mut Vec<Server<u32>>, conn: u32, f: &dyn Fn(&mut Server<u32>)| {
        let to = node_of(conn);
        if to != at_node {
            let p = nodes[at_node].take_call("c1").unwrap();
            nodes[to].put_call(stored(p)).unwrap();
            at_node = to;
        }
        f(&mut nodes[to]);
        sent(&mut nodes[to], &mut got);
    };
    for (conn, auth) in [(1u32, "tA"), (2, "tB"), (3, "tB")] {
        let hello = hello(auth);
        step(&mut nodes, conn, &|s| {
            s.handle_open(t(1), conn, Some("c1")).unwrap();
            s.handle_frame(t(2), &conn, &hello);
        });
    }
    for (conn, frame, at) in [(3u32, ACCEPT, 3), (1, MEDIA_UP, 4), (3, MEDIA_UP, 5)] {
        step(&mut nodes, conn, &|s| {
            s.handle_frame(t(at), &conn, frame);
        });
    }
    assert_eq!(got, expected);
    assert!(expected.iter().any(|l| l.contains("answered-elsewhere")));
    assert!(expected
        .iter()
        .any(|l| l.contains(r#""state":"connected""#)));
}

#[test]
fn timers_move_with_their_call() {
    let mut a: Server<u32> = Server::new(ServerConfig::default());
    a.create_call(t(0), "c1", "tA", "tB").unwrap();
    let deadline = a.next_deadline();
    let p = a.take_call("c1").unwrap();
    assert_eq!(p.next_deadline(), deadline, "the supervisory timer");
    assert_eq!(a.next_deadline(), None);
    let mut b: Server<u32> = Server::new(ServerConfig::default());
    b.put_call(stored(p)).unwrap();
    assert_eq!(b.next_deadline(), deadline);
}

#[test]
fn a_partition_that_does_not_fit_is_refused() {
    let mut a: Server<u32> = Server::new(ServerConfig::default());
    a.create_call(t(0), "c1", "tA", "tB").unwrap();
    a.handle_open(t(0), 1, Some("c1")).unwrap();
    a.handle_frame(t(0), &1, &hello("tA"));
    assert!(matches!(
        a.take_call("c1"),
        Err(UsageError::WrongState { .. })
    ));
    a.drain(|_| {});
    let p = a.take_call("c1").unwrap();
    assert_eq!(p.devices().count(), 1);
    assert_eq!(a.connection_count(), 0);
    assert!(matches!(
        a.take_call("c1"),
        Err(UsageError::UnknownCall { .. })
    ));

    // A server that has the call, or one of its devices, or no room.
    let mut has_call: Server<u32> = Server::new(ServerConfig::default());
    has_call.create_call(t(0), "c1", "x", "y").unwrap();
    let mut has_conn: Server<u32> = Server::new(ServerConfig::default());
    has_conn.handle_open(t(0), 1, None).unwrap();
    let mut config = ServerConfig::default();
    config.max_connections = 0;
    let mut full: Server<u32> = Server::new(config);
    for (s, why) in [
        (&mut has_call, "CallExists"),
        (&mut has_conn, "ConnectionExists"),
        (&mut full, "LimitReached"),
    ] {
        let before = s.clone();
        let e = s.put_call(p.clone()).unwrap_err();
        assert!(format!("{e:?}").starts_with(why), "{e:?}");
        assert!(*s == before, "a refused partition changed nothing");
    }

    // A stored partition naming one connection as a device of both parties.
    let text = serde_json::to_string(&p).unwrap();
    let forged = text.replace(r#""devices":[[1],[]]"#, r#""devices":[[1],[1]]"#);
    assert_ne!(forged, text);
    let e = serde_json::from_str::<CallPartition<u32>>(&forged).unwrap_err();
    assert!(e.to_string().contains("a device of both parties"), "{e}");
}

// ---- WTSP accounts ---------------------------------------------------------------------

mod wtsp {
    use callsig::wtsp::{AccountPartition, Attach, Server, ServerConfig, ServerOutput};
    use callsig::{Machine, Timestamp, UsageError};

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn outputs(s: &mut Server<u32>, log: &mut Vec<String>) {
        s.drain(|o| match o {
            ServerOutput::Transmit { conn, text } => log.push(format!("{conn}: {text}")),
            ServerOutput::Close { conn, code, .. } => log.push(format!("{conn}: close {code}")),
            _ => {}
        });
    }

    fn open(s: &mut Server<u32>, conn: u32, force: bool) {
        let url = format!("/signaling/v1?token=t{conn}&force={force}");
        s.handle_open(t(0), conn, &url, &["webtrit-protocol"])
            .unwrap();
    }

    fn attach(s: &mut Server<u32>, conn: u32) -> Result<(), UsageError> {
        let a = Attach {
            account: "alice".into(),
            timestamp: 1,
            registration: None,
        };
        s.attach(t(1), &conn, a)
    }

    const HANGUP: &str =
        r#"{"request":"hangup","transaction":"transaction-1","line":0,"call_id":"k"}"#;

    /// Alice logs in on one node, sends a request, then logs in with `force=true` on
    /// another: the account moves there, the first connection is closed with 4441, and
    /// everything sent is what one server sends.
    #[test]
    fn a_forced_login_on_another_server_evicts_the_first_session() {
        let mut one: Server<u32> = Server::new(ServerConfig::default());
        let mut expected = Vec::new();
        open(&mut one, 1, false);
        attach(&mut one, 1).unwrap();
        one.handle_frame(t(2), &1, HANGUP);
        outputs(&mut one, &mut expected);
        open(&mut one, 2, true);
        attach(&mut one, 2).unwrap();
        outputs(&mut one, &mut expected);

        let mut a: Server<u32> = Server::new(ServerConfig::default());
        let mut b: Server<u32> = Server::new(ServerConfig::default());
        let mut got = Vec::new();
        open(&mut a, 1, false);
        attach(&mut a, 1).unwrap();
        a.handle_frame(t(2), &1, HANGUP);
        outputs(&mut a, &mut got);
        open(&mut b, 2, true);
        b.drain(|_| {});
        let p = a.take_account("alice").unwrap();
        assert_eq!(p.connection(), Some(&1));
        assert!(p.next_deadline().is_some(), "the idle and request timers");
        let stored: AccountPartition<u32> =
            serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        b.put_account(stored).unwrap();
        attach(&mut b, 2).unwrap();
        outputs(&mut b, &mut got);
        assert_eq!(got, expected);
        assert!(
            expected.iter().any(|l| l == "1: close 4441"),
            "{expected:?}"
        );
        assert_eq!(b.account_connection("alice"), Some(&2));
    }

    #[test]
    fn an_account_partition_that_does_not_fit_is_refused() {
        let mut a: Server<u32> = Server::new(ServerConfig::default());
        open(&mut a, 1, false);
        attach(&mut a, 1).unwrap();
        assert!(matches!(
            a.take_account("alice"),
            Err(UsageError::WrongState { .. })
        ));
        a.drain(|_| {});
        let p = a.take_account("alice").unwrap();
        assert!(matches!(
            a.take_account("alice"),
            Err(UsageError::UnknownAccount { .. })
        ));
        let mut has_it: Server<u32> = Server::new(ServerConfig::default());
        open(&mut has_it, 7, false);
        attach(&mut has_it, 7).unwrap();
        let mut has_conn: Server<u32> = Server::new(ServerConfig::default());
        open(&mut has_conn, 1, false);
        let mut config = ServerConfig::default();
        config.lines = 4;
        let mut other_lines: Server<u32> = Server::new(config);
        for (s, why) in [
            (&mut has_it, "AccountExists"),
            (&mut has_conn, "ConnectionExists"),
            (&mut other_lines, "InvalidMessage"),
        ] {
            let before = s.clone();
            let e = s.put_account(p.clone()).unwrap_err();
            assert!(format!("{e:?}").starts_with(why), "{e:?}");
            assert!(*s == before, "a refused partition changed nothing");
        }
        let text = serde_json::to_string(&p).unwrap();
        let forged = text.replace(r#""account":"alice","state""#, r#""account":"bob","state""#);
        assert_ne!(forged, text);
        let e = serde_json::from_str::<AccountPartition<u32>>(&forged).unwrap_err();
        assert!(e.to_string().contains("not attached to it"), "{e}");
    }
}
