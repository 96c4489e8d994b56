//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::{Format, Severity};

/// The exit codes of the commands that judge migrations (a macro so `concat!` can join it
/// with each command's examples).
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0  ran to the end; no finding at or above --fail-on
  1  ran to the end; at least one finding at or above --fail-on
  2  usage or input error (bad flag, invalid config, unparsable migration file)
  3  infrastructure error (a database could not be started or reached, a binary is missing)
  130/143  interrupted by Ctrl-C / SIGTERM (everything driftless started was cleaned up)"
    };
}

const EXIT_CODES: &str = exit_codes!();

const CHECK_HELP: &str = concat!(
    exit_codes!(),
    "

Examples:
  driftless check --migrations db/migrations
  driftless check --engine mariadb --format sarif --output driftless.sarif --fail-on warning"
);

const DRY_RUN_HELP: &str = concat!(
    exit_codes!(),
    "

Examples:
  driftless dry-run --snapshot prod.dump --migrations db/migrations
  driftless dry-run --snapshot prod.dump --lock-threshold 250ms --format markdown -o plan.md"
);

const LINT_HELP: &str = concat!(
    exit_codes!(),
    "

Rules, their severities and pages: driftless explain (driftless explain RULE for one). In
driftless.toml, [severity] RULE = \"error\" remaps one; -- driftless:allow RULE <reason> in a
migration accepts it. `check` and `dry-run` run the same rules.

Examples:
  driftless lint --migrations db/migrations
  driftless lint --format sarif --output lint.sarif --fail-on warning"
);

