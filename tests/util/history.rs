//! A generated, schema-heavy migration history that looks like a real project's: tables with
//! foreign keys and indexes, enums, views, trigger functions, added and renamed columns,
//! widened types, defaults, comments and constraints, data-heavy backfills (thousands of rows
//! inserted and every row updated), each migration with a correct down.
//!
//! Used by the "real history" test (zero findings expected) and by `make bench`.

#![allow(dead_code)]

use std::fmt::Write;
use std::path::Path;

struct TableModel {
    name: String,
    /// Columns later migrations may alter (no view or index depends on them).
    free_int: Vec<String>,
    free_text: Vec<String>,
    next_column: usize,
    reviewed: bool,
    /// The NOT NULL text column created as `title`, under its name now.
    title: String,
}

/// Writes `count` migrations (`<version>_<name>.up.sql` / `.down.sql`) into `dir`.
pub fn write_history(dir: &Path, count: usize) {
    let mut tables: Vec<TableModel> = Vec::new();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut enums = 0;
    for i in 0..count {
        let version = format!("{:014}", 20_200_101_000_000u64 + i as u64);
        let (name, up, down) = if tables.len() < 3 || i % 4 == 0 {
            create_table(&mut tables, &mut next)
        } else {
            let t = next(tables.len());
            match next(10) {
                0 => add_column(&mut tables[t]),
                1 => add_index(&mut tables[t], i),
                2 => rename_column(&mut tables[t]),
                3 => widen_int(&mut tables[t]),
                4 => add_view(&tables[t], i),
                5 => add_trigger(&tables[t], i),
                6 => {
                    enums += 1;
                    add_enum_column(&mut tables[t], enums)
                }
                7 => add_check(&mut tables[t], i),
                8 => backfill(&tables[t], i),
                _ => comment_and_default(&mut tables[t]),
            }
        };
        std::fs::write(dir.join(format!("{version}_{name}.up.sql")), up).unwrap();
        std::fs::write(dir.join(format!("{version}_{name}.down.sql")), down).unwrap();
    }
}

fn create_table(
    tables: &mut Vec<TableModel>,
    next: &mut impl FnMut(usize) -> usize,
) -> (String, String, String) {
    let name = format!("entity_{}", tables.len() + 1);
    let mut up = format!("CREATE TABLE {name} (\n    id bigserial PRIMARY KEY,\n");
    let parent = (!tables.is_empty()).then(|| tables[next(tables.len())].name.clone());
    if let Some(parent) = &parent {
        let _ = writeln!(
            up,
            "    {parent}_id bigint REFERENCES {parent} (id) ON DELETE CASCADE,"
        );
    }
    up.push_str(
        "    code varchar(40) NOT NULL UNIQUE,\n    title text NOT NULL,\n    amount numeric(12, 2) NOT NULL DEFAULT 0 CHECK (amount >= 0),\n    quantity integer,\n    active boolean NOT NULL DEFAULT true,\n    payload jsonb,\n    created_at timestamptz NOT NULL DEFAULT now()\n);\n",
    );
    if let Some(parent) = &parent {
        let _ = writeln!(
            up,
            "CREATE INDEX {name}_{parent}_id_idx ON {name} ({parent}_id);"
        );
    }
    let _ = writeln!(
        up,
        "CREATE INDEX {name}_created_at_idx ON {name} (created_at DESC);"
    );
    let down = format!("DROP TABLE {name};\n");
    tables.push(TableModel {
        name: name.clone(),
        free_int: vec!["quantity".into()],
        free_text: vec!["title".into()],
        next_column: 0,
        reviewed: false,
        title: "title".into(),
    });
    (format!("create_{name}"), up, down)
}

fn add_column(t: &mut TableModel) -> (String, String, String) {
    t.next_column += 1;
    let column = format!("extra_{}", t.next_column);
    let up = format!(
        "ALTER TABLE {} ADD COLUMN {column} text;\nCOMMENT ON COLUMN {}.{column} IS 'added later';\n",
        t.name, t.name
    );
    let down = format!("ALTER TABLE {} DROP COLUMN {column};\n", t.name);
    t.free_text.push(column.clone());
    (format!("add_{}_{column}", t.name), up, down)
}

fn add_index(t: &mut TableModel, i: usize) -> (String, String, String) {
    let Some(column) = t.free_text.pop() else {
        return comment_and_default(t);
    };
    let index = format!("{}_{column}_{i}_idx", t.name);
    let up = format!(
        "CREATE INDEX {index} ON {} (lower({column})) WHERE {column} IS NOT NULL;\n",
        t.name
    );
    let down = format!("DROP INDEX {index};\n");
    (format!("index_{}_{column}", t.name), up, down)
}

