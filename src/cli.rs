//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::{Format, Severity};

const EXIT_CODES: &str = "\
Exit codes:
  0  ran to the end; no finding at or above --fail-on
  1  ran to the end; at least one finding at or above --fail-on
  2  usage or input error (bad flag, invalid config, unparsable migration file)
  3  infrastructure error (a database could not be started or reached, a binary is missing)
  130/143  interrupted by Ctrl-C / SIGTERM (everything driftless started was cleaned up)";

/// Finds data loss and schema drift in database migrations before they reach production.
///
/// driftless starts a disposable database, fills it with synthetic rows, and applies every
/// migration up, down and up again. It reports downs that lose data, downs that leave the
/// schema different, ups that cannot be re-applied, migrations without a down, failing
/// statements (file:line and the server's error), and broken invariant checks.
#[derive(Debug, Parser)]
#[command(name = "driftless", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Print what driftless does (servers, timings, skipped checks) and full error chains.
    #[arg(long, global = true)]
    pub debug: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Roundtrip every migration (up → down → up) on a disposable database and report what
    /// breaks.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
}

fn parse_report(text: &str) -> Result<(Format, PathBuf), String> {
    let (format, path) = text
        .split_once('=')
        .ok_or_else(|| format!("expected FORMAT=PATH, got `{text}`"))?;
    let format = Format::parse(format).ok_or_else(|| {
        format!("unknown report format `{format}`; use human, json, junit, markdown, github, sarif or html")
    })?;
    if path.is_empty() {
        return Err("the report path is empty".into());
    }
    Ok((format, PathBuf::from(path)))
}

/// `--fail-on`: the lowest severity that makes the run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Fail on errors only (default).
    Error,
    /// Fail on warnings and errors.
    Warning,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Severity {
        match f {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Database engine: postgres or mysql (MariaDB or MySQL). Inferred from --url when given.
    #[arg(long, value_name = "ENGINE")]
    pub engine: Option<String>,

    /// Folder of migrations of sqlx/golang-migrate, diesel, dbmate, goose, Flyway, Liquibase
    /// (formatted SQL) or sqitch; the layout is detected. [default: ./migrations, or
    /// `migrations` in driftless.toml]
    #[arg(long, value_name = "DIR")]
    pub migrations: Option<PathBuf>,

    /// The migration tool whose folder layout to read. [default: detected]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub migration_format: Option<crate::migrations::MigrationFormat>,

    /// Folder of invariant checks: `*.sql` files, one query each, returning violating rows.
    /// [default: ./checks if it exists]
    #[arg(long, value_name = "DIR")]
    pub checks: Option<PathBuf>,

    /// Rows seeded into every empty table before each migration. [default: 200]
    #[arg(long, value_name = "N")]
    pub rows: Option<usize>,

    /// Seed of the synthetic data; the same seed gives the same rows. [default: 42]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Output format on stdout (or in --output).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the report in FORMAT to PATH; repeatable. FORMAT: human, json, junit,
    /// markdown, github, sarif or html. Example: --report junit=driftless.xml
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub reports: Vec<(Format, PathBuf)>,

    /// Roundtrip only migrations that are new or changed since this git revision; the others
    /// are just applied. A shipped migration that was edited since is itself a finding.
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,

    /// Lowest severity that makes driftless exit with 1. [default: error]
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,

    /// Use this server instead of a disposable one: driftless creates a database
    /// `driftless_<random>` there, works only in it, and drops it at the end.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Leave the disposable database running at the end and print how to connect to it.
    #[arg(long)]
    pub keep: bool,

    /// Configuration file. [default: ./driftless.toml if it exists]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory with the server binaries: initdb and postgres (PostgreSQL), mariadbd or
    /// mysqld (MySQL). [default: searched on PATH and in the usual install locations]
    #[arg(long = "pg-bin", visible_alias = "mysql-bin", value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,

    /// No progress output on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}
