//! The line model and reconciliation, branch by branch.

use serde_json::json;

use super::*;
use crate::UsageError;

fn state(lines: serde_json::Value, guest: Option<serde_json::Value>) -> StateHandshake {
    let mut v = json!({"handshake": "state", "timestamp": 0,
        "registration": {"status": "registered"}, "lines": lines});
    if let Some(g) = guest {
        v["guest_line"] = g;
    }
    match Message::decode(&v.to_string()).unwrap() {
        Message::Handshake(Handshake::State(s)) => s,
        other => panic!("{other:?}"),
    }
}

fn line(call_id: &str, logs: serde_json::Value) -> serde_json::Value {
    json!({"call_id": call_id, "call_logs": logs})
}

fn known(ids: &[&str]) -> Vec<KnownCall> {
    ids.iter()
        .map(|id| KnownCall {
            call_id: (*id).into(),
        })
        .collect()
}

#[test]
fn phase_is_replayed_from_the_logs_oldest_first() {
    let s = state(
        json!([
            line(
                "a",
                json!([[3, {"event": "accepted"}], [2, {"request": "accept", "transaction": "t", "jsep": {"type": "answer", "sdp": ""}}], [1, {"event": "incoming_call", "caller": "9"}]])
            ),
            line(
                "b",
                json!([[2, {"event": "ringing"}], [1, {"event": "calling"}]])
            ),
            line(
                "c",
                json!([[1, {"request": "outgoing_call", "transaction": "t", "number": "1", "jsep": {"type": "offer", "sdp": ""}}]])
            ),
            line("d", json!([])),
            null
        ]),
        None,
    );
    let lines = Lines::from_handshake(&s);
    let phase = |i| lines.get(Line::Index(i)).map(|c| c.phase);
    assert_eq!(phase(0), Some(CallPhase::Accepted));
    assert_eq!(
        lines.get(Line::Index(0)).unwrap().direction,
        Some(Direction::Incoming)
    );
    assert_eq!(phase(1), Some(CallPhase::Ringing));
    assert_eq!(phase(2), Some(CallPhase::Dialing));
    assert_eq!(
        lines.get(Line::Index(2)).unwrap().direction,
        Some(Direction::Outgoing)
    );
    assert_eq!(
        phase(3),
        Some(CallPhase::Accepted),
        "no telling log: treated as up"
    );
    assert_eq!(phase(4), None);
    assert_eq!(lines.first_free(), Some(Line::Index(4)));
    assert_eq!(lines.find("c"), Some(Line::Index(2)));
}

#[test]
fn reconcile_restores_a_known_call_the_server_still_has() {
    let s = state(
        json!([line("a", json!([[1, {"event": "accepted"}]]))]),
        None,
    );
    assert_eq!(
        reconcile(&s, &known(&["a"])),
        [ReconcileAction::Restore {
            line: Line::Index(0),
            call_id: "a".into(),
            phase: CallPhase::Accepted
        }]
    );
}

#[test]
fn reconcile_offers_an_unknown_unanswered_incoming_call() {
    let s = state(
        json!([
            null,
            line(
                "in",
                json!([[1, {"event": "incoming_call", "caller": "5", "callee": "2"}]])
            )
        ]),
        None,
    );
    let actions = reconcile(&s, &[]);
    let [ReconcileAction::Offer {
        line,
        call_id,
        offer: Some(offer),
    }] = actions.as_slice()
    else {
        panic!("{actions:?}")
    };
    assert_eq!((*line, call_id.as_str()), (Line::Index(1), "in"));
    assert_eq!(offer.caller.as_deref(), Some("5"));
}

#[test]
fn reconcile_hangs_up_an_unknown_call_that_cannot_be_offered() {
    let s = state(
        json!([line("out", json!([[1, {"event": "calling"}]]))]),
        Some(line("g", json!([[1, {"event": "accepted"}]]))),
    );
    assert_eq!(
        reconcile(&s, &[]),
        [
            ReconcileAction::HangUp {
                line: Line::Index(0),
                call_id: "out".into()
            },
            ReconcileAction::HangUp {
                line: Line::Guest,
                call_id: "g".into()
            }
        ]
    );
}

