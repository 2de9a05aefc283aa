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

/// Every transcript also renders as a Mermaid sequence diagram, snapshotted beside its
/// replay (`tests/snapshots/diagrams/`); each output line and step is drawn once.
#[test]
fn every_transcript_renders_as_a_diagram() {
    for path in transcripts() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read_to_string(&path).unwrap();
        let diagram =
            callsig::transcript::mermaid(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(diagram.starts_with("sequenceDiagram\n"), "{name}");
        // One arrow or note per output line (wake lines included) and per input step.
        let out = callsig::transcript::run(&input);
        let outputs = out.lines.len();
        let drawn = diagram
            .lines()
            .filter(|l| {
                l.contains("->>")
                    || l.contains("-->>")
                    || l.contains("-x")
                    || l.contains("Note right")
                    || l.contains("refused:")
            })
            .count();
        let inputs = input
            .lines()
            .skip(1)
            .filter(|l| {
                ["\"open\"", "\"recv", "\"closed\"", "\"app\""]
                    .iter()
                    .any(|v| l.contains(v))
            })
            .count();
        assert_eq!(drawn, outputs + inputs, "{name}:\n{diagram}");
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("snapshots/diagrams");
        settings.set_prepend_module_to_snapshot(false);
        settings.set_input_file(&path);
        settings.bind(|| insta::assert_snapshot!(name, diagram));
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

/// The pictures in `docs/flows/` are what the machines do today: each is re-drawn from the
/// transcript it names and compared.
#[test]
fn the_flow_pictures_in_the_docs_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/flows");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("docs/flows exists") {
        let path = entry.unwrap().path();
        let doc = std::fs::read_to_string(&path).unwrap();
        let Some(start) = doc.find("```mermaid\n") else {
            continue;
        };
        let body = &doc[start + "```mermaid\n".len()..];
        let picture = &body[..body.find("```").expect("the block ends")];
        let source = doc
            .split('`')
            .find(|s| s.starts_with("tests/transcripts/"))
            .unwrap_or_else(|| panic!("{path:?} names no transcript"));
        let input = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(source))
            .unwrap_or_else(|e| panic!("{path:?}: {source}: {e}"));
        let drawn = callsig::transcript::mermaid(&input).unwrap();
        assert_eq!(
            picture, drawn,
            "{path:?} is stale: re-draw it from {source}"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} pictures");
}
