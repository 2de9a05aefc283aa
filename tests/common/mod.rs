//! In-memory networks and virtual clocks: WTSP clients joined to one WTSP server, and Loop
//! progress clients joined to one progress server (`progress`).
//! Frames are delivered in order with no delay; the clock moves only in `advance`.

#![allow(dead_code)]

pub mod progress;

use callsig::wtsp::{
    Attach, Client, ClientConfig, ClientEvent, ClientOutput, CloseCode, Message, ResponseKind,
    Server, ServerConfig, ServerEvent, ServerOutput,
};
use callsig::Timestamp;

pub struct Peer {
    pub client: Client,
    /// The server-side id of this client's current connection.
    pub conn: Option<u32>,
    pub events: Vec<ClientEvent>,
    /// Frames this client sent, in order.
    pub sent: Vec<String>,
}

pub struct Net {
    pub now: Timestamp,
    pub server: Server<u32>,
    pub peers: Vec<Peer>,
    pub server_events: Vec<ServerEvent<u32>>,
    /// When false, frames in both directions are lost (the sockets stay "open").
    pub up: bool,
    /// Attach every authenticating connection to this account.
    pub account: String,
    /// Answer every request `ack` at once.
    pub auto_ack: bool,
    /// A readable log of what crossed the wire.
    pub wire: Vec<String>,
    next_conn: u32,
}

impl Net {
    pub fn new(server: ServerConfig) -> Self {
        Net {
            now: Timestamp::ZERO,
            server: Server::new(server),
            peers: Vec::new(),
            server_events: Vec::new(),
            up: true,
            account: "alice".into(),
            auto_ack: true,
            wire: Vec::new(),
            next_conn: 1,
        }
    }

    pub fn add_client(&mut self, config: ClientConfig) -> usize {
        self.peers.push(Peer {
            client: Client::new(config),
            conn: None,
            events: Vec::new(),
            sent: Vec::new(),
        });
        self.peers.len() - 1
    }

    pub fn client(&mut self, i: usize) -> &mut Client {
        &mut self.peers[i].client
    }

    fn peer_of(&self, conn: u32) -> Option<usize> {
        self.peers.iter().position(|p| p.conn == Some(conn))
    }

    /// Runs both sides until neither has anything to do at `now`.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut busy = false;
            for i in 0..self.peers.len() {
                busy |= self.drain_client(i);
            }
            busy |= self.drain_server();
            if !busy {
                return;
            }
        }
        panic!("the machines never went quiet at {}", self.now);
    }

    fn drain_client(&mut self, i: usize) -> bool {
        let now = self.now;
        let mut busy = false;
        loop {
            let out = self.peers[i].client.poll_output();
            match out {
                ClientOutput::Timeout(_) => return busy,
                ClientOutput::Transmit(text) => {
                    busy = true;
                    self.peers[i].sent.push(text.clone());
                    if let (true, Some(conn)) = (self.up, self.peers[i].conn) {
                        self.wire.push(format!("{} c{i} → {text}", now.as_millis()));
                        let _ = self.server.handle_frame(now, &conn, &text);
                    }
                }
                ClientOutput::Connect(req) => {
                    busy = true;
                    if self.up {
                        let conn = self.next_conn;
                        self.next_conn += 1;
                        self.peers[i].conn = Some(conn);
                        self.wire
                            .push(format!("{} c{i} connect {}", now.as_millis(), req.url));
                        self.server
                            .handle_open(now, conn, &req.url, &req.protocols)
                            .unwrap();
                        self.peers[i].client.handle_open(now).unwrap();
                    } else {
                        self.peers[i].client.handle_close(
                            now,
                            Some(CloseCode::Abnormal),
                            "unreachable",
                        );
                    }
                }
                ClientOutput::Close { code, .. } => {
                    busy = true;
                    if let Some(conn) = self.peers[i].conn.take() {
                        let _ = self.server.handle_close(now, &conn, Some(code));
                    }
                }
                ClientOutput::Event(e) => {
                    busy = true;
                    self.peers[i].events.push(e);
                }
                _ => {}
            }
        }
    }

    fn drain_server(&mut self) -> bool {
        let now = self.now;
        let mut busy = false;
        loop {
            match self.server.poll_output() {
                ServerOutput::Timeout(_) => return busy,
                ServerOutput::Transmit { conn, text } => {
                    busy = true;
                    if let (true, Some(i)) = (self.up, self.peer_of(conn)) {
                        self.wire.push(format!("{} c{i} ← {text}", now.as_millis()));
                        self.peers[i].client.handle_frame(now, &text);
                    }
                }
                ServerOutput::Close { conn, code, reason } => {
                    busy = true;
                    if let Some(i) = self.peer_of(conn) {
                        self.peers[i].conn = None;
                        self.wire
                            .push(format!("{} c{i} closed {code} {reason}", now.as_millis()));
                        self.peers[i].client.handle_close(now, Some(code), &reason);
                    }
                }
                ServerOutput::Event(e) => {
                    busy = true;
                    match &e {
                        ServerEvent::Authenticate { conn, .. } => {
                            let attach = Attach {
                                account: self.account.clone(),
                                timestamp: 1_700_000_000_000 + now.as_millis(),
                                registration: None,
                            };
                            self.server.attach(now, conn, attach).unwrap();
                        }
                        ServerEvent::Request { conn, request, .. } if self.auto_ack => {
                            self.server
                                .respond(now, conn, &request.transaction, ResponseKind::Ack)
                                .unwrap();
                        }
                        _ => {}
                    }
                    self.server_events.push(e);
                }
                _ => {}
            }
        }
    }

    fn next_deadline(&mut self) -> Option<Timestamp> {
        let mut d: Option<Timestamp> = None;
        let mut take = |t: Option<Timestamp>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |d| d.min(t)));
            }
        };
        for p in &self.peers {
            take(p.client.next_timer().map(|(at, _)| at));
        }
        take(self.server.next_timer().map(|(at, _)| at));
        d
    }

    /// Moves the clock to `to`, firing every timer on the way at its own deadline.
    pub fn advance(&mut self, to: Timestamp) {
        self.settle();
        while let Some(at) = self.next_deadline().filter(|at| *at <= to) {
            let before = self.now;
            self.now = at.max(before);
            for p in &mut self.peers {
                p.client.handle_timeout(self.now);
            }
            self.server.handle_timeout(self.now);
            self.settle();
        }
        self.now = to.max(self.now);
    }

    pub fn advance_by(&mut self, ms: u64) {
        self.advance(self.now + std::time::Duration::from_millis(ms));
    }

    /// The application's event to the account, then settle.
    pub fn server_event(&mut self, json: &str) {
        let Ok(Message::Event(e)) = Message::decode(json) else {
            panic!("not an event: {json}")
        };
        self.server
            .send_event(self.now, &self.account.clone(), e)
            .unwrap();
        self.settle();
    }
}
