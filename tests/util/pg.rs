//! A disposable PostgreSQL server of the tests' own (a "production" database, a `--url`
//! target), started from driftless's sandbox, with helpers to run SQL on its databases.

use std::path::{Path, PathBuf};

use sqlx::Connection;

use super::runtime;

pub struct Pg {
    pub server: driftless::engine::postgres::LocalServer,
    pub runtime: tokio::runtime::Runtime,
    /// Where `psql`, `pg_dump` and friends are.
    pub bin_dir: PathBuf,
}

impl Pg {
    pub fn start() -> Pg {
        let bins = driftless::engine::postgres::find_binaries(None)
            .expect("PostgreSQL binaries (make setup installs them)");
        let server = super::servers::postgres();
        let runtime = runtime();
        drop(runtime.block_on(server.connect()).expect("server answers"));
        Pg {
            server,
            runtime,
            bin_dir: bins.bin_dir.clone(),
        }
    }

    /// The URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("{}/{db}", self.server.url().rsplit_once('/').unwrap().0)
    }

    /// `pg_dump --format=FORMAT` of database `db` into `path`.
    pub fn dump(&self, db: &str, path: &Path, format: &str) {
        let status = std::process::Command::new(self.bin_dir.join("pg_dump"))
            .arg(format!("--format={format}"))
            .arg(format!("--file={}", path.display()))
            .arg(self.url(db))
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Runs `sql` (several statements allowed) in `db`; panics with the statement on error.
    pub fn exec(&self, db: &str, sql: &str) {
        let url = self.url(db);
        self.runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}"));
        });
    }
}
