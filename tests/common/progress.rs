//! Loop progress clients joined to one progress server, on the generic harness.

use callsig::progress::{Client, ClientConfig, ClientEvent, Outcome, Server, ServerConfig, State};

use super::pair::Pair;

/// Loop progress clients and one progress server.
pub type LoopNet = Pair<Server<u32>, Client, ()>;

impl LoopNet {
    pub fn new(config: ServerConfig) -> Self {
        Pair::with(Server::new(config), ())
    }

    pub fn add(&mut self, config: ClientConfig) -> usize {
        self.add_peer(Client::new(config))
    }

    /// Opens peer `i`'s connection (the URL names the call when given), then settles.
    pub fn open_call(&mut self, i: usize, url_call_id: Option<&str>) {
        let url = url_call_id.map_or_else(String::new, |id| format!("/progress/{id}"));
        self.open(i, &url, &[]);
        self.settle();
    }

    /// The call states peer `i` was told, in order.
    pub fn states(&self, i: usize) -> Vec<State> {
        let events = &self.peers[i].events;
        events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::StateChanged { state, .. } => Some(state.clone()),
                _ => None,
            })
            .collect()
    }

    /// The outcome peer `i` was told, if any.
    pub fn outcome(&self, i: usize) -> Option<&Outcome> {
        self.peers[i].events.iter().find_map(|e| match e {
            ClientEvent::Ended(o) => Some(o),
            _ => None,
        })
    }
}
