//! `weft`: line/word/byte counts and word frequencies of a file or stdin.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

use weft_core::{report, Stats, DEFAULT_K};

const USAGE: &str = "\
Usage: weft <COMMAND> [OPTIONS] [FILE]

Commands:
  count            print line, word and byte counts
  top [-k N]       print the N most frequent words as `count word`
  stats [-k N]     print both

Reads FILE, or standard input when FILE is `-` or missing.

Options:
  -k N             number of words to show (default 10)
  -h, --help       print this help
  -V, --version    print the version
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Count,
    Top,
    Stats,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::Count => "count",
            Command::Top => "top",
            Command::Stats => "stats",
        }
    }
}

#[derive(Debug)]
enum Action {
    Help,
    Version,
    Run {
        command: Command,
        k: usize,
        file: Option<PathBuf>,
    },
}

fn parse_k(value: Option<&OsStr>) -> Result<usize, String> {
    let value = value.ok_or("option -k needs a value")?;
    value
        .to_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("invalid value for -k: {}", value.to_string_lossy()))
}

fn parse_args<I: IntoIterator<Item = OsString>>(args: I) -> Result<Action, String> {
    let mut args = args.into_iter();
    let command = match args.next() {
        None => return Err("missing command".into()),
        Some(arg) => match arg.to_str() {
            Some("-h" | "--help" | "help") => return Ok(Action::Help),
            Some("-V" | "--version") => return Ok(Action::Version),
            Some("count") => Command::Count,
            Some("top") => Command::Top,
            Some("stats") => Command::Stats,
            _ => return Err(format!("unknown command: {}", arg.to_string_lossy())),
        },
    };

    let mut k = DEFAULT_K;
    let mut file: Option<OsString> = None;
    let mut options_done = false;
    while let Some(arg) = args.next() {
        let text = arg.to_str().unwrap_or("");
        let is_option = !options_done && text.starts_with('-') && text != "-";
        if !is_option {
            if file.is_some() {
                return Err(format!("unexpected argument: {}", arg.to_string_lossy()));
            }
            file = Some(arg);
            continue;
        }
        match text {
            "--" => options_done = true,
            "-h" | "--help" => return Ok(Action::Help),
            "-k" if command != Command::Count => k = parse_k(args.next().as_deref())?,
            _ if text.starts_with("-k") && command != Command::Count => {
                k = parse_k(Some(OsStr::new(&text[2..])))?;
            }
            _ => return Err(format!("unknown option for {}: {text}", command.name())),
        }
    }

    let file = file.filter(|f| f != "-").map(PathBuf::from);
    Ok(Action::Run { command, k, file })
}

fn compute(file: Option<&PathBuf>) -> Result<Stats, String> {
    match file {
        None => Stats::from_reader(io::stdin().lock()).map_err(|e| format!("<stdin>: {e}")),
        Some(path) => File::open(path)
            .and_then(|f| Stats::from_reader(BufReader::new(f)))
            .map_err(|e| format!("{}: {e}", path.display())),
    }
}

fn main() -> ExitCode {
    let action = match parse_args(std::env::args_os().skip(1)) {
        Ok(action) => action,
        Err(msg) => {
            eprint!("weft: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let output = match action {
        Action::Help => USAGE.to_string(),
        Action::Version => format!("weft {}\n", env!("CARGO_PKG_VERSION")),
        Action::Run { command, k, file } => match compute(file.as_ref()) {
            Err(msg) => {
                eprintln!("weft: {msg}");
                return ExitCode::FAILURE;
            }
            Ok(stats) => match command {
                Command::Count => report::render_count(&stats),
                Command::Top => report::render_top(&stats, k),
                Command::Stats => report::render_stats(&stats, k),
            },
        },
    };
    report::emit("weft", &output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Action, String> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_commands_and_k() {
        match parse(&["top", "-k", "3", "in.txt"]).unwrap() {
            Action::Run { command, k, file } => {
                assert_eq!((command, k), (Command::Top, 3));
                assert_eq!(file, Some(PathBuf::from("in.txt")));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["stats", "-k5", "-"]).unwrap() {
            Action::Run { command, k, file } => {
                assert_eq!((command, k, file), (Command::Stats, 5, None));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(&["--version"]), Ok(Action::Version)));
        assert!(matches!(parse(&["count", "--help"]), Ok(Action::Help)));
    }

    #[test]
    fn rejects_bad_args() {
        for bad in [
            &[][..],
            &["frobnicate"],
            &["top", "-k"],
            &["top", "-k", "x"],
            &["count", "-k", "3"],
            &["stats", "a", "b"],
            &["stats", "--verbose"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn double_dash_ends_options() {
        match parse(&["count", "--", "-k"]).unwrap() {
            Action::Run { file, .. } => assert_eq!(file, Some(PathBuf::from("-k"))),
            other => panic!("{other:?}"),
        }
    }
}
