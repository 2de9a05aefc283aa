//! Whether an input was for a connection a server machine holds.

/// Whether an input was for a connection a server machine holds: what a server's
/// `handle_frame` and `handle_close` (and every [`Machine::handle_input`](crate::Machine::handle_input))
/// return. Information, not an error: a runtime with one machine may ignore it; one that
/// spreads connections over several machines offers a `NotMine` input to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// It was, and it was handled.
    Handled,
    /// The machine holds no such connection (already closed, or never opened): nothing done.
    NotMine,
}
