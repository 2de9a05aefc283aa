//! In-memory networks and virtual clocks, built on one generic harness (`pair`): WTSP
//! clients joined to one WTSP server (`Net`), and Loop progress clients joined to one
//! progress server (`progress::LoopNet`).

#![allow(dead_code)]

pub mod pair;
pub mod progress;

use callsig::wtsp::{
    Attach, Client, ClientConfig, Message, ResponseKind, Server, ServerConfig, ServerEvent,
};
use callsig::Timestamp;

use pair::{App, Pair};

/// The WTSP server's application: attaches every authenticating connection to one account,
/// and answers every request `ack` at once when `auto_ack`.
pub struct Core {
    pub account: String,
    pub auto_ack: bool,
}

impl App<Server<u32>> for Core {
    fn on_event(&mut self, server: &mut Server<u32>, now: Timestamp, event: &ServerEvent<u32>) {
        match event {
            ServerEvent::Authenticate { conn, .. } => {
                let attach = Attach {
                    account: self.account.clone(),
                    timestamp: 1_700_000_000_000 + now.as_millis(),
                    registration: None,
                };
                server.attach(now, conn, attach).unwrap();
            }
            ServerEvent::Request { conn, request, .. } if self.auto_ack => {
                server
                    .respond(now, conn, &request.transaction, ResponseKind::Ack)
                    .unwrap();
            }
            _ => {}
        }
    }
}

/// WTSP clients and one WTSP server.
pub type Net = Pair<Server<u32>, Client, Core>;

impl Net {
    pub fn new(server: ServerConfig) -> Self {
        let core = Core {
            account: "alice".into(),
            auto_ack: true,
        };
        Pair::with(Server::new(server), core)
    }

    pub fn add_client(&mut self, config: ClientConfig) -> usize {
        self.add_peer(Client::new(config))
    }

    /// The application's event to the account, then settle.
    pub fn server_event(&mut self, json: &str) {
        let Ok(Message::Event(e)) = Message::decode(json) else {
            panic!("not an event: {json}")
        };
        let account = self.app.account.clone();
        self.server.send_event(self.now, &account, e).unwrap();
        self.settle();
    }
}
