//! The docs cannot drift from the flags: every `h2push …` command in README.md and docs/*.md
//! is parsed with the real clap definitions (`h2push::cli::Cli`), and the flow map in
//! docs/architecture.md must be the one in src/lib.rs.
//!
//! Which commands are checked, and how:
//! - In fenced code blocks: every line that starts with `h2push ` or `cargo run --release`
//!   (`-- ARGS` are h2push's), after dropping a `$ ` prompt and leading `VAR=value`
//!   assignments, with `\` continuations joined. In prose: every inline code span that starts
//!   with `h2push `.
//! - A command ends at a shell operator token (`|`, `&`, `&&`, `;`, `>`, `2>`, `<`, …) or a
//!   `#` comment; quotes are honoured as a shell would.
//! - Placeholders: a command with a synopsis token (`[DIR]`, `PAGE…`, `on|off`, `<N>`) shows a
//!   shape, not something to type; it is not parsed whole, but every `--long` and `-s` flag in
//!   it must still be a flag of its subcommand. Plain capitalised values (`h2push DIR`,
//!   `--cert PEM`) are parsed as they stand. A span naming a subcommand in prose
//!   (`h2push export`) only has to name a real one. A bare lower-case word right after
//!   `h2push` must be a subcommand: the directory form is written `h2push site/` (or `DIR`),
//!   so a misspelt subcommand is not taken for a directory.
//! - Pending: behaviour documented ahead of a branch that is not merged yet is marked
//!   `<!-- pending: NAME … -->`. While NAME is listed in `PENDING`, the marked paragraph (or list)
//!   is skipped, and so is a code block whose opening fence directly follows the marker line.
//!   Once the branch is merged, take NAME out of `PENDING` and the commands are checked too.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

/// Branches whose documented behaviour is not on this branch yet (see the module doc). None is
/// pending now; `example` is the name the self-test below marks its pending lines with.
const PENDING: &[&str] = &["example"];

/// One command found in a Markdown file.
#[derive(Debug)]
struct Found {
    file: String,
    line: usize,
    text: String,
    args: Vec<String>,
}

/// What the scan of one file found: commands to check, and how many were skipped as pending.
#[derive(Debug, Default)]
struct Scan {
    commands: Vec<Found>,
    pending: usize,
}

fn pending_marker(line: &str) -> bool {
    let Some(start) = line.find("<!-- pending:") else {
        return false;
    };
    let name = line[start + "<!-- pending:".len()..]
        .trim_start()
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
        .next()
        .unwrap_or("");
    PENDING.contains(&name)
}

/// Finds the commands in `text` (a Markdown file named `file`).
fn scan_markdown(file: &str, text: &str) -> Scan {
    let lines: Vec<&str> = text.lines().collect();
    let mut scan = Scan::default();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let fence = line.trim_start();
        if fence.starts_with("```") || fence.starts_with("~~~") {
            let marker = &fence[..3];
            let pending = i > 0 && pending_marker(lines[i - 1]);
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && !lines[end].trim_start().starts_with(marker) {
                end += 1;
            }
            code_block(
                file,
                &lines[start..end.min(lines.len())],
                start,
                pending,
                &mut scan,
            );
            i = end + 1;
            continue;
        }
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        // A prose paragraph (or list): non-blank lines up to a blank line or a fence.
        let start = i;
        while i < lines.len()
            && !lines[i].trim().is_empty()
            && !lines[i].trim_start().starts_with("```")
        {
            i += 1;
        }
        let paragraph = &lines[start..i];
        let pending = paragraph.iter().any(|l| pending_marker(l));
        prose(file, paragraph, start, pending, &mut scan);
    }
    scan
}

fn code_block(file: &str, lines: &[&str], first: usize, pending: bool, scan: &mut Scan) {
    let mut i = 0;
    while i < lines.len() {
        let number = first + i + 1;
        let mut text = lines[i].trim().to_owned();
        while text.ends_with('\\') && i + 1 < lines.len() {
            text.pop();
            i += 1;
            text.push(' ');
            text.push_str(lines[i].trim());
        }
        i += 1;
        let text = text.strip_prefix("$ ").unwrap_or(&text).to_owned();
        let Some(args) = h2push_args(&text) else {
            continue;
        };
        if pending {
            scan.pending += 1;
            continue;
        }
        scan.commands.push(Found {
            file: file.to_owned(),
            line: number,
            text,
            args,
        });
    }
}

