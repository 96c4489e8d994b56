//! The tests' own servers (for `--url` targets and "production" databases), started from
//! driftless's sandbox: one helper per engine, so every test starts them the same way.

/// A disposable PostgreSQL server.
pub fn postgres() -> driftless::engine::postgres::LocalServer {
    use driftless::engine::postgres::{LocalServer, find_binaries};
    let bins = find_binaries(None).expect("PostgreSQL binaries (make setup installs them)");
    LocalServer::start_on_tcp(&bins).expect("a PostgreSQL server")
}

/// A disposable MariaDB server.
pub fn mariadb() -> driftless::engine::mysql::LocalServer {
    use driftless::engine::mysql::{LocalServer, find_binaries};
    let bins = find_binaries(None).expect("MariaDB (make setup installs it)");
    LocalServer::start_on_tcp(&bins).expect("a MariaDB server")
}

/// A disposable MongoDB server (`mongod`, else the FerretDB `make setup` builds).
pub fn mongo() -> driftless::engine::mongo::LocalServer {
    use driftless::engine::mongo::{LocalServer, find_binary};
    let binary = find_binary(None).expect("a MongoDB server (make setup builds FerretDB)");
    LocalServer::start(&binary, false).expect("a MongoDB server")
}