#[test]
fn reconcile_ends_locally_a_known_call_the_server_no_longer_has() {
    let s = state(
        json!([null]),
        Some(json!({"call_id": null, "call_logs": []})),
    );
    assert_eq!(
        reconcile(&s, &known(&["x", "y"])),
        [
            ReconcileAction::EndLocally {
                call_id: "x".into()
            },
            ReconcileAction::EndLocally {
                call_id: "y".into()
            }
        ]
    );
}

#[test]
fn check_request_covers_every_branch() {
    let mut lines = Lines::new(2);
    let offer = RequestKind::OutgoingCall {
        number: "1".into(),
        jsep: Jsep::offer(""),
        from: None,
        refer_id: None,
        replaces: None,
    };
    let l0 = Some(Line::Index(0));
    assert!(lines.check_request(l0, Some("a"), &offer).is_ok());
    lines.on_request(l0, Some("a"), &offer);
    assert!(matches!(
        lines.check_request(l0, Some("b"), &offer),
        Err(UsageError::LineBusy { .. })
    ));
    assert!(lines
        .check_request(l0, Some("a"), &RequestKind::Hangup)
        .is_ok());
    assert!(matches!(
        lines.check_request(l0, Some("b"), &RequestKind::Hangup),
        Err(UsageError::CallNotOnLine { .. })
    ));
    assert!(matches!(
        lines.check_request(Some(Line::Index(2)), Some("a"), &RequestKind::Hangup),
        Err(UsageError::NoSuchLine { lines: 2, .. })
    ));
    assert!(matches!(
        lines.check_request(None, Some("a"), &RequestKind::Hangup),
        Err(UsageError::InvalidMessage { .. })
    ));
    assert!(matches!(
        lines.check_request(l0, None, &RequestKind::Hangup),
        Err(UsageError::InvalidMessage { .. })
    ));
    let trickle = RequestKind::IceTrickle {
        candidate: IceCandidate::End,
    };
    assert!(lines
        .check_request(Some(Line::Index(1)), None, &trickle)
        .is_ok());
    let presence = RequestKind::PresenceUpdate {
        settings: json!({}),
    };
    assert!(lines.check_request(None, None, &presence).is_ok());
    // The guest line is free until used.
    assert!(lines
        .check_request(Some(Line::Guest), Some("g"), &offer)
        .is_ok());
}

#[test]
fn events_move_the_phase_and_hangup_frees_the_line() {
    let mut lines = Lines::new(1);
    let ev = |kind: EventKind| Event {
        transaction: None,
        line: Some(Line::Index(0)),
        call_id: Some("c".into()),
        kind,
    };
    lines.on_event(&ev(EventKind::IncomingCall(CallOffer::default())));
    assert_eq!(
        lines.get(Line::Index(0)).unwrap().phase,
        CallPhase::Incoming
    );
    lines.on_event(&ev(EventKind::Accepting));
    assert_eq!(
        lines.get(Line::Index(0)).unwrap().phase,
        CallPhase::Accepting
    );
    lines.on_event(&ev(EventKind::Holding));
    assert_eq!(
        lines.get(Line::Index(0)).unwrap().phase,
        CallPhase::Accepting
    );
    lines.on_event(&ev(EventKind::Accepted {
        jsep: None,
        callee: None,
        is_focus: None,
    }));
    assert_eq!(
        lines.get(Line::Index(0)).unwrap().phase,
        CallPhase::Accepted
    );
    lines.on_event(&ev(EventKind::Hangingup { code: None }));
    assert_eq!(
        lines.get(Line::Index(0)).unwrap().phase,
        CallPhase::HangingUp
    );
    lines.on_event(&ev(EventKind::Hangup {
        code: None,
        reason: None,
    }));
    assert!(lines.is_free(Line::Index(0)));
    // A session event or one for a line that does not exist changes nothing.
    lines.on_event(&Event {
        line: Some(Line::Index(9)),
        ..ev(EventKind::Ringing)
    });
    assert!(lines.is_free(Line::Index(0)));
    // An event for a call the model does not know puts it on the line.
    lines.on_event(&ev(EventKind::Ringing));
    assert_eq!(lines.get(Line::Index(0)).unwrap().phase, CallPhase::Ringing);
}

