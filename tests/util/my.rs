//! A disposable MariaDB server of the tests' own (a `--url` target, a database to load seed
//! files into), started from driftless's sandbox, with helpers to run SQL on its databases.

use std::path::Path;

use sqlx::Connection;

use super::runtime;

pub struct My {
    pub server: driftless::engine::mysql::LocalServer,
    pub runtime: tokio::runtime::Runtime,
}

impl My {
    pub fn start() -> My {
        let server = super::servers::mariadb();
        let runtime = runtime();
        drop(runtime.block_on(server.connect()).expect("server answers"));
        My { server, runtime }
    }

    /// The URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        let base = self.server.url();
        let (root, _) = base.rsplit_once('/').unwrap();
        format!("{root}/{db}")
    }

    /// Creates `db`, runs `scripts` in it, and returns its URL.
    pub fn database(&self, db: &str, scripts: &[String]) -> String {
        let root = self.url("");
        let root = root.trim_end_matches('/').to_string();
        self.runtime.block_on(async {
            let mut conn = sqlx::MySqlConnection::connect(&root).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        for script in scripts {
            self.exec(db, script);
        }
        self.url(db)
    }

    /// Runs `sql` (several statements allowed) in `db`; panics with the statement on error.
    pub fn exec(&self, db: &str, sql: &str) {
        let url = self.url(db);
        self.runtime.block_on(async {
            let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}"));
        });
    }

    /// The one integer `sql` returns in `db`.
    pub fn count(&self, db: &str, sql: &str) -> i64 {
        let url = self.url(db);
        self.runtime.block_on(async {
            let mut conn = sqlx::MySqlConnection::connect(&url).await.unwrap();
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}: {sql}"))
        })
    }

    /// The server's own root password, from its URL (`mysql://root:PASSWORD@…`).
    pub fn password(&self) -> String {
        password_in(&self.server.url())
    }

    /// Feeds a script to the `mariadb` client from `dir`.
    pub fn client_file(&self, db: &str, dir: &Path, file: &str) {
        let port = self.server.port.to_string();
        let script = std::fs::File::open(dir.join(file)).unwrap();
        let out = std::process::Command::new("mariadb")
            .current_dir(dir)
            .args([
                "--local-infile=1",
                "-h",
                "127.0.0.1",
                "-P",
                &port,
                "-u",
                "root",
                db,
            ])
            .stdin(script)
            .env("MYSQL_PWD", self.password())
            .output()
            .expect("the mariadb client runs");
        assert!(
            out.status.success(),
            "mariadb < {file} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The password in a server URL (`mysql://root:PASSWORD@…`).
pub fn password_in(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let userinfo = rest.rsplit_once('@').unwrap().0;
    userinfo.split_once(':').unwrap().1.to_string()
}

/// `mariadb-dump` of database `db` of `server` into `path`, over TCP as root (the password in
/// the environment, not the command line).
pub fn dump(server: &driftless::engine::mysql::LocalServer, db: &str, path: &Path) {
    let status = std::process::Command::new("mariadb-dump")
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "-h",
            "127.0.0.1",
            "-P",
            &server.port.to_string(),
            "-u",
            "root",
        ])
        .arg(format!("--result-file={}", path.display()))
        .arg(db)
        .env("MYSQL_PWD", password_in(&server.url()))
        .status()
        .unwrap();
    assert!(status.success());
}
