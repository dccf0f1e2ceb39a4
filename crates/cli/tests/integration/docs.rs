//! The documentation, checked against the real binary, so that it cannot go
//! stale:
//!
//! - every `sh` and `console` block of README.md, examples/README.md and
//!   docs/*.md runs, in order, in a scratch directory per page (as a reader
//!   following the page would), and a `console` block's shown output is
//!   compared with what the commands print (`...` on a line of its own
//!   stands for any lines, `[..]` for any text within a line);
//! - a block that needs what a test run does not have says so after its
//!   language — `sh aws` (an AWS account), `sh moto` (the local S3/SQS
//!   server started by hand), `sh slow` (the test suite itself, benchmarks,
//!   release builds) — and is parsed instead: each `protoland` command in it
//!   must name a subcommand and flags that exist;
//! - every `PROTOLAND_*` variable the docs name is one the code reads;
//! - docs/reference.md is the `--help` of every subcommand
//!   (`PROTOLAND_BLESS=1` rewrites it);
//! - every error quoted in a troubleshooting table is one the code prints.
//!
//! In the blocks that run, `cargo run --release -- ARGS` and
//! `target/release/protoland ARGS` run the binary under test, and `cargo
//! build --release` / `cargo install --path crates/cli` do nothing: the
//! binary is built already.

// Test helpers outside `#[test]` functions: a failed setup should panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use protoland_test_kit::{python, workspace_root};

const BINARY: &str = env!("CARGO_BIN_EXE_protoland");

/// What a block needs, from the words after its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    Aws,
    Moto,
    Slow,
}

#[derive(Debug)]
struct Block {
    /// `path:line` of the opening fence.
    at: String,
    language: String,
    needs: Needs,
    text: String,
}

fn root() -> PathBuf {
    workspace_root().canonicalize().unwrap()
}

/// The pages a new user reads: the README, the examples' README and docs/.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let mut pages = vec![root.join("README.md"), root.join("examples/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn relative(page: &Path) -> String {
    page.strip_prefix(root())
        .unwrap_or(page)
        .display()
        .to_string()
}

fn blocks(page: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(page).unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (n, line) in text.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                let mut words = info.split_whitespace();
                let language = words.next().unwrap_or("").to_owned();
                let needs = match words.next() {
                    None => Needs::Nothing,
                    Some("aws") => Needs::Aws,
                    Some("moto") => Needs::Moto,
                    Some("slow") => Needs::Slow,
                    Some(other) => panic!(
                        "{}:{}: unknown block tag `{other}` (aws, moto or slow)",
                        relative(page),
                        n + 1
                    ),
                };
                open = Some(Block {
                    at: format!("{}:{}", relative(page), n + 1),
                    language,
                    needs,
                    text: String::new(),
                });
            }
            (Some(_), Some("")) => blocks.push(open.take().unwrap()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(
        open.is_none(),
        "{}: a code block is not closed",
        relative(page)
    );
    blocks
}

/// A scratch directory laid out like the repository for the commands a
/// page shows: `examples/` and `testdata/`, `protoland` on PATH and at
/// `target/release/protoland`.
struct Scratch {
    dir: tempfile::TempDir,
}

/// Turns the build commands of the docs into the binary under test.
const PRELUDE: &str = r#"
exec 2>&1
cargo() {
  case "$*" in
    "run --release -- "*) shift 3; protoland "$@" ;;
    "build --release"|"install --path crates/cli"*) ;;
    *) echo "the doc test does not run: cargo $*"; return 1 ;;
  esac
}
"#;

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let root = root();
        let link = |target: &Path, name: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, path).unwrap();
        };
        link(&root.join("examples"), "examples");
        link(&root.join("testdata"), "testdata");
        link(Path::new(BINARY), "bin/protoland");
        link(Path::new(BINARY), "target/release/protoland");
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Scratch { dir }
    }

    fn has_duckdb(&self) -> bool {
        self.run("python3 -c 'import duckdb'").0 == Some(0)
    }

    /// Runs `script` with bash in the scratch directory, stderr merged into
    /// stdout, in a clean environment (no AWS settings, no `PROTOLAND_*`,
    /// the default log level): what a reader's shell shows.
    fn run(&self, script: &str) -> (Option<i32>, String) {
        let python_dir = python().parent().unwrap().to_owned();
        let path = std::env::join_paths([
            self.dir.path().join("bin"),
            python_dir,
            PathBuf::from("/usr/local/bin"),
            PathBuf::from("/usr/bin"),
            PathBuf::from("/bin"),
        ])
        .unwrap();
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("{PRELUDE}\n{script}"))
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path().join("home"))
            .env("LANG", "C.UTF-8")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), text)
    }
}

