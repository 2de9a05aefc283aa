//! Restored checkpoints are untrusted: every single-node edit of a real checkpoint (each
//! value of the JSON tree replaced by a hostile one) is either refused by deserialisation
//! or gives a machine that runs without panicking (tests run with overflow checks on).
//! The machines, their seed checkpoints and scripts are the `checkpoint` fuzz target's.

#[path = "fuzz_bodies/mod.rs"]
#[allow(unused)]
mod bodies;

use bodies::checkpoint::{hostile, pointers, run_out, Subject};
use callsig::{Machine, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// Restores every single-node edit of `seed`'s JSON tree and hands what restores to
/// `use_it`; returns how many were refused and how many ran.
fn edit_all<T: Serialize + DeserializeOwned>(seed: T, use_it: impl Fn(T)) -> (usize, usize) {
    let original = serde_json::to_value(seed).unwrap();
    let mut paths = Vec::new();
    pointers(&original, String::new(), &mut paths);
    let (mut refused, mut ran) = (0, 0);
    for path in paths.iter().skip(1) {
        for value in hostile() {
            let mut edited = original.clone();
            *edited.pointer_mut(path).unwrap() = value.clone();
            let Ok(restored) = serde_json::from_value::<T>(edited) else {
                refused += 1;
                continue;
            };
            // EDITS_TRACE=1 names each edit first: the last one named is the one that hangs.
            if std::env::var_os("EDITS_TRACE").is_some() {
                eprintln!("edit {path} = {value}");
            }
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| use_it(restored)));
            assert!(run.is_ok(), "{path} = {value} panicked");
            ran += 1;
        }
    }
    assert!(refused > 0 && ran > 0, "{refused} {ran}");
    (refused, ran)
}

/// Every single-node edit of `M`'s seed checkpoint, driven when it restores.
fn edit_everything<M: Subject>() -> (usize, usize) {
    edit_all(M::seed(), |mut m: M| {
        m.drive();
        run_out(&mut m);
    })
}

/// Every single-node edit of a partition, put into a running server and driven (the
/// `checkpoint` fuzz target's machine `which`) when it restores.
fn edit_partition<T: Serialize + DeserializeOwned>(which: u8, seed: T) {
    edit_all(seed, |p: T| {
        let mut data = vec![which];
        data.extend(serde_json::to_vec(&p).unwrap());
        assert!(bodies::checkpoint::restores(&data));
    });
}

#[test]
fn loop_call_partition_edits() {
    edit_partition(6, bodies::checkpoint::call_seed());
}

#[test]
fn wtsp_account_partition_edits() {
    edit_partition(7, bodies::checkpoint::account_seed());
}

#[test]
fn loop_server_checkpoint_edits() {
    edit_everything::<callsig::progress::Server<u32>>();
}

#[test]
fn loop_client_checkpoint_edits() {
    edit_everything::<callsig::progress::Client>();
}

#[test]
fn wtsp_server_checkpoint_edits() {
    edit_everything::<callsig::wtsp::Server<u32>>();
}

#[test]
fn wtsp_client_checkpoint_edits() {
    edit_everything::<callsig::wtsp::Client>();
}

#[test]
fn callapi_server_checkpoint_edits() {
    edit_everything::<callsig::callapi::Server>();
}

#[test]
fn callapi_client_checkpoint_edits() {
    edit_everything::<callsig::callapi::Client>();
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
        // A line count that would be a huge allocation per login.
        (
            text.replace(r#"{"config":{"lines":2,"#, r#"{"config":{"lines":100000,"#),
            "more lines than MAX_LINES",
        ),
    ] {
        assert_ne!(forged, text, "{why}: the edit matched nothing");
        let e = serde_json::from_str::<Server<u32>>(&forged).unwrap_err();
        assert!(e.to_string().contains(why), "{why}: {e}");
    }
}

