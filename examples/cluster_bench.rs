//! How fast Loop calls set up through a `progress_cluster` of 1 and 3 nodes on Redis, and
//! what the single-node tokio adapter costs per frame against a bare WebSocket echo.
//!
//!     cargo build --release --examples && target/release/examples/cluster_bench
//!
//! Starts its own `redis-server` on a free loopback port and its own node processes (the
//! `progress_cluster` binary beside this one), so it needs `redis-server` installed and
//! the examples built. Prints one line per measurement:
//!
//!     cluster progress nodes=N setups_per_s=X p50_ms=Y p99_ms=Z
//!     e2e progress-server frames_per_s=X echo_frames_per_s=Y ratio=R
//!
//! A setup is one whole call: the caller and the callee connect and say hello (each to
//! its own node), the callee accepts, both report media up, and both are told
//! `connected`; its time runs from the caller's connect to the last `connected`.
//! `--concurrency` setups run at once. The e2e line runs the same client (`--clients`
//! connections, each sending an `echo` and waiting for its answer, for `--seconds`) against
//! the `progress_server` adapter (`support/progress_io.rs`) and against a tokio-tungstenite
//! server that writes every text frame back; both servers run on one thread of their own.
//! `ratio` is echo over adapter: how many times more frames the bare echo answers.

#[path = "support/procs.rs"]
mod procs;
#[path = "support/progress_io.rs"]
mod progress_io;
#[path = "support/ws.rs"]
mod ws;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use callsig::progress::ServerConfig;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as Ws;

const USAGE: &str = "usage: cluster_bench [--setups N] [--concurrency K] [--clients C] \
    [--seconds S]\n\n\
    Loop call setups through a progress_cluster of 1 and 3 nodes on a redis-server of its\n\
    own (N setups, 2000 by default, K at once, 16), then C connections (32) exchanging echo\n\
    frames for S seconds (3) with the progress_server adapter and with a bare WebSocket\n\
    echo server. Needs redis-server installed and the examples built:\n\
    cargo build --release --examples && target/release/examples/cluster_bench";

const ACCEPT: &str = r#"{"messageType":"action","event":"accept"}"#;
const MEDIA_UP: &str = r#"{"messageType":"action","event":"media-up"}"#;

struct Options {
    setups: usize,
    concurrency: usize,
    clients: usize,
    seconds: usize,
}

fn options() -> Options {
    ws::help(USAGE);
    let mut o = Options {
        setups: 2000,
        concurrency: 16,
        clients: 32,
        seconds: 3,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--setups" => &mut o.setups,
            "--concurrency" => &mut o.concurrency,
            "--clients" => &mut o.clients,
            "--seconds" => &mut o.seconds,
            other => ws::unknown_flag(other, USAGE),
        };
        match args.next().and_then(|v| v.parse().ok()).filter(|v| *v > 0) {
            Some(v) => *slot = v,
            None => {
                eprintln!("{flag} wants a positive number\n\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    o
}

/// One party's socket.
struct Party(ws::Socket);

impl Party {
    async fn join(base: &str, call: &str, auth: &str) -> Result<Party, String> {
        let url = format!("{base}/progress/{call}");
        let mut s = ws::connect(&url, &[])
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let hello = format!(r#"{{"messageType":"hello","auth":"{auth}"}}"#);
        s.send(Ws::Text(hello)).await.map_err(|e| e.to_string())?;
        Ok(Party(s))
    }

    async fn send(&mut self, text: &str) -> Result<(), String> {
        self.0
            .send(Ws::Text(text.into()))
            .await
            .map_err(|e| e.to_string())
    }

    /// Reads frames until one holds `"state":"STATE"`; an error if the call ends first.
    async fn until(&mut self, state: &str) -> Result<(), String> {
        let want = format!(r#""state":"{state}""#);
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.0.next())
                .await
                .map_err(|_| format!("no {state} within 10 s"))?;
            match frame {
                Some(Ok(Ws::Text(t))) if t.contains(&want) => return Ok(()),
                Some(Ok(Ws::Text(t))) if t.contains("terminated") || t.contains("error") => {
                    return Err(format!("waiting for {state}: {t}"))
                }
                Some(Ok(Ws::Text(_) | Ws::Ping(_) | Ws::Pong(_))) => {}
                other => return Err(format!("waiting for {state}: {other:?}")),
            }
        }
    }
}

/// Call `i` set up from start to `connected`, the caller on `a` and the callee on `b`.
async fn setup(a: &str, b: &str, i: usize) -> Result<Duration, String> {
    let began = Instant::now();
    let call = format!("b{i}");
    let mut caller = Party::join(a, &call, &format!("a{i}")).await?;
    let mut callee = Party::join(b, &call, &format!("c{i}")).await?;
    caller.until("alerting").await?;
    callee.until("alerting").await?;
    callee.send(ACCEPT).await?;
    caller.until("connecting").await?;
    callee.until("connecting").await?;
    caller.send(MEDIA_UP).await?;
    callee.send(MEDIA_UP).await?;
    caller.until("connected").await?;
    callee.until("connected").await?;
    let took = began.elapsed();
    let _ = caller.0.close(None).await;
    let _ = callee.0.close(None).await;
    Ok(took)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// `setups` calls through `nodes` nodes, `concurrency` at once: the `cluster` line.
async fn cluster(node_exe: &Path, nodes: usize, o: &Options) -> Result<String, String> {
    let Some((_redis, url)) = procs::redis_on(procs::free_port(), None).await else {
        return Err("redis-server is not installed (apt-get install -y redis-server)".into());
    };
    let specs: Vec<String> = (0..o.setups).map(|i| format!("b{i}:a{i}:c{i}")).collect();
    let mut running = Vec::new();
    let mut addrs = Vec::new();
    for n in 0..nodes {
        let name = format!("n{n}");
        let mut args = vec!["--redis", url.as_str(), "--node", name.as_str()];
        if n == 0 {
            for s in &specs {
                args.extend(["--call", s.as_str()]);
            }
        }
        let (child, addr) = procs::start(node_exe, &args).await;
        running.push(child);
        addrs.push(addr);
    }
    let addrs = Arc::new(addrs);
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..o.concurrency {
        let (addrs, next, total) = (addrs.clone(), next.clone(), o.setups);
        workers.push(tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(took);
                }
                let (a, b) = (&addrs[i % addrs.len()], &addrs[(i + 1) % addrs.len()]);
                took.push(setup(a, b, i).await?);
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.map_err(|e| e.to_string())??);
    }
    let elapsed = began.elapsed().as_secs_f64();
    all.sort();
    Ok(format!(
        "cluster progress nodes={nodes} setups_per_s={:.0} p50_ms={:.2} p99_ms={:.2}",
        all.len() as f64 / elapsed,
        percentile(&all, 0.50),
        percentile(&all, 0.99),
    ))
}

/// Runs `serve` on a thread of its own with a one-thread runtime: the address it listens on.
fn server_thread<F, Fut>(serve: F) -> std::net::SocketAddr
where
    F: FnOnce(TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            tx.send(listener.local_addr().expect("an address"))
                .expect("the bench waits");
            serve(listener).await
        });
    });
    rx.recv().expect("the server thread starts")
}

