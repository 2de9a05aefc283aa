//! Whether an input was for a connection a server machine holds.

/// Whether an input was for a connection a server machine holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Routing {
    /// It was, and it was handled.
    Handled,
    /// The machine holds no such connection (already closed, or never opened): nothing done.
    NotMine,
}
