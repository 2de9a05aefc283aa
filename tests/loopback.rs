//! The tokio adapters of `examples/` over real loopback WebSockets.

#[path = "../examples/support/callapi_io.rs"]
mod callapi_io;
#[path = "../examples/support/progress_io.rs"]
mod progress_io;
#[path = "../examples/support/ws.rs"]
mod ws;
#[path = "../examples/support/wtsp_io.rs"]
mod wtsp_io;

use std::time::Duration;

use tokio_tungstenite::tungstenite::Message as Ws;

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

impl ws::App<Client> for Refused {
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
        (Some(callsig::CloseCode::SessionMissed), None)
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

/// An example program, built by `cargo test` beside the test binaries.
fn example(name: &str) -> std::process::Command {
    let mut exe = std::env::current_exe().unwrap();
    exe.pop();
    if exe.ends_with("deps") {
        exe.pop();
    }
    let exe = exe
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    std::process::Command::new(exe)
}

#[tokio::test]
async fn the_wtsp_client_example_places_a_call() {
    let addr = server().await;
    let mut cmd = tokio::process::Command::from(example("wtsp_client"));
    cmd.args([format!("ws://{addr}"), "alice".into(), "100".into()]);
    let out = cmd
        .output()
        .await
        .expect("the wtsp_client example is built by cargo test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(r#""event":"hangup""#), "{stdout}");
}

#[tokio::test]
async fn the_progress_client_examples_play_both_sides() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = vec![("c1".to_owned(), "tA".to_owned(), "tB".to_owned())];
    tokio::spawn(progress_io::serve(
        listener,
        Default::default(),
        calls,
        Box::new(|_, _| {}),
    ));
    let url = format!("ws://{addr}/progress/c1");
    let mut caller = tokio::process::Command::from(example("progress_client"));
    caller.args([url.as_str(), "caller", "tA"]);
    let mut callee = tokio::process::Command::from(example("progress_client"));
    callee.args([url.as_str(), "callee", "tB", "--accept-after", "50"]);
    let (a, b) = tokio::join!(caller.output(), callee.output());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stdout));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stdout));
}

#[tokio::test]
async fn the_progress_client_example_names_the_call_in_its_hello() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = vec![("c7".to_owned(), "tA".to_owned(), "tB".to_owned())];
    tokio::spawn(progress_io::serve(
        listener,
        Default::default(),
        calls,
        Box::new(|_, _| {}),
    ));
    // The URL does not name the call (as with Mozilla's loop-server): only the hello can.
    let url = format!("ws://{addr}/websocket");
    let mut caller = tokio::process::Command::from(example("progress_client"));
    caller.args([url.as_str(), "caller", "tA", "--call-id", "c7"]);
    let mut callee = tokio::process::Command::from(example("progress_client"));
    callee.args([
        url.as_str(),
        "callee",
        "tB",
        "--call-id",
        "c7",
        "--accept-after",
        "50",
    ]);
    let (a, b) = tokio::join!(caller.output(), callee.output());
    let (a, b) = (a.unwrap(), b.unwrap());
    let stdout = String::from_utf8_lossy(&a.stdout);
    assert!(a.status.success(), "{stdout}");
    assert!(stdout.contains(r#""callId":"c7""#), "{stdout}");
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stdout));
}

#[test]
fn every_example_answers_help_and_names_what_it_cannot_use() {
    // Every file of examples/ is an example: none may be left out of this.
    let mut names: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".rs").map(str::to_owned)
            })
            .collect();
    names.sort();
    assert!(names.len() >= 12, "{names:?}");
    for name in &names {
        let out = example(name).arg("--help").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name} --help: {stdout}");
        assert!(
            stdout.starts_with(&format!("usage: {name}")),
            "{name}: {stdout}"
        );
        let out = example(name).arg("--no-such-flag").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name} --no-such-flag: {stderr}"
        );
        assert!(stderr.contains("usage: "), "{name}: {stderr}");
    }
    for server in ["wtsp_server", "progress_server", "callapi_server"] {
        let out = example(server).arg("not-an-address").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{server}: {stderr}");
        assert!(
            stderr.contains("cannot listen on \"not-an-address\""),
            "{server}: {stderr}"
        );
    }
    let out = example("wtsp_client").arg("--colour").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument \"--colour\""));
}