const DRIFT_HELP: &str = concat!(
    exit_codes!(),
    "

Examples:
  driftless drift --url postgres://readonly@prod/app --migrations db/migrations
  driftless drift --url mysql://ro@replica/shop --format json --output drift.json"
);

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
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),

    /// Fill a database, or CSV / SQL / JSON Lines files, with synthetic rows that satisfy the
    /// schema's constraints and contain no personal data.
    #[command(after_help = SEED_HELP)]
    Seed(SeedArgs),

    /// Copy a database with keyed, consistent masking of personal data: into an empty database
    /// (--to) or a dump (--out). The source is only read.
    #[command(after_help = MASK_HELP)]
    Mask(MaskArgs),

    /// Restore a production snapshot into a disposable database and deploy the pending
    /// migrations on it: time, locks, rewrites, data changes and checks, statement by
    /// statement.
    #[command(name = "dry-run", after_help = DRY_RUN_HELP)]
    DryRun(DryRunArgs),

    /// Static rules over the migrations' SQL, no server needed: locks without a timeout,
    /// index builds and constraints that block writes, renames and drops the previous
    /// release breaks on, transactions left open, column types that cause trouble later.
    #[command(after_help = LINT_HELP)]
    Lint(LintArgs),

    /// Compare the schema of a live database (read only) with what its migrations produce.
    #[command(after_help = DRIFT_HELP)]
    Drift(DriftArgs),

    /// Print the JSON Schema of the report (`--format json`) this binary writes.
    #[command(after_help = SCHEMA_HELP)]
    Schema,

    /// Print a shell completion script for bash, zsh, fish, elvish or powershell.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Explain a finding kind: what it means, a migration that triggers it, the fix and how to
    /// accept it (like `rustc --explain`). Without a kind, list them all.
    #[command(after_help = EXPLAIN_HELP)]
    Explain {
        /// The kind, as reports name it (`data_loss`, `lock_risk`, …).
        #[arg(value_name = "KIND")]
        kind: Option<String>,
    },

    /// Print the effective settings (flags, driftless.toml, defaults) as TOML, each with where
    /// it came from.
    #[command(after_help = CONFIG_HELP)]
    Config {
        #[command(flatten)]
        common: CommonArgs,

        #[command(flatten)]
        migrations: MigrationArgs,
    },

    /// Remove what killed driftless runs of this host left: sandbox dirs, staging folders and
    /// half-written outputs in the given folders, and with --url the throwaway databases on
    /// that server. Only things whose creator has ended and that nothing uses.
    #[command(after_help = CLEAN_HELP)]
    Clean {
        #[command(flatten)]
        common: CommonArgs,

        /// Also drop the `driftless_…` databases that killed runs left on this server.
        #[arg(long, value_name = "URL")]
        url: Option<String>,

        /// Folders to look in for staging folders and half-written outputs. [default: .]
        #[arg(value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },

    /// Print the man page (roff) of driftless, or write one page per subcommand into a folder.
    #[command(after_help = MAN_HELP)]
    Man {
        /// Write driftless.1 and driftless-<subcommand>.1 into this folder instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

const SCHEMA_HELP: &str = "\
Examples:
  driftless schema > report.schema.json
  driftless check --format json --output report.json   # validate it against the schema

The contract itself (fields, kinds, details, exit codes) is docs/report.md in the repository.";

const COMPLETIONS_HELP: &str = "\
Examples:
  driftless completions bash > ~/.local/share/bash-completion/completions/driftless
  driftless completions zsh > \"${fpath[1]}/_driftless\"
  driftless completions fish > ~/.config/fish/completions/driftless.fish";

const EXPLAIN_HELP: &str = "\
Examples:
  driftless explain              # every kind with its default severity
  driftless explain data_loss";

const CONFIG_HELP: &str = "\
driftless.toml is read from --config, else from this folder or the nearest parent that has one.

Examples:
  driftless config
  driftless config --config ci/driftless.toml --engine mariadb";

const CLEAN_HELP: &str = "\
Every run also cleans up after killed runs as it goes: its sandbox base dir, the folder it
writes an output into, and the --url server it creates a throwaway database on.

Examples:
  driftless clean
  driftless clean --url postgres://ci@db.internal/postgres out/";

const MAN_HELP: &str = "\
Examples:
  driftless man > driftless.1 && man ./driftless.1
  driftless man --out-dir /usr/local/share/man/man1";

#[derive(Debug, Args)]
pub struct DryRunArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub migrations: MigrationArgs,

    #[command(flatten)]
    pub report: ReportArgs,

    /// The snapshot: a PostgreSQL dump (custom, directory, tar or plain SQL) or a MySQL /
    /// MariaDB SQL dump. It is only read.
    #[arg(long, value_name = "PATH")]
    pub snapshot: PathBuf,

    /// Folder of invariant checks, run before and after the deploy. [default: ./checks if it
    /// exists]
    #[arg(long, value_name = "DIR")]
    pub checks: Option<PathBuf>,

    /// A statement holding a lock that blocks reads or writes at least this long is a
    /// `lock_risk` finding: 1s, 250ms, 2m.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub lock_threshold: std::time::Duration,

    /// Also apply the pending migrations' downs and compare with the snapshot, as `check` does.
    #[arg(long)]
    pub roundtrip: bool,

    /// Compare changed tables row by row: rows added and removed, and how many values changed
    /// per column, with sample keys. Costs a copy of each compared table's row hashes (about
    /// ten times a plain fingerprint); without it, changed columns and row counts are reported.
    #[arg(long)]
    pub row_diff: bool,

    /// Leave the restored database running at the end and print how to connect to it.
    #[arg(long)]
    pub keep: bool,

    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub migrations: MigrationArgs,

    #[command(flatten)]
    pub report: ReportArgs,

    /// Also write the report in FORMAT to PATH; repeatable. FORMAT: human, json, junit,
    /// markdown, github, sarif, html or codeclimate. Example: --report sarif=lint.sarif
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub reports: Vec<(Format, PathBuf)>,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub migrations: MigrationArgs,

    #[command(flatten)]
    pub report: ReportArgs,

    /// The live database; driftless only reads it, in read-only sessions.
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// Objects managed elsewhere, left out of the comparison: `public.audit_*`, `view *`,
    /// `extension:*`. Repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub ignore: Vec<String>,

    #[command(flatten)]
    pub server: ServerArgs,
}

const MASK_HELP: &str = "\
Exit codes:
  0  the masked copy was written
  1  findings: unmasked personal data (warnings, or errors with --strict, which writes nothing),
     or a copy whose schema differs from the source's
  2  usage or input error (bad flag, invalid rules file, missing key)
  3  infrastructure error (a database could not be reached, pg_dump / mariadb-dump failed)
  130/143  interrupted by Ctrl-C / SIGTERM

The key: DRIFTLESS_MASK_KEY or --key-file (never printed); --ephemeral-key for a random one.

Examples:
  driftless mask --detect --from postgres://replica/app > fixtures/masking.toml
  driftless mask --from postgres://replica/app --rules fixtures/masking.toml --to postgres://localhost/app_masked
  driftless mask --from postgres://replica/app --rules fixtures/masking.toml --out masked.dump --strict
  driftless mask --from mysql://ro@replica/shop --rules masking.toml --out masked.sql --subset 'users:10%'";

#[derive(Debug, Args)]
pub struct MaskArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub report: ReportArgs,

    /// The database to copy; it is only read, in one consistent snapshot.
    #[arg(long, value_name = "URL")]
    pub from: String,

    /// An existing empty database to write the masked copy into. Without it, a disposable
    /// database is filled, dumped to --out and removed.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,

    /// Write a dump of the masked copy here: PostgreSQL custom format (pg_restore), MySQL /
    /// MariaDB SQL.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Masking rules (TOML): a transformer per column; see the README.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,

    /// Print suggested rules for the columns that look personal (with the evidence), and
    /// write nothing.
    #[arg(long)]
    pub detect: bool,

    /// Fail (exit 1, nothing written) when a column that looks personal has no rule.
    #[arg(long)]
    pub strict: bool,

    /// Copy columns (fields) that look personal but have no rule as they are. Without it they
    /// are masked with the rule `--detect` suggests.
    #[arg(long)]
    pub allow_unmasked: bool,

    /// Keep part of a table: `users:id < 1000` or `users:10%` (by a hash of the key, the same
    /// rows every time); rows elsewhere follow so that foreign keys stay valid. Repeatable.
    #[arg(long, value_name = "TABLE:CONDITION", value_parser = crate::mask::subset::Subset::parse)]
    pub subset: Vec<crate::mask::subset::Subset>,

    /// A file holding the masking key (else DRIFTLESS_MASK_KEY).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// Use a random key: outputs differ on every run and cannot be joined across copies.
    #[arg(long)]
    pub ephemeral_key: bool,

    #[command(flatten)]
    pub server: ServerArgs,
}

