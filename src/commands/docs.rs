//! `driftless schema`, `driftless completions`, `driftless man` and `driftless explain`: what
//! the binary can say about itself, so that an installed binary carries its own contract,
//! completions, pages and the meaning of every finding kind.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::{Error, ExitCode, Result};

/// Writes `bytes` to stdout; a closed pipe (`| head`) is not an error.
fn print(bytes: &[u8]) -> Result<ExitCode> {
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::infra(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(ExitCode::Pass),
    }
}

pub fn schema() -> Result<ExitCode> {
    print(crate::report::SCHEMA.as_bytes())
}

/// The page of finding kind `kind` (`data-loss` is read as `data_loss`), or the list of kinds.
pub fn explain(kind: Option<&str>) -> Result<ExitCode> {
    use crate::report::{FindingKind, explain};
    let Some(name) = kind else {
        return print(explain::list().as_bytes());
    };
    if let Some(rule) = crate::report::rules::find(name) {
        return print(crate::report::rules::page(rule).as_bytes());
    }
    match FindingKind::parse(&name.trim().to_ascii_lowercase().replace('-', "_")) {
        Some(kind) => print(explain::page(kind).as_bytes()),
        None => {
            let known: Vec<&str> = FindingKind::ALL.iter().map(|k| k.id()).collect();
            Err(Error::input(format!(
                "unknown finding kind or lint rule `{name}`; the kinds are: {} (`driftless \
                 explain` lists the lint rules too)",
                known.join(", ")
            )))
        }
    }
}

pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "driftless", &mut out);
    print(&out)
}

pub fn man(out_dir: Option<&Path>) -> Result<ExitCode> {
    let command = Cli::command();
    let Some(dir) = out_dir else {
        return print(&page(command)?);
    };
    if !dir.is_dir() {
        return Err(Error::input(format!(
            "--out-dir {}: no such directory",
            dir.display()
        )));
    }
    let mut pages = vec![("driftless.1".to_string(), page(command.clone())?)];
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name: &'static str =
            Box::leak(format!("driftless-{}", sub.get_name()).into_boxed_str());
        let sub = sub.clone().name(name).display_name(name);
        pages.push((format!("{name}.1"), page(sub)?));
    }
    for (file, text) in pages {
        crate::output::write_atomically(&dir.join(&file), &text)?;
    }
    Ok(ExitCode::Pass)
}

fn page(command: clap::Command) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .map_err(|e| Error::infra(format!("cannot render the man page: {e}")))?;
    Ok(out)
}
