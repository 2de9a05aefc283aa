//! Invariants of the Loop progress machines under random inputs and schedules.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use callsig::progress::{
    Client, ClientConfig, ClientEvent, ClientMessage, ClientOutput, RawJson, Reason, Role, Server,
    ServerConfig, ServerEvent, ServerMessage, ServerOutput, State,
};
use callsig::Timestamp;
use proptest::prelude::*;

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

// ---- server timers fire exactly at their deadlines --------------------------------------

#[derive(Clone, Debug)]
struct Schedule {
    supervisory: u64,
    ringing: u64,
    connection: u64,
    caller_hello: Option<u64>,
    callee_hello: Option<u64>,
    /// After both hellos.
    accept: Option<u64>,
    /// After accept.
    media_up: [Option<u64>; 2],
}

fn schedule() -> impl Strategy<Value = Schedule> {
    (
        (1u64..20_000, 1u64..40_000, 1u64..20_000),
        (
            proptest::option::of(0u64..15_000),
            proptest::option::of(0u64..15_000),
        ),
        proptest::option::of(0u64..40_000),
        [
            proptest::option::of(0u64..15_000),
            proptest::option::of(0u64..15_000),
        ],
    )
        .prop_map(|((s, r, c), (ha, hb), acc, mu)| {
            let both = ha.zip(hb).map(|(a, b)| a.max(b));
            let accept = both.zip(acc).map(|(b, a)| b + 1 + a);
            Schedule {
                supervisory: s,
                ringing: r,
                connection: c,
                caller_hello: ha,
                callee_hello: hb,
                accept,
                media_up: mu.map(|m| accept.zip(m).map(|(a, m)| a + 1 + m)),
            }
        })
}

/// The reference: when (if ever) a timer ends the call, from the schedule alone. Inputs
/// are taken in time order; a deadline at or before an input's time fires first.
fn expected_timeout(s: &Schedule) -> Option<u64> {
    #[derive(Clone, Copy, PartialEq)]
    enum E {
        CallerHello,
        CalleeHello,
        Accept,
        MediaUp,
    }
    let mut events: Vec<(u64, E)> = Vec::new();
    events.extend(s.caller_hello.map(|at| (at, E::CallerHello)));
    events.extend(s.callee_hello.map(|at| (at, E::CalleeHello)));
    events.extend(s.accept.map(|at| (at, E::Accept)));
    events.extend(s.media_up.iter().flatten().map(|at| (*at, E::MediaUp)));
    events.sort_by_key(|(at, e)| (*at, *e == E::MediaUp));
    let (mut sup, mut ring, mut conn) = (Some(s.supervisory), None, None);
    let (mut hellos, mut media) = (0, 0);
    let due = |sup: Option<u64>, ring: Option<u64>, conn: Option<u64>| {
        [sup, ring, conn].into_iter().flatten().min()
    };
    for (at, e) in events {
        if let Some(d) = due(sup, ring, conn).filter(|d| *d <= at) {
            return Some(d);
        }
        match e {
            E::CallerHello | E::CalleeHello => {
                hellos += 1;
                if hellos == 2 {
                    sup = None;
                }
                if e == E::CalleeHello {
                    ring = Some(at + s.ringing);
                }
            }
            E::Accept => {
                ring = None;
                conn = Some(at + s.connection);
            }
            E::MediaUp => {
                media += 1;
                if media == 2 {
                    return None;
                }
            }
        }
    }
    due(sup, ring, conn)
}