const SEED_HELP: &str = "\
Exit codes:
  0  the rows were written
  2  usage or input error (bad flag, invalid overrides, a constraint no value can satisfy,
     a row the server refused); nothing of the failing table is left behind
  3  infrastructure error (a database could not be started or reached, a binary is missing)
  130/143  interrupted by Ctrl-C / SIGTERM

Overrides (--overrides fixtures/seed.toml) choose generators, value lists, NULL ratios, row
counts and children per parent; see the README.

Examples:
  driftless seed --migrations db/migrations --rows 10000 --out seed/ --format csv
  driftless seed --url postgres://localhost/dev --rows users=1000,orders=20000 --seed 7
  driftless seed --engine mysql --migrations db/migrations --format sql --out seed.sql
  driftless seed --migrations db/migrations --explain";

/// A duration: `1s`, `250ms`, `2m`, `1m30s` (humantime's forms), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    if let Ok(seconds) = t.parse::<f64>() {
        return std::time::Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("`{text}` is not a duration like 1s or 500ms"));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("`{text}` is not a duration like 1s or 500ms ({e})"))
}

/// `--rows`: `10000`, or `users=1000,orders=20000`, or both (`500,users=1000`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub default: Option<usize>,
    pub tables: std::collections::BTreeMap<String, usize>,
}

fn parse_rows(text: &str) -> Result<RowCounts, String> {
    let mut counts = RowCounts::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let number = |n: &str| {
            n.trim()
                .replace('_', "")
                .parse::<usize>()
                .map_err(|_| format!("`{n}` is not a row count"))
        };
        match part.split_once('=') {
            Some((table, n)) if !table.trim().is_empty() => {
                counts.tables.insert(table.trim().to_string(), number(n)?);
            }
            Some(_) => return Err(format!("`{part}` names no table")),
            None => counts.default = Some(number(part)?),
        }
    }
    Ok(counts)
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub migrations: MigrationArgs,

    /// Seed this database in place: its schema is read from it and, without --out, its empty
    /// tables are filled (tables that have rows are left alone).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Rows per table: `10000`, or per table `users=1000,orders=20000`, or both. [default: 1000]
    #[arg(long, value_name = "N|TABLE=N,...", value_parser = parse_rows)]
    pub rows: Option<RowCounts>,

    /// Seed of the synthetic data: the same schema, overrides and seed give byte-identical
    /// output. [default: 42]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Write files here instead of into a database: a directory for csv and jsonl, a file for
    /// sql (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// File format. [default: sql when --out ends in .sql, else csv]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::seed::run::FileFormat>,

    /// Load all tables in one transaction (default: one transaction per table).
    #[arg(long)]
    pub atomic: bool,

    /// Print, per column, the generator chosen and why (and which columns look personal);
    /// write nothing.
    #[arg(long)]
    pub explain: bool,

    /// Overrides (TOML): a file, or a directory whose *.toml files are read in name order;
    /// repeatable, later files win. Example: --overrides fixtures/seed.toml. MongoDB: document
    /// shapes, one table per collection written like a `$jsonSchema`.
    #[arg(long, value_name = "PATH")]
    pub overrides: Vec<PathBuf>,

    /// Seed the disposable database and leave it running; prints how to connect.
    #[arg(long)]
    pub keep: bool,

    #[command(flatten)]
    pub server: ServerArgs,
}

