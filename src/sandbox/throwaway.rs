//! Throwaway databases on a server the user pointed at with `--url`, the same for every
//! engine: created as `driftless_<random>`, dropped at the end, and dropped from a helper
//! thread when driftless ends early (an error before teardown, a panic). Connecting is
//! bounded, so a dead or silent `--url` is an error within seconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::creator::Creator;
use crate::{Error, Result};

/// How long connecting to a `--url` server may take, unless the engine's driver bounds it
/// itself ([`ThrowawayServer::connect_timeout`]).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the last-resort drop may run once connected: driftless is on its way out, and a
/// server that stopped answering must not keep it from exiting.
const LAST_RESORT_DROP: Duration = Duration::from_secs(30);

/// The engine's part of a throwaway database: its administrative session and statements.
#[async_trait]
pub trait ThrowawayServer: Send + Sync + 'static {
    /// A connection to the server, not to any one database.
    type Session: Send;

    /// The server for messages, without its password.
    fn shown(&self) -> String;

    /// Opens a session; [`ThrowawayDatabase`] bounds how long this may take.
    async fn connect(&self) -> Result<Self::Session>;

    async fn create(&self, session: &mut Self::Session, name: &str) -> Result<()>;

    async fn drop_database(&self, session: &mut Self::Session, name: &str) -> Result<()>;

    /// Ends a session politely.
    async fn close(&self, session: Self::Session);

    /// What a user runs to drop the database by hand (after `--keep`).
    fn drop_hint(&self, name: &str) -> String;

    /// The server's databases whose names start with `driftless` (a superset is fine).
    async fn databases(&self, session: &mut Self::Session) -> Result<Vec<String>>;

    /// The databases some session is connected to now; an engine that cannot tell says none.
    async fn busy(&self, _session: &mut Self::Session) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// How long [`ThrowawayServer::connect`] may take.
    fn connect_timeout(&self) -> Duration {
        CONNECT_TIMEOUT
    }
}

/// `future`, or an infrastructure error saying `what` got no answer within `limit`.
pub async fn within<T>(
    limit: Duration,
    what: impl FnOnce() -> String,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, future).await {
        Ok(result) => result,
        Err(_) => Err(Error::infra(format!(
            "{}: no answer within {}s",
            what(),
            limit.as_secs()
        ))),
    }
}

async fn connect<S: ThrowawayServer>(server: &S) -> Result<S::Session> {
    let shown = || format!("cannot connect to {}", server.shown());
    within(server.connect_timeout(), shown, server.connect()).await
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`ThrowawayServer`] without its session type, so that one [`ThrowawayDatabase`] type
/// serves every engine.
trait Dropper: Send + Sync {
    fn drop_named<'a>(
        &'a self,
        name: &'a str,
        limit: Option<Duration>,
    ) -> BoxFuture<'a, Result<()>>;
    fn hint(&self, name: &str) -> String;
}

impl<S: ThrowawayServer> Dropper for S {
    fn drop_named<'a>(
        &'a self,
        name: &'a str,
        limit: Option<Duration>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut session = connect(self).await?;
            let dropped = match limit {
                Some(limit) => {
                    let what = || format!("cannot drop throwaway database {name}");
                    within(limit, what, self.drop_database(&mut session, name)).await
                }
                None => self.drop_database(&mut session, name).await,
            };
            self.close(session).await;
            dropped
        })
    }

    fn hint(&self, name: &str) -> String {
        self.drop_hint(name)
    }
}

/// `driftless_<random>` on a `--url` server. Dropped by [`ThrowawayDatabase::drop_database`]
/// at teardown; if it is dropped without that (driftless ends early), a helper thread with
/// its own runtime drops the database (no async in `Drop`, and the caller's runtime may be
/// the one unwinding).
pub struct ThrowawayDatabase {
    server: Arc<dyn Dropper>,
    name: String,
    armed: bool,
}

impl std::fmt::Debug for ThrowawayDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrowawayDatabase")
            .field("name", &self.name)
            .field("armed", &self.armed)
            .finish()
    }
}

/// The prefix of every throwaway database; the creator's tag and a random part follow.
const PREFIX: &str = "driftless_";

/// Drops the throwaway databases on `server` that a driftless run on this host made and could
/// not drop (it was SIGKILLed): those whose creator is gone and that no session uses. Nothing
/// else is touched: not another host's, not a name driftless did not make. Returns their names.
pub async fn sweep<S: ThrowawayServer>(server: &S) -> Result<Vec<String>> {
    let mut session = connect(server).await?;
    let swept = sweep_with(server, &mut session).await;
    server.close(session).await;
    swept
}

async fn sweep_with<S: ThrowawayServer>(
    server: &S,
    session: &mut S::Session,
) -> Result<Vec<String>> {
    let names = server.databases(session).await?;
    let left: Vec<String> = names
        .into_iter()
        .filter(|name| Creator::in_name(name, PREFIX).is_some_and(|c| c.is_gone() == Some(true)))
        .collect();
    if left.is_empty() {
        return Ok(left);
    }
    let busy = server.busy(session).await?;
    let mut dropped = Vec::new();
    for name in left.into_iter().filter(|n| !busy.contains(n)) {
        let what = || format!("cannot drop leftover throwaway database {name}");
        within(LAST_RESORT_DROP, what, server.drop_database(session, &name)).await?;
        dropped.push(name);
    }
    Ok(dropped)
}

