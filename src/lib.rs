//! callsig
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod time;
pub mod timer;
pub mod wtsp;

pub use error::UsageError;
pub use time::Timestamp;