/// A WebSocket server that writes every text frame back, and nothing else.
async fn echo_server(listener: TcpListener) {
    while let Ok((tcp, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok(mut s) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            while let Some(Ok(m)) = s.next().await {
                if let Ws::Text(t) = m {
                    if s.send(Ws::Text(t)).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

/// `clients` connections to `url`, each sending an echo and waiting for it, for
/// `seconds`: the answers per second.
async fn echo_rate(url: &str, clients: usize, seconds: usize) -> Result<f64, String> {
    let stop = Instant::now() + Duration::from_secs(seconds as u64);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let mut s = ws::connect(url, &[])
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        tasks.push(tokio::spawn(async move {
            let mut answered = 0u64;
            while Instant::now() < stop {
                let frame = format!(r#"{{"messageType":"echo","echo":[{c},{answered}]}}"#);
                s.send(Ws::Text(frame.clone()))
                    .await
                    .map_err(|e| e.to_string())?;
                match s.next().await {
                    Some(Ok(Ws::Text(t))) if t == frame => answered += 1,
                    other => return Err(format!("echo answered with {other:?}")),
                }
            }
            let _ = s.close(None).await;
            Ok::<_, String>(answered)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(|e| e.to_string())??;
    }
    Ok(total as f64 / seconds as f64)
}

async fn e2e(o: &Options) -> Result<String, String> {
    let adapter = server_thread(|l| async move {
        let quiet: ws::Trace = Box::new(|_, _| {});
        progress_io::serve(l, ServerConfig::default(), Vec::new(), quiet).await
    });
    let echo = server_thread(echo_server);
    // A connection without a call id waits for its hello and answers echoes meanwhile.
    let ours = echo_rate(&format!("ws://{adapter}/progress"), o.clients, o.seconds).await?;
    let bare = echo_rate(&format!("ws://{echo}/"), o.clients, o.seconds).await?;
    Ok(format!(
        "e2e progress-server frames_per_s={ours:.0} echo_frames_per_s={bare:.0} ratio={:.2}",
        bare / ours
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let o = options();
    let exe = std::env::current_exe().expect("this program's path");
    let node_exe = exe.with_file_name("progress_cluster");
    if !node_exe.exists() {
        eprintln!(
            "{} is missing: build the examples first (cargo build --release --examples)",
            node_exe.display()
        );
        std::process::exit(1);
    }
    for nodes in [1, 3] {
        match cluster(&node_exe, nodes, &o).await {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("cluster of {nodes}: {e}");
                std::process::exit(1);
            }
        }
    }
    match e2e(&o).await {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("e2e: {e}");
            std::process::exit(1);
        }
    }
}
