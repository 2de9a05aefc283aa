//! Soak: many connections churning handshakes and abrupt closes against an example server
//! for a bounded time, with the server's memory sampled.
//!
//! Starts the server example named (built beside this one), connects CONNECTIONS clients
//! that each open a connection, do one short exchange, then drop it (every other time
//! without a close frame), again and again for SECONDS, and samples the server's resident
//! memory. Prints one line of figures; exits 1 if any exchange failed, or the server died
//! or panicked in any task.

#[path = "support/ws.rs"]
mod ws;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_tungstenite::tungstenite::Message as Ws;

const USAGE: &str = "usage: soak SERVER [--connections N] [--seconds S]\n\n\
    SERVER is wtsp_server, progress_server or callapi_server, built beside this example\n\
    (`cargo build --release --examples`). Runs N connections (100) for S seconds (10)\n\
    against it on a free loopback port, each opening, doing one exchange and dropping its\n\
    connection in a loop, and prints sessions, failures and the server's RSS.";

/// One exchange on a fresh connection; `Err` says what went wrong.
async fn session(server: &str, addr: &str, n: u64) -> Result<(), String> {
    let (url, protocols) = match server {
        "wtsp_server" => (
            format!("ws://{addr}/signaling/v1?token=soak{}&force=true", n % 64),
            vec!["webtrit-protocol".to_owned()],
        ),
        // A call the server does not know: the hello is refused and the connection closed.
        "progress_server" => (format!("ws://{addr}/progress/none{n}"), Vec::new()),
        _ => (format!("ws://{addr}"), Vec::new()),
    };
    let mut s = ws::connect(&url, &protocols).await?;
    let (send, expect) = match server {
        "wtsp_server" => (None, r#"{"handshake":"state""#),
        "progress_server" => (
            Some(r#"{"messageType":"hello","auth":"t"}"#.to_owned()),
            r#"{"messageType":"error""#,
        ),
        _ => (
            Some(format!(
                r#"{{"jsonrpc":"2.0","id":{n},"method":"CallStart","params":{{"caller":"sip:a@x","callee":"sip:b@x","cmd_id":"s{n}"}}}}"#
            )),
            r#"{"jsonrpc":"2.0","id":"#,
        ),
    };
    if let Some(text) = send {
        s.send(Ws::Text(text)).await.map_err(|e| e.to_string())?;
    }
    let answer = tokio::time::timeout(Duration::from_secs(10), s.next()).await;
    match answer {
        Ok(Some(Ok(Ws::Text(t)))) if t.starts_with(expect) => {}
        other => return Err(format!("{url}: {other:?}")),
    }
    if n.is_multiple_of(2) {
        let _ = s.close(None).await;
    }
    // Otherwise dropped: the TCP connection ends without a close frame.
    Ok(())
}

/// The server's resident memory in KiB, from /proc (None where there is no /proc).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn number(flag: &str, value: Option<String>) -> u64 {
    value.and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        eprintln!("{flag} wants a number\n\n{USAGE}");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() {
    ws::help(USAGE);
    let mut args = std::env::args().skip(1);
    let (mut server, mut connections, mut seconds) = (None, 100u64, 10u64);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--connections" => connections = number(&a, args.next()),
            "--seconds" => seconds = number(&a, args.next()),
            s if s.starts_with('-') => ws::unknown_flag(s, USAGE),
            _ => server = Some(a),
        }
    }
    let server = match server.as_deref() {
        Some(s @ ("wtsp_server" | "progress_server" | "callapi_server")) => s.to_owned(),
        other => {
            eprintln!("no such server: {other:?}\n\n{USAGE}");
            std::process::exit(2)
        }
    };
    let exe = std::env::current_exe().expect("the soak binary's path");
    let binary = exe.with_file_name(&server);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(&binary)
        .arg(&addr)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            eprintln!(
                "cannot start {} ({e}): build it with `cargo build --release --examples`",
                binary.display()
            );
            std::process::exit(1)
        });
    let pid = child.id().expect("the server's pid");
    // Its first line says it listens; the trace that follows is read and dropped.
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let first = lines.next_line().await.ok().flatten().unwrap_or_default();
    if !first.contains("ws://") {
        eprintln!("{server} did not start: {first:?}");
        std::process::exit(1);
    }
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    // A panic in any of its tasks (which tokio survives) fails the soak too.
    let mut errors = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    let panics = tokio::spawn(async move {
        let (mut count, mut first) = (0u64, None);
        while let Ok(Some(line)) = errors.next_line().await {
            if line.contains("panicked at") {
                count += 1;
                first.get_or_insert(line);
            }
        }
        (count, first)
    });

    let start_rss = rss_kib(pid);
    let until = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|i| {
            let (server, addr) = (server.clone(), addr.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed, mut first_error) = (0u64, 0u64, None);
                let mut n = i;
                while tokio::time::Instant::now() < until {
                    match session(&server, &addr, n).await {
                        Ok(()) => ok += 1,
                        Err(e) => {
                            failed += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                    n += connections;
                }
                (ok, failed, first_error)
            })
        })
        .collect();
    let mut peak = start_rss.unwrap_or(0);
    let sampler = tokio::spawn(async move {
        while tokio::time::Instant::now() < until {
            peak = peak.max(rss_kib(pid).unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        peak
    });
    let (mut ok, mut failed, mut first_error) = (0, 0, None);
    for t in tasks {
        let (o, f, e) = t.await.expect("a soak task");
        ok += o;
        failed += f;
        first_error = first_error.or(e);
    }
    let peak = sampler.await.unwrap_or(0);
    // Let the server settle the last closes before the last sample.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let end_rss = rss_kib(pid);
    let alive = child.try_wait().map(|s| s.is_none()).unwrap_or(false);
    let _ = child.kill().await;
    let (panicked, first_panic) = panics.await.unwrap_or((0, None));
    let mib = |k: Option<u64>| k.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0));
    println!(
        "{server}: {connections} connections for {seconds} s: {ok} sessions, {failed} failed; \
         RSS MiB start {} peak {} end {}; server {}, {panicked} panics",
        mib(start_rss),
        mib(Some(peak)),
        mib(end_rss),
        if alive { "alive" } else { "DEAD" }
    );
    for first in [first_error, first_panic].into_iter().flatten() {
        eprintln!("first: {first}");
    }
    if failed > 0 || panicked > 0 || !alive {
        std::process::exit(1);
    }
}