/// `console` blocks: `$ command` lines (continued by a trailing `\`, or by
/// a here-document up to its end word), each followed by its output.
fn transcript(text: &str) -> Vec<(String, Vec<String>)> {
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    let mut continued = false;
    let mut heredoc: Option<String> = None;
    for line in text.lines() {
        if let Some(end) = &heredoc {
            let (command, _) = steps.last_mut().unwrap();
            command.push('\n');
            command.push_str(line);
            if line == end {
                heredoc = None;
            }
        } else if continued {
            let (command, _) = steps.last_mut().unwrap();
            command.push('\n');
            command.push_str(line);
            continued = line.ends_with('\\');
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push((command.to_owned(), Vec::new()));
            continued = command.ends_with('\\');
            heredoc = command
                .split_once("<<")
                .map(|(_, word)| word.trim().trim_matches(['\'', '"', '-']).to_owned());
        } else if let Some((_, output)) = steps.last_mut() {
            output.push(line.to_owned());
        } else {
            panic!("console output before any `$ ` command: {line}");
        }
    }
    for (_, output) in &mut steps {
        while output.last().is_some_and(|l| l.trim().is_empty()) {
            output.pop();
        }
    }
    steps
}

/// One line against a shown line, where `[..]` is any text.
fn line_matches(shown: &str, actual: &str) -> bool {
    let shown = shown.trim_end();
    let actual = actual.trim_end();
    let parts: Vec<&str> = shown.split("[..]").collect();
    if parts.len() == 1 {
        return shown == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Output lines against shown lines, where a line `...` is any lines.
fn lines_match(shown: &[String], actual: &[&str]) -> bool {
    match shown.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(line, more)| line_matches(first, line) && lines_match(rest, more)),
    }
}

