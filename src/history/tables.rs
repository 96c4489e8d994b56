//! The tracking tables migration tools create before their first migration, as each tool's
//! runner creates them on PostgreSQL and on MySQL / MariaDB: the same names, columns, keys and
//! indexes, and the rows the runner starts with. driftless creates the tool's table before a
//! history runs, so that migrations which put a trigger on it, insert into it or read it run as
//! they do in production. The table stays out of findings ([`MigrationFormat::tracking_tables`]
//! is what the engine's introspection leaves out).

use std::path::PathBuf;

use crate::engine::{Applied, Engine};
use crate::migrations::{MigrationFormat, Script, Statement};
use crate::sql::Dialect;
use crate::{Error, Result};

/// The statements `format`'s runner uses to create its tracking table in `dialect`; empty for
/// the layouts whose runner driftless does not know (dotted) or whose registry lives apart
/// (sqitch).
pub fn tracking_ddl(format: MigrationFormat, dialect: Dialect) -> &'static [&'static str] {
    let postgres = dialect == Dialect::Postgres;
    match format {
        MigrationFormat::Sqlx if postgres => SQLX_POSTGRES,
        MigrationFormat::Sqlx => SQLX_MYSQL,
        MigrationFormat::GolangMigrate => GOLANG_MIGRATE,
        MigrationFormat::Dbmate => DBMATE,
        MigrationFormat::Popx => POPX,
        MigrationFormat::Diesel => DIESEL,
        MigrationFormat::Goose => GOOSE,
        MigrationFormat::Flyway if postgres => FLYWAY_POSTGRES,
        MigrationFormat::Flyway => FLYWAY_MYSQL,
        MigrationFormat::Liquibase if postgres => LIQUIBASE_POSTGRES,
        MigrationFormat::Liquibase => LIQUIBASE_MYSQL,
        MigrationFormat::Dotted | MigrationFormat::Sqitch => &[],
    }
}

/// Creates `format`'s tracking table in the engine's database, through the migrator session
/// as the tool's runner would. Engines without SQL (MongoDB: golang-migrate's collection comes
/// into being with its first document) have nothing to create.
pub async fn create_tracking_table(engine: &mut dyn Engine, format: MigrationFormat) -> Result<()> {
    let Some(dialect) = engine.rows().map(|rows| rows.dialect()) else {
        return Ok(());
    };
    let ddl = tracking_ddl(format, dialect);
    if ddl.is_empty() {
        return Ok(());
    }
    let statements: Vec<Statement> = ddl
        .iter()
        .enumerate()
        .map(|(i, sql)| Statement {
            sql: sql.to_string(),
            line: i + 1,
            ..Statement::default()
        })
        .collect();
    let text = ddl.join(";\n");
    let path = PathBuf::from(format!("({} tracking table)", format.name()));
    let script = Script::from_statements(path, statements, &text, 1);
    match engine.apply(&script).await? {
        Applied::Done { .. } => Ok(()),
        Applied::Failed { code, message, .. } => Err(Error::infra(format!(
            "cannot create {}'s tracking table {}: {message} ({code})",
            format.name(),
            format
                .tracking_tables()
                .first()
                .copied()
                .unwrap_or_default()
        ))),
    }
}

const SQLX_POSTGRES: &[&str] = &["CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)"];

const SQLX_MYSQL: &[&str] = &["CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
)"];

/// golang-migrate keeps one row: the version the database is at, and whether a migration
/// failed halfway.
const GOLANG_MIGRATE: &[&str] = &["CREATE TABLE IF NOT EXISTS schema_migrations \
     (version BIGINT NOT NULL PRIMARY KEY, dirty BOOLEAN NOT NULL)"];

const DBMATE: &[&str] =
    &["CREATE TABLE IF NOT EXISTS schema_migrations (version VARCHAR(128) PRIMARY KEY)"];

/// popx's "transactional" migration table (pop's `schema_migration` with `version_self`).
const POPX: &[&str] = &[
    "CREATE TABLE schema_migration (version VARCHAR(48) NOT NULL, \
     version_self INT NOT NULL DEFAULT 0)",
    "CREATE UNIQUE INDEX schema_migration_version_idx ON schema_migration (version)",
    "CREATE INDEX schema_migration_version_self_idx ON schema_migration (version_self)",
];

const DIESEL: &[&str] = &["CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (
    version VARCHAR(50) PRIMARY KEY NOT NULL,
    run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)"];

/// goose logs every apply and rollback, starting with version 0 when it creates the table.
const GOOSE: &[&str] = &[
    "CREATE TABLE goose_db_version (
    id serial NOT NULL,
    version_id bigint NOT NULL,
    is_applied boolean NOT NULL,
    tstamp timestamp NULL DEFAULT now(),
    PRIMARY KEY (id)
)",
    "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)",
];

