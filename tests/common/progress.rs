//! An in-memory network and a virtual clock joining Loop progress clients to one server.

use callsig::progress::{
    Client, ClientConfig, ClientEvent, ClientOutput, Server, ServerConfig, ServerEvent,
    ServerOutput, State,
};
use callsig::Timestamp;

pub struct LoopPeer {
    pub client: Client,
    pub conn: Option<u32>,
    pub events: Vec<ClientEvent>,
    /// The call states this device was told, in order.
    pub states: Vec<State>,
}

pub struct LoopNet {
    pub now: Timestamp,
    pub server: Server<u32>,
    pub peers: Vec<LoopPeer>,
    pub server_events: Vec<(Timestamp, ServerEvent<u32>)>,
    /// When false, frames in both directions are lost.
    pub up: bool,
    next_conn: u32,
}

impl LoopNet {
    pub fn new(config: ServerConfig) -> Self {
        LoopNet {
            now: Timestamp::ZERO,
            server: Server::new(config),
            peers: Vec::new(),
            server_events: Vec::new(),
            up: true,
            next_conn: 1,
        }
    }

    pub fn add(&mut self, config: ClientConfig) -> usize {
        self.peers.push(LoopPeer {
            client: Client::new(config),
            conn: None,
            events: Vec::new(),
            states: Vec::new(),
        });
        self.peers.len() - 1
    }

    /// Opens peer `i`'s connection (the URL names the call when the config has none).
    pub fn open(&mut self, i: usize, url_call_id: Option<&str>) {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.peers[i].conn = Some(conn);
        self.server
            .handle_open(self.now, conn, url_call_id)
            .unwrap();
        self.peers[i].client.handle_open(self.now).unwrap();
        self.settle();
    }

    fn peer_of(&self, conn: u32) -> Option<usize> {
        self.peers.iter().position(|p| p.conn == Some(conn))
    }

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
                ClientOutput::Timeout(_) => return busy,
                ClientOutput::Transmit(text) => {
                    busy = true;
                    if let (true, Some(conn)) = (self.up, self.peers[i].conn) {
                        let _ = self.server.handle_frame(now, &conn, &text);
                    }
                }
                ClientOutput::Close { .. } => {
                    busy = true;
                    if let Some(conn) = self.peers[i].conn.take() {
                        let _ = self.server.handle_close(now, &conn);
                    }
                }
                ClientOutput::Connect(_) => busy = true,
                ClientOutput::Event(e) => {
                    busy = true;
                    if let ClientEvent::StateChanged { state, .. } = &e {
                        self.peers[i].states.push(state.clone());
                    }
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
                        self.peers[i].client.handle_frame(now, &text);
                    }
                }
                ServerOutput::Close { conn, .. } => {
                    busy = true;
                    if let Some(i) = self.peer_of(conn) {
                        self.peers[i].conn = None;
                        self.peers[i].client.handle_close(now);
                    }
                }
                ServerOutput::Event(e) => {
                    busy = true;
                    self.server_events.push((now, e));
                }
                _ => {}
            }
        }
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        let clients = self
            .peers
            .iter()
            .filter_map(|p| p.client.next_timer().map(|(at, _)| at));
        clients
            .chain(self.server.next_timer().map(|(at, _)| at))
            .min()
    }

    /// Moves the clock to `to`, firing every timer on the way at its own deadline.
    pub fn advance(&mut self, to: Timestamp) {
        self.settle();
        while let Some(at) = self.next_deadline().filter(|at| *at <= to) {
            self.now = at.max(self.now);
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

    /// The outcome peer `i` was told, if any.
    pub fn outcome(&self, i: usize) -> Option<&callsig::progress::Outcome> {
        self.peers[i].events.iter().find_map(|e| match e {
            ClientEvent::Ended(o) => Some(o),
            _ => None,
        })
    }
}
