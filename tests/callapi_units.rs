//! Call API transitions: feed one input, assert the exact outputs.

use callsig::callapi::jsonrpc::Id;
use callsig::callapi::{
    CallEvent, Client, ClientConfig, ClientEvent, ClientOutput, Command, Outcome, Server,
    ServerConfig, ServerEvent, ServerOutput,
};
use callsig::{Timestamp, UsageError};

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn drain_server(s: &mut Server) -> Vec<ServerOutput> {
    let mut v = Vec::new();
    loop {
        let o = s.poll_output();
        let done = matches!(o, ServerOutput::Timeout(_));
        v.push(o);
        if done {
            return v;
        }
    }
}

fn drain_client(c: &mut Client) -> Vec<ClientOutput> {
    let mut v = Vec::new();
    loop {
        let o = c.poll_output();
        let done = matches!(o, ClientOutput::Timeout(_));
        v.push(o);
        if done {
            return v;
        }
    }
}

/// A client that has sent one `CallStart` (its outputs drained), and the command's cmd_id.
fn client_with_call_start() -> (Client, std::sync::Arc<str>) {
    let mut c = Client::new(ClientConfig::default());
    let call = Command::CallStart {
        caller: "a".into(),
        callee: "b".into(),
    };
    let id = c.start(t(0), &call).unwrap();
    drain_client(&mut c);
    (c, id)
}

fn tx(s: &str) -> ServerOutput {
    ServerOutput::Transmit {
        conn: (),
        text: s.into(),
    }
}