#[test]
fn the_demo_runs_and_prints_the_call() {
    let out = example("demo")
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

mod loop_progress {
    use super::*;
    use callsig::progress::{Client, ClientConfig, Outcome, Reason, Role};

    async fn server(config: callsig::progress::ServerConfig) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = vec![("c1".to_owned(), "tA".to_owned(), "tB".to_owned())];
        tokio::spawn(progress_io::serve(
            listener,
            config,
            calls,
            Box::new(|_, _| {}),
        ));
        addr
    }

    #[tokio::test]
    async fn a_call_setup_connects_over_loopback() {
        let addr = server(Default::default()).await;
        let url = format!("ws://{addr}/progress/c1");
        let mut a = progress_io::Script::new(None, Duration::from_millis(10));
        let mut b =
            progress_io::Script::new(Some(Duration::from_millis(10)), Duration::from_millis(10));
        let run = async {
            tokio::join!(
                progress_io::run_client(
                    Client::new(ClientConfig::new(Role::Caller, "tA")),
                    &url,
                    &mut a,
                    Box::new(|_, _| {})
                ),
                progress_io::run_client(
                    Client::new(ClientConfig::new(Role::Callee, "tB")),
                    &url,
                    &mut b,
                    Box::new(|_, _| {})
                ),
            )
        };
        tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .unwrap();
        assert_eq!(a.outcome, Some(Outcome::Connected));
        assert_eq!(b.outcome, Some(Outcome::Connected));
        assert_eq!(
            a.seen,
            [
                "init",
                "alerting",
                "connecting",
                "half-connected",
                "connected"
            ]
        );
    }

    #[tokio::test]
    async fn the_server_ringing_timer_expires_over_loopback() {
        let mut config = callsig::progress::ServerConfig::default();
        config.ringing = Duration::from_millis(300);
        let addr = server(config).await;
        let url = format!("ws://{addr}/progress?callId=c1");
        let mut a = progress_io::Script::new(None, Duration::from_millis(10));
        let mut b = progress_io::Script::new(None, Duration::from_millis(10));
        let run = async {
            tokio::join!(
                progress_io::run_client(
                    Client::new(ClientConfig::new(Role::Caller, "tA")),
                    &url,
                    &mut a,
                    Box::new(|_, _| {})
                ),
                progress_io::run_client(
                    Client::new(ClientConfig::new(Role::Callee, "tB")),
                    &url,
                    &mut b,
                    Box::new(|_, _| {})
                ),
            )
        };
        tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .unwrap();
        let timeout = Some(Outcome::Terminated {
            reason: Some(Reason::Timeout),
        });
        assert_eq!(a.outcome, timeout);
        assert_eq!(b.outcome, timeout);
    }

    #[test]
    fn progress_urls_name_their_call() {
        assert_eq!(
            callsig::progress::call_id_from_url("/progress/c9").as_deref(),
            Some("c9")
        );
        assert_eq!(
            callsig::progress::call_id_from_url("/loop/ws?x=1&callId=c7").as_deref(),
            Some("c7")
        );
        assert_eq!(callsig::progress::call_id_from_url("/websocket"), None);
    }
}

mod call_api {
    use super::*;
    use callsig::callapi::{Client, ClientConfig, Command, Leg, Outcome, ServerConfig};

    async fn daemon(fail: &[&str]) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let failures = callapi_io::Failures {
            methods: fail.iter().map(|m| m.to_string()).collect(),
        };
        tokio::spawn(callapi_io::serve(
            listener,
            ServerConfig::default(),
            failures,
            Duration::from_millis(5),
            Box::new(|_, _| {}),
        ));
        addr
    }

    /// A raw socket to the daemon; the next text message it gets, or how it closed.
    async fn exchange(addr: std::net::SocketAddr, send: Ws) -> Result<String, Option<u16>> {
        use futures_util::{SinkExt, StreamExt};
        let mut s = ws::connect(&format!("ws://{addr}"), &[]).await.unwrap();
        let _ = s.send(send).await;
        let got = tokio::time::timeout(Duration::from_secs(5), s.next()).await;
        match got.unwrap() {
            Some(Ok(Ws::Text(t))) => Ok(t),
            Some(Ok(Ws::Close(f))) => Err(f.map(|f| u16::from(f.code))),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn binary_frames_are_read_as_text_and_bounded() {
        let addr = daemon(&[]).await;
        // A JSON-RPC library that sends its request as a binary frame gets its answer.
        let request =
            br#"{"jsonrpc":"2.0","id":7,"method":"CallEnd","params":{"callid":"x","cmd_id":"b1"}}"#;
        let answer = exchange(addr, Ws::Binary(request.to_vec())).await.unwrap();
        assert_eq!(
            answer,
            r#"{"jsonrpc":"2.0","id":7,"result":{"cmd_id":"b1","event":"Started"}}"#
        );
        // Bytes that are not UTF-8 close the connection with 1007.
        let bad = exchange(addr, Ws::Binary(vec![0xff, 0xfe, b'{'])).await;
        assert_eq!(bad, Err(Some(1007)));
        // A message past the transport's bound is not buffered: 1009.
        let huge = "x".repeat(ws::MAX_MESSAGE + 1);
        let too_big = exchange(addr, Ws::Text(huge)).await;
        assert_eq!(too_big, Err(Some(1009)));
    }

    #[tokio::test]
    async fn commands_complete_over_loopback_and_injected_failures_fail() {
        let addr = daemon(&["CallHold"]).await;
        let commands = vec![
            Command::CallStart {
                caller: "sip:a@x".into(),
                callee: "sip:b@x".into(),
            },
            Command::CallBlindTransfer {
                callid: "c".into(),
                leg: Leg::Caller,
                destination: "sip:c@x".into(),
            },
            Command::CallHold { callid: "c".into() },
            Command::Echo {
                params: serde_json::json!({"ping": 1}),
            },
        ];
        let url = format!("ws://{addr}");
        let run = callapi_io::run_client(
            Client::new(ClientConfig::default()),
            &url,
            commands,
            Box::new(|_, _| {}),
        );
        let outcomes = tokio::time::timeout(Duration::from_secs(20), run)
            .await
            .unwrap();
        let outcomes: Vec<Outcome> = outcomes.into_iter().map(|(_, o)| o).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Completed,
                Outcome::Completed,
                Outcome::Failed {
                    message: "503 Service Unavailable".into()
                },
                Outcome::Completed,
            ]
        );
    }

    #[tokio::test]
    async fn the_callapi_client_example_runs_a_command() {
        let addr = daemon(&[]).await;
        let mut cmd = tokio::process::Command::from(example("callapi_client"));
        cmd.args([
            format!("ws://{addr}"),
            "CallStart".into(),
            "caller=sip:a@x".into(),
            "callee=sip:b@x".into(),
        ]);
        let out = cmd
            .output()
            .await
            .expect("the callapi_client example is built by cargo test");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(stdout.contains("CalleeAnswered"), "{stdout}");
    }
}

