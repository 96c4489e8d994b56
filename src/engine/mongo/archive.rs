//! Writing a `mongodump --archive` file (mongo-tools' `common/archive/spec.md`), the format
//! `restore.rs` reads: the magic number, a header document, one metadata document per
//! collection, a terminator, then per collection one segment of its documents and the
//! namespace's end (`EOF: true` with the CRC-64 (ECMA) of its documents' bytes).

use std::io::Write;
use std::path::Path;

use futures_util::TryStreamExt;
use mongodb::Database;
use mongodb::bson::{Bson, Document, RawDocumentBuf, doc};

use crate::engine::CollectionDef;
use crate::error::Context;
use crate::{Error, Result};

const MAGIC: [u8; 4] = [0x6d, 0xe2, 0x99, 0x81];
const TERMINATOR: [u8; 4] = [0xFF; 4];

/// CRC-64 with the ECMA polynomial, as Go's `hash/crc64` computes it.
struct Crc64 {
    table: [u64; 256],
    crc: u64,
}

impl Crc64 {
    fn new() -> Crc64 {
        const ECMA: u64 = 0xC96C_5795_D787_0F42;
        let mut table = [0u64; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut crc = i as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ ECMA
                } else {
                    crc >> 1
                };
            }
            *slot = crc;
        }
        Crc64 { table, crc: 0 }
    }

    fn update(&mut self, bytes: &[u8]) {
        let mut crc = !self.crc;
        for b in bytes {
            crc = self.table[((crc as u8) ^ b) as usize] ^ (crc >> 8);
        }
        self.crc = !crc;
    }
}

fn bson_bytes(d: &Document) -> Result<Vec<u8>> {
    mongodb::bson::to_vec(d).map_err(|e| Error::infra(format!("cannot encode BSON: {e}")))
}

/// The metadata of one collection, as mongodump writes it (canonical Extended JSON).
fn metadata(def: &CollectionDef) -> String {
    let mut options = def.options.clone();
    options.remove("uuid");
    let meta = doc! {
        "indexes": def.indexes.iter().cloned().map(Bson::Document).collect::<Vec<_>>(),
        "collectionName": &def.name,
        "type": if def.view { "view" } else { "collection" },
        "options": options,
    };
    Bson::Document(meta).into_canonical_extjson().to_string()
}

/// Writes `db` (collections `defs`) to `path`, whole or not at all.
pub async fn write(
    db: &Database,
    defs: &[CollectionDef],
    version: &str,
    path: &Path,
) -> Result<()> {
    let mut out = MAGIC.to_vec();
    out.extend(bson_bytes(&doc! {
        "concurrent_collections": 1_i32,
        "version": "0.1",
        "server_version": version,
        "tool_version": format!("driftless {}", env!("CARGO_PKG_VERSION")),
    })?);
    let name = db.name();
    for def in defs {
        out.extend(bson_bytes(&doc! {
            "db": name,
            "collection": &def.name,
            "metadata": metadata(def),
            "size": 0_i32,
            "type": if def.view { "view" } else { "collection" },
        })?);
    }
    out.extend(TERMINATOR);
    for def in defs.iter().filter(|d| !d.view) {
        let mut crc = Crc64::new();
        out.extend(bson_bytes(
            &doc! {"db": name, "collection": &def.name, "EOF": false, "CRC": 0_i64},
        )?);
        let mut cursor = db
            .collection::<RawDocumentBuf>(&def.name)
            .find(doc! {})
            .await
            .context(|| format!("cannot read {}", def.name))?;
        while let Some(document) = cursor
            .try_next()
            .await
            .context(|| format!("cannot read {}", def.name))?
        {
            crc.update(document.as_bytes());
            out.extend(document.as_bytes());
        }
        out.extend(TERMINATOR);
        out.extend(bson_bytes(
            &doc! {"db": name, "collection": &def.name, "EOF": true, "CRC": crc.crc as i64},
        )?);
        out.extend(TERMINATOR);
    }
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&out)
            .and_then(|()| gz.finish())
            .map_err(|e| Error::infra(format!("cannot compress the archive: {e}")))?
    } else {
        out
    };
    crate::output::write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_go_s_ecma_checksum() {
        // Go: crc64.Checksum([]byte("123456789"), crc64.MakeTable(crc64.ECMA)).
        let mut crc = Crc64::new();
        crc.update(b"123456789");
        assert_eq!(crc.crc, 0x995D_C9BB_DF19_39FA);
    }
}