mod replay {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::super::*;
    use crate::wtsp::message::Message;
    use crate::wtsp::values::CallLog;

    /// The reference: each log decoded into a typed message, then applied as the live
    /// requests and events are.
    fn by_decoding(info: &LineInfo) -> Option<LineCall> {
        let call_id = info.call_id.as_deref()?;
        let mut lines = Lines::new(1);
        let l0 = Line::Index(0);
        for log in info.call_logs.iter().rev() {
            match log.decode(l0, call_id) {
                Ok(Message::Event(mut e)) => {
                    (e.line, e.call_id) = (Some(l0), Some(call_id.into()));
                    lines.on_event(&e)
                }
                Ok(Message::Request(r)) => lines.on_request(Some(l0), Some(call_id), &r.kind),
                _ => {}
            }
        }
        Some(lines.get(l0).cloned().unwrap_or_else(|| LineCall {
            call_id: call_id.into(),
            direction: None,
            phase: CallPhase::Accepted,
            offer: None,
        }))
    }

    const NAMES: &[&str] = &[
        "outgoing_call",
        "accept",
        "decline",
        "hangup",
        "hold",
        "unhold",
        "transfer",
        "update",
        "ice_trickle",
        "presence_update",
        "incoming_call",
        "calling",
        "proceeding",
        "ringing",
        "progress",
        "accepting",
        "accepted",
        "declining",
        "hangingup",
        "holding",
        "updating_call",
        "notify",
        "missed_call",
        "registered",
        "state",
        "ack",
        "nonsense",
    ];

    /// A log message: a kind tag (or two), and members present, absent or malformed (only
    /// those the line model reads are malformed: it skips the others unread).
    fn log_message() -> impl Strategy<Value = Value> {
        let tag = prop_oneof![
            Just("request"),
            Just("event"),
            Just("response"),
            Just("handshake")
        ];
        let member = prop_oneof![
            Just(("transaction", json!("transaction-1"))),
            Just(("number", json!("100"))),
            Just(("number", json!(100))),
            Just(("jsep", json!({"type": "offer", "sdp": "v=0\r\n"}))),
            Just(("jsep", json!({"sdp": "v=0"}))),
            Just(("jsep", json!({"type": "offer", "sdp": 0}))),
            Just(("jsep", json!("v=0"))),
            Just(("transaction", json!(1))),
            Just(("is_focus", json!("yes"))),
            Just(("refer_id", json!("r1"))),
            Just(("refer_id", json!(7))),
            Just(("caller", json!("200"))),
            Just(("caller", json!(["x"]))),
            Just(("direction", json!("recvonly"))),
            Just(("direction", json!("sideways"))),
            Just(("code", json!(486))),
            Just(("call_id", json!("elsewhere"))),
            Just(("line", json!(3))),
            Just(("line", Value::Null)),
            Just(("candidate", json!({"candidate": "a=1"}))),
            Just(("settings", json!({}))),
            Just(("direction", Value::Null)),
            Just((
                "data",
                json!({"caller": "300", "transaction": "transaction-2"})
            )),
        ];
        (
            prop::collection::vec((tag, proptest::sample::select(NAMES)), 1..3),
            prop::collection::vec(member, 0..5),
        )
            .prop_map(|(tags, members)| {
                let mut m = serde_json::Map::new();
                for (k, v) in members {
                    m.insert(k.into(), v);
                }
                for (t, n) in tags {
                    m.insert(t.into(), json!(n));
                }
                Value::Object(m)
            })
    }

