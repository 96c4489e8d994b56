use std::collections::BTreeMap;

/// A schema at one moment: tables for seeding and fingerprints, objects for drift.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaSnapshot {
    /// User tables by qualified name (`schema.table`).
    pub tables: BTreeMap<String, Table>,
    /// Every object, tables included, by a sort key such as `table public.users`.
    pub objects: BTreeMap<String, SchemaObject>,
    /// The canonical text already lists columns in table order (MySQL, where the order is part
    /// of the schema): a moved column is ordinary drift, not a separate column-order warning.
    pub ordered_columns: bool,
}

impl SchemaSnapshot {
    /// The whole schema as canonical text, objects in key order.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for object in self.objects.values() {
            out.push_str(&object.text);
            if !object.text.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    /// The schema with database names taken out of object keys, references and texts where
    /// the engine qualifies names with them (MySQL: `shop.users`), so that the same schema in
    /// two databases compares equal.
    pub fn without_database_names(&self) -> SchemaSnapshot {
        let mut out = self.clone();
        if !self.ordered_columns {
            return out;
        }
        let databases: std::collections::BTreeSet<&String> =
            self.tables.values().map(|t| &t.schema).collect();
        for db in databases {
            let prefix = format!("{db}.");
            out.objects = out
                .objects
                .into_iter()
                .map(|(k, mut o)| {
                    o.text = o.text.replace(&prefix, "");
                    o.reference = o.reference.replace(&prefix, "");
                    (k.replace(&prefix, ""), o)
                })
                .collect();
        }
        out
    }

    /// Tables that hold rows themselves (partitioned parents hold none).
    pub fn data_tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values().filter(|t| t.holds_rows)
    }
}

/// One schema object and its canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaObject {
    /// `table`, `index`, `view`, `function`, `type`, ...
    pub kind: String,
    /// The name findings use: `schema.table`, `schema.index`, `type:schema.name`, ...
    pub reference: String,
    /// Unqualified name of the table the object belongs to, if any.
    pub table: Option<String>,
    pub text: String,
}

/// A user table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub schema: String,
    pub name: String,
    /// In the table's column order.
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// Column sets of unique constraints and unique indexes.
    pub unique_keys: Vec<Vec<String>>,
    pub foreign_keys: Vec<ForeignKey>,
    /// CHECK constraint definitions in the engine's syntax.
    pub checks: Vec<String>,
    /// False for partitioned parents: their rows live in the partitions.
    pub holds_rows: bool,
    /// False for partitions: rows are inserted through their parent.
    pub seed_directly: bool,
    /// Partitioned tables: the key column and the partitions that exist, so that seeded rows
    /// land in one of them.
    pub partitioning: Option<Partitioning>,
}

/// How a partitioned table routes rows (single-column keys only; expression keys are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partitioning {
    pub column: String,
    pub bounds: Vec<PartitionBound>,
}

/// The values one partition takes, as the engine prints them (literals without quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionBound {
    /// `[from, to)`; `None` is MINVALUE / MAXVALUE.
    Range {
        from: Option<String>,
        to: Option<String>,
    },
    List(Vec<String>),
    /// A default partition or hash partitioning: any value fits.
    Any,
}

impl Table {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// The engine's own spelling of the type (`character varying(40)`, `numeric(12,2)`).
    pub data_type: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    pub has_default: bool,
    /// Filled by the server (identity, serial, generated): seeding leaves it alone.
    pub server_filled: bool,
    /// Computed from other columns (`GENERATED ALWAYS AS (…)`): it can never be written.
    pub generated: bool,
    /// Set by the server to the time of every UPDATE of its row (MySQL's `ON UPDATE
    /// CURRENT_TIMESTAMP`): an up and a down that touch a row both move it.
    pub auto_updated: bool,
}

/// What kind of values a column holds, as far as seeding and comparison care.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    Int {
        bytes: u8,
        unsigned: bool,
    },
    Decimal {
        precision: Option<u32>,
        scale: u32,
    },
    Float,
    Bool,
    /// Variable-length text; `max_len` in characters.
    Text {
        max_len: Option<u32>,
        repertoire: Repertoire,
    },
    /// Fixed-length text.
    Char {
        len: u32,
        repertoire: Repertoire,
    },
    Date,
    Time,
    /// `fraction`: digits of fractional seconds the column keeps (`None`: the engine's maximum).
    Timestamp {
        tz: bool,
        fraction: Option<u32>,
    },
    Interval,
    Uuid,
    Json,
    Bytes {
        max_len: Option<u32>,
    },
    Inet,
    MacAddr,
    Money,
    Enum(Vec<String>),
    /// MySQL `SET`: any subset of the labels.
    Set(Vec<String>),
    Bit {
        len: u32,
    },
    Year,
    Array(Box<ColumnKind>),
    /// A type seeding knows nothing about; only NULL or the default can be used.
    Other(String),
}

/// Which characters a text column can store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repertoire {
    Ascii,
    /// Latin-1: Western European accents, nothing beyond.
    Latin1,
    /// The Basic Multilingual Plane (MySQL `utf8mb3`): CJK, but no emoji.
    Bmp,
    /// All of Unicode.
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    /// Qualified name of the referenced table.
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// `DEFERRABLE` (PostgreSQL): checked at commit when deferred, so a cycle of keys can be
    /// filled inside one transaction.
    pub deferrable: bool,
}
