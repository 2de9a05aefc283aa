//! The `replay` example keeps the contract of `../shared/transcripts.md`: output lines on
//! standard output, exit 0 whatever the machine did, exit 2 naming the line of a malformed
//! transcript.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn replay_exe() -> PathBuf {
    // target/<profile>/deps/replay_cli-… → target/<profile>/examples/replay
    let mut p = std::env::current_exe().unwrap();
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    p.join("examples")
        .join(format!("replay{}", std::env::consts::EXE_SUFFIX))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(replay_exe())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the replay example is built by cargo test");
    if let Some(input) = stdin {
        // A replay that refuses its arguments exits without reading: the pipe may break.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_transcript_file_replays_with_exit_0() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/transcripts/wtsp-server-force.jsonl"
    );
    let out = run(&[path], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = callsig::transcript::run(&std::fs::read_to_string(path).unwrap()).lines;
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn standard_input_with_a_dash() {
    let script = "{\"machine\":\"wtsp-client\",\"config\":{\"url\":\"wss://h\",\"token\":\"t\"}}\n{\"at\":3,\"app\":{\"connect\":{}}}\n";
    let out = run(&["-"], Some(script));
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("{\"at\":3,\"connect\":"), "{stdout}");
}

#[test]
fn protocol_errors_are_output_lines_not_failures() {
    let script = "{\"machine\":\"wtsp-client\"}\n{\"at\":0,\"open\":{}}\n";
    let out = run(&["-"], Some(script));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"at\":0,\"error\":\"open is not allowed while idle\"}\n"
    );
}

#[test]
fn malformed_transcripts_exit_2_naming_the_line() {
    for (script, line) in [
        ("{\"machine\":\"nope\"}\n", "line 1"),
        (
            "{\"machine\":\"wtsp-server\"}\n{\"at\":5}\n{\"at\":1}\n",
            "line 3",
        ),
        (
            "{\"machine\":\"wtsp-server\"}\n{\"at\":5,\"jump\":{}}\n",
            "line 2",
        ),
        ("{\"machine\":\"wtsp-server\"}\n[not json\n", "line 2"),
    ] {
        let out = run(&["-"], Some(script));
        assert_eq!(out.status.code(), Some(2), "{script}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(line), "{script}: {stderr}");
    }
    let out = run(&["/no/such/file.jsonl"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn diagram_mermaid_draws_the_transcript_and_other_formats_are_refused() {
    let script = "{\"machine\": \"progress-client\", \"config\": {\"role\": \"caller\", \"auth\": \"t\"}}\n{\"at\": 0, \"open\": {}}\n";
    let out = run(&["--diagram", "mermaid", "-"], Some(script));
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, callsig::transcript::mermaid(script).unwrap());
    assert!(stdout.contains("M->>P: hello"), "{stdout}");
    let out = run(&["--diagram", "svg", "-"], Some(script));
    assert_eq!(out.status.code(), Some(2));
    let out = run(
        &["--diagram", "mermaid", "-"],
        Some("{\"machine\": \"fax\"}"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}
