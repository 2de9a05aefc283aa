//! callsig
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod time;
pub mod timer;
pub mod wtsp;

pub use time::Timestamp;