/// Each forgery of `M`'s seed checkpoint text (every `from` replaced by its `to`) is
/// refused, and the error names why; the unforged seed restores to the same machine.
fn refuses<M: Subject + PartialEq + std::fmt::Debug>(forgeries: &[(&[(&str, &str)], &str)]) {
    let seed = M::seed();
    let text = serde_json::to_string(&seed).unwrap();
    assert_eq!(serde_json::from_str::<M>(&text).unwrap(), seed);
    for (edits, why) in forgeries {
        let mut forged = text.clone();
        for (from, to) in *edits {
            assert!(forged.contains(from), "{why}: {from} matches nothing");
            forged = forged.replace(from, to);
        }
        assert_ne!(forged, text, "{why}: the edit matched nothing");
        let e = serde_json::from_str::<M>(&forged).unwrap_err();
        assert!(e.to_string().contains(why), "{why}: {e}");
    }
}

#[test]
fn an_inconsistent_wtsp_client_checkpoint_is_refused() {
    refuses::<callsig::wtsp::Client>(&[
        // A new request would reuse the pending one's transaction id.
        (
            &[(r#""next_transaction":2"#, r#""next_transaction":1"#)],
            "not below next_transaction",
        ),
        (
            &[(
                r#""next_transaction":2"#,
                r#""next_transaction":9223372036854775808"#,
            )],
            "next_transaction out of range",
        ),
        // Requests pending on a connection that is gone.
        (
            &[(r#""state":"ready""#, r#""state":"awaiting_reconnect""#)],
            "requests queued or pending in state awaiting reconnect",
        ),
        (
            &[(r#"["keepalive",30002]"#, r#"["reconnect",30002]"#)],
            "timer reconnect armed in state ready",
        ),
        (
            &[(
                r#""max_pending_transactions":256"#,
                r#""max_pending_transactions":0"#,
            )],
            "than the config allows",
        ),
    ]);
}

#[test]
fn an_inconsistent_loop_client_checkpoint_is_refused() {
    refuses::<callsig::progress::Client>(&[
        (
            &[(
                r#""alerting_timeout":null"#,
                r#""alerting_timeout":{"secs":3600,"nanos":0}"#,
            )],
            "alerting_timeout past its cap",
        ),
        (
            &[
                (r#""role":"callee""#, r#""role":"caller""#),
                (r#""accept_sent":false"#, r#""accept_sent":true"#),
            ],
            "accept sent by a caller",
        ),
        (
            &[
                (r#""role":"callee""#, r#""role":"caller""#),
                (r#""timers":[]"#, r#""timers":[["alerting",9]]"#),
            ],
            "timer alerting armed in state alerting",
        ),
        (
            &[(r#""timers":[]"#, r#""timers":[["response",9]]"#)],
            "timer response armed",
        ),
        (
            &[(
                r#""state":{"in_call":"alerting"},"awaiting":[]"#,
                r#""state":"ended","awaiting":[7]"#,
            )],
            "answers awaited in state ended",
        ),
    ]);
}

#[test]
fn an_inconsistent_callapi_client_checkpoint_is_refused() {
    refuses::<callsig::callapi::Client>(&[
        // The command awaiting Started could never be matched to its result.
        (
            &[(r#""requests":{"2":"cmd-2"}"#, r#""requests":{}"#)],
            "command cmd-2 awaits Started for no request",
        ),
        (
            &[(
                r#""requests":{"2":"cmd-2"}"#,
                r#""requests":{"2":"cmd-2","5":"cmd-1"}"#,
            )],
            "request 5 names command cmd-1, sent as another",
        ),
        (
            &[(r#""aliases":{}"#, r#""aliases":{"srv":"cmd-9"}"#)],
            "server name \"srv\" for no live command",
        ),
        (
            &[(r#"{"command":"cmd-1"}"#, r#"{"command":"cmd-7"}"#)],
            "a command timer for cmd-7, not live",
        ),
        (
            &[(r#""closed":false"#, r#""closed":true"#)],
            "commands live on a closed connection",
        ),
        (
            &[(r#""max_commands":1000"#, r#""max_commands":1"#)],
            "than the config allows",
        ),
    ]);
}

#[test]
fn an_inconsistent_callapi_server_checkpoint_is_refused() {
    refuses::<callsig::callapi::Server>(&[
        (
            &[(r#""closed":false"#, r#""closed":true"#)],
            "commands running on a closed connection",
        ),
        (
            &[(r#""max_running":1000"#, r#""max_running":1"#)],
            "more running commands than the config allows",
        ),
        (
            &[(r#""next_seq":2"#, r#""next_seq":1"#)],
            "start number is not below next_seq",
        ),
    ]);
}
