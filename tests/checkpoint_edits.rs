//! Restored checkpoints are untrusted: every single-node edit of a real checkpoint (each
//! value of the JSON tree replaced by a hostile one) is either refused by deserialisation
//! or gives a machine that runs without panicking (tests run with overflow checks on).

use callsig::{Input, Machine, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// The values an edit puts in place of a node.
fn hostile() -> Vec<Value> {
    vec![
        json!(0),
        json!(1),
        json!(u32::MAX),
        json!(u64::MAX),
        json!(-1),
        json!(""),
        json!("x"),
        json!(null),
        json!(true),
        json!([]),
        json!({}),
    ]
}

/// Every node of `v`, as a JSON pointer.
fn pointers(v: &Value, here: String, out: &mut Vec<String>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(c, format!("{here}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{here}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Restores every single-node edit of `m`'s checkpoint and drives what restores; returns
/// how many were refused and how many ran.
fn edit_everything<M: Machine + Serialize + DeserializeOwned>(
    m: &M,
    drive: impl Fn(&mut M),
) -> (usize, usize) {
    let original = serde_json::to_value(m).unwrap();
    let mut paths = Vec::new();
    pointers(&original, String::new(), &mut paths);
    let (mut refused, mut ran) = (0, 0);
    for path in paths.iter().skip(1) {
        for value in hostile() {
            let mut edited = original.clone();
            *edited.pointer_mut(path).unwrap() = value.clone();
            let Ok(mut restored) = serde_json::from_value::<M>(edited) else {
                refused += 1;
                continue;
            };
            // EDITS_TRACE=1 names each edit first: the last one named is the one that hangs.
            if std::env::var_os("EDITS_TRACE").is_some() {
                eprintln!("edit {path} = {value}");
            }
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                drive(&mut restored);
            }));
            assert!(run.is_ok(), "{path} = {value} panicked");
            ran += 1;
        }
    }
    (refused, ran)
}

/// Drains, then lets every timer fire, draining again.
fn run_out<M: Machine>(m: &mut M) {
    m.drain(|_| {});
    let mut at = 0u64;
    for _ in 0..64 {
        let Some(d) = m.next_deadline() else { break };
        at = at.max(d.as_millis());
        let _ = m.handle_input(t(at), Input::Timeout);
        m.drain(|_| {});
    }
}

#[test]
fn loop_server_checkpoint_edits() {
    use callsig::progress::{Server, ServerConfig};
    let mut s: Server<u32> = Server::new(ServerConfig::default());
    s.create_call(t(0), "c1", "tA", "tB").unwrap();
    s.create_call(t(0), "c2", "tC", "tD").unwrap();
    for (conn, auth) in [(1, "tA"), (2, "tB"), (3, "tB")] {
        s.handle_open(t(0), conn, Some("c1")).unwrap();
        let hello = format!(r#"{{"messageType":"hello","auth":"{auth}"}}"#);
        let _ = s.handle_frame(t(1), &conn, &hello);
    }
    s.handle_open(t(2), 4, None).unwrap();
    s.drain(|_| {});
    let (refused, ran) = edit_everything(&s, |m| {
        for conn in 1..=4u32 {
            let _ = m.handle_frame(t(5), &conn, r#"{"messageType":"action","event":"accept"}"#);
            let _ = m.handle_frame(
                t(6),
                &conn,
                r#"{"messageType":"action","event":"media-up"}"#,
            );
        }
        let _ = m.terminate_call(t(7), "c2", callsig::progress::Reason::Cancel);
        let _ = m.remove_call(t(8), "c1");
        let _ = m.create_call(t(9), "c3", "tA", "tB");
        let _ = m.handle_close(t(10), &1, None);
        run_out(m);
    });
    assert!(refused > 0 && ran > 0, "{refused} {ran}");
}

#[test]
fn wtsp_server_checkpoint_edits() {
    use callsig::wtsp::{Attach, Server, ServerConfig};
    let mut s: Server<u32> = Server::new(ServerConfig::default());
    for (conn, account) in [(1, "alice"), (2, "bob")] {
        s.handle_open(t(0), conn, "/signaling/v1?token=t", &["webtrit-protocol"])
            .unwrap();
        let attach = Attach {
            account: account.into(),
            timestamp: 1_700_000_000_000,
            registration: None,
        };
        s.attach(t(0), &conn, attach).unwrap();
    }
    let _ = s.handle_frame(
        t(1),
        &1,
        r#"{"request":"outgoing_call","transaction":"transaction-1","line":0,"call_id":"k","number":"1","jsep":{"type":"offer","sdp":"v=0"}}"#,
    );
    s.handle_open(t(2), 3, "/signaling/v1?token=t", &["webtrit-protocol"])
        .unwrap();
    s.drain(|_| {});
    let (refused, ran) = edit_everything(&s, |m| {
        for conn in 1..=3u32 {
            let _ = m.handle_frame(
                t(5),
                &conn,
                r#"{"request":"hangup","transaction":"transaction-9","line":0,"call_id":"k"}"#,
            );
            let _ = m.respond(
                t(6),
                &conn,
                "transaction-1",
                callsig::wtsp::ResponseKind::Ack,
            );
        }
        let _ = m.handle_close(t(10), &1, None);
        run_out(m);
    });
    assert!(refused > 0 && ran > 0, "{refused} {ran}");
}

#[test]
fn wtsp_client_checkpoint_edits() {
    use callsig::wtsp::{Client, ClientConfig, Jsep, Line, RequestKind};
    let mut c = Client::new(ClientConfig::new("wss://h", "t"));
    c.connect(t(0)).unwrap();
    c.handle_open(t(0)).unwrap();
    c.handle_frame(
        t(1),
        r#"{"handshake":"state","keepalive_interval":30000,"timestamp":1,"registration":{"status":"registered"},"lines":[null,null]}"#,
    );
    let offer = RequestKind::OutgoingCall {
        number: "1".into(),
        jsep: Jsep::offer("v=0"),
        from: None,
        refer_id: None,
        replaces: None,
    };
    c.request(t(2), Some(Line::Index(0)), Some("k".into()), offer)
        .unwrap();
    c.drain(|_| {});
    let (refused, ran) = edit_everything(&c, |m| {
        m.handle_frame(t(5), r#"{"response":"ack","transaction":"transaction-1"}"#);
        m.handle_frame(t(6), r#"{"event":"accepted","line":0,"call_id":"k"}"#);
        m.handle_close(t(7), None, "");
        run_out(m);
    });
    assert!(refused > 0 && ran > 0, "{refused} {ran}");
}

#[test]
fn loop_client_checkpoint_edits() {
    use callsig::progress::{Client, ClientConfig, Role};
    let mut c = Client::new(ClientConfig::new(Role::Callee, "t"));
    c.handle_open(t(0)).unwrap();
    c.handle_frame(t(1), r#"{"messageType":"hello","state":"alerting"}"#);
    c.drain(|_| {});
    let (refused, ran) = edit_everything(&c, |m| {
        let _ = m.accept(t(2));
        m.handle_frame(t(3), r#"{"messageType":"progress","state":"connecting"}"#);
        let _ = m.media_up(t(4));
        run_out(m);
    });
    assert!(refused > 0 && ran > 0, "{refused} {ran}");
}

#[test]
fn callapi_checkpoint_edits() {
    use callsig::callapi::{Client, ClientConfig, Command, Server, ServerConfig};
    let mut s = Server::new(ServerConfig::default());
    let _ = s.handle_frame(
        t(0),
        &(),
        r#"{"jsonrpc":"2.0","id":1,"method":"CallStart","params":{"caller":"a","callee":"b","cmd_id":"c1"}}"#,
    );
    let _ = s.handle_frame(
        t(0),
        &(),
        r#"{"jsonrpc":"2.0","id":2,"method":"CallEnd","params":{"callid":"x","cmd_id":"c2"}}"#,
    );
    s.drain(|_| {});
    let (refused, ran) = edit_everything(&s, |m| {
        let _ = m.notify(t(1), "c1", "CallerAnswered", None);
        let _ = m.end(t(2), "c2");
        let _ = m.handle_frame(
            t(3),
            &(),
            r#"{"jsonrpc":"2.0","id":3,"method":"CallEnd","params":{"callid":"y"}}"#,
        );
        run_out(m);
    });
    assert!(refused > 0 && ran > 0, "{refused} {ran}");

    let mut c = Client::new(ClientConfig::default());
    c.start(t(0), &Command::CallEnd { callid: "x".into() })
        .unwrap();
    c.start(t(0), &Command::CallHold { callid: "y".into() })
        .unwrap();
    c.handle_frame(
        t(1),
        r#"{"jsonrpc":"2.0","id":1,"result":{"cmd_id":"cmd-1","event":"Started"}}"#,
    );
    c.drain(|_| {});
    let (refused, ran) = edit_everything(&c, |m| {
        m.handle_frame(
            t(2),
            r#"{"jsonrpc":"2.0","method":"CallEnd","params":{"cmd_id":"cmd-1","event":"Ended"}}"#,
        );
        m.handle_frame(
            t(3),
            r#"{"jsonrpc":"2.0","id":2,"result":{"cmd_id":"srv","event":"Started"}}"#,
        );
        run_out(m);
    });
    assert!(refused > 0 && ran > 0, "{refused} {ran}");
}

/// A Loop server checkpoint that no server could have written is refused, naming why.
#[test]
fn an_inconsistent_loop_server_checkpoint_is_refused() {
    use callsig::progress::{Server, ServerConfig};
    let mut s: Server<u32> = Server::new(ServerConfig::default());
    s.create_call(t(0), "c1", "tA", "tB").unwrap();
    s.handle_open(t(0), 1, Some("c1")).unwrap();
    let _ = s.handle_frame(t(1), &1, r#"{"messageType":"hello","auth":"tA"}"#);
    s.handle_open(t(2), 2, None).unwrap();
    s.drain(|_| {});
    let good = serde_json::to_value(&s).unwrap();
    let restored: Server<u32> = serde_json::from_value(good.clone()).unwrap();
    assert_eq!(restored, s);
    let text = good.to_string();
    for (forged, why) in [
        // The caller's device is taken out of the call but stays joined to it.
        (
            text.replace(r#""devices":[[1],[]]"#, r#""devices":[[],[]]"#),
            "not its device",
        ),
        // A device that is no joined connection.
        (
            text.replace(r#""devices":[[1],[]]"#, r#""devices":[[1],[7]]"#),
            "device is not joined",
        ),
        // A timer for a call that does not exist.
        (
            text.replace(r#"{"supervisory":"c1"}"#, r#"{"supervisory":"c9"}"#),
            "timer for nothing",
        ),
    ] {
        assert_ne!(forged, text, "{why}: the edit matched nothing");
        let e = serde_json::from_str::<Server<u32>>(&forged).unwrap_err();
        assert!(e.to_string().contains(why), "{why}: {e}");
    }
}

/// A WTSP server checkpoint that no server could have written is refused, naming why.
#[test]
fn an_inconsistent_wtsp_server_checkpoint_is_refused() {
    use callsig::wtsp::{Attach, Server, ServerConfig};
    let mut s: Server<u32> = Server::new(ServerConfig::default());
    s.handle_open(t(0), 1, "/signaling/v1?token=t", &["webtrit-protocol"])
        .unwrap();
    let attach = Attach {
        account: "alice".into(),
        timestamp: 1,
        registration: None,
    };
    s.attach(t(0), &1, attach).unwrap();
    s.drain(|_| {});
    let text = serde_json::to_string(&s).unwrap();
    let restored: Server<u32> = serde_json::from_str(&text).unwrap();
    assert_eq!(restored, s);
    for (forged, why) in [
        // The account forgets its connection, which stays attached to it.
        (
            text.replace(r#""conn":1"#, r#""conn":null"#),
            "which is not attached to it",
        ),
        // An idle timer for a connection that does not exist.
        (
            text.replace(r#"{"idle":1}"#, r#"{"idle":5}"#),
            "timer for nothing",
        ),
    ] {
        assert_ne!(forged, text, "{why}: the edit matched nothing");
        let e = serde_json::from_str::<Server<u32>>(&forged).unwrap_err();
        assert!(e.to_string().contains(why), "{why}: {e}");
    }
}
