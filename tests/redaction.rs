//! No secret (a session token, a Loop party's auth) shows in `Debug` output: configs,
//! machines, outputs, events and parsed URLs are formatted and searched for it. Checkpoints
//! (serde) keep the real value.

use callsig::{progress, wtsp, Secret, Timestamp};

const SECRET: &str = "s3cr3t-t0ken";

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

#[track_caller]
fn redacted(what: &str, debug: String) {
    assert!(!debug.contains(SECRET), "{what} shows the secret: {debug}");
    assert!(
        !debug.contains("s3cr3t"),
        "{what} shows part of the secret: {debug}"
    );
}

#[test]
fn a_secret_prints_redacted_and_serialises_plain() {
    let s = Secret::from(SECRET);
    redacted("Secret", format!("{s:?}"));
    assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{SECRET}\""));
}

#[test]
fn wtsp_client_config_machine_and_connect_request() {
    let config = wtsp::ClientConfig::new("wss://core.example.com", SECRET);
    redacted("wtsp::ClientConfig", format!("{config:?}"));
    redacted("wtsp::ClientConfig (pretty)", format!("{config:#?}"));
    let mut client = wtsp::Client::new(config.clone());
    client.connect(t(0)).unwrap();
    // The connect request is queued inside the machine.
    redacted("wtsp::Client", format!("{client:?}"));
    let out = client.poll_output();
    let wtsp::ClientOutput::Connect(req) = &out else {
        panic!("a connect request first: {out:?}")
    };
    // The URL itself carries the token; only `Debug` hides it.
    assert!(req.url.contains(SECRET));
    redacted("wtsp::ConnectRequest", format!("{req:?}"));
    redacted("wtsp::ClientOutput", format!("{out:?}"));
    // A checkpoint keeps it.
    let checkpoint = serde_json::to_string(&client).unwrap();
    assert!(checkpoint.contains(SECRET));
}

#[test]
fn wtsp_url_server_event_and_connection_state() {
    let url = format!("/signaling/v1?token={SECRET}&force=true");
    let parsed = wtsp::SignalingUrl::parse(&url).unwrap();
    assert_eq!(parsed.token.expose(), SECRET);
    redacted("wtsp::SignalingUrl", format!("{parsed:?}"));
    let mut server: wtsp::Server<u32> = wtsp::Server::new(wtsp::ServerConfig::default());
    server
        .handle_open(t(0), 7, &url, &[wtsp::SUBPROTOCOL])
        .unwrap();
    // The connection waits for the application with the token in its state.
    redacted("wtsp::Server", format!("{server:?}"));
    let mut outputs = Vec::new();
    loop {
        let out = server.poll_output();
        if matches!(out, wtsp::ServerOutput::Timeout(_)) {
            break;
        }
        outputs.push(out);
    }
    assert!(
        outputs.iter().any(|o| matches!(
            o,
            wtsp::ServerOutput::Event(wtsp::ServerEvent::Authenticate { .. })
        )),
        "{outputs:?}"
    );
    redacted("wtsp::ServerOutput", format!("{outputs:?}"));
}

#[test]
fn loop_client_config_machine_and_hello() {
    let mut config = progress::ClientConfig::new(progress::Role::Caller, SECRET);
    config.url = Some("wss://loop.example.com/progress/c1".into());
    redacted("progress::ClientConfig", format!("{config:?}"));
    let mut client = progress::Client::new(config);
    client.connect(t(0)).unwrap();
    redacted("progress::Client", format!("{client:?}"));
    let hello = progress::ClientMessage::Hello {
        auth: SECRET.into(),
        call_id: Some("c1".into()),
    };
    redacted("progress::ClientMessage", format!("{hello:?}"));
    // On the wire it is the token, as the protocol says.
    assert!(hello.encode().contains(SECRET));
}

#[test]
fn loop_server_with_calls_and_tokens() {
    let mut server: progress::Server<u32> =
        progress::Server::new(progress::ServerConfig::default());
    server
        .create_call(t(0), "c1", SECRET, "other-s3cr3t")
        .unwrap();
    server.handle_open(t(0), 1, Some("c1")).unwrap();
    redacted("progress::Server", format!("{server:?}"));
    let checkpoint = serde_json::to_string(&server).unwrap();
    assert!(checkpoint.contains(SECRET));
}