    /// A log the typed reader refuses moves nothing, whichever member is malformed: the
    /// replay reads logs with the reader [`CallLog::decode`] uses, by the same rules.
    #[test]
    fn a_log_the_typed_reader_refuses_is_skipped() {
        for bad in [
            json!({"event": "incoming_call", "caller": "9", "code": "486"}).to_string(),
            json!({"event": "incoming_call", "caller": 9}).to_string(),
            json!({"event": "calling", "jsep": {"type": "offer", "sdp": 1}}).to_string(),
            // A lone surrogate: valid JSON text, but not a string's value.
            r#"{"event":"incoming_call","jsep":{"type":"offer","sdp":"\ud800"}}"#.to_string(),
            r#"{"event":"calling","jsep":{"type":"offer","sdp":"a\ud800"}}"#.to_string(),
            r#"{"event":"calling","jsep":{"type":"\udc00","sdp":"v=0"}}"#.to_string(),
        ] {
            let message = crate::RawJson::new(bad.clone()).unwrap();
            let info = LineInfo {
                call_id: Some("c1".into()),
                call_logs: vec![CallLog {
                    timestamp: 1,
                    message,
                }],
            };
            assert!(
                info.call_logs[0].decode(Line::Index(0), "c1").is_err(),
                "{bad}"
            );
            let call = super::super::lines::call_from_info(&info).unwrap();
            assert_eq!(
                (call.phase, call.direction),
                (CallPhase::Accepted, None),
                "{bad}"
            );
        }
    }

    /// A lone surrogate in a logged `jsep` refuses the log: the frame is valid JSON text
    /// (kept as the log's text), but the string has no value for `CallLog::decode`.
    #[test]
    fn a_lone_surrogate_in_a_state_frame_refuses_its_log() {
        for sdp in [r#""v=0\ud800""#, r#""v=0""#] {
            let text = format!(
                r#"{{"handshake":"state","lines":[{{"call_id":"c1","call_logs":[[1,{{"event":"calling","jsep":{{"sdp":{sdp},"type":"offer"}}}}]]}}],"registration":{{"status":"registered"}},"timestamp":1}}"#
            );
            let decoded = Message::decode(&text);
            let Ok(Message::Handshake(crate::wtsp::message::Handshake::State(state))) = decoded
            else {
                panic!("a state handshake: {text}: {decoded:?}")
            };
            let lines = Lines::from_handshake(&state);
            let phase = lines.get(Line::Index(0)).unwrap().phase;
            let expected = if sdp.contains("ud800") {
                CallPhase::Accepted
            } else {
                CallPhase::Calling
            };
            assert_eq!(phase, expected, "{text}");
        }
    }

    /// A `jsep`'s strings end at their closing quote, whatever escapes come before it.
    #[test]
    fn jsep_strings_with_escapes_are_read_to_their_end() {
        for sdp in [
            r#""a\"b""#,
            r#""a\\""#,
            r#""\\\"\\""#,
            r#""\u00e9\ud83d\ude00\r\n""#,
            r#""""#,
        ] {
            let text = format!(
                r#"{{"event":"incoming_call","jsep":{{"sdp":{sdp},"type":"offer"}},"caller":"7"}}"#
            );
            let info = LineInfo {
                call_id: Some("c1".into()),
                call_logs: vec![CallLog {
                    timestamp: 1,
                    message: crate::RawJson::new(text.clone()).unwrap(),
                }],
            };
            let call = super::super::lines::call_from_info(&info).unwrap();
            assert_eq!(Some(call.clone()), by_decoding(&info), "{text}");
            let offer = call.offer.unwrap();
            let expected: String = serde_json::from_str(sdp).unwrap();
            assert_eq!(offer.jsep.unwrap().sdp, expected, "{text}");
            assert_eq!(offer.caller.as_deref(), Some("7"), "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        /// Replaying logs in place gives exactly what decoding each log and applying it
        /// gives.
        #[test]
        fn replay_in_place_is_replay_by_decoding(
            logs in prop::collection::vec(prop_oneof![9 => log_message(), 1 => Just(json!("text"))], 0..6),
        ) {
            let info = LineInfo {
                call_id: Some("c1".into()),
                call_logs: logs
                    .iter()
                    .enumerate()
                    .map(|(i, m)| CallLog { timestamp: i as u64, message: crate::RawJson::from_value(m) })
                    .collect(),
            };
            prop_assert_eq!(super::super::lines::call_from_info(&info), by_decoding(&info));
        }
    }
}