#[test]
fn a_command_is_started_driven_and_ended() {
    let mut s = Server::new(ServerConfig::default());
    s.handle_frame(
        t(0),
        &(),
        r#"{"jsonrpc":"2.0","id":"r1","method":"CallHold","params":{"callid":"d1","cmd_id":"h"}}"#,
    );
    assert_eq!(
        drain_server(&mut s),
        [
            tx(r#"{"jsonrpc":"2.0","id":"r1","result":{"cmd_id":"h","event":"Started"}}"#),
            ServerOutput::Event(ServerEvent::CommandStarted {
                cmd_id: "h".into(),
                id: Some(Id::String("r1".into())),
                command: Command::CallHold {
                    callid: "d1".into()
                },
            }),
            ServerOutput::Timeout(Some(t(120_000))),
        ]
    );
    s.notify(
        t(1),
        "h",
        "CallHoldStart",
        Some(serde_json::json!({"leg": "caller"})),
    )
    .unwrap();
    s.end(t(2), "h").unwrap();
    assert_eq!(
        drain_server(&mut s),
        [
            tx(
                r#"{"jsonrpc":"2.0","method":"CallHold","params":{"cmd_id":"h","event":"CallHoldStart","data":{"leg":"caller"}}}"#
            ),
            tx(r#"{"jsonrpc":"2.0","method":"CallHold","params":{"cmd_id":"h","event":"Ended"}}"#),
            ServerOutput::Timeout(None),
        ]
    );
    assert_eq!(
        s.end(t(3), "h"),
        Err(UsageError::UnknownCommand { cmd_id: "h".into() })
    );
}

#[test]
fn generated_cmd_ids_are_deterministic_and_skip_running_ones() {
    let mut config = ServerConfig::default();
    config.cmd_id_seed = 0x1234_5678_9abc;
    let mut a = Server::new(config.clone());
    let mut b = Server::new(config);
    // A client names its command exactly what the server would generate first.
    let taken = "56789abc-1234-4000-8000-000000000001";
    for s in [&mut a, &mut b] {
        s.handle_frame(t(0), &(), &format!(r#"{{"jsonrpc":"2.0","id":1,"method":"CallEnd","params":{{"callid":"x","cmd_id":"{taken}"}}}}"#));
        s.handle_frame(
            t(0),
            &(),
            r#"{"jsonrpc":"2.0","id":2,"method":"CallEnd","params":{"callid":"x"}}"#,
        );
    }
    let (oa, ob) = (drain_server(&mut a), drain_server(&mut b));
    assert_eq!(oa, ob);
    assert!(oa.contains(&tx(r#"{"jsonrpc":"2.0","id":2,"result":{"cmd_id":"56789abc-1234-4000-8000-000000000002","event":"Started"}}"#)), "{oa:?}");
}

#[test]
fn server_checkpoint_and_restore_give_the_same_future() {
    let mut s = Server::new(ServerConfig::default());
    s.handle_frame(t(0), &(), r#"{"jsonrpc":"2.0","id":1,"method":"CallStart","params":{"caller":"a","callee":"b","cmd_id":"s"}}"#);
    let mut r: Server = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(r, s);
    for m in [&mut s, &mut r] {
        m.notify(t(1), "s", "CallerAnswered", None).unwrap();
        m.handle_timeout(t(200_000));
    }
    assert_eq!(drain_server(&mut s), drain_server(&mut r));
}

#[test]
fn the_client_routes_notifications_that_overtake_started() {
    let (mut c, id) = client_with_call_start();
    c.handle_frame(t(1), r#"{"jsonrpc":"2.0","method":"CallStart","params":{"cmd_id":"cmd-1","event":"CallerAnswered","data":{"caller":"a","callee":"b"}}}"#);
    assert_eq!(
        drain_client(&mut c),
        [
            ClientOutput::Event(ClientEvent::Progress {
                cmd_id: id.clone(),
                method: "CallStart".into(),
                event: CallEvent::CallerAnswered {
                    caller: Some("a".into()),
                    callee: Some("b".into())
                },
            }),
            ClientOutput::Timeout(Some(t(130_000))),
        ]
    );
    c.handle_frame(
        t(2),
        r#"{"jsonrpc":"2.0","method":"CallStart","params":{"cmd_id":"cmd-1","event":"Ended"}}"#,
    );
    c.handle_frame(
        t(3),
        r#"{"jsonrpc":"2.0","id":1,"result":{"cmd_id":"cmd-1","event":"Started"}}"#,
    );
    assert_eq!(
        drain_client(&mut c),
        [
            ClientOutput::Event(ClientEvent::Ended {
                cmd_id: id,
                method: "CallStart".into(),
                outcome: Outcome::Completed
            }),
            ClientOutput::Timeout(None),
        ],
        "the late Started is consumed quietly"
    );
}

#[test]
fn a_held_notification_keeps_its_data_until_started_names_its_command() {
    let (mut c, _) = client_with_call_start();
    // The server names the command itself; its first event overtakes the result, with the
    // event named before its data (read in place), and is held.
    c.handle_frame(t(1), r#"{"jsonrpc":"2.0","method":"CallStart","params":{"cmd_id":"srv-9","event":"CallerAnswered","data":{"caller":"sip:a@x","callee":"sip:b@x"}}}"#);
    assert_eq!(
        drain_client(&mut c),
        [ClientOutput::Timeout(Some(t(130_000)))]
    );
    c.handle_frame(
        t(2),
        r#"{"jsonrpc":"2.0","id":1,"result":{"cmd_id":"srv-9","event":"Started"}}"#,
    );
    let out = drain_client(&mut c);
    assert!(
        out.contains(&ClientOutput::Event(ClientEvent::Progress {
            cmd_id: "cmd-1".into(),
            method: "CallStart".into(),
            event: CallEvent::CallerAnswered {
                caller: Some("sip:a@x".into()),
                callee: Some("sip:b@x".into()),
            },
        })),
        "{out:?}"
    );
}

#[test]
fn client_checkpoint_and_restore_give_the_same_future() {
    let mut c = Client::new(ClientConfig::default());
    c.start(t(0), &Command::CallHold { callid: "d".into() })
        .unwrap();
    c.start(t(1), &Command::CallEnd { callid: "d".into() })
        .unwrap();
    let mut r: Client = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(r, c);
    for m in [&mut c, &mut r] {
        m.handle_frame(
            t(2),
            r#"{"jsonrpc":"2.0","id":1,"result":{"cmd_id":"srv-9"}}"#,
        );
        m.handle_frame(t(3), r#"{"jsonrpc":"2.0","method":"CallHold","params":{"cmd_id":"srv-9","status":"Error","data":"488"}}"#);
        m.handle_timeout(t(500_000));
    }
    assert_eq!(drain_client(&mut c), drain_client(&mut r));
}

#[test]
fn connections_given_different_seeds_make_different_cmd_ids() {
    // Two connections (or two nodes), each given its own seed: the same requests, no id
    // in common.
    let ids =
        |seed: u64| {
            let mut config = ServerConfig::default();
            config.cmd_id_seed = seed;
            let mut s = Server::new(config);
            let mut ids = Vec::new();
            for i in 0..50 {
                s.handle_frame(
                t(0), &(),
                &format!(
                    r#"{{"jsonrpc":"2.0","id":{i},"method":"CallEnd","params":{{"callid":"c"}}}}"#
                ));
                for o in drain_server(&mut s) {
                    if let ServerOutput::Event(ServerEvent::CommandStarted { cmd_id, .. }) = o {
                        ids.push(cmd_id.to_string());
                    }
                }
            }
            ids
        };
    let (a, b) = (ids(1), ids(2));
    assert_eq!(a.len(), 50);
    assert!(a.iter().all(|id| !b.contains(id)), "{a:?} {b:?}");
    // The same seed gives the same ids: the machine draws no random numbers.
    assert_eq!(ids(1), a);
}

#[test]
fn a_large_batch_gets_one_small_answer() {
    // A frame of the default size limit holding half a million requests (`[1,1,…]`): one
    // answer for the frame, not one per element (which was 47 times the frame's size).
    let mut s = Server::new(ServerConfig::default());
    let n = (ServerConfig::default().max_frame_len - 2) / 2;
    let frame = format!("[{}1]", "1,".repeat(n - 1));
    assert!(frame.len() <= ServerConfig::default().max_frame_len);
    s.handle_frame(t(0), &(), &frame);
    let sent: Vec<String> = drain_server(&mut s)
        .into_iter()
        .filter_map(|o| match o {
            ServerOutput::Transmit { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].len() < 200, "{}", sent[0]);
    assert!(sent[0].contains("-32600"), "{}", sent[0]);
    // A batch of exactly the limit is answered element by element.
    let max = ServerConfig::default().max_batch;
    let frame = format!("[{}1]", "1,".repeat(max - 1));
    s.handle_frame(t(0), &(), &frame);
    let out = drain_server(&mut s);
    let ServerOutput::Transmit { text, .. } = &out[0] else {
        panic!("{out:?}")
    };
    let answers: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
    assert_eq!(answers.len(), max);
}