proptest! {
    #[test]
    fn server_timers_fire_at_their_configured_deadlines(s in schedule()) {
        let mut config = ServerConfig::default();
        config.supervisory = Duration::from_millis(s.supervisory);
        config.ringing = Duration::from_millis(s.ringing);
        config.connection = Duration::from_millis(s.connection);
        let mut server: Server<u8> = Server::new(config);
        server.create_call(t(0), "c", "a", "b").unwrap();
        let mut ops: Vec<(u64, u8, String)> = Vec::new();
        if let Some(at) = s.caller_hello { ops.push((at, 0, r#"{"messageType":"hello","auth":"a"}"#.into())); }
        if let Some(at) = s.callee_hello { ops.push((at, 1, r#"{"messageType":"hello","auth":"b"}"#.into())); }
        if let Some(at) = s.accept { ops.push((at, 1, r#"{"messageType":"action","event":"accept"}"#.into())); }
        for (party, at) in s.media_up.iter().enumerate() {
            if let Some(at) = at { ops.push((*at, party as u8, r#"{"messageType":"action","event":"media-up"}"#.into())); }
        }
        ops.sort_by_key(|(at, p, text)| (*at, text.contains("media") as u8, *p));
        let mut ended_at: Option<(u64, Option<Reason>)> = None;
        let mut opened = BTreeSet::new();
        let record = |server: &mut Server<u8>, at: u64, ended_at: &mut Option<(u64, Option<Reason>)>| loop {
            match server.poll_output() {
                ServerOutput::Timeout(_) => break,
                ServerOutput::Event(ServerEvent::StateChanged { state: State::Terminated | State::Connected, reason, .. }) => {
                    assert!(ended_at.is_none(), "ended twice");
                    *ended_at = Some((at, reason));
                }
                _ => {}
            }
        };
        for (at, party, text) in ops {
            while let Some((d, _)) = server.next_timer().filter(|(d, _)| d.as_millis() <= at) {
                server.handle_timeout(d);
                record(&mut server, d.as_millis(), &mut ended_at);
            }
            if opened.insert(party) {
                server.handle_open(t(at), party, Some("c")).unwrap();
            }
            let _ = server.handle_frame(t(at), &party, &text);
            record(&mut server, at, &mut ended_at);
        }
        while let Some((d, _)) = server.next_timer().filter(|(d, _)| d.as_millis() <= 200_000) {
            server.handle_timeout(d);
            record(&mut server, d.as_millis(), &mut ended_at);
        }
        match expected_timeout(&s) {
            Some(d) => prop_assert_eq!(ended_at, Some((d, Some(Reason::Timeout)))),
            None => prop_assert!(matches!(ended_at, Some((_, None))), "{:?}", ended_at),
        }
    }
}

// ---- server invariants under random inputs ----------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Open(u8),
    Hello(u8, u8),
    Action(u8, u8, u8),
    Garbage(u8, String),
    Close(u8),
    Wait(u64),
    AppTerminate,
}

/// Devices 0 (caller), 1 and 2 (callee) of call `c`; device 3 is a stranger.
fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u8..4).prop_map(Op::Open),
        3 => (0u8..4, 0u8..4).prop_map(|(d, a)| Op::Hello(d, a)),
        5 => (0u8..4, 0u8..5, 0u8..4).prop_map(|(d, e, r)| Op::Action(d, e, r)),
        1 => (0u8..4, prop_oneof![".{0,12}".boxed(), Just(r#"{"messageType":"echo","echo":[1]}"#.to_owned()).boxed(), Just(r#"{"messageType":"x"}"#.to_owned()).boxed()]).prop_map(|(d, g)| Op::Garbage(d, g)),
        1 => (0u8..4).prop_map(Op::Close),
        3 => prop_oneof![0u64..50, 0u64..40_000].prop_map(Op::Wait),
        1 => Just(Op::AppTerminate),
    ]
}

/// One connection's time in the call: from its `hello` answer to its close.
#[derive(Clone, Debug)]
struct Session {
    /// How many state changes the call had had when it joined.
    start: usize,
    /// How many when it left.
    end: Option<usize>,
    told: Vec<(State, Option<Reason>)>,
}

#[derive(Default, Clone)]
struct Watch {
    open: BTreeSet<u8>,
    /// The call's states in order, as the server reported them.
    global: Vec<State>,
    sessions: BTreeMap<u8, Vec<Session>>,
}

fn drain(s: &mut Server<u8>, w: &mut Watch) -> Result<(), TestCaseError> {
    // The calls that reached a final state in this drain.
    let mut ended: Vec<String> = Vec::new();
    loop {
        match s.poll_output() {
            ServerOutput::Timeout(_) => break,
            ServerOutput::Transmit { conn, text } => {
                prop_assert!(w.open.contains(&conn), "sent to closed connection {}", conn);
                match ServerMessage::decode(&text).unwrap() {
                    ServerMessage::Hello { state, reason } => {
                        let start = w.global.len();
                        w.sessions.entry(conn).or_default().push(Session {
                            start,
                            end: None,
                            told: vec![(state, reason)],
                        });
                    }
                    ServerMessage::Progress { state, reason } => {
                        let session = w.sessions.get_mut(&conn).and_then(|v| v.last_mut());
                        prop_assert!(
                            session.as_ref().is_some_and(|s| s.end.is_none()),
                            "progress before hello on {}",
                            conn
                        );
                        if let Some(session) = session {
                            session.told.push((state, reason));
                        }
                    }
                    _ => {}
                }
            }
            ServerOutput::Close { conn, .. }
            | ServerOutput::Event(ServerEvent::Closed { conn, .. }) => {
                w.open.remove(&conn);
                let len = w.global.len();
                if let Some(session) = w.sessions.get_mut(&conn).and_then(|v| v.last_mut()) {
                    session.end.get_or_insert(len);
                }
            }
            ServerOutput::Event(ServerEvent::StateChanged { call_id, state, .. }) => {
                if state.is_final() {
                    ended.push(call_id.to_string());
                }
                // The watch follows call `c`; the other call only makes noise.
                if &*call_id == "c" {
                    w.global.push(state);
                }
            }
            ServerOutput::Event(_) => {}
            _ => {}
        }
    }
    for call_id in ended {
        let left = s
            .call(&call_id)
            .map(|c| c.devices.iter().map(Vec::len).sum::<usize>())
            .unwrap_or(0);
        prop_assert_eq!(
            left,
            0,
            "every connection of {} closes after a final state",
            call_id
        );
    }
    Ok(())
}

fn run(
    s: &mut Server<u8>,
    ops: &[Op],
    now: &mut u64,
    w: &mut Watch,
) -> Result<Vec<String>, TestCaseError> {
    let mut trace = Vec::new();
    for op in ops {
        let at = t(*now);
        match op {
            Op::Open(d) => {
                if s.handle_open(at, *d, Some("c")).is_ok() {
                    w.open.insert(*d);
                }
            }
            Op::Hello(d, a) => {
                let auth = ["a", "b", "zz", "other"][*a as usize];
                let _ = s.handle_frame(
                    at,
                    d,
                    &format!(r#"{{"messageType":"hello","auth":"{auth}"}}"#),
                );
            }
            Op::Action(d, e, r) => {
                let event = ["accept", "media-up", "terminate", "wave", "accept"][*e as usize];
                let reason =
                    [None, Some("reject"), Some("bad reason"), Some("custom-1")][*r as usize];
                let m = match reason {
                    Some(r) => {
                        format!(r#"{{"messageType":"action","event":"{event}","reason":"{r}"}}"#)
                    }
                    None => format!(r#"{{"messageType":"action","event":"{event}"}}"#),
                };
                let _ = s.handle_frame(at, d, &m);
            }
            Op::Garbage(d, g) => {
                let _ = s.handle_frame(at, d, g);
            }
            Op::Close(d) => {
                let _ = s.handle_close(at, d, None);
            }
            Op::AppTerminate => {
                let _ = s.terminate_call(at, "c", Reason::Cancel);
            }
            Op::Wait(dt) => {
                let target = *now + dt;
                while let Some((d, _)) = s.next_timer().filter(|(d, _)| d.as_millis() <= target) {
                    *now = d.as_millis().max(*now);
                    s.handle_timeout(t(*now));
                    drain(s, w)?;
                    prop_assert!(
                        s.next_timer().is_none_or(|(n, _)| n.as_millis() > *now),
                        "the deadline moves past now"
                    );
                }
                *now = target;
            }
        }
        drain(s, w)?;
        trace.push(serde_json::to_string(&s).unwrap());
    }
    Ok(trace)
}

/// Every connection of the call was told exactly the call's own state sequence from the
/// state it joined in until it left — except a callee device told `answered-elsewhere`,
/// which was told the sequence until then and that.
fn same_sequence(w: &Watch) -> Result<(), TestCaseError> {
    let mut global = vec![State::Init];
    global.extend(w.global.iter().cloned());
    for (conn, sessions) in &w.sessions {
        for session in sessions {
            let mut told: Vec<State> = session.told.iter().map(|(s, _)| s.clone()).collect();
            if session
                .told
                .last()
                .is_some_and(|(_, r)| *r == Some(Reason::AnsweredElsewhere))
            {
                told.pop();
            }
            // A repeated media-up is answered with the current state again.
            told.dedup();
            let end = session.end.unwrap_or(w.global.len());
            let expected = &global[session.start..=end.min(w.global.len())];
            prop_assert_eq!(&told[..], expected, "connection {} ({:?})", conn, session);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn server_invariants(ops in prop::collection::vec(op(), 0..50), split in 0usize..50) {
        let mut s: Server<u8> = Server::new(ServerConfig::default());
        s.create_call(t(0), "c", "a", "b").unwrap();
        s.create_call(t(0), "other-call", "other", "other-b").unwrap();
        let mut w = Watch::default();
        let mut now = 0;
        let split = split.min(ops.len());
        run(&mut s, &ops[..split], &mut now, &mut w)?;
        let mut r: Server<u8> = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        prop_assert!(r == s);
        // Taking the call out, through JSON, and putting it back changes nothing either.
        // (Unless it was forgotten already.)
        let mut m = r.clone();
        if let Ok(part) = m.take_call("c") {
            prop_assert!(m.call("c").is_none());
            let text = serde_json::to_string(&part).unwrap();
            m.put_call(serde_json::from_str(&text).unwrap()).unwrap();
            prop_assert!(m == s, "take_call then put_call changed the server");
        }
        let (mut w2, mut now2) = (w.clone(), now);
        let (mut w3, mut now3) = (w.clone(), now);
        let a = run(&mut s, &ops[split..], &mut now, &mut w)?;
        let b = run(&mut r, &ops[split..], &mut now2, &mut w2)?;
        let c = run(&mut m, &ops[split..], &mut now3, &mut w3)?;
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &c);
        same_sequence(&w)?;
    }
}

// ---- client invariants -----------------------------------------------------------------

#[derive(Clone, Debug)]
enum COp {
    Open,
    Frame(String),
    Accept,
    MediaUp,
    Terminate,
    Echo,
    Close,
    Wait(u64),
}

fn server_frame() -> impl Strategy<Value = String> {
    let state = proptest::sample::select(
        &[
            "init",
            "alerting",
            "connecting",
            "half-connected",
            "connected",
            "terminated",
            "odd",
        ][..],
    );
    prop_oneof![
        state.clone().prop_map(|s| ServerMessage::Hello {
            state: State::parse(s),
            reason: None
        }
        .encode()),
        state.prop_map(|s| ServerMessage::Progress {
            state: State::parse(s),
            reason: Some(Reason::Timeout)
        }
        .encode()),
        Just(r#"{"messageType":"error","reason":"unauthorized"}"#.to_owned()),
        Just(r#"{"messageType":"echo","echo":1}"#.to_owned()),
        Just(r#"{"messageType":"surprise"}"#.to_owned()),
        ".{0,16}",
    ]
}

fn cop() -> impl Strategy<Value = COp> {
    prop_oneof![
        1 => Just(COp::Open),
        6 => server_frame().prop_map(COp::Frame),
        2 => Just(COp::Accept),
        2 => Just(COp::MediaUp),
        1 => Just(COp::Terminate),
        1 => Just(COp::Echo),
        1 => Just(COp::Close),
        3 => prop_oneof![0u64..100, 0u64..40_000].prop_map(COp::Wait),
    ]
}

fn run_client(
    c: &mut Client,
    ops: &[COp],
    now: &mut u64,
    ended: &mut usize,
    log: &mut Vec<ClientOutput>,
) -> Result<(), TestCaseError> {
    let drain = |c: &mut Client,
                 ended: &mut usize,
                 log: &mut Vec<ClientOutput>|
     -> Result<Option<Timestamp>, TestCaseError> {
        loop {
            match c.poll_output() {
                ClientOutput::Timeout(d) => return Ok(d),
                o => {
                    if matches!(o, ClientOutput::Event(ClientEvent::Ended(_))) {
                        *ended += 1;
                    } else if matches!(o, ClientOutput::Transmit { conn: (), text: _ }) {
                        prop_assert_eq!(*ended, 0, "nothing is sent after the setup ended");
                    }
                    log.push(o);
                }
            }
        }
    };
    drain(c, ended, log)?;
    for op in ops {
        let at = t(*now);
        match op {
            COp::Open => {
                let _ = c.handle_open(at);
            }
            COp::Frame(f) => c.handle_frame(at, f),
            COp::Accept => {
                let _ = c.accept(at);
            }
            COp::MediaUp => {
                let _ = c.media_up(at);
            }
            COp::Terminate => {
                let _ = c.terminate(at, Some(Reason::Cancel));
            }
            COp::Echo => {
                let _ = c.echo(at, RawJson::new("[1]").unwrap());
            }
            COp::Close => c.handle_close(at, None, ""),
            COp::Wait(dt) => {
                let target = *now + dt;
                while let Some((d, _)) = c.next_timer().filter(|(d, _)| d.as_millis() <= target) {
                    *now = d.as_millis().max(*now);
                    c.handle_timeout(t(*now));
                    let next = drain(c, ended, log)?;
                    prop_assert!(next.is_none_or(|n| n.as_millis() > *now));
                }
                *now = target;
            }
        }
        drain(c, ended, log)?;
        prop_assert!(*ended <= 1, "the setup ended twice");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn client_invariants(ops in prop::collection::vec(cop(), 0..40), split in 0usize..40, callee in any::<bool>()) {
        let mut config = ClientConfig::new(if callee { Role::Callee } else { Role::Caller }, "tok");
        config.alerting_timeout = Some(Duration::from_secs(7));
        let mut c = Client::new(config);
        let (mut now, mut ended, mut log) = (0, 0, Vec::new());
        let split = split.min(ops.len());
        run_client(&mut c, &ops[..split], &mut now, &mut ended, &mut log)?;
        let mut r: Client = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        prop_assert_eq!(&r, &c);
        let (mut now2, mut ended2, mut log2) = (now, ended, Vec::new());
        let before = log.len();
        run_client(&mut c, &ops[split..], &mut now, &mut ended, &mut log)?;
        run_client(&mut r, &ops[split..], &mut now2, &mut ended2, &mut log2)?;
        prop_assert_eq!(&log[before..], &log2[..]);
        // Every message the client writes, the server can read.
        for o in &log {
            if let ClientOutput::Transmit { text, .. } = o {
                prop_assert!(ClientMessage::decode(text).is_ok(), "{}", text);
            }
        }
    }
}
