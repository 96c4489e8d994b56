//! Seeding before each migration: the empty tables (SQL engines) or collections (documents)
//! get synthetic rows, through whichever capability the engine has.

use crate::Result;
use crate::engine::{Engine, Shapes};
use crate::report::Observer;
use crate::schema::SchemaSnapshot;
use crate::seed::future::Demands;
use crate::seed::{self, SeedOptions};

/// How much to seed.
pub struct Plan<'a> {
    pub rows: usize,
    pub seed: u64,
    pub shapes: &'a Shapes,
    /// What the migration about to run and those after it demand of the rows.
    pub demands: Option<&'a Demands>,
}

/// What seeding did before one migration.
pub struct Seeded {
    /// Rows (or documents) seeded.
    pub rows: u64,
    /// The schema must be read again because it describes the data (document shapes).
    pub reread: bool,
    /// Empty tables that could not be seeded, each with why.
    pub unseeded: Vec<(String, String)>,
}

/// Seeds what is empty in `schema`.
pub async fn seed(
    engine: &mut dyn Engine,
    schema: &SchemaSnapshot,
    plan: &Plan<'_>,
    observer: &mut dyn Observer,
) -> Result<Seeded> {
    let done = |rows, reread| Seeded {
        rows,
        reread,
        unseeded: Vec::new(),
    };
    if let Some(store) = engine.documents() {
        let rows = plan.rows;
        let (inserted, _) =
            seed::documents::seed_collections(store, schema, &|_| rows, plan.seed, plan.shapes)
                .await?;
        return Ok(done(inserted, inserted > 0));
    }
    let Some(store) = engine.rows() else {
        return Ok(done(0, false));
    };
    let options = SeedOptions {
        rows: plan.rows,
        seed: plan.seed,
        style: store.seed_style(),
        demands: plan.demands,
    };
    let mut progress = |table: &str, done: u64, total: u64| observer.seeding(table, done, total);
    let stats = seed::seed_empty_tables(store, schema, options, &mut progress).await?;
    Ok(Seeded {
        rows: stats.rows,
        reread: false,
        unseeded: stats.unseeded,
    })
}