const FLYWAY_POSTGRES: &[&str] = &[
    "CREATE TABLE flyway_schema_history (
    installed_rank INT NOT NULL,
    version VARCHAR(50),
    description VARCHAR(200) NOT NULL,
    type VARCHAR(20) NOT NULL,
    script VARCHAR(1000) NOT NULL,
    checksum INTEGER,
    installed_by VARCHAR(100) NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT now(),
    execution_time INTEGER NOT NULL,
    success BOOLEAN NOT NULL
)",
    "ALTER TABLE flyway_schema_history ADD CONSTRAINT flyway_schema_history_pk \
     PRIMARY KEY (installed_rank)",
    "CREATE INDEX flyway_schema_history_s_idx ON flyway_schema_history (success)",
];

const FLYWAY_MYSQL: &[&str] = &[
    "CREATE TABLE flyway_schema_history (
    installed_rank INT NOT NULL,
    version VARCHAR(50),
    description VARCHAR(200) NOT NULL,
    type VARCHAR(20) NOT NULL,
    script VARCHAR(1000) NOT NULL,
    checksum INT,
    installed_by VARCHAR(100) NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    execution_time INT NOT NULL,
    success BOOL NOT NULL,
    CONSTRAINT flyway_schema_history_pk PRIMARY KEY (installed_rank)
) ENGINE=InnoDB",
    "CREATE INDEX flyway_schema_history_s_idx ON flyway_schema_history (success)",
];

/// Liquibase's lock table starts with its one row, unlocked.
const LIQUIBASE_POSTGRES: &[&str] = &[
    "CREATE TABLE databasechangeloglock (
    id INTEGER NOT NULL,
    locked BOOLEAN NOT NULL,
    lockgranted TIMESTAMP WITHOUT TIME ZONE,
    lockedby VARCHAR(255),
    CONSTRAINT databasechangeloglock_pkey PRIMARY KEY (id)
)",
    "INSERT INTO databasechangeloglock (id, locked) VALUES (1, FALSE)",
    "CREATE TABLE databasechangelog (
    id VARCHAR(255) NOT NULL,
    author VARCHAR(255) NOT NULL,
    filename VARCHAR(255) NOT NULL,
    dateexecuted TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    orderexecuted INTEGER NOT NULL,
    exectype VARCHAR(10) NOT NULL,
    md5sum VARCHAR(35),
    description VARCHAR(255),
    comments VARCHAR(255),
    tag VARCHAR(255),
    liquibase VARCHAR(20),
    contexts VARCHAR(255),
    labels VARCHAR(255),
    deployment_id VARCHAR(10)
)",
];

/// On MySQL Liquibase keeps the upper-case names it was given.
const LIQUIBASE_MYSQL: &[&str] = &[
    "CREATE TABLE DATABASECHANGELOGLOCK (
    ID INT NOT NULL,
    `LOCKED` TINYINT(1) NOT NULL,
    LOCKGRANTED DATETIME NULL,
    LOCKEDBY VARCHAR(255) NULL,
    CONSTRAINT PK_DATABASECHANGELOGLOCK PRIMARY KEY (ID)
)",
    "INSERT INTO DATABASECHANGELOGLOCK (ID, `LOCKED`) VALUES (1, 0)",
    "CREATE TABLE DATABASECHANGELOG (
    ID VARCHAR(255) NOT NULL,
    AUTHOR VARCHAR(255) NOT NULL,
    FILENAME VARCHAR(255) NOT NULL,
    DATEEXECUTED DATETIME NOT NULL,
    ORDEREXECUTED INT NOT NULL,
    EXECTYPE VARCHAR(10) NOT NULL,
    MD5SUM VARCHAR(35) NULL,
    DESCRIPTION VARCHAR(255) NULL,
    COMMENTS VARCHAR(255) NULL,
    TAG VARCHAR(255) NULL,
    LIQUIBASE VARCHAR(20) NULL,
    CONTEXTS VARCHAR(255) NULL,
    LABELS VARCHAR(255) NULL,
    DEPLOYMENT_ID VARCHAR(10) NULL
)",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_with_a_table_creates_the_table_it_hides() {
        for format in MigrationFormat::ALL {
            for dialect in [Dialect::Postgres, Dialect::MySql] {
                let ddl = tracking_ddl(format, dialect).join("\n").to_lowercase();
                for table in format.tracking_tables() {
                    // Flyway's pre-5 `schema_version` is only ever found, never created.
                    if *table == "schema_version" {
                        continue;
                    }
                    assert!(
                        ddl.contains(&format!("create table {table} "))
                            || ddl.contains(&format!("create table if not exists {table} ")),
                        "{format:?} {dialect:?}: {table}"
                    );
                }
                assert_eq!(ddl.is_empty(), format.tracking_tables().is_empty());
            }
        }
    }
}
