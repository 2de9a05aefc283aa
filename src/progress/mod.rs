//! The Loop call-setup progress protocol: two parties ↔ a coordinator.
//!
//! - [`Client`]: one party's device.
//! - [`Server`]: the coordinator (many calls, many connections).
//! - Wire types: [`ClientMessage`], [`ServerMessage`], [`State`], [`Reason`].
//!
//! Every flow of this protocol is drawn as a sequence diagram by
//! [`transcript::mermaid`](crate::transcript::mermaid); the repository's `docs/flows/` has the
//! pictures of `progress-server-call-connected`, `progress-server-timers`, `progress-server-bad-frames`, `progress-server-devices`.

mod client;
mod message;
mod read;
mod server;

pub use client::{
    Client, ClientConfig, ClientEvent, ClientOutput, ClientState, ClientTimer, Outcome,
    MAX_ALERTING,
};
pub use message::{ActionEvent, ClientMessage, DecodeError, RawJson, Reason, ServerMessage, State};
pub use server::{
    CallPartition, CallView, Role, Server, ServerConfig, ServerEvent, ServerOutput, ServerTimer,
};

/// The call a progress URL names: `callId=ID` in the query, or a path ending in
/// `/progress/ID`.
///
/// The protocol leaves the URL to the deployment; this reads the two usual forms, for
/// runtimes that pass the call to `Server::handle_open`.
///
/// ```
/// use callsig::progress::call_id_from_url;
/// assert_eq!(call_id_from_url("/progress/c9").as_deref(), Some("c9"));
/// assert_eq!(call_id_from_url("/ws?x=1&callId=c7").as_deref(), Some("c7"));
/// assert_eq!(call_id_from_url("/websocket"), None);
/// ```
pub fn call_id_from_url(url: &str) -> Option<String> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("callId="))
        .or_else(|| path.rsplit_once("/progress/").map(|(_, id)| id))
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}
