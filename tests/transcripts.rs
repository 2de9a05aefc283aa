//! Every transcript under `tests/transcripts/` is replayed and its output snapshotted.
//! A reviewer reads protocol behaviour in `tests/snapshots/`.

use std::path::{Path, PathBuf};

fn transcripts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/transcripts exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_transcript_replays_and_matches_its_snapshot() {
    let files = transcripts();
    assert!(
        files.len() >= 18,
        "expected the WTSP transcripts, found {}",
        files.len()
    );
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read_to_string(&path).unwrap();
        let out = callsig::transcript::run(&input);
        assert_eq!(out.error, None, "{name} is malformed");
        for line in &out.lines {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: output line is not JSON: {e}: {line}"));
            assert!(v.get("at").is_some_and(|a| a.is_u64()), "{name}: {line}");
        }
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.set_input_file(&path);
        settings.bind(|| insta::assert_snapshot!(name, out.lines.join("\n")));
    }
}

#[test]
fn every_machine_has_an_example_transcript() {
    let names: Vec<String> = transcripts()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for machine in [
        "wtsp-client",
        "wtsp-server",
        "progress-client",
        "progress-server",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(machine)),
            "no transcript for {machine}"
        );
    }
}

/// The same transcript replayed twice gives the same bytes.
#[test]
fn replay_is_deterministic() {
    for path in transcripts() {
        let input = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            callsig::transcript::run(&input),
            callsig::transcript::run(&input)
        );
    }
}