fn rename_column(t: &mut TableModel) -> (String, String, String) {
    let Some(column) = t.free_text.pop() else {
        return add_column(t);
    };
    let renamed = format!("{column}_r");
    let up = format!(
        "ALTER TABLE {} RENAME COLUMN {column} TO {renamed};\n",
        t.name
    );
    let down = format!(
        "ALTER TABLE {} RENAME COLUMN {renamed} TO {column};\n",
        t.name
    );
    if t.title == column {
        t.title = renamed.clone();
    }
    t.free_text.push(renamed);
    (format!("rename_{}_{column}", t.name), up, down)
}

fn widen_int(t: &mut TableModel) -> (String, String, String) {
    let Some(column) = t.free_int.pop() else {
        return add_column(t);
    };
    let up = format!(
        "ALTER TABLE {} ALTER COLUMN {column} TYPE bigint;\n",
        t.name
    );
    let down = format!(
        "ALTER TABLE {} ALTER COLUMN {column} TYPE integer;\n",
        t.name
    );
    (format!("widen_{}_{column}", t.name), up, down)
}

fn add_view(t: &TableModel, i: usize) -> (String, String, String) {
    let view = format!("{}_active_{i}", t.name);
    let up = format!(
        "CREATE VIEW {view} AS\nSELECT id, code, amount\nFROM {}\nWHERE active;\n",
        t.name
    );
    let down = format!("DROP VIEW {view};\n");
    (format!("view_{view}"), up, down)
}

fn add_trigger(t: &TableModel, i: usize) -> (String, String, String) {
    let function = format!("touch_{}_{i}", t.name);
    let up = format!(
        "CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    NEW.created_at := coalesce(NEW.created_at, now());\n    RETURN NEW;\nEND;\n$$;\n\nCREATE TRIGGER {function}_trg BEFORE INSERT ON {} FOR EACH ROW EXECUTE FUNCTION {function}();\n",
        t.name
    );
    let down = format!(
        "DROP TRIGGER {function}_trg ON {};\nDROP FUNCTION {function}();\n",
        t.name
    );
    (format!("trigger_{function}"), up, down)
}

/// A data-heavy up: 2,000 rows inserted and every row's amount updated; the down undoes both.
fn backfill(t: &TableModel, i: usize) -> (String, String, String) {
    let (name, title) = (&t.name, &t.title);
    let up = format!(
        "INSERT INTO {name} (code, {title})\nSELECT 'bulk-' || g || '-{i}', 'imported ' || g FROM generate_series(1, 2000) g;\nUPDATE {name} SET amount = amount + 1;\n"
    );
    let down = format!(
        "UPDATE {name} SET amount = amount - 1;\nDELETE FROM {name} WHERE code LIKE 'bulk-%-{i}';\n"
    );
    (format!("backfill_{name}_{i}"), up, down)
}

fn add_enum_column(t: &mut TableModel, n: usize) -> (String, String, String) {
    let type_name = format!("state_{n}");
    t.next_column += 1;
    let column = format!("state_{}", t.next_column);
    let up = format!(
        "CREATE TYPE {type_name} AS ENUM ('draft', 'live', 'retired');\nALTER TABLE {} ADD COLUMN {column} {type_name} NOT NULL DEFAULT 'draft';\n",
        t.name
    );
    let down = format!(
        "ALTER TABLE {} DROP COLUMN {column};\nDROP TYPE {type_name};\n",
        t.name
    );
    (format!("enum_{}_{column}", t.name), up, down)
}

fn add_check(t: &mut TableModel, i: usize) -> (String, String, String) {
    let constraint = format!("{}_title_len_{i}", t.name);
    let up = format!(
        "ALTER TABLE {} ADD CONSTRAINT {constraint} CHECK (char_length(code) <= 40);\n",
        t.name
    );
    let down = format!("ALTER TABLE {} DROP CONSTRAINT {constraint};\n", t.name);
    (format!("check_{constraint}"), up, down)
}

fn comment_and_default(t: &mut TableModel) -> (String, String, String) {
    if t.reviewed {
        return add_column(t);
    }
    t.reviewed = true;
    let up = format!(
        "COMMENT ON TABLE {} IS 'reviewed';\nALTER TABLE {} ALTER COLUMN active SET DEFAULT false;\n",
        t.name, t.name
    );
    let down = format!(
        "COMMENT ON TABLE {} IS NULL;\nALTER TABLE {} ALTER COLUMN active SET DEFAULT true;\n",
        t.name, t.name
    );
    (format!("defaults_{}", t.name), up, down)
}