impl ThrowawayDatabase {
    /// Creates `driftless_<creator>_<random>` on `server`, first dropping what killed runs of
    /// this host left there ([`sweep`]; its failure only shows with `--debug`).
    pub async fn create<S: ThrowawayServer>(server: S) -> Result<ThrowawayDatabase> {
        let name = format!(
            "{PREFIX}{}_{:06x}",
            Creator::me().tag(),
            random() & 0xff_ffff
        );
        let mut session = connect(&server).await?;
        match sweep_with(&server, &mut session).await {
            Ok(dropped) => {
                for old in dropped {
                    crate::debug!("dropped {old}, left by a driftless run that was killed");
                }
            }
            Err(e) => crate::debug!("leftover throwaway databases were not swept: {e}"),
        }
        let created = server.create(&mut session, &name).await;
        server.close(session).await;
        created?;
        Ok(ThrowawayDatabase {
            server: Arc::new(server),
            name,
            armed: true,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database now.
    pub async fn drop_database(mut self) -> Result<()> {
        self.armed = false;
        self.server.drop_named(&self.name, None).await
    }

    /// Leaves the database (`--keep`) and says how to drop it.
    pub fn keep(mut self) -> String {
        self.armed = false;
        format!(
            "kept throwaway database {} on the --url server; drop it with: {}",
            self.name,
            self.server.hint(&self.name)
        )
    }
}

impl Drop for ThrowawayDatabase {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (server, name) = (self.server.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            let dropped = runtime.block_on(server.drop_named(&name, Some(LAST_RESORT_DROP)));
            if let Err(e) = &dropped {
                crate::debug!("the throwaway database {name} was not dropped: {e}");
            }
            dropped.ok()
        })
        .join();
    }
}

fn random() -> u64 {
    use fake::rand::Rng;
    fake::rand::rng().next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records what the helper asks of an engine; the engines' own parts are tested against
    /// real servers (tests/check_*.rs, tests/robustness.rs).
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<String>>>);

    #[async_trait]
    impl ThrowawayServer for Recorder {
        type Session = ();
        fn shown(&self) -> String {
            "recorder".into()
        }
        async fn connect(&self) -> Result<()> {
            Ok(())
        }
        async fn create(&self, _: &mut (), name: &str) -> Result<()> {
            self.0.lock().unwrap().push(format!("create {name}"));
            Ok(())
        }
        async fn drop_database(&self, _: &mut (), name: &str) -> Result<()> {
            self.0.lock().unwrap().push(format!("drop {name}"));
            Ok(())
        }
        async fn close(&self, _: ()) {}
        fn drop_hint(&self, name: &str) -> String {
            format!("forget {name}")
        }
        async fn databases(&self, _: &mut ()) -> Result<Vec<String>> {
            Ok(self.1.lock().unwrap().clone())
        }
        async fn busy(&self, _: &mut ()) -> Result<Vec<String>> {
            Ok(vec![self.1.lock().unwrap()[2].clone()])
        }
    }

    #[test]
    fn creating_drops_only_what_ended_runs_of_this_host_left() {
        let me = Creator::me().tag();
        let (host, rest) = me.split_once('_').unwrap();
        let (pid, started) = rest.split_once('_').unwrap();
        let started: u64 = started.parse().unwrap();
        let ended = format!("driftless_{host}_{pid}_{}_aaaaaa", started + 1);
        let recorder = Recorder::default();
        *recorder.1.lock().unwrap() = vec![
            ended.clone(),
            format!("driftless_{me}_bbbbbb"),
            format!("driftless_{host}_{pid}_{}_cccccc", started + 2),
            "driftless_0123456789ab".into(),
            "driftless_prod".into(),
            format!(
                "driftless_{:08x}_1_1_dddddd",
                u32::from_str_radix(host, 16).unwrap() ^ 1
            ),
        ];
        let db = runtime()
            .block_on(ThrowawayDatabase::create(recorder.clone()))
            .unwrap();
        let name = db.name().to_string();
        let calls = recorder.0.lock().unwrap().clone();
        // Only the ended run's database; the busy one, this run's, an old-style name, a name
        // driftless did not make and another host's are left.
        assert_eq!(calls, [format!("drop {ended}"), format!("create {name}")]);
        db.keep();
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn an_armed_database_is_dropped_even_without_teardown() {
        let recorder = Recorder::default();
        let db = runtime()
            .block_on(ThrowawayDatabase::create(recorder.clone()))
            .unwrap();
        let name = db.name().to_string();
        assert!(name.starts_with("driftless_"));
        assert_eq!(Creator::in_name(&name, PREFIX), Some(Creator::me()));
        drop(db);
        let calls = recorder.0.lock().unwrap().clone();
        assert_eq!(calls, [format!("create {name}"), format!("drop {name}")]);
    }

    #[test]
    fn a_kept_database_is_left_and_its_drop_is_explained() {
        let recorder = Recorder::default();
        let db = runtime()
            .block_on(ThrowawayDatabase::create(recorder.clone()))
            .unwrap();
        let name = db.name().to_string();
        let message = db.keep();
        assert!(
            message.ends_with(&format!("drop it with: forget {name}")),
            "{message}"
        );
        assert_eq!(recorder.0.lock().unwrap().len(), 1, "created, not dropped");
    }

    #[test]
    fn a_wait_past_its_limit_is_an_infrastructure_error() {
        let waited = runtime().block_on(within(
            Duration::from_millis(20),
            || "cannot connect to nowhere".to_string(),
            async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            },
        ));
        let err = waited.unwrap_err();
        assert_eq!(err.exit_code(), crate::ExitCode::Infrastructure);
        assert!(
            err.to_string()
                .starts_with("cannot connect to nowhere: no answer")
        );
    }
}
