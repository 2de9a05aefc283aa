//! One in-memory network for any protocol: clients joined to one server, all driven through
//! `callsig::Machine` alone. Frames are delivered in order with no delay; the clock moves
//! only in `advance`.

use callsig::{CloseCode, Input, Machine, Output, Timestamp};

/// What the server's application does when its machine tells it something.
pub trait App<S: Machine> {
    fn on_event(&mut self, server: &mut S, now: Timestamp, event: &S::Event);
}

/// An application that only listens.
impl<S: Machine> App<S> for () {
    fn on_event(&mut self, _: &mut S, _: Timestamp, _: &S::Event) {}
}

pub struct Peer<C: Machine> {
    pub client: C,
    /// The server-side id of this client's current connection.
    pub conn: Option<u32>,
    pub events: Vec<C::Event>,
    /// Frames this client sent, in order.
    pub sent: Vec<String>,
}

pub struct Pair<S: Machine<Conn = u32>, C: Machine<Conn = ()>, A: App<S>> {
    pub now: Timestamp,
    pub server: S,
    pub peers: Vec<Peer<C>>,
    pub server_events: Vec<S::Event>,
    pub app: A,
    /// When false, frames in both directions are lost (the sockets stay "open") and
    /// connections cannot be opened.
    pub up: bool,
    /// A readable log of what crossed the wire.
    pub wire: Vec<String>,
    next_conn: u32,
}

impl<S: Machine<Conn = u32>, C: Machine<Conn = ()>, A: App<S>> Pair<S, C, A> {
    pub fn with(server: S, app: A) -> Self {
        Pair {
            now: Timestamp::ZERO,
            server,
            peers: Vec::new(),
            server_events: Vec::new(),
            app,
            up: true,
            wire: Vec::new(),
            next_conn: 1,
        }
    }

    pub fn add_peer(&mut self, client: C) -> usize {
        self.peers.push(Peer {
            client,
            conn: None,
            events: Vec::new(),
            sent: Vec::new(),
        });
        self.peers.len() - 1
    }

    pub fn client(&mut self, i: usize) -> &mut C {
        &mut self.peers[i].client
    }

    /// Opens peer `i`'s connection at this URL, as if its `Connect` had asked for it.
    pub fn open(&mut self, i: usize, url: &str, protocols: &[&str]) {
        let (now, conn) = (self.now, self.next_conn);
        self.next_conn += 1;
        self.peers[i].conn = Some(conn);
        self.wire
            .push(format!("{} c{i} connect {url}", now.as_millis()));
        let open = Input::Open {
            conn: &conn,
            url,
            protocols,
        };
        self.server.handle_input(now, open).unwrap();
        let open = Input::Open {
            conn: &(),
            url: "",
            protocols: &[],
        };
        self.peers[i].client.handle_input(now, open).unwrap();
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
            match self.peers[i].client.poll_output() {
                Output::Timeout(_) => return busy,
                Output::Transmit { text, .. } => {
                    self.peers[i].sent.push(text.clone());
                    if let (true, Some(conn)) = (self.up, self.peers[i].conn) {
                        self.wire.push(format!("{} c{i} → {text}", now.as_millis()));
                        let frame = Input::Frame {
                            conn: &conn,
                            text: &text,
                        };
                        self.server.handle_input(now, frame).unwrap();
                    }
                }
                Output::Connect(req) => {
                    if self.up {
                        let protocols: Vec<&str> =
                            req.protocols.iter().map(String::as_str).collect();
                        self.open(i, &req.url, &protocols);
                    } else {
                        let closed = Input::Closed {
                            conn: &(),
                            code: Some(CloseCode::Abnormal),
                            reason: "unreachable",
                        };
                        self.peers[i].client.handle_input(now, closed).unwrap();
                    }
                }
                Output::Close { code, .. } => {
                    if let Some(conn) = self.peers[i].conn.take() {
                        let closed = Input::Closed {
                            conn: &conn,
                            code: Some(code),
                            reason: "",
                        };
                        self.server.handle_input(now, closed).unwrap();
                    }
                }
                Output::Event(e) => self.peers[i].events.push(e),
            }
            busy = true;
        }
    }

    fn drain_server(&mut self) -> bool {
        let now = self.now;
        let mut busy = false;
        loop {
            match self.server.poll_output() {
                Output::Timeout(_) => return busy,
                Output::Transmit { conn, text } => {
                    if let (true, Some(i)) = (self.up, self.peer_of(conn)) {
                        self.wire.push(format!("{} c{i} ← {text}", now.as_millis()));
                        let frame = Input::Frame {
                            conn: &(),
                            text: &text,
                        };
                        self.peers[i].client.handle_input(now, frame).unwrap();
                    }
                }
                Output::Close { conn, code, reason } => {
                    if let Some(i) = self.peer_of(conn) {
                        self.peers[i].conn = None;
                        self.wire
                            .push(format!("{} c{i} closed {code} {reason}", now.as_millis()));
                        let closed = Input::Closed {
                            conn: &(),
                            code: Some(code),
                            reason: &reason,
                        };
                        self.peers[i].client.handle_input(now, closed).unwrap();
                    }
                }
                Output::Connect(_) => unreachable!("a server never connects"),
                Output::Event(e) => {
                    self.app.on_event(&mut self.server, now, &e);
                    self.server_events.push(e);
                }
            }
            busy = true;
        }
    }

    /// Closes peer `i`'s connection from its side, as its transport would.
    pub fn drop_connection(&mut self, i: usize) {
        if let Some(conn) = self.peers[i].conn.take() {
            let closed = Input::Closed {
                conn: &conn,
                code: None,
                reason: "",
            };
            self.server.handle_input(self.now, closed).unwrap();
        }
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        self.peers
            .iter()
            .filter_map(|p| p.client.next_deadline())
            .chain(self.server.next_deadline())
            .min()
    }

    /// Moves the clock to `to`, firing every timer on the way at its own deadline.
    pub fn advance(&mut self, to: Timestamp) {
        self.settle();
        while let Some(at) = self.next_deadline().filter(|at| *at <= to) {
            self.now = at.max(self.now);
            for p in &mut self.peers {
                p.client.handle_input(self.now, Input::Timeout).unwrap();
            }
            self.server.handle_input(self.now, Input::Timeout).unwrap();
            self.settle();
        }
        self.now = to.max(self.now);
    }

    pub fn advance_by(&mut self, ms: u64) {
        self.advance(self.now + std::time::Duration::from_millis(ms));
    }
}
