//! Typed events from the Call API server to the client: every `CallEvent` the server sends
//! with `notify_event` arrives at the client as the same `CallEvent`.

use callsig::callapi::{
    CallEvent, Client, ClientConfig, ClientEvent, ClientOutput, Command, Server, ServerConfig,
    ServerOutput,
};
use callsig::Timestamp;
use proptest::prelude::*;
use serde_json::Value;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// Strings that need escapes, non-ASCII and empty ones among them.
fn text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-z0-9 :@.\"\\\\\n\u{1}é😀]{0,12}")
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Fractions with a short decimal form: serde_json (without its `float_roundtrip`
        // feature) may read a long one back a unit in the last place off.
        (-1_000_000i32..1_000_000).prop_map(|n| Value::from(f64::from(n) / 8.0)),
        "[a-z\"\\\\é]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn call_event() -> impl Strategy<Value = CallEvent> {
    prop_oneof![
        (text(), text()).prop_map(|(caller, callee)| CallEvent::CallerAnswered { caller, callee }),
        (text(), text()).prop_map(|(caller, destination)| CallEvent::Transferring {
            caller,
            destination
        }),
        (text(), text(), text(), text()).prop_map(|(callid, caller, callee, destination)| {
            CallEvent::TransferStart {
                callid,
                caller,
                callee,
                destination,
            }
        }),
        (text(), text(), text(), text(), text()).prop_map(
            |(callid, caller, callee, destination, extra)| CallEvent::TransferPending {
                callid,
                caller,
                callee,
                destination,
                extra
            }
        ),
        (text(), text(), text()).prop_map(|(callid, caller, callee)| {
            CallEvent::CalleeAnswered {
                callid,
                caller,
                callee,
            }
        }),
        (text(), text()).prop_map(|(callid, destination)| CallEvent::TransferSuccessful {
            callid,
            destination
        }),
        Just(CallEvent::CallHolding),
        text().prop_map(|leg| CallEvent::CallHoldStart { leg }),
        text().prop_map(|leg| CallEvent::CallHoldSuccessful { leg }),
        Just(CallEvent::CallUnholding),
        text().prop_map(|leg| CallEvent::CallUnholdStart { leg }),
        text().prop_map(|leg| CallEvent::CallUnholdSuccessful { leg }),
        json().prop_map(|data| CallEvent::Reply { data }),
        // Names outside the catalog (and not the machine's own Started, Ended, Error).
        ("x[A-Za-z]{0,8}", proptest::option::of(json()))
            .prop_map(|(name, data)| CallEvent::Other { name, data }),
    ]
}

proptest! {
    #[test]
    fn every_call_event_arrives_as_sent(events in prop::collection::vec(call_event(), 1..6)) {
        let mut client = Client::new(ClientConfig::default());
        let mut server = Server::new(ServerConfig::default());
        let cmd_id = client
            .start(t(0), &Command::CallHold { callid: "c".into() })
            .unwrap();
        let mut to_server = Vec::new();
        while let Some(out) = Some(client.poll_output()) {
            match out {
                ClientOutput::Transmit { text, .. } => to_server.push(text),
                ClientOutput::Timeout(_) => break,
                _ => {}
            }
        }
        for frame in &to_server {
            server.handle_frame(t(1), &(), frame);
        }
        for e in &events {
            server.notify_event(t(2), &cmd_id, e).unwrap();
        }
        let mut to_client = Vec::new();
        loop {
            match server.poll_output() {
                ServerOutput::Transmit { text, .. } => to_client.push(text),
                ServerOutput::Timeout(_) => break,
                _ => {}
            }
        }
        for frame in &to_client {
            client.handle_frame(t(3), frame);
        }
        let mut received = Vec::new();
        loop {
            match client.poll_output() {
                ClientOutput::Event(ClientEvent::Progress { cmd_id: id, event, .. }) => {
                    prop_assert_eq!(&*id, &*cmd_id);
                    received.push(event);
                }
                ClientOutput::Timeout(_) => break,
                _ => {}
            }
        }
        prop_assert_eq!(received, events);
    }
}

#[test]
fn the_machines_own_events_are_refused() {
    let mut server = Server::new(ServerConfig::default());
    server.handle_frame(
        t(0),
        &(),
        r#"{"jsonrpc":"2.0","id":1,"method":"CallEnd","params":{"callid":"c","cmd_id":"e"}}"#,
    );
    for name in ["Started", "Ended", "Error"] {
        let e = CallEvent::Other {
            name: name.into(),
            data: None,
        };
        assert!(server.notify_event(t(1), "e", &e).is_err(), "{name}");
    }
    assert!(server
        .notify_event(t(1), "nope", &CallEvent::CallHolding)
        .is_err());
}
