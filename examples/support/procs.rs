//! Processes for cluster runs, shared by `tests/cluster.rs` and the `cluster_bench`
//! example: a `redis-server` of their own on a free loopback port, and node processes
//! started from the examples' binaries.

#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A redis-server on `port`, keeping its data in `dir` across restarts when given (an
/// append-only file written at once); `None`, saying so, when none is installed.
pub async fn redis_on(port: u16, dir: Option<&Path>) -> Option<(Child, String)> {
    let mut cmd = Command::new("redis-server");
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ]);
    match dir {
        Some(d) => cmd
            .arg("--dir")
            .arg(d)
            .args(["--appendonly", "yes", "--appendfsync", "always"]),
        None => cmd.args(["--appendonly", "no"]),
    };
    let Ok(child) = cmd.stdout(Stdio::null()).kill_on_drop(true).spawn() else {
        eprintln!("SKIPPED: redis-server is not installed (apt-get install -y redis-server)");
        return None;
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some((child, format!("redis://127.0.0.1:{port}/")));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not start on port {port}");
}

/// Starts `program --listen 127.0.0.1:PORT ARGS` and waits for the line holding its
/// `ws://` address: the child and `ws://127.0.0.1:PORT`. With `CLUSTER_TRACE` set, what
/// the node prints afterwards is shown on standard error.
pub async fn start(program: &Path, args: &[&str]) -> (Child, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(program)
        .args(["--listen", &listen])
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the node starts within a minute")
            .expect("its standard output reads")
            .expect("the node prints its address");
        if line.contains("ws://") {
            break;
        }
    }
    let trace = std::env::var_os("CLUSTER_TRACE").is_some();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if trace {
                eprintln!("[{port}] {line}");
            }
        }
    });
    (child, format!("ws://{listen}"))
}
