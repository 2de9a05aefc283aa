//! The fuzz targets' bodies, shared by the libFuzzer binaries (`fuzz/fuzz_targets/`) and by the
//! corpus replay that `cargo test` runs (`tests/fuzz_corpus.rs`): each takes the raw bytes
//! libFuzzer gives and reads structured inputs from them the way `fuzz_target!` does.
#![allow(dead_code)]

pub mod callapi_client;
pub mod callapi_envelope;
pub mod callapi_server;
pub mod checkpoint;
pub mod progress_client;
pub mod progress_codec;
pub mod progress_server;
pub mod settle;
pub mod transcript;
pub mod wtsp_client;
pub mod wtsp_codec;
pub mod wtsp_server;

/// A target's body: libFuzzer's bytes in, a panic if an invariant breaks.
pub type Body = fn(&[u8]);

/// Every target by name, as `cargo fuzz list` names it.
pub const TARGETS: &[(&str, Body)] = &[
    ("callapi_client", callapi_client::run),
    ("callapi_envelope", callapi_envelope::run),
    ("callapi_server", callapi_server::run),
    ("checkpoint", checkpoint::run),
    ("progress_client", progress_client::run),
    ("progress_codec", progress_codec::run),
    ("progress_server", progress_server::run),
    ("transcript", transcript::run),
    ("wtsp_client", wtsp_client::run),
    ("wtsp_codec", wtsp_codec::run),
    ("wtsp_server", wtsp_server::run),
];