/// The adapters' own limits, over a machine made to stress them.
mod adapter_limits {
    use super::*;
    use callsig::{Input, Machine, Output, Routing, UsageError};
    use futures_util::{SinkExt, StreamExt};
    use std::collections::VecDeque;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Answers a frame `N` with N frames of 32 KiB: a peer that asks and never reads.
    #[derive(Default)]
    struct Flood(VecDeque<Output<u64, ()>>);

    impl Machine for Flood {
        type Conn = u64;
        type Event = ();

        fn handle_input(
            &mut self,
            _: Timestamp,
            input: Input<'_, u64>,
        ) -> Result<Routing, UsageError> {
            if let Input::Frame { conn, text } = input {
                let n: usize = text.parse().unwrap_or(0);
                for i in 0..n {
                    let text = format!("{i:08}{}", "x".repeat(32 << 10));
                    self.0.push_back(Output::Transmit { conn: *conn, text });
                }
            }
            Ok(Routing::Handled)
        }

        fn poll_output(&mut self) -> Output<u64, ()> {
            self.0.pop_front().unwrap_or(Output::Timeout(None))
        }

        fn next_deadline(&self) -> Option<Timestamp> {
            None
        }
    }

    struct Quiet;

    impl ws::App<Flood> for Quiet {
        fn on_event(&mut self, _: &mut Flood, _: Timestamp, _: &()) -> bool {
            true
        }
    }

    async fn flood_server() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(ws::serve(
            listener,
            None,
            Flood::default(),
            Quiet,
            Box::new(|_, _| {}),
        ));
        addr
    }

    /// A peer that asks for 64 MiB and reads nothing for a while is closed once its queue
    /// holds `SEND_QUEUE_BYTES`: it gets what the sockets buffered, then the end, not
    /// everything; the server goes on serving others.
    #[tokio::test]
    async fn a_peer_that_stops_reading_is_closed_not_buffered() {
        let addr = flood_server().await;
        let url = format!("ws://{addr}");
        let mut slow = ws::connect(&url, &[]).await.unwrap();
        slow.send(Ws::Text("2048".into())).await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut got = 0usize;
        let ended = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(Ok(Ws::Text(_))) = slow.next().await {
                got += 1;
            }
        })
        .await;
        assert!(
            ended.is_ok(),
            "the slow peer was never closed ({got} frames read)"
        );
        assert!(got < 2048, "every frame was buffered for the slow peer");

        let mut other = ws::connect(&url, &[]).await.unwrap();
        other.send(Ws::Text("1".into())).await.unwrap();
        let next = tokio::time::timeout(Duration::from_secs(5), other.next()).await;
        assert!(matches!(next, Ok(Some(Ok(Ws::Text(t)))) if t.starts_with("00000000")));
    }

    /// A TCP connection that never finishes its WebSocket upgrade is dropped after
    /// `UPGRADE_TIMEOUT`, not held.
    #[tokio::test]
    async fn a_half_finished_upgrade_is_dropped() {
        let addr = flood_server().await;
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        // The first line of an upgrade request, and nothing more.
        tcp.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let started = tokio::time::Instant::now();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(ws::UPGRADE_TIMEOUT * 2, tcp.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
        let took = started.elapsed();
        assert!(
            took >= ws::UPGRADE_TIMEOUT - Duration::from_secs(1),
            "{took:?}"
        );
    }
}
