//! Replays a transcript: `cargo run --example replay -- FILE` (FILE may be `-` for standard
//! input). Prints one JSON object per output line and exits 0; a malformed transcript exits
//! 2 with a message naming the line. See `callsig::transcript`.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: replay FILE   (FILE may be - for standard input)\n\nReplays a transcript and prints one JSON object per output; exits 2 naming the line\nof a malformed transcript.");
        return ExitCode::SUCCESS;
    }
    let [path] = args.as_slice() else {
        eprintln!("usage: replay FILE   (FILE may be - for standard input)");
        return ExitCode::from(2);
    };
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
