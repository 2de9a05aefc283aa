//! Codec tests: every example message of the seeds parses, every type round-trips, and the
//! tolerant reader accepts what the profile says it must.

use serde_json::json;

use super::*;

fn decode(v: serde_json::Value) -> Message {
    Message::decode(&v.to_string()).unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn round_trip(m: Message) {
    let text = m.encode();
    let back = Message::decode(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(back, m, "{text}");
    assert_eq!(back.encode(), text, "writing is stable");
}

#[test]
fn seed_state_handshake_with_active_call() {
    let m = decode(json!({
        "handshake": "state", "keepalive_interval": 30000, "timestamp": 1662114679648u64,
        "registration": {"status": "registered"},
        "lines": [
            {"call_id": "qwertyuiopasdfghjklzxcvbnm", "call_logs": [
                [1662114479751u64, {"event": "incoming_call", "callee": "123", "caller": "456"}]
            ]},
            null, null
        ],
        "user_active_calls": [{"id": "asldkaslkdkasdj", "state": "confirmed",
            "call_id": "qwertyuiopasdfghjklzxcvbnm", "direction": "initiator",
            "local_tag": "local-tag-123", "remote_tag": "remote-tag-456",
            "remote_number": "+1234567890", "remote_display_name": "John Doe"}]
    }));
    let Message::Handshake(Handshake::State(s)) = m else {
        panic!("not a state handshake")
    };
    assert_eq!(s.keepalive_interval, Some(30000));
    assert_eq!(s.registration.status, RegistrationStatus::Registered);
    assert_eq!(s.lines.len(), 3);
    let line0 = s.lines[0].as_ref().unwrap();
    assert_eq!(line0.call_id.as_deref(), Some("qwertyuiopasdfghjklzxcvbnm"));
    assert_eq!(line0.call_logs[0].timestamp, 1662114479751);
    let Message::Event(logged) = line0.call_logs[0]
        .decode(Line::Index(0), "qwertyuiopasdfghjklzxcvbnm")
        .unwrap()
    else {
        panic!("log entry is not an event")
    };
    assert_eq!(logged.line, Some(Line::Index(0)), "the line is put back");
    assert!(
        matches!(logged.kind, EventKind::IncomingCall(CallOffer { ref caller, .. }) if caller.as_deref() == Some("456"))
    );
    assert_eq!(
        s.user_active_calls
            .as_ref()
            .unwrap()
            .as_ref()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn seed_usage_state_handshakes() {
    for status in ["registered", "unregistered"] {
        let m = decode(json!({"timestamp": 1754313722205u64, "lines": [null, null],
            "handshake": "state", "keepalive_interval": 30000,
            "registration": {"status": status}}));
        let Message::Handshake(Handshake::State(s)) = m else {
            panic!()
        };
        assert_eq!(s.lines, vec![None, None]);
        assert_eq!(
            serde_json::to_value(&s.registration.status).unwrap(),
            json!(status)
        );
    }
}

#[test]
fn seed_usage_events_and_transactions() {
    assert_eq!(
        decode(json!({"event": "registering"})),
        Message::Event(Event {
            transaction: None,
            line: None,
            call_id: None,
            kind: EventKind::Registering
        })
    );
    let Message::Event(e) = decode(json!({"event": "registered", "phrase": "ok"})) else {
        panic!()
    };
    assert_eq!(
        e.kind,
        EventKind::Registered {
            phrase: Some("ok".into())
        }
    );
    let Message::Response(r) =
        decode(json!({"line": 0, "response": "ack", "transaction": "transaction-6"}))
    else {
        panic!()
    };
    assert_eq!(r.kind, ResponseKind::Ack);
    assert_eq!(r.line, Some(Line::Index(0)));
    // The seed's keepalive answer.
    assert_eq!(
        decode(json!({"handshake": "keepalive", "transaction": "transaction-0"})),
        Message::Handshake(Handshake::Keepalive {
            transaction: "transaction-0".into()
        })
    );
    let Message::Event(e) = decode(json!({"code": 200, "line": 0, "reason": "to BYE",
        "event": "hangup", "call_id": "qwertyuiopasdfghjklzxcvbnm"}))
    else {
        panic!()
    };
    assert_eq!(
        e.kind,
        EventKind::Hangup {
            code: Some(200),
            reason: Some("to BYE".into())
        }
    );
    let Message::Event(e) = decode(json!({"event": "accepted", "line": 0,
        "call_id": "q", "jsep": {"type": "answer", "sdp": "v=0"}}))
    else {
        panic!()
    };
    assert!(matches!(e.kind, EventKind::Accepted { jsep: Some(ref j), .. } if j.kind == "answer"));
}

#[test]
fn seed_usage_requests() {
    let Message::Request(r) = decode(json!({"request": "outgoing_call",
        "transaction": "transaction-1", "line": 0, "call_id": "qwertyuiopasdfghjklzxcvbnm",
        "number": "1234567890", "jsep": {"type": "offer", "sdp": "v=0"}}))
    else {
        panic!()
    };
    assert_eq!(r.transaction, "transaction-1");
    assert!(
        matches!(r.kind, RequestKind::OutgoingCall { ref number, .. } if number == "1234567890")
    );
    let Message::Request(r) = decode(json!({"request": "ice_trickle", "transaction": "t",
        "line": 0, "candidate": {"candidate": "candidate:1 1 udp", "sdpMid": "0",
        "sdpMLineIndex": 0}}))
    else {
        panic!()
    };
    assert!(matches!(
        r.kind,
        RequestKind::IceTrickle {
            candidate: IceCandidate::Candidate(_)
        }
    ));
    assert_eq!(r.call_id, None, "call_id is optional for ice_trickle");
}

#[test]
fn legacy_data_wrapper_is_read_as_flat() {
    let Message::Request(r) = decode(json!({"request": "outgoing_call", "line": 0,
        "transaction": "transaction-1", "call_id": "c",
        "data": {"number": "1234567890", "jsep": {"type": "offer", "sdp": "..."}}}))
    else {
        panic!()
    };
    assert!(
        matches!(r.kind, RequestKind::OutgoingCall { ref number, .. } if number == "1234567890")
    );
    // The overview's legacy `call` request is a request this library does not know.
    let Message::Request(r) = decode(json!({"request": "call", "line": 0,
        "transaction": "transaction-1", "call_id": "qwertyuiopasdfghjklzxcvbnm",
        "data": {"number": "1234567890", "jsep": {"type": "offer", "sdp": "..."}}}))
    else {
        panic!()
    };
    assert_eq!(
        r.kind,
        RequestKind::Unknown {
            name: "call".into()
        }
    );
    // The overview's legacy response.
    let Message::Response(r) =
        decode(json!({"response": "ack", "line": 0, "transaction": "transaction-1"}))
    else {
        panic!()
    };
    assert_eq!(r.kind, ResponseKind::Ack);
    // The overview's legacy `call` event is an event this library does not know.
    let Message::Event(e) = decode(json!({"event": "call", "line": 0, "call_id": "q",
        "data": {"callee": "0987654321", "caller": "1234567890"}}))
    else {
        panic!()
    };
    assert_eq!(e.kind.name(), "call");
    assert_eq!(e.line, Some(Line::Index(0)));
}

#[test]
fn unknown_events_keep_the_raw_json_and_are_written_back() {
    // Member order, spacing and a number past `f64`'s digits kept.
    let text = r#"{"event":"conference_joined", "line":1,"room":{"id":7},"extra":[1,2],"big":12345678901234567890123}"#;
    let m = Message::decode(text).unwrap();
    let Message::Event(e) = &m else { panic!() };
    let EventKind::Unknown { name, raw } = &e.kind else {
        panic!()
    };
    assert_eq!(name, "conference_joined");
    assert_eq!(raw.to_value()["room"]["id"], 7);
    // Written back as it came, byte for byte.
    assert_eq!(m.encode(), text);
}

#[test]
fn refer_id_as_number_or_string() {
    for v in [json!(42), json!("42")] {
        let Message::Event(e) = decode(json!({"event": "transfer", "line": 0, "call_id": "c",
            "refer_id": v, "refer_to": "sip:200@x"}))
        else {
            panic!()
        };
        assert!(
            matches!(e.kind, EventKind::Transfer { ref refer_id, .. } if refer_id.as_deref() == Some("42"))
        );
    }
}

#[test]
fn unknown_fields_are_ignored_and_guest_line_is_null() {
    let Message::Request(r) = decode(json!({"request": "hangup", "transaction": "transaction-9",
        "line": null, "call_id": "c", "future_field": {"x": 1}}))
    else {
        panic!()
    };
    assert_eq!(r.line, Some(Line::Guest));
    assert!(Message::Request(r).encode().contains(r#""line":null"#));
}

#[test]
fn bad_frames_are_told_apart() {
    assert!(matches!(Message::decode("{"), Err(DecodeError::NotJson(_))));
    assert_eq!(Message::decode("[1]"), Err(DecodeError::NotAnObject));
    assert_eq!(Message::decode("{}"), Err(DecodeError::UnknownKind));
    assert_eq!(
        Message::decode(r#"{"request":"hangup","line":0,"call_id":"c"}"#),
        Err(DecodeError::MissingField {
            message: "hangup".into(),
            field: "transaction",
            transaction: None
        })
    );
    assert_eq!(
        Message::decode(
            r#"{"request":"outgoing_call","transaction":"transaction-1","line":0,"call_id":"c","jsep":{"type":"offer","sdp":""}}"#
        ),
        Err(DecodeError::MissingField {
            message: "outgoing_call".into(),
            field: "number",
            transaction: Some("transaction-1".into())
        })
    );
    assert_eq!(
        Message::decode(r#"{"request":"hangup","transaction":"transaction-2","line":0}"#)
            .unwrap_err()
            .transaction(),
        Some("transaction-2")
    );
    let e = Message::decode(
        r#"{"request":"hangup","transaction":"transaction-3","line":"zero","call_id":"c"}"#,
    )
    .unwrap_err();
    assert!(
        matches!(e, DecodeError::InvalidField { ref transaction, .. } if transaction.as_deref() == Some("transaction-3")),
        "{e:?}"
    );
}

fn jsep() -> Jsep {
    Jsep::offer("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n")
}

fn all_requests() -> Vec<RequestKind> {
    vec![
        RequestKind::OutgoingCall {
            number: "100".into(),
            jsep: jsep(),
            from: Some("guest".into()),
            refer_id: Some("7".into()),
            replaces: Some("old".into()),
        },
        RequestKind::Accept { jsep: jsep() },
        RequestKind::Decline {
            refer_id: Some("7".into()),
        },
        RequestKind::Hangup,
        RequestKind::Hold {
            direction: HoldDirection::Inactive,
        },
        RequestKind::Unhold,
        RequestKind::Transfer {
            number: "200".into(),
            replace_call_id: Some("c2".into()),
        },
        RequestKind::Update { jsep: jsep() },
        RequestKind::IceTrickle {
            candidate: IceCandidate::Candidate(
                json!({"candidate": "a", "sdpMid": "0", "sdpMLineIndex": 0}),
            ),
        },
        RequestKind::IceTrickle {
            candidate: IceCandidate::Completed,
        },
        RequestKind::IceTrickle {
            candidate: IceCandidate::End,
        },
        RequestKind::PresenceUpdate {
            settings: json!({"status": "available"}),
        },
        RequestKind::Unknown {
            name: "future".into(),
        },
    ]
}

#[test]
fn every_request_round_trips() {
    for (i, kind) in all_requests().into_iter().enumerate() {
        let call_id = (kind.group() == RequestGroup::Call).then(|| "c1".to_owned());
        let line = (kind.group() != RequestGroup::Session).then_some(Line::Index(1));
        round_trip(Message::Request(Request {
            transaction: format!("transaction-{i}"),
            line,
            call_id,
            kind,
        }));
    }
}

#[test]
fn every_response_and_handshake_round_trips() {
    for kind in [
        ResponseKind::Ack,
        ResponseKind::Error {
            code: 503,
            reason: "busy line".into(),
        },
        ResponseKind::Unknown {
            name: "nack".into(),
        },
    ] {
        round_trip(Message::Response(Response {
            transaction: "transaction-1".into(),
            line: Some(Line::Guest),
            call_id: Some("c".into()),
            kind,
        }));
    }
    round_trip(Message::Handshake(Handshake::Keepalive {
        transaction: "transaction-5".into(),
    }));
    round_trip(Message::Handshake(Handshake::State(StateHandshake {
        keepalive_interval: Some(30000),
        timestamp: 1700000000000,
        registration: Registration {
            status: RegistrationStatus::RegistrationFailed,
            code: Some(403),
            reason: Some("Forbidden".into()),
        },
        lines: vec![
            None,
            Some(LineInfo {
                call_id: Some("c1".into()),
                call_logs: vec![CallLog {
                    timestamp: 1699999999000,
                    message: crate::RawJson::from_value(&json!({"event": "ringing"})),
                }],
            }),
        ],
        guest_line: Some(LineInfo::default()),
        user_active_calls: Some(None),
        dialog_infos: Some(json!([])),
        presence_infos: Some(json!([])),
    })));
}

fn all_events() -> Vec<EventKind> {
    let s = |v: &str| Some(v.to_owned());
    let offer = CallOffer {
        callee: s("1"),
        caller: s("2"),
        caller_display_name: s("Two"),
        referred_by: s("3"),
        replace_call_id: s("c0"),
        is_focus: Some(false),
        jsep: Some(jsep()),
    };
    vec![
        EventKind::Registering,
        EventKind::Registered { phrase: s("ok") },
        EventKind::RegistrationFailed {
            code: Some(401),
            reason: s("Unauthorized"),
        },
        EventKind::Unregistering,
        EventKind::Unregistered,
        EventKind::Error {
            code: Some(447),
            reason: s("bad"),
        },
        EventKind::IceTrickle {
            candidate: IceCandidate::End,
        },
        EventKind::IceWebrtcup,
        EventKind::IceMedia {
            media_type: s("audio"),
            receiving: Some(true),
            mid: s("0"),
        },
        EventKind::IceSlowlink {
            media: s("audio"),
            uplink: Some(false),
            lost: Some(12),
            mid: s("0"),
        },
        EventKind::IceHangup { reason: s("DTLS") },
        EventKind::Transfer {
            refer_id: s("9"),
            refer_to: s("sip:300@x"),
            referred_by: s("sip:1@x"),
            replace_call_id: s("c9"),
        },
        EventKind::IncomingCall(offer.clone()),
        EventKind::Calling,
        EventKind::Proceeding { code: Some(183) },
        EventKind::Ringing,
        EventKind::Progress {
            callee: s("1"),
            jsep: Some(Jsep::answer("v=0")),
            is_focus: Some(true),
        },
        EventKind::Accepting,
        EventKind::Accepted {
            jsep: Some(Jsep::answer("v=0")),
            callee: s("1"),
            is_focus: None,
        },
        EventKind::Declining {
            code: Some(603),
            refer_id: s("9"),
        },
        EventKind::Hangingup { code: Some(200) },
        EventKind::Hangup {
            code: Some(200),
            reason: s("to BYE"),
        },
        EventKind::MissedCall {
            callee: s("1"),
            caller: s("2"),
            caller_display_name: None,
        },
        EventKind::Holding,
        EventKind::Resuming,
        EventKind::Transferring,
        EventKind::Notify {
            notify: s("refer"),
            subscription_state: s("active"),
            content_type: s("message/sipfrag"),
            content: s("SIP/2.0 200 OK"),
        },
        EventKind::UpdatingCall(offer),
        EventKind::Updating,
        EventKind::Updated,
        EventKind::NumberPresenceUpdate {
            number: s("100"),
            presence_info: Some(json!([{"status": "available"}])),
        },
        EventKind::NumberDialogsUpdate {
            number: s("100"),
            dialog_infos: Some(json!([])),
        },
    ]
}

#[test]
fn every_event_round_trips() {
    for kind in all_events() {
        round_trip(Message::Event(Event {
            transaction: Some("transaction-3".into()),
            line: Some(Line::Index(0)),
            call_id: Some("c1".into()),
            kind,
        }));
    }
}

#[test]
fn writer_emits_documented_names_only() {
    let m = Message::Event(Event {
        transaction: None,
        line: Some(Line::Index(0)),
        call_id: Some("c".into()),
        kind: EventKind::IceMedia {
            media_type: Some("audio".into()),
            receiving: Some(true),
            mid: None,
        },
    });
    assert_eq!(
        m.encode(),
        r#"{"event":"ice_media","line":0,"call_id":"c","type":"audio","receiving":true}"#
    );
}

mod reader {
    use proptest::prelude::*;
    use serde_json::Value;

    use crate::wtsp::wire::Wire;

    const KEYS: &[&str] = &[
        "handshake",
        "request",
        "response",
        "event",
        "transaction",
        "line",
        "call_id",
        "number",
        "jsep",
        "type",
        "sdp",
        "candidate",
        "code",
        "reason",
        "lines",
        "call_logs",
        "registration",
        "status",
        "data",
        "refer_id",
        "settings",
        "timestamp",
    ];

    /// JSON of the shape WTSP frames have, with strings that need escapes, floats and
    /// wrong types mixed in.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            Just(Value::from(1.5)),
            proptest::sample::select(&["state", "accept", "ack", "offer", "registered"][..])
                .prop_map(Value::from),
            "[a-z\"\\\\\r\n\u{1}é😀]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    proptest::sample::select(KEYS).prop_map(String::from),
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The one-pass read (the kind tag first) and the two-pass read (the tags, then
        /// the kind's struct) agree: the same kind and members, or both refuse. Frames
        /// written with their tag moved to the end go through the second pass only.
        #[test]
        fn the_one_pass_read_is_the_two_pass_read(v in json_value()) {
            let text = v.to_string();
            let one = Wire::read(&text, |w| format!("{w:?}").replace("Borrowed", "Owned"));
            let moved = match &v {
                Value::Object(m) => {
                    // The same members, the first one last: never tag-first unless the
                    // tag was not first before either.
                    let mut items: Vec<_> = m.iter().collect();
                    if !items.is_empty() {
                        let first = items.remove(0);
                        items.push(first);
                    }
                    let body: Vec<String> = items
                        .iter()
                        .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
                        .collect();
                    format!("{{{}}}", body.join(","))
                }
                other => other.to_string(),
            };
            let two = Wire::read(&moved, |w| format!("{w:?}").replace("Borrowed", "Owned"));
            prop_assert_eq!(one.is_ok(), two.is_ok(), "{} / {}", text, moved);
            if let (Ok(a), Ok(b)) = (one, two) {
                prop_assert_eq!(a, b, "{} / {}", text, moved);
            }
        }
    }
}