fn parse_report(text: &str) -> Result<(Format, PathBuf), String> {
    let (format, path) = text
        .split_once('=')
        .ok_or_else(|| format!("expected FORMAT=PATH, got `{text}`"))?;
    let format = Format::parse(format).ok_or_else(|| {
        format!("unknown report format `{format}`; use human, json, junit, markdown, github, sarif, html or codeclimate")
    })?;
    if path.is_empty() {
        return Err("the report path is empty".into());
    }
    Ok((format, PathBuf::from(path)))
}

/// What every command takes: the engine, the config file, and quiet.
#[derive(Debug, Clone, Default, Args)]
pub struct CommonArgs {
    /// Database engine: postgres (or postgresql, pg), mysql (or mariadb), mongo (or mongodb).
    /// [default: from --url, driftless.toml, else postgres]
    #[arg(long, value_name = "ENGINE")]
    pub engine: Option<String>,

    /// Configuration file. [default: driftless.toml in this folder or the nearest parent]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// No progress output on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// More detail in the human report: whole diffs instead of their first lines.
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// When the human report on stdout has colour: auto (on a terminal, unless NO_COLOR is
    /// set or TERM is dumb), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// `--color`: when the human report is coloured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set or `TERM` is `dumb`.
    #[default]
    Auto,
    /// Always, even into a file or pipe.
    Always,
    /// Never.
    Never,
}

/// Where the migrations are, for every command that reads them.
#[derive(Debug, Clone, Default, Args)]
pub struct MigrationArgs {
    /// Folder of migrations of sqlx, golang-migrate, popx, diesel, dbmate, goose, Flyway,
    /// Liquibase or sqitch (or dot-separated `V0001.name.up.sql` files); the layout is
    /// detected. [default: `migrations` in driftless.toml, else ./migrations]
    #[arg(id = "migrations", long = "migrations", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The migration tool whose folder layout (and tracking table) to read. [default: detected]
    #[arg(
        id = "migration_format",
        long = "migration-format",
        value_enum,
        value_name = "FORMAT"
    )]
    pub format: Option<crate::migrations::MigrationFormat>,
}

/// How a command that judges reports: the format, where it goes, and what fails the run.
#[derive(Debug, Clone, Default, Args)]
pub struct ReportArgs {
    /// Output format on stdout (or in --output).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Write the report to FILE instead of stdout (whole or not at all).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Lowest severity that makes driftless exit with 1. [default: error]
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
}

impl ReportArgs {
    /// `--fail-on`, else the config's, else errors.
    pub fn fail_on(&self, config: &crate::config::Config) -> Severity {
        self.fail_on
            .map(Severity::from)
            .or(config.fail_on)
            .unwrap_or(Severity::Error)
    }
}

/// Where the server binaries come from; shared by every command that starts a server.
#[derive(Debug, Clone, Default, Args)]
pub struct ServerArgs {
    /// Directory with the server binaries: initdb and postgres (PostgreSQL), mariadbd or
    /// mysqld (MySQL), mongod or its path (MongoDB). [default: searched on PATH and in the
    /// usual install locations; MongoDB: then the FerretDB `make setup` builds]
    #[arg(long = "pg-bin", visible_aliases = ["mysql-bin", "mongod-bin"], value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,

    /// PostgreSQL major version to run on (or major.minor): installed binaries of that
    /// version, else fetched once from Maven Central (zonky's embedded-postgres binaries) into
    /// the cache. Also `[postgres] version` in driftless.toml. [default: the newest installed]
    #[arg(long, value_name = "VERSION")]
    pub pg_version: Option<crate::sandbox::WantedVersion>,