fn prose(file: &str, lines: &[&str], first: usize, pending: bool, scan: &mut Scan) {
    let joined = lines.join(" ");
    for (k, span) in joined.split('`').enumerate() {
        if k % 2 == 0 || !span.starts_with("h2push ") {
            continue;
        }
        if pending {
            scan.pending += 1;
            continue;
        }
        let args = h2push_args(span).expect("starts with h2push");
        // The line the span starts on, for the message.
        let offset: usize = joined.split('`').take(k).map(|s| s.len() + 1).sum();
        let mut line = first + 1;
        let mut seen = 0;
        for l in lines {
            if seen + l.len() + 1 > offset {
                break;
            }
            seen += l.len() + 1;
            line += 1;
        }
        scan.commands.push(Found {
            file: file.to_owned(),
            line,
            text: span.to_owned(),
            args,
        });
    }
}

/// The arguments of an h2push command (without the program name), or None for other lines.
fn h2push_args(text: &str) -> Option<Vec<String>> {
    let mut words = shell_words(text).into_iter().peekable();
    while words.peek().is_some_and(|w| is_assignment(w)) {
        words.next();
    }
    let words: Vec<String> = words.collect();
    match words.first().map(String::as_str) {
        Some("h2push") => Some(words[1..].to_vec()),
        Some("cargo") if words.get(1..3) == Some(&["run".into(), "--release".into()]) => {
            match words.get(3).map(String::as_str) {
                None => Some(Vec::new()),
                Some("--") => Some(words[4..].to_vec()),
                Some(_) => None,
            }
        }
        _ => None,
    }
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// Splits a shell command line into words, honouring quotes and backslashes, up to the first
/// operator token or comment.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        if first == '#' {
            break;
        }
        let mut word = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            match c {
                '\'' => {
                    quoted = true;
                    for c in chars.by_ref() {
                        if c == '\'' {
                            break;
                        }
                        word.push(c);
                    }
                }
                '"' => {
                    quoted = true;
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' => word.extend(chars.next()),
                            c => word.push(c),
                        }
                    }
                }
                '\\' => word.extend(chars.next()),
                c => word.push(c),
            }
        }
        if !quoted && is_operator(&word) {
            break;
        }
        words.push(word);
    }
    words
}

fn is_operator(word: &str) -> bool {
    matches!(word, "|" | "||" | "&" | "&&" | ";" | "<" | "<<")
        || word.starts_with('>')
        || word.starts_with("2>")
        || word.starts_with("&>")
        || word.starts_with("<<")
}

/// A token that shows a shape rather than a value to type.
fn is_synopsis(word: &str) -> bool {
    word.contains('[')
        || word.contains(']')
        || word.contains('…')
        || word.contains('|')
        || (word.starts_with('<') && word.ends_with('>'))
}

/// Checks one command against the CLI; the error says why it does not parse.
fn check(args: &[String]) -> Result<(), String> {
    let cli = h2push::cli::Cli::command();
    if args.iter().any(|a| is_synopsis(a)) {
        return check_synopsis(&cli, args);
    }
    if let [name] = args {
        if cli.find_subcommand(name).is_some() {
            return Ok(());
        }
    }
    // `h2push DIR` takes any word as DIR, so a misspelt subcommand would pass as a directory.
    if let Some(first) = args.first() {
        let word = first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if word && !first.starts_with('-') && cli.find_subcommand(first).is_none() {
            return Err(format!(
                "`{first}` is not a subcommand (write a directory to serve as `{first}/`)"
            ));
        }
    }
    let argv = std::iter::once("h2push".to_owned()).chain(args.iter().cloned());
    match cli.try_get_matches_from(argv) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e.render().to_string().trim().to_owned()),
    }
}

