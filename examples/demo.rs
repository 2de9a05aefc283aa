//! The callsig demo: a WTSP server on 127.0.0.1 (ephemeral port) and a client placing a
//! call through the whole seed flow — connect, `state`, `outgoing_call`, calling, ringing,
//! accepted, `hangup`, hangingup, hangup — over real loopback WebSockets, printing a
//! timestamped transcript of what crossed the wire.
//!
//! Then a Loop call setup between two clients and the progress server over loopback
//! WebSockets: one call that connects, and one that the callee's alerting timer ends.
//! Then the Call API: a CallStart and a blind transfer against a daemon whose SIP side is
//! simulated.
//!
//!     cargo run --example demo

#[path = "support/callapi_io.rs"]
mod callapi_io;
#[path = "support/progress_io.rs"]
mod progress_io;
#[path = "support/ws.rs"]
mod ws;
#[path = "support/wtsp_io.rs"]
mod wtsp_io;

use std::time::Duration;

use callsig::wtsp::{Client, ClientConfig, ServerConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    const USAGE: &str = "usage: demo\n\n\
        Runs each protocol's servers and clients on loopback WebSockets (ephemeral ports)\n\
        and prints what crosses the wire: a WTSP call from dial to hangup, two Loop call\n\
        setups (one connected, one ended by the callee's alerting timer), and Call API\n\
        commands against a simulated SIP side. Takes no arguments.";
    ws::help(USAGE);
    if let Some(arg) = std::env::args().nth(1) {
        ws::unknown_flag(&arg, USAGE);
    }
    wtsp_demo().await?;
    progress_demo().await?;
    callapi_demo().await
}

async fn wtsp_demo() -> std::io::Result<()> {
    println!("== WTSP: a call from dial to hangup");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("server listening on ws://{addr}/signaling/v1");
    tokio::spawn(wtsp_io::serve(
        listener,
        ServerConfig::default(),
        Box::new(|_, _| {}),
    ));

    let client = Client::new(ClientConfig::new(format!("ws://{addr}"), "alice"));
    let mut app = wtsp_io::OneCall::new("1234567890", Duration::from_millis(1500));
    wtsp_io::run_client(client, &mut app, ws::print_trace("client")).await;
    println!("what the application saw: {}", app.seen.join(", "));
    if app.seen.last().map(String::as_str) != Some("hangup") {
        eprintln!("the call did not end with hangup");
        std::process::exit(1);
    }
    Ok(())
}

async fn progress_demo() -> std::io::Result<()> {
    use callsig::progress::{Client, ClientConfig, Outcome, Reason, Role};

    println!();
    println!("== Loop: call setup progress between two parties");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let calls = vec![
        ("c1".to_owned(), "tokA".to_owned(), "tokB".to_owned()),
        ("c2".to_owned(), "tokC".to_owned(), "tokD".to_owned()),
    ];
    tokio::spawn(progress_io::serve(
        listener,
        callsig::progress::ServerConfig::default(),
        calls,
        ws::print_trace("server"),
    ));

    println!("-- call c1: the callee answers after 500 ms; both report media up");
    let url = format!("ws://{addr}/progress/c1");
    let mut caller = progress_io::Script::new(None, Duration::from_millis(200));
    let mut callee =
        progress_io::Script::new(Some(Duration::from_millis(500)), Duration::from_millis(300));
    tokio::join!(
        progress_io::run_client(
            Client::new(ClientConfig::new(Role::Caller, "tokA")),
            &url,
            &mut caller,
            ws::print_trace("caller")
        ),
        progress_io::run_client(
            Client::new(ClientConfig::new(Role::Callee, "tokB")),
            &url,
            &mut callee,
            ws::print_trace("callee")
        ),
    );
    println!(
        "caller saw {} → {:?}",
        caller.seen.join(" → "),
        caller.outcome
    );
    println!(
        "callee saw {} → {:?}",
        callee.seen.join(" → "),
        callee.outcome
    );

    println!("-- call c2: nobody answers; the callee's 1.5 s alerting timer expires");
    let url = format!("ws://{addr}/progress/c2");
    let mut config = ClientConfig::new(Role::Callee, "tokD");
    config.alerting_timeout = Some(Duration::from_millis(1500));
    let mut caller2 = progress_io::Script::new(None, Duration::from_millis(200));
    let mut callee2 = progress_io::Script::new(None, Duration::from_millis(200));
    tokio::join!(
        progress_io::run_client(
            Client::new(ClientConfig::new(Role::Caller, "tokC")),
            &url,
            &mut caller2,
            ws::print_trace("caller")
        ),
        progress_io::run_client(
            Client::new(config),
            &url,
            &mut callee2,
            ws::print_trace("callee")
        ),
    );
    println!(
        "caller saw {} → {:?}",
        caller2.seen.join(" → "),
        caller2.outcome
    );

    let timeout = Some(Outcome::Terminated {
        reason: Some(Reason::Timeout),
    });
    if caller.outcome != Some(Outcome::Connected)
        || callee.outcome != Some(Outcome::Connected)
        || caller2.outcome != timeout
    {
        eprintln!("the Loop calls did not end as expected");
        std::process::exit(1);
    }
    Ok(())
}

async fn callapi_demo() -> std::io::Result<()> {
    use callsig::callapi::{Client, ClientConfig, Command, Leg, Outcome, ServerConfig};

    println!();
    println!("== Call API: CallStart, then a blind transfer (JSON-RPC 2.0)");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(callapi_io::serve(
        listener,
        ServerConfig::default(),
        callapi_io::Failures::default(),
        Duration::from_millis(100),
        Box::new(|_, _| {}),
    ));
    let commands = vec![
        Command::CallStart {
            caller: "sip:alice@10.0.0.10".into(),
            callee: "sip:bob@10.0.0.11".into(),
        },
        Command::CallBlindTransfer {
            callid: "sim-call-1".into(),
            leg: Leg::Callee,
            destination: "sip:cindy@10.0.0.11".into(),
        },
    ];
    let outcomes = callapi_io::run_client(
        Client::new(ClientConfig::default()),
        &format!("ws://{addr}"),
        commands,
        ws::print_trace("client"),
    )
    .await;
    println!("outcomes: {outcomes:?}");
    if outcomes.len() != 2 || outcomes.iter().any(|(_, o)| *o != Outcome::Completed) {
        eprintln!("the Call API commands did not complete");
        std::process::exit(1);
    }
    Ok(())
}
