//! `driftless clean`: what killed runs of this host left, removed on request. Every run does
//! the same as it goes (its sandbox base dir, the folder of an output, the `--url` server it
//! works on); this is for a server or folder no later run touches.

use std::path::PathBuf;

use crate::cli::CommonArgs;
use crate::config::Config;
use crate::{ExitCode, Result, sandbox};

pub async fn run(common: CommonArgs, url: Option<String>, dirs: Vec<PathBuf>) -> Result<ExitCode> {
    let config = Config::load(common.config.as_deref())?;
    let mut removed: Vec<String> = Vec::new();
    let shown = |p: &std::path::Path| crate::migrations::display_path(p).display().to_string();
    for dir in sandbox::sweep_stale(&sandbox::base_dir()) {
        removed.push(format!("sandbox dir {}", dir.display()));
    }
    let dirs = if dirs.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        dirs
    };
    for dir in &dirs {
        if !dir.is_dir() {
            return Err(crate::Error::input(format!(
                "{} is not a folder",
                shown(dir)
            )));
        }
        for path in sandbox::sweep_files(dir) {
            removed.push(shown(&path));
        }
    }
    if let Some(url) = &url {
        let spec = super::resolve_engine(common.engine.clone(), &config, Some(url))?;
        for name in (spec.clean)(url).await? {
            removed.push(format!("database {name} on {}", sandbox::redact_url(url)));
        }
    }
    if removed.is_empty() {
        println!("nothing to clean: no leftovers of killed driftless runs");
    } else {
        for thing in &removed {
            println!("removed {thing}");
        }
    }
    Ok(ExitCode::Pass)
}
