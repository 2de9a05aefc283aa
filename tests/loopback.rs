//! The tokio adapters of `examples/` over real loopback WebSockets.

#[path = "../examples/support/wtsp_io.rs"]
mod wtsp_io;

use std::time::Duration;

use callsig::wtsp::{Client, ClientConfig, ClientEvent, ServerConfig};
use callsig::Timestamp;

async fn server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(wtsp_io::serve(
        listener,
        ServerConfig::default(),
        Box::new(|_, _| {}),
    ));
    addr
}

#[tokio::test]
async fn a_call_from_dial_to_hangup_over_loopback() {
    let addr = server().await;
    let client = Client::new(ClientConfig::new(format!("http://{addr}/"), "alice"));
    let mut app = wtsp_io::OneCall::new("100", Duration::from_millis(100));
    let run = wtsp_io::run_client(client, &mut app, Box::new(|_, _| {}));
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the call ends in time");
    assert_eq!(
        app.seen,
        [
            "ready",
            "outgoing_call: Ack",
            "calling",
            "ringing",
            "accepted",
            "hangup: Ack",
            "hangingup",
            "hangup"
        ]
    );
}

/// Stops at the first `Disconnected` and records it.
struct Refused(Option<ClientEvent>);

impl wtsp_io::ClientApp for Refused {
    fn on_event(&mut self, _: &mut Client, _: Timestamp, event: &ClientEvent) -> bool {
        if matches!(event, ClientEvent::Disconnected { .. }) {
            self.0 = Some(event.clone());
            return false;
        }
        true
    }
}

#[tokio::test]
async fn an_unknown_session_is_closed_with_4201_and_not_retried() {
    let addr = server().await;
    let client = Client::new(ClientConfig::new(format!("ws://{addr}"), "bad"));
    let mut app = Refused(None);
    let run = wtsp_io::run_client(client, &mut app, Box::new(|_, _| {}));
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap();
    let Some(ClientEvent::Disconnected {
        code, reconnect_at, ..
    }) = app.0
    else {
        panic!("{:?}", app.0)
    };
    assert_eq!(
        (code, reconnect_at),
        (Some(callsig::wtsp::CloseCode::SessionMissed), None)
    );
}

#[tokio::test]
async fn an_unreachable_server_is_retried_with_backoff() {
    // Bind and drop to get a port nobody listens on.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let client = Client::new(ClientConfig::new(format!("ws://{addr}"), "alice"));
    let mut app = Refused(None);
    let run = wtsp_io::run_client(client, &mut app, Box::new(|_, _| {}));
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap();
    let Some(ClientEvent::Disconnected { reconnect_at, .. }) = app.0 else {
        panic!()
    };
    assert!(reconnect_at.is_some_and(|at| at.as_millis() >= 3000));
}

#[test]
fn the_demo_runs_and_prints_the_call() {
    let mut exe = std::env::current_exe().unwrap();
    exe.pop();
    if exe.ends_with("deps") {
        exe.pop();
    }
    let exe = exe
        .join("examples")
        .join(format!("demo{}", std::env::consts::EXE_SUFFIX));
    let out = std::process::Command::new(exe)
        .output()
        .expect("the demo example is built by cargo test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        r#""handshake":"state""#,
        r#""request":"outgoing_call""#,
        r#""event":"accepted""#,
        r#""event":"hangup""#,
    ] {
        assert!(
            stdout.contains(needle),
            "demo output lacks {needle}:\n{stdout}"
        );
    }
}
