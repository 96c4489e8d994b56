//! One file per subcommand, and the dispatch.

mod check;
mod clean;
mod docs;
mod drift;
mod dryrun;
mod lint;
mod mask;
mod mask_documents;
mod seed;
mod settings;

use std::future::Future;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::engine::{self, EngineSpec};
use crate::{Error, ExitCode, Result};

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli) -> Result<ExitCode> {
    for path in output_paths(&cli.command) {
        crate::output::check_target(path)?;
    }
    let mut signals = Signals::install()?;
    match cli.command {
        Command::Check(args) => check::run(args, &mut signals).await,
        Command::Seed(args) => seed::run(args, &mut signals).await,
        Command::Mask(args) => mask::run(args, &mut signals).await,
        Command::DryRun(args) => dryrun::run(args, &mut signals).await,
        Command::Drift(args) => drift::run(args, &mut signals).await,
        Command::Lint(args) => lint::run(args),
        Command::Schema => docs::schema(),
        Command::Completions { shell } => docs::completions(shell),
        Command::Man { out_dir } => docs::man(out_dir.as_deref()),
        Command::Explain { kind } => docs::explain(kind.as_deref()),
        Command::Config { common, migrations } => settings::run(&common, &migrations),
        Command::Clean { common, url, dirs } => clean::run(common, url, dirs).await,
    }
}

/// Every file a command will write when it is done, checked before it starts (`--output`,
/// `--report FORMAT=PATH`, `mask --out`; `seed --out` checks its own, a file or a folder).
fn output_paths(command: &Command) -> Vec<&std::path::Path> {
    fn report(r: &crate::cli::ReportArgs) -> Option<&std::path::Path> {
        r.output.as_deref()
    }
    let mut paths: Vec<Option<&std::path::Path>> = Vec::new();
    match command {
        Command::Check(args) => {
            paths.push(report(&args.report));
            paths.extend(args.reports.iter().map(|(_, p)| Some(p.as_path())));
        }
        Command::DryRun(args) => paths.push(report(&args.report)),
        Command::Drift(args) => paths.push(report(&args.report)),
        Command::Mask(args) => {
            paths.push(report(&args.report));
            paths.push(args.out.as_deref());
        }
        _ => {}
    }
    paths.into_iter().flatten().collect()
}

/// Writes a command's report in `format`: to `output` whole or not at all (a temp file beside
/// it, then a rename), else to stdout, where a closed pipe (`| head`) is not an error and the
/// human text has colour on a terminal. `human` is the command's text for `Format::Human`.
/// `check` writes each `--report FORMAT=PATH` through here too.
pub fn write_report(
    report: &crate::report::Report,
    format: crate::report::Format,
    human: crate::report::HumanText,
    output: Option<&std::path::Path>,
    shown: Presentation,
) -> Result<()> {
    use std::io::Write as _;
    let mut bytes = Vec::new();
    crate::report::render(
        report,
        format,
        human,
        &mut bytes,
        shown.look(output.is_none()),
    )
    .map_err(|e| Error::infra(format!("cannot render the report: {e}")))?;
    let Some(path) = output else {
        let mut out = std::io::stdout().lock();
        return match out.write_all(&bytes).and_then(|()| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
                context: "cannot write the report to stdout".into(),
                source: e,
            }),
            _ => Ok(()),
        };
    };
    crate::output::write_atomically(path, &bytes)
}

/// How a command's human text looks: `--color` and `--verbose`, the same for every command.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presentation {
    color: crate::cli::ColorChoice,
    verbose: bool,
}

impl Presentation {
    pub fn of(common: &crate::cli::CommonArgs) -> Presentation {
        Presentation {
            color: common.color,
            verbose: common.verbose,
        }
    }

    /// The look of text written to stdout (`to_stdout`) or a file: `auto` colours only a
    /// terminal's stdout.
    fn look(self, to_stdout: bool) -> crate::report::Look {
        use crate::cli::ColorChoice;
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => to_stdout && stdout_has_colour(),
        };
        crate::report::Look {
            color,
            verbose: self.verbose,
        }
    }
}

/// Colour on a terminal, unless `NO_COLOR` is set or `TERM` is `dumb`.
fn stdout_has_colour() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// The exit code of a finished report: findings at or above `--fail-on` fail it.
pub fn exit_code(report: &crate::report::Report) -> ExitCode {
    match report.status {
        crate::report::Status::Pass => ExitCode::Pass,
        crate::report::Status::Fail => ExitCode::Findings,
    }
}

