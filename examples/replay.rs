//! Replays a transcript: `cargo run --example replay -- [--diagram mermaid] FILE` (FILE may
//! be `-` for standard input). Prints one JSON object per output line (or, with `--diagram
//! mermaid`, the exchange as a Mermaid sequence diagram) and exits 0; a malformed
//! transcript exits 2 with a message naming the line. See `callsig::transcript`.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    const USAGE: &str =
        "usage: replay [--diagram mermaid] FILE   (FILE may be - for standard input)\n\n\
        Replays a transcript and prints one JSON object per output, or with --diagram mermaid\n\
        a Mermaid sequenceDiagram of the exchange; exits 2 naming the line of a malformed\n\
        transcript.";
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let diagram = match args.iter().position(|a| a == "--diagram") {
        Some(i) if args.get(i + 1).map(String::as_str) == Some("mermaid") => {
            args.drain(i..i + 2);
            true
        }
        Some(_) => {
            eprintln!("--diagram takes one format: mermaid\n\n{USAGE}");
            return ExitCode::from(2);
        }
        None => false,
    };
    let [path] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    // A file whose name starts with `--` is still readable as `./--name`.
    if path.starts_with("--") {
        eprintln!("unknown argument {path:?}\n\n{USAGE}");
        return ExitCode::from(2);
    }
    let mut input = String::new();
    let read = if path == "-" {
        std::io::stdin().read_to_string(&mut input).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|s| input = s)
    };
    if let Err(e) = read {
        eprintln!("replay: cannot read {path}: {e}");
        return ExitCode::from(2);
    }
    if diagram {
        return match callsig::transcript::mermaid(&input) {
            Ok(d) => {
                print!("{d}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("replay: {path}: {e}");
                ExitCode::from(2)
            }
        };
    }
    let out = callsig::transcript::run(&input);
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    for line in &out.lines {
        if writeln!(w, "{line}").is_err() {
            return ExitCode::from(2);
        }
    }
    let _ = w.flush();
    match out.error {
        None => ExitCode::SUCCESS,
        Some(e) => {
            eprintln!("replay: {path}: {e}");
            ExitCode::from(2)
        }
    }
}
