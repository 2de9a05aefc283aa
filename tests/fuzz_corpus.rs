//! Every fuzz target's committed corpus (`fuzz/corpus/TARGET/`), replayed through the same
//! bodies the libFuzzer binaries run: what once found a bug stays found, under `cargo test`
//! and its overflow checks. The `checkpoint` target also gets its seed checkpoints.

#[path = "fuzz_bodies/mod.rs"]
#[allow(unused)]
mod bodies;

use std::path::Path;

#[test]
fn every_corpus_input_runs_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    // The published crate leaves the corpus out (it is most of the repository's bytes); the
    // repository always has it, and CI runs this from a clone.
    if !root.exists() && !Path::new(env!("CARGO_MANIFEST_DIR")).join(".git").exists() {
        eprintln!("SKIPPED: no fuzz/corpus in a published package");
        return;
    }
    for (name, run) in bodies::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{name}: empty corpus");
        for file in &files {
            // A fuzzer running beside the tests may merge a file away meanwhile.
            let Ok(data) = std::fs::read(file) else {
                continue;
            };
            let ran = std::panic::catch_unwind(|| run(&data));
            assert!(ran.is_ok(), "{name}: {} panicked", file.display());
        }
    }
}

/// The seed checkpoints restore and run. With `CHECKPOINT_SEEDS=DIR` it also writes them
/// to `DIR` (how `fuzz/corpus/checkpoint/seed-*` are made again after a checkpoint's shape
/// changes).
#[test]
fn checkpoint_seeds_restore_and_run() {
    let out = std::env::var_os("CHECKPOINT_SEEDS");
    for seed in bodies::checkpoint::seeds() {
        assert!(bodies::checkpoint::restores(&seed), "{}", seed[0]);
        // Edits are refused past MAX_NODES: a seed must leave room to grow well under it.
        let tree: serde_json::Value = serde_json::from_slice(&seed[1..]).unwrap();
        let n = bodies::checkpoint::nodes(&tree);
        assert!(
            n * 4 < bodies::checkpoint::MAX_NODES,
            "seed {}: {n} nodes",
            seed[0]
        );
        if let Some(dir) = &out {
            let file = Path::new(dir).join(format!("seed-{}", seed[0]));
            std::fs::write(file, &seed).unwrap();
        }
    }
}