/// How long a statement may run when neither flag nor config says: generous, so that only a
/// statement that would never end is cancelled.
pub const DEFAULT_STATEMENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// What every command that starts a server takes from `ServerArgs` and the config: binaries,
/// the PostgreSQL version, `--offline`, MySQL's `sql_mode`, the runner's session statements;
/// every tool's tracking tables are hidden until a command knows its tool ([`tool_tables`]).
/// The caller adds url, keep and the
/// rest.
pub fn server_options(
    server: &crate::cli::ServerArgs,
    config: &Config,
    spec: &EngineSpec,
    quiet: bool,
) -> engine::StartOptions {
    let session = if server.session_sql.is_empty() {
        config.session(spec.name).to_vec()
    } else {
        server.session_sql.clone()
    };
    let duration = |flag: Option<std::time::Duration>, file: &Option<String>| {
        flag.or_else(|| {
            file.as_deref()
                .and_then(|t| crate::cli::parse_duration(t).ok())
        })
    };
    engine::StartOptions {
        session,
        statement_timeout: duration(server.statement_timeout, &config.statement_timeout)
            .or(Some(DEFAULT_STATEMENT_TIMEOUT)),
        lock_timeout: duration(server.lock_timeout, &config.lock_timeout),
        bin_dir: server
            .bin_dir
            .clone()
            .or_else(|| config.bin_dir.as_deref().map(|p| config.resolve(p))),
        sql_mode: config.sql_mode.clone(),
        version: server.pg_version.or_else(|| config.pg_version()),
        offline: server.offline,
        quiet,
        hidden_tables: crate::migrations::every_tracking_table(),
        migration_role: server
            .migration_role
            .clone()
            .or_else(|| config.migration_role.clone()),
        ..engine::StartOptions::default()
    }
}

/// The tables a run hides when `format`'s tool is the one in use: its own tracking tables
/// only, so that another tool's table name in this project is a user table like any other.
pub fn tool_tables(format: crate::migrations::MigrationFormat) -> Vec<String> {
    format
        .tracking_tables()
        .iter()
        .map(|t| t.to_string())
        .collect()
}

/// The migrations directory: `--migrations`, else the config's, else `./migrations`.
pub fn migrations_dir(arg: Option<&std::path::Path>, config: &Config) -> std::path::PathBuf {
    arg.map(std::path::Path::to_path_buf)
        .or_else(|| config.migrations.as_deref().map(|p| config.resolve(p)))
        .unwrap_or_else(|| std::path::PathBuf::from("migrations"))
}

/// Reads the migrations of `dir` in `format` (else the layout detected there); a missing
/// directory is an input error that ends with `hint`.
pub fn read_migrations(
    dir: &std::path::Path,
    format: Option<crate::migrations::MigrationFormat>,
    engine: &EngineSpec,
    hint: &str,
) -> Result<(
    crate::migrations::MigrationFormat,
    Vec<crate::migrations::Migration>,
)> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::input(format!(
            "{} is a file, not a folder: --migrations takes the folder that holds the \
             migrations",
            crate::migrations::display_path(dir).display()
        )));
    }
    if !dir.is_dir() {
        return Err(Error::input(format!(
            "migrations directory {} does not exist; {hint}",
            crate::migrations::display_path(dir).display()
        )));
    }
    let format = match format {
        Some(format) => format,
        None => crate::migrations::detect(dir)?,
    };
    let list = crate::migrations::read_for_engine(dir, format, engine.dbms, engine.split)?;
    Ok((format, list))
}

/// An up that fails while driftless builds a database for itself (drift's expected schema,
/// seed's database) is an input error at its file and line: the history cannot be applied.
/// `context` follows "failed" in the message (` on a fresh database`, or nothing).
pub fn up_applied(
    m: &crate::migrations::Migration,
    applied: crate::engine::Applied,
    context: &str,
) -> Result<()> {
    match applied {
        crate::engine::Applied::Failed {
            line,
            code,
            message,
            ..
        } => Err(Error::InputAt {
            path: crate::migrations::display_path(&m.up.path),
            line,
            message: format!(
                "migration {} {} failed{context}: {message} ({code})",
                m.version, m.name
            ),
        }),
        crate::engine::Applied::Done { .. } => Ok(()),
    }
}

/// The engine from `--engine`, then `driftless.toml`, then the scheme of `--url`, then
/// PostgreSQL; a `--url` of another engine is refused.
pub fn resolve_engine(
    flag: Option<String>,
    config: &Config,
    url: Option<&str>,
) -> Result<&'static EngineSpec> {
    let name = flag
        .or_else(|| config.engine.clone())
        .or_else(|| url.and_then(engine::for_url).map(|e| e.name.to_string()))
        .unwrap_or_else(|| "postgres".into());
    let spec = engine::find(&name).ok_or_else(|| {
        Error::input(format!(
            "unknown engine `{name}`; known engines: {}",
            engine::names().join(", ")
        ))
    })?;
    if let Some(url) = url
        && !spec
            .url_schemes
            .iter()
            .any(|s| url.starts_with(&format!("{s}://")))
    {
        return Err(Error::input(format!(
            "--url must start with {}:// for engine {}",
            spec.url_schemes.join("://, "),
            spec.name
        )));
    }
    Ok(spec)
}

/// SIGINT and SIGTERM, caught so that whatever is running is dropped (and cleans up after
/// itself) instead of the process dying with servers and temp dirs left behind.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn install() -> Result<Signals> {
        let install = |kind| {
            signal(kind).map_err(|e| Error::infra(format!("cannot install signal handler: {e}")))
        };
        Ok(Signals {
            interrupt: install(SignalKind::interrupt())?,
            terminate: install(SignalKind::terminate())?,
        })
    }

    /// Runs `work` until it finishes or a signal arrives; on a signal `work` is dropped and
    /// `Error::Interrupted` returned.
    pub async fn guard<T>(&mut self, work: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            result = work => result,
            _ = self.interrupt.recv() => Err(Error::Interrupted(ExitCode::Interrupted)),
            _ = self.terminate.recv() => Err(Error::Interrupted(ExitCode::Terminated)),
        }
    }
}