/// In a synopsis, every flag must exist on the subcommand it is shown with.
fn check_synopsis(cli: &clap::Command, args: &[String]) -> Result<(), String> {
    let command = args
        .first()
        .and_then(|name| cli.find_subcommand(name))
        .unwrap_or(cli);
    let mut unknown = Vec::new();
    for arg in args {
        let word = arg.trim_start_matches('[').trim_end_matches(']');
        let word = word.split('=').next().unwrap_or(word);
        let known = if let Some(long) = word.strip_prefix("--") {
            long.is_empty()
                || command.get_arguments().any(|a| {
                    a.get_long() == Some(long)
                        || a.get_all_aliases().is_some_and(|al| al.contains(&long))
                })
                || long == "help"
        } else if let Some(short) = word.strip_prefix('-').filter(|s| s.chars().count() == 1) {
            let short = short.chars().next().unwrap();
            command
                .get_arguments()
                .any(|a| a.get_short() == Some(short))
                || short == 'h'
        } else {
            true
        };
        if !known {
            unknown.push(word.to_owned());
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "unknown flag(s) {} for `h2push {}`",
            unknown.join(", "),
            command.get_name()
        ))
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_documented_command_parses() {
    let mut checked = 0;
    let mut pending = 0;
    let mut failures = Vec::new();
    for path in doc_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let scan = scan_markdown(&relative(&path), &text);
        pending += scan.pending;
        for found in scan.commands {
            checked += 1;
            if let Err(why) = check(&found.args) {
                failures.push(format!(
                    "{}:{}: `{}`\n    {}",
                    found.file,
                    found.line,
                    found.text,
                    why.replace('\n', "\n    ")
                ));
            }
        }
    }
    eprintln!(
        "checked {checked} documented commands; skipped {pending} marked pending {PENDING:?}"
    );
    assert!(
        checked >= 40,
        "only {checked} commands found: is the scan broken?"
    );
    assert!(
        failures.is_empty(),
        "{} documented command(s) do not parse:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_check_catches_what_it_should() {
    let md = "\
Prose with `h2push serve --no-such-flag` in it.

```sh
$ h2push site/ --listen 8443 --idle-timeout 30s   # fine
h2push compare https://localhost:8443/ --rtt 100ms \\
  --runs-typo 3
H2PUSH_WORKER_THREADS=1 h2push serve site/ --threads-typo 2 &
cargo run --release -- scan site / --jsn
h2push export [DIR] --format nginx|h2o [--chek FILE]
h2push serve --push on | grep push --no-such-flag
h2push scna site/
nghttp -nv https://localhost:8443/ --not-ours
```

<!-- pending: example -->
```sh
h2push serve --port-typo 1
```

Pending prose: `h2push cert --trust --system-typo`. <!-- pending: example -->
";
    let scan = scan_markdown("test.md", md);
    let results: Vec<(usize, bool)> = scan
        .commands
        .iter()
        .map(|f| (f.line, check(&f.args).is_ok()))
        .collect();
    assert_eq!(
        results,
        vec![
            (1, false), // unknown flag in prose
            (4, true),
            (5, false),  // joined continuation with an unknown flag
            (7, false),  // after an env assignment
            (8, false),  // the cargo run form
            (9, false),  // a synopsis still names only real flags
            (10, true),  // the pipe ends the command
            (11, false), // a misspelt subcommand is not a directory
        ]
    );
    assert_eq!(scan.pending, 2);
    assert!(
        check(&["export".into()]).is_ok(),
        "a subcommand named in prose"
    );
}

/// docs/architecture.md shows the flow map of src/lib.rs; the two must stay the same.
#[test]
fn architecture_map_is_the_one_in_lib_rs() {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let lib_lines: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let docs = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let docs_lines: Vec<&str> = docs.lines().collect();
    let map = |lines: &[&str]| -> Vec<String> {
        let start = lines
            .iter()
            .position(|l| l.trim_end() == "```text")
            .expect("a ```text block")
            + 1;
        lines[start..]
            .iter()
            .take_while(|l| l.trim_end() != "```")
            .map(|l| l.trim_end().to_owned())
            .collect()
    };
    assert_eq!(
        map(&docs_lines),
        map(&lib_lines),
        "docs/architecture.md's flow map differs from src/lib.rs's: copy the one you changed"
    );
}