    /// Never download server binaries; when --pg-version is not installed or cached, fail and
    /// say what would be fetched.
    #[arg(long)]
    pub offline: bool,

    /// A statement the migration tool's runner runs on its session before migrations, such
    /// as `SET lock_timeout = '5s'` or `SET FOREIGN_KEY_CHECKS = 0` (repeatable; replaces
    /// `session` of the engine's table in driftless.toml). Every step of a check starts from
    /// it again.
    #[arg(long = "session-sql", value_name = "SQL")]
    pub session_sql: Vec<String>,

    /// Longest a statement of a migration or a check may run before the server cancels it
    /// (a finding naming the statement and the limit). Also `statement_timeout` in
    /// driftless.toml. [default: 5m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub statement_timeout: Option<std::time::Duration>,

    /// Longest a migration's statement may wait for a lock. Also `lock_timeout` in
    /// driftless.toml. [default: the server's]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,

    /// Apply migrations as ROLE, a new role (PostgreSQL) or user (MariaDB) that owns the
    /// database and is not a superuser, the way applications run them in production:
    /// `COPY … TO PROGRAM`, `pg_read_file` and `INTO OUTFILE` are then refused. Disposable
    /// servers only (with --url, put the role in the URL). Also `migration_role` in
    /// driftless.toml.
    #[arg(long, value_name = "ROLE")]
    pub migration_role: Option<String>,
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
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub migrations: MigrationArgs,

    #[command(flatten)]
    pub report: ReportArgs,

    /// Folder of invariant checks: `*.sql` files, one query each, returning violating rows
    /// (MongoDB: `*.mongo.json`, a collection and an aggregation pipeline).
    /// [default: ./checks if it exists]
    #[arg(long, value_name = "DIR")]
    pub checks: Option<PathBuf>,

    /// MongoDB: documents read per collection to infer its document shape (the data
    /// fingerprint always reads all of them). [default: 100000]
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,

    /// MongoDB: document shapes for seeding collections that have no `$jsonSchema`
    /// validator: `*.toml` files, one table per collection written like a `$jsonSchema`.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,

    /// Rows seeded into every empty table before each migration. [default: 200]
    #[arg(long, value_name = "N")]
    pub rows: Option<usize>,

    /// Seed of the synthetic data; the same seed gives the same rows. [default: 42]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Also write the report in FORMAT to PATH; repeatable. FORMAT: human, json, junit,
    /// markdown, github, sarif, html or codeclimate. Example: --report junit=driftless.xml
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub reports: Vec<(Format, PathBuf)>,

    /// Roundtrip only migrations that are new or changed since this git revision; the others
    /// are just applied. A shipped migration that was edited since is itself a finding.
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,

    /// Use this server instead of a disposable one: driftless creates a database
    /// `driftless_<random>` there, works only in it, and drops it at the end.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Leave the disposable database running at the end and print how to connect to it.
    #[arg(long)]
    pub keep: bool,

    /// Do not run the static rules of `driftless lint` first (for a CI that runs `lint` as a
    /// step of its own). Also `lint = false` in driftless.toml.
    #[arg(long)]
    pub no_lint: bool,

    #[command(flatten)]
    pub server: ServerArgs,
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn every_subcommand_help_ends_with_two_examples_and_says_each_default_once() {
        use clap::CommandFactory as _;
        let mut cli = super::Cli::command();
        cli.build();
        // clap's own `help` subcommand is not ours to document.
        for sub in cli.get_subcommands_mut().filter(|s| s.get_name() != "help") {
            let name = sub.get_name().to_string();
            let help = sub.render_long_help().to_string();
            let examples = help
                .rsplit_once("Examples:\n")
                .unwrap_or_else(|| panic!("`{name} --help` has no examples"))
                .1;
            // Long examples wrap on narrow terminals: count the lines that start one.
            let commands = examples
                .lines()
                .filter(|l| l.trim_start().starts_with("driftless "))
                .count();
            assert!(
                commands >= 2,
                "`{name} --help` ends with fewer than two examples"
            );
            for arg in sub.get_arguments() {
                let doc = arg
                    .get_long_help()
                    .or(arg.get_help())
                    .map(|h| h.to_string());
                let doc_says_default = doc.is_some_and(|d| d.contains("[default:"));
                assert!(
                    !doc_says_default || arg.get_default_values().is_empty(),
                    "`{name} --{}` says its default twice",
                    arg.get_id()
                );
            }
        }
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1").is_err());
    }
}