#[test]
fn every_command_block_runs_as_written() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for page in pages() {
        let scratch = Scratch::new();
        let mut with_moto = Vec::new();
        for block in blocks(&page) {
            if block.needs == Needs::Moto {
                with_moto.push(block);
                continue;
            }
            if block.needs != Needs::Nothing {
                if matches!(block.language.as_str(), "sh" | "console") {
                    failures.extend(check_commands(&block));
                }
                continue;
            }
            if block.text.contains("import duckdb") && !scratch.has_duckdb() {
                // DuckDB reads the output as a user would; it comes with the
                // test tools (scripts/test), and is required there.
                failures.extend(missing_tool(format!(
                    "{}: needs DuckDB in the test Python",
                    block.at
                )));
                continue;
            }
            match block.language.as_str() {
                "sh" => {
                    ran += 1;
                    let (code, output) = scratch.run(&format!("set -e\n{}", block.text));
                    if code != Some(0) {
                        failures.push(format!(
                            "{}: exited with {code:?}:\n{}\n--- output:\n{output}",
                            block.at, block.text
                        ));
                    }
                }
                "console" => {
                    for (command, shown) in transcript(&block.text) {
                        ran += 1;
                        // A shown error is the pipeline's, not its last command's.
                        let (code, output) = scratch.run(&format!("set -o pipefail\n{command}"));
                        let mut actual: Vec<&str> = output.lines().collect();
                        while actual.last().is_some_and(|l| l.trim().is_empty()) {
                            actual.pop();
                        }
                        let fails = shown.iter().any(|l| l.starts_with("error:"));
                        let code_ok = if fails {
                            code != Some(0)
                        } else {
                            code == Some(0)
                        };
                        if !code_ok || !lines_match(&shown, &actual) {
                            failures.push(format!(
                                "{}: `{command}` exited with {code:?} and printed:\n{output}--- the page shows:\n{}\n",
                                block.at,
                                shown.join("\n")
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if !with_moto.is_empty() {
            ran += 1;
            failures.extend(run_with_moto(&scratch, &with_moto));
        }
    }
    assert!(ran > 20, "only {ran} commands ran: are the blocks tagged?");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The `sh moto` blocks of a page, one script in the order shown (they
/// share the server, its variables and `$moto`), on a free port instead of
/// 5000 so that runs in parallel do not meet; every background job is
/// stopped at the end, whatever happened.
fn run_with_moto(scratch: &Scratch, blocks: &[Block]) -> Vec<String> {
    let mut failures = Vec::new();
    for block in blocks {
        failures.extend(check_commands(block));
    }
    let venv = python().parent().unwrap().parent().unwrap().to_owned();
    if !venv.join("bin/moto_server").is_file() {
        failures.extend(missing_tool(format!(
            "{}: needs moto_server next to the test Python",
            blocks[0].at
        )));
        return failures;
    }
    let port = protoland_test_kit::free_port().to_string();
    let dot_venv = scratch.dir.path().join(".venv");
    if !dot_venv.exists() {
        std::os::unix::fs::symlink(&venv, &dot_venv).unwrap();
        std::os::unix::fs::symlink(root().join("scripts"), scratch.dir.path().join("scripts"))
            .unwrap();
    }
    let mut script = String::from("set -e\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n");
    for block in blocks {
        script.push_str(&block.text.replace("5000", &port));
    }
    let (code, output) = scratch.run(&script);
    if code != Some(0) {
        failures.push(format!(
            "{}: the moto blocks exited with {code:?}:\n{script}\n--- output:\n{output}",
            blocks[0].at
        ));
    }
    failures
}

/// A block that needs a test tool which is not installed: a failure where
/// the test command requires the tools (`PROTOLAND_REQUIRE_TOOLS=1`, set by
/// scripts/test, the test kit's rule), else skipped with a line saying so.
fn missing_tool(message: String) -> Option<String> {
    if std::env::var(protoland_test_kit::REQUIRE_TOOLS).is_ok_and(|v| v == "1") {
        return Some(message);
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "skipped: {message}");
    None
}

/// Words of a shell text, split as the shell would at the level the docs
/// use: quotes, backslashes, comments, and `|`, `&`, `;` as separators
/// (given back as `;`).
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(next) => word.get_or_insert_default().push(next),
            },
            '\'' => {
                let w = word.get_or_insert_default();
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '"' => {
                let w = word.get_or_insert_default();
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        _ => w.push(q),
                    }
                }
            }
            '#' if word.is_none() => {
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
                words.push(";".to_owned());
            }
            '|' | '&' | ';' | '\n' => {
                words.extend(word.take());
                words.push(";".to_owned());
            }
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    words
}

/// The options of `protoland SUBCOMMAND`, read from its `--help`.
fn options_of(subcommand: &str) -> Option<BTreeSet<String>> {
    let out = Command::new(BINARY)
        .args([subcommand, "--help"])
        .env_clear()
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    let help = String::from_utf8(out.stdout).unwrap();
    let mut options = BTreeSet::new();
    for line in help.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        for word in line
            .split([',', ' '])
            .take_while(|w| w.is_empty() || w.starts_with('-'))
        {
            let name = word.split(['[', '=', '<']).next().unwrap();
            if !name.is_empty() {
                options.insert(name.to_owned());
            }
        }
    }
    Some(options)
}

/// Each `protoland` command of a block that is not run: its subcommand and
/// options must exist.
fn check_commands(block: &Block) -> Vec<String> {
    let text: String = block
        .text
        .lines()
        .map(|l| l.strip_prefix("$ ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let words = shell_words(&text);
    let mut failures = Vec::new();
    for command in words.split(|w| w == ";") {
        let command: Vec<&str> = command
            .iter()
            .map(String::as_str)
            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
            .collect();
        let args = match command.as_slice() {
            ["protoland" | "target/release/protoland", args @ ..] => args,
            ["cargo", "run", "--release", "--", args @ ..] => args,
            _ => continue,
        };
        let Some((subcommand, args)) = args.split_first() else {
            continue;
        };
        let Some(options) = options_of(subcommand) else {
            failures.push(format!(
                "{}: no subcommand `protoland {subcommand}`",
                block.at
            ));
            continue;
        };
        for arg in args.iter().filter(|a| a.starts_with('-') && **a != "-") {
            let name = arg.split('=').next().unwrap();
            if !options.contains(name) {
                failures.push(format!(
                    "{}: `protoland {subcommand}` has no option `{name}`",
                    block.at
                ));
            }
        }
    }
    failures
}

/// Every `PROTOLAND_…` name in the docs is read by the code (named as a
/// string in a crate's sources, the benchmark's or the fuzz targets'): a
/// made-up or renamed setting in the docs fails here.
#[test]
fn every_variable_the_docs_name_is_read_by_the_code() {
    let root = root();
    let mut sources = String::new();
    for dir in ["crates", "bench", "fuzz"] {
        collect_sources(&root.join(dir), &mut sources);
    }
    let mut unknown = BTreeSet::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("PROTOLAND_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            let name = name.trim_end_matches('_');
            // `PROTOLAND_…` stands for any of them.
            if name == "PROTOLAND" {
                continue;
            }
            if !sources.contains(&format!("\"{name}\"")) {
                unknown.insert(format!("{name} ({})", relative(&page)));
            }
        }
    }
    assert!(unknown.is_empty(), "settings no code reads: {unknown:?}");
}

fn collect_sources(dir: &Path, into: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                collect_sources(&path, into);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

/// docs/reference.md: the help of `protoland` and of each subcommand,
/// exactly as the binary prints it.
#[test]
fn the_command_reference_is_the_help_the_binary_prints() {
    let help = |args: &[&str]| {
        let out = Command::new(BINARY)
            .args(args)
            .arg("--help")
            .env_clear()
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let mut page = String::from(REFERENCE_HEADER);
    page.push_str("\n```text\n$ protoland --help\n");
    page.push_str(&help(&[]));
    page.push_str("```\n");
    for subcommand in ["convert", "inspect", "worker", "backfill", "table"] {
        page.push_str(&format!(
            "\n## protoland {subcommand}\n\n```text\n$ protoland {subcommand} --help\n"
        ));
        page.push_str(&help(&[subcommand]));
        page.push_str("```\n");
    }
    let path = root().join("docs/reference.md");
    if std::env::var_os("PROTOLAND_BLESS").is_some() {
        std::fs::write(&path, &page).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == page,
        "docs/reference.md differs from the binary's --help: rewrite it with \
         PROTOLAND_BLESS=1 cargo test -p protoland --test integration -- docs::"
    );
}

const REFERENCE_HEADER: &str = "\
# Command reference

Every subcommand of `protoland` with every option, the environment variable
it reads (`[env: …]`), its default, its units and the exit codes, exactly as
`protoland <command> --help` prints them: this page is generated from the
command-line definitions, and the test suite fails when it differs from
them (`PROTOLAND_BLESS=1 cargo test -p protoland --test integration -- docs::` rewrites it).

Sizes are a whole number of bytes with an optional unit: `KB`, `MB`, `GB`,
`TB` are powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` and the letters alone
(`K`, `M`, `G`, `T`) powers of 1024. Durations are a whole number with
`ms`, `s`, `m` or `h`, a plain number being seconds. Booleans are
`true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`. What each setting means
and why its default is what it is: [configuration](configuration.md); how
`convert` and `inspect` behave: [the command line](cli.md).

## protoland
";

/// Errors a local run cannot provoke, each with the words of it that the
/// sources (or the deployment script) must hold, or why they need not.
const PRINTED_ELSEWHERE: [(&str, &str); 6] = [
    // A Lambda checks its memory; the CLI does not know its own.
    (
        "PROTOLAND_CONCURRENCY lowered from",
        "lowered from {from} to",
    ),
    // 256 MiB must be decompressed before the ratio is checked.
    (
        "decompressed data is over 200 times",
        "times its compressed size",
    ),
    // S3's own error, named as S3 names it.
    ("Access Denied", ""),
    (
        "deploy/build: profile",
        "deploy/build: profile {requested} panics with",
    ),
    ("reading s3://", "object not found"),
    ("key … cannot be addressed", "cannot be addressed: {reason}"),
];

/// Every error quoted in a troubleshooting table (a row whose first cell
/// holds code) is printed by the binary when provoked here, or is listed in
/// [`PRINTED_ELSEWHERE`] with words its sources hold. In a quoted error,
/// `…` stands for any text and `N`, `B`, `C` for numbers.
#[test]
fn troubleshooting_errors_are_ones_the_code_prints() {
    let printed = provoke_errors();
    let root = root();
    let mut sources = String::new();
    collect_sources(&root.join("crates"), &mut sources);
    sources.push_str(&std::fs::read_to_string(root.join("deploy/build")).unwrap_or_default());
    let mut failures = Vec::new();
    let mut quoted = 0;
    for page in [root.join("README.md"), root.join("docs/operations.md")] {
        let text = std::fs::read_to_string(&page).unwrap();
        let mut in_table = false;
        for line in text.lines() {
            if line.starts_with("| symptom |") {
                in_table = true;
                continue;
            }
            if !line.starts_with('|') {
                in_table = false;
                continue;
            }
            let cell = line.split(" | ").next().unwrap_or("");
            let (Some(first), Some(last)) = (cell.find('`'), cell.rfind('`')) else {
                continue;
            };
            if !in_table || first == last {
                continue;
            }
            quoted += 1;
            let error = &cell[first + 1..last];
            let elsewhere = PRINTED_ELSEWHERE
                .iter()
                .find(|(start, _)| error.starts_with(start));
            let ok = match elsewhere {
                Some((_, words)) => sources.contains(words),
                None => printed.lines().any(|line| error_matches(error, line)),
            };
            if !ok {
                failures.push(format!("{}: `{error}`", relative(&page)));
            }
        }
    }
    assert!(quoted >= 15, "only {quoted} quoted errors found");
    assert!(
        failures.is_empty(),
        "quoted errors the code does not print:\n{}\n--- printed:\n{printed}",
        failures.join("\n")
    );
}

/// Whether `line` contains the quoted `error` (`…` any text, a word `N`,
/// `B` or `C` a number).
fn error_matches(error: &str, line: &str) -> bool {
    fn matches(pattern: &[&str], text: &str) -> bool {
        match pattern.split_first() {
            None => true,
            Some((&"…", rest)) => (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .any(|i| matches(rest, &text[i..])),
            Some((&("N" | "B" | "C"), rest)) => {
                let digits =
                    text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                digits > 0 && matches(rest, &text[digits..])
            }
            Some((literal, rest)) => text
                .strip_prefix(literal)
                .is_some_and(|after| matches(rest, after)),
        }
    }
    // Tokens: `…`, placeholder words, and literal runs between them.
    let mut tokens: Vec<&str> = Vec::new();
    let mut start = 0;
    let bytes = error.as_bytes();
    let mut i = 0;
    while i < error.len() {
        let placeholder = ["N", "B", "C"].iter().find(|p| {
            error[i..].starts_with(**p)
                && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
                && bytes.get(i + 1).is_none_or(|c| !c.is_ascii_alphanumeric())
        });
        let token = if error[i..].starts_with('…') {
            Some("…")
        } else {
            placeholder.copied()
        };
        match token {
            Some(token) => {
                if start < i {
                    tokens.push(&error[start..i]);
                }
                tokens.push(token);
                i += token.len();
                start = i;
            }
            None => i += error[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if start < error.len() {
        tokens.push(&error[start..]);
    }
    (0..=line.len())
        .filter(|&i| line.is_char_boundary(i))
        .any(|i| matches(&tokens, &line[i..]))
}

/// Runs the binary on inputs made to fail in each documented way; its
/// stderr, all of it.
fn provoke_errors() -> String {
    let dir = tempfile::tempdir().unwrap();
    let root = root();
    let schema = root.join("examples/schema/acme/clicks.proto");
    let schema = schema.to_str().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let mut over_limit = vec![0x7f, 0xff, 0xff, 0xff];
    over_limit.extend([0u8; 16]);
    // A zstd frame header asking for a 128 MiB window (2^(10+17)).
    let long_window = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 17 << 3, 0x01, 0x00, 0x00];
    let garbage: Vec<u8> = (0u8..=255).rev().cycle().take(4096).collect();
    let mut corrupt = std::fs::read(root.join("examples/raw/clicks-0002.pb")).unwrap();
    let last = corrupt.len() - 1;
    corrupt[last / 2] = 0xff;
    let import = file("a.proto", b"syntax = \"proto3\";\nimport \"x.proto\";\n");
    let edition = file(
        "e.proto",
        b"edition = \"2023\";\npackage e;\nmessage M {}\n",
    );
    let runs: Vec<Vec<String>> = vec![
        vec![
            "-m".into(),
            "acme.clicks.Clik".into(),
            root.join("examples/raw/clicks-0002.pb")
                .display()
                .to_string(),
        ],
        vec![
            "-m".into(),
            "acme.clicks.Click".into(),
            file("garbage.pb", &garbage),
        ],
        vec![
            "-m".into(),
            "acme.clicks.Click".into(),
            "-f".into(),
            "fixed32".into(),
            file("over.pb", &over_limit),
        ],
        vec![
            "-m".into(),
            "acme.clicks.Click".into(),
            "--max-line-bytes".into(),
            "64".into(),
            root.join("examples/raw/clicks-0002.pb")
                .display()
                .to_string(),
        ],
        vec![
            "-m".into(),
            "acme.clicks.Click".into(),
            file("long.zst", &long_window),
        ],
        vec![
            "-m".into(),
            "acme.clicks.Click".into(),
            file("zeros.pb", &[0u8; 4096]),
        ],
        vec![
            "-m".into(),
            "acme.clicks.Click".into(),
            "-f".into(),
            "single".into(),
            file("corrupt.pb", &corrupt),
        ],
    ];
    let mut printed = String::new();
    let mut run = |args: &[String], schema: &str| {
        let out = Command::new(BINARY)
            .arg("convert")
            .args(["-s", schema])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        printed.push_str(&String::from_utf8_lossy(&out.stderr));
    };
    for args in &runs {
        run(args, schema);
    }
    let any = vec!["-m".to_owned(), "a.M".to_owned(), "-".to_owned()];
    run(&any, &import);
    run(&any, &edition);
    // A setting checked at start-up.
    let out = Command::new(BINARY)
        .args([
            "backfill",
            "examples/raw",
            "--landing",
            "landing",
            "-s",
            schema,
            "-m",
            "acme.clicks.Click",
        ])
        .current_dir(&root)
        .env("PROTOLAND_ON_BAD_OBJECT", "ignore")
        .output()
        .unwrap();
    printed.push_str(&String::from_utf8_lossy(&out.stderr));
    printed
}

/// The example values of the README's settings table, and every boolean
/// spelling the docs promise, are accepted by the settings check (run by
/// `backfill` at start-up, on an empty directory). Paths, URLs, templates
/// and routes are left out: they name things a test run does not have.
#[test]
fn the_settings_examples_are_accepted() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut cases: Vec<(String, String)> = Vec::new();
    for line in readme.lines().filter(|l| l.starts_with("| `PROTOLAND_")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let var = cells[0]
            .trim_start_matches("| ")
            .trim_matches('`')
            .to_owned();
        let example = cells.last().unwrap().trim_end_matches(" |");
        // The values before any `:` (what follows explains them).
        let values = example.split(':').next().unwrap();
        for value in values.split('`').skip(1).step_by(2) {
            if !value.contains(['/', '{', '=', ' ', ',']) {
                cases.push((var.clone(), value.to_owned()));
            }
        }
    }
    assert!(
        cases.len() > 15,
        "only {} example values found",
        cases.len()
    );
    for spelling in [
        "true", "false", "1", "0", "yes", "no", "on", "off", "TRUE", "Off",
    ] {
        cases.push(("PROTOLAND_PROTO_NAMES".to_owned(), spelling.to_owned()));
    }
    // S3's smallest part, as configuration.md spells it.
    cases.push(("PROTOLAND_PART_SIZE".to_owned(), "5M".to_owned()));
    let empty = tempfile::tempdir().unwrap();
    let landing = tempfile::tempdir().unwrap();
    let schema = root().join("examples/schema/acme/clicks.proto");
    let mut refused = Vec::new();
    for (var, value) in &cases {
        let out = Command::new(BINARY)
            .arg("backfill")
            .arg(empty.path())
            .arg("--landing")
            .arg(landing.path())
            .arg("-s")
            .arg(&schema)
            .args(["-m", "acme.clicks.Click"])
            .env_clear()
            .env(var, value)
            .output()
            .unwrap();
        if !out.status.success() {
            refused.push(format!(
                "{var}={value}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
}
