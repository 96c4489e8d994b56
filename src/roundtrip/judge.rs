//! The judgements that turn two snapshots into findings: what an up destroyed
//! (`destructive_change`), what a down did not give back (`data_loss`), and how the schema
//! came back different (`schema_drift`). `check` judges each migration; `dry-run` judges a
//! deploy and its roll-back with the same code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::causes::{self, Removal};
use super::{Step, finding, timed};
use crate::Result;
use crate::data::{self, DataFingerprint, RowDiff, SequencePosition, Survival, TableChange};
use crate::engine::{Engine, Words};
use crate::migrations::{Migration, Script};
use crate::report::{Direction, Finding, FindingKind, Severity, masking, plural};
use crate::schema::{self, SchemaDiff, SchemaSnapshot, Table};

/// Judges snapshots of one engine, adding findings; drill-downs into rows are timed.
pub struct Judge<'a> {
    pub engine: &'a mut dyn Engine,
    pub findings: &'a mut Vec<Finding>,
    pub drill_down: &'a mut Duration,
    /// The rows are real (a snapshot): values shown in findings are masked. `check`'s seeded
    /// rows are synthetic and shown as they are, so a reader sees exactly what was lost.
    pub real_data: bool,
}

impl<'a> Judge<'a> {
    /// A judge of a snapshot's real rows (`dry-run`): values shown in findings are masked.
    pub fn of_snapshot(
        engine: &'a mut dyn Engine,
        findings: &'a mut Vec<Finding>,
        drill_down: &'a mut Duration,
    ) -> Judge<'a> {
        Judge {
            engine,
            findings,
            drill_down,
            real_data: true,
        }
    }
}

/// Rows up to which a table left empty is drilled into for a sample of its lost rows.
const EMPTIED_DRILL_DOWN: i64 = 100_000;

/// Sample keys with personal-looking key columns masked.
fn masked(keys: &[String]) -> Vec<String> {
    keys.iter().map(|k| masking::mask_key(k)).collect()
}

/// A value of `column` as findings show it: NULL as `null`; from real data, personal-looking
/// columns masked.
fn shown_value(column: &str, value: &Option<Value>, real: bool) -> Value {
    match value {
        None => Value::Null,
        Some(v) if real && crate::pii::looks_personal(column) => {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Value::String(masking::mask_value(&text))
        }
        Some(v) => v.clone(),
    }
}

/// "200 values", or "values" where the fingerprint did not count them.
fn counted_values(values: Option<i64>) -> String {
    values.map_or_else(|| "values".to_string(), |n| plural(n, "value"))
}

/// `examples`: a changed column's values before and after, by row key; from real data
/// (`real`), personal-looking columns masked.
pub fn examples(column: &str, examples: &[data::ValueChange], real: bool) -> Value {
    let shown: Vec<Value> = examples
        .iter()
        .map(|e| {
            json!({
                "key": masking::mask_key(&e.key),
                "before": shown_value(column, &e.before, real),
                "after": shown_value(column, &e.after, real),
            })
        })
        .collect();
    Value::Array(shown)
}

/// `sample`: rows that are gone, as objects of their values before (from real data, personal
/// ones masked).
pub fn missing_rows(rows: &[data::MissingRow], real: bool) -> Value {
    let shown: Vec<Value> = rows
        .iter()
        .map(|r| {
            let values: serde_json::Map<String, Value> = r
                .values
                .iter()
                .map(|(c, v)| (c.clone(), shown_value(c, v, real)))
                .collect();
            Value::Object(values)
        })
        .collect();
    Value::Array(shown)
}

/// A schema and the data fingerprint taken with it.
pub type State<'s> = (&'s SchemaSnapshot, &'s DataFingerprint);

impl Judge<'_> {
    fn words(&self) -> Words {
        self.engine.spec().words
    }

    /// One `schema_drift` per changed object, and a warning per table whose columns only came
    /// back in another order.
    pub fn schema_drift(&mut self, m: &Migration, diff: &SchemaDiff, step: Step, at: &Script) {
        let (phase, baseline) = match step {
            Step::Reup | Step::Reapply => ("re-up", "the first up"),
            _ => ("up→down", "before up"),
        };
        let direction = step.direction();
        for change in &diff.objects {
            // `type:public.mood` reads "type public.mood" in a sentence.
            let shown = change
                .reference
                .split_once(':')
                .map_or(change.reference.as_str(), |(_, name)| name);
            let since = if direction == Direction::Reup {
                "after the first up"
            } else {
                "before up"
            };
            let name = change.reference.rsplit('.').next().unwrap_or_default();
            let name = name.split('(').next().unwrap_or(name);
            let base = |message: String, part: Option<&schema::LineChange>| {
                let column = part.and_then(|p| p.column.as_deref());
                let constraint = part.and_then(|p| p.constraint.as_deref());
                let words: Vec<&str> = std::iter::once(name)
                    .chain(column)
                    .chain(constraint)
                    .collect();
                finding(FindingKind::SchemaDrift, m, message)
                    .direction(direction)
                    .object(change.reference.clone(), change.table.as_deref(), column)
                    .constraint(constraint)
                    .at(
                        &at.path,
                        at.line_mentioning(&words).or(at.line_mentioning(&[name])),
                    )
                    .detail("diff", change.diff.clone())
            };
            match change.change {
                schema::Change::Added => {
                    let mut f = base(
                        format!(
                            "{phase} left {} {shown} that was not there {since}",
                            change.kind
                        ),
                        None,
                    );
                    // An extension the up created and its down keeps: projects keep them on
                    // purpose (other objects may come to use one, and the re-up's `IF NOT
                    // EXISTS` takes it as it is); worth a word, not a failed gate. A re-up
                    // that fails on it is its own `reup_failure`.
                    if change.kind == "extension" && step == Step::Down {
                        f = f.severity(Severity::Warning).detail("extension_kept", true);
                    }
                    self.findings.push(f);
                }
                schema::Change::Removed => self.findings.push(base(
                    format!(
                        "{phase} did not bring back {} {shown} that existed {since}",
                        change.kind
                    ),
                    None,
                )),
                // One finding for the rename and every object that only follows it.
                schema::Change::Renamed => {
                    let to = schema::shown(change.renamed_to.as_deref().unwrap_or_default());
                    let mut message = format!(
                        "{phase} left {} {shown} renamed to {to}: it was not renamed back",
                        change.kind
                    );
                    let follows: Vec<String> =
                        change.changes.iter().map(|c| c.to_string()).collect();
                    if !follows.is_empty() {
                        message.push_str(&format!(" ({})", follows.join("; ")));
                    }
                    self.findings.push(
                        base(message, None)
                            .detail("renamed_to", to)
                            .detail("follows_the_rename", follows),
                    );
                }
                // One finding per change inside the object, each saying what changed.
                schema::Change::Modified => {
                    for line in &change.changes {
                        let message = format!(
                            "{phase} left {} {shown} different from {baseline}: {}",
                            change.kind,
                            line.within(&format!("{} {shown}", change.kind))
                        );
                        self.findings
                            .push(base(message, Some(line)).detail("change", line.to_string()));
                    }
                    // Text that differs in no line of its own (spacing): still one finding.
                    if change.changes.is_empty() {
                        let message = format!(
                            "{phase} left {} {shown} different from {baseline}",
                            change.kind
                        );
                        self.findings.push(base(message, None));
                    }
                }
            }
        }
        for order in &diff.column_order {
            self.findings
                .push(column_order(m, order, phase, direction, at));
        }
    }

    /// One `sequence_collision` per sequence that `step` left at or behind the values in use
    /// in a column it fills, where in every `earlier` state it stood further ahead or did not
    /// exist; `earlier[0]` is the state before the up, which the message names. A sequence
    /// that did not exist before counts only on a table that did (`before`): a table the up
    /// creates and fills with fixed ids (a lookup table) is the up's own choice.
    pub fn sequence_collisions(
        &mut self,
        m: &Migration,
        (now, earlier): (&[SequencePosition], &[&[SequencePosition]]),
        before: &SchemaSnapshot,
        step: Step,
        at: &Script,
    ) {
        let phase = match step {
            Step::Up => "up",
            Step::Down => "up→down",
            Step::Reup | Step::Reapply => "re-up",
        };
        for c in data::collisions(now, earlier) {
            if c.was.is_none() && !before.tables.contains_key(&c.user.table) {
                continue;
            }
            let sequence = &c.position.sequence;
            let (counter, shown) = match sequence.strip_prefix("auto_increment:") {
                Some(table) => (format!("the AUTO_INCREMENT counter of {table}"), table),
                None => (format!("sequence {sequence}"), sequence.as_str()),
            };
            let table = c.user.table.rsplit('.').next().unwrap_or(&c.user.table);
            let column = c.user.column.as_str();
            let qualified = format!("{}.{column}", c.user.table);
            let extreme = c.user.extreme.unwrap_or_default();
            let (next, increment) = (c.position.next, c.position.increment);
            let holds = if increment >= 0 { "up to" } else { "down to" };
            // dry-run compares with the snapshot, check with the state before the up.
            let baseline = match self.real_data {
                true => "in the snapshot",
                false => "before the up",
            };
            let was = match c.was {
                Some(v) => format!("it stood at {v} {baseline}"),
                None => format!("it did not exist {baseline}"),
            };
            let message = format!(
                "{phase} left {counter} at {next} while {qualified} holds values {holds} {extreme}: \
                 the next insert gets a duplicate ({was})"
            );
            let own = shown.rsplit('.').next().unwrap_or(shown);
            let line = at
                .line_mentioning(&[own])
                .or(at.line_mentioning(&[table, column]))
                .or(at.line_mentioning(&[table]));
            self.findings.push(
                finding(FindingKind::SequenceCollision, m, message)
                    .direction(step.direction())
                    .object(sequence.clone(), Some(table), Some(column))
                    .at(&at.path, line)
                    .detail("sequence", shown.to_string())
                    .detail("next_value", json!(next as i64))
                    .detail("highest_in_use", json!(extreme as i64))
                    .detail("column", qualified.clone())
                    .detail("next_value_before", json!(c.was.map(|v| v as i64))),
            );
        }
    }

    /// What up→down did not give back, table by table: `before` is the state before the up,
    /// `after` the state after the down.
    pub async fn data_loss(
        &mut self,
        m: &Migration,
        down: &Script,
        before: State<'_>,
        after: State<'_>,
    ) -> Result<()> {
        let changes = data::compare(before.1, after.1);
        let moved = renamed_tables(&changes, before.1, after.1);
        let mut removals = Vec::new();
        for (name, change) in changes {
            let Some(old) = before.0.tables.get(&name) else {
                continue;
            };
            let f = Lost {
                m,
                down,
                old,
                words: self.words(),
                real: self.real_data,
            };
            let real = self.real_data;
            match change {
                // Under another name, every row is still there: the rename is schema drift.
                TableChange::Disappeared { rows } if rows > 0 && !moved.contains(&name) => {
                    let gone = self.engine.captured_rows(old).await?;
                    let finding = match gone.is_empty() {
                        true => f.table(rows),
                        false => f.table(rows).detail("sample", missing_rows(&gone, real)),
                    };
                    self.findings.push(finding)
                }
                TableChange::Changed {
                    rows_before,
                    rows_after,
                    changed_columns,
                    gone_columns,
                    ..
                } => {
                    let Some(now) = after.0.tables.get(&name) else {
                        continue;
                    };
                    let counts = (rows_before, rows_after);
                    // Dropped and created again empty: one finding for the table, not one
                    // per column and one for its rows.
                    if rows_after == 0 && rows_before > 0 {
                        // A few of the lost rows are shown; on a large snapshot table the
                        // drill-down (which orders every missing key) is not worth it.
                        let rows = match rows_before <= EMPTIED_DRILL_DOWN {
                            true => timed(self.drill_down, self.engine.row_diff(old, now)).await?,
                            false => None,
                        };
                        let mut finding = f.emptied(rows_before);
                        if let Some(rows) = rows.filter(|r| !r.missing_rows.is_empty()) {
                            finding =
                                finding.detail("sample", missing_rows(&rows.missing_rows, real));
                        }
                        self.findings.push(finding);
                        continue;
                    }
                    let rows = timed(self.drill_down, self.engine.row_diff(old, now)).await?;
                    for (column, values) in &gone_columns {
                        let shown = rows.as_ref().and_then(|r| r.columns.get(column));
                        let mut finding = f.column(column, *values, counts);
                        if let Some(diff) = shown.filter(|d| !d.examples.is_empty()) {
                            finding =
                                finding.detail("examples", examples(column, &diff.examples, real));
                        }
                        self.findings.push(finding);
                    }
                    if changed_columns.is_empty()
                        && rows_before == rows_after
                        && !gone_columns.is_empty()
                    {
                        continue;
                    }
                    match rows {
                        None => self.findings.push(f.columns(&changed_columns, counts)),
                        Some(rows) if rows.rows_missing > 0 => removals.push(Removal {
                            table: name.clone(),
                            before: rows.rows_before,
                            removed: rows.rows_missing,
                            finding: f.rows(&rows, &gone_columns).remove(0),
                        }),
                        Some(rows) => self.findings.extend(f.rows(&rows, &gone_columns)),
                    }
                }
                _ => {}
            }
        }
        // Rows a statement of the down removed, or the up's that the down does not give back.
        let words = self.words();
        let describe =
            |r: &Removal| format!("{} ({} of {} {})", r.table, r.removed, r.before, words.rows);
        let removed = causes::grouped(removals, &[down, &m.up], before.0, &describe);
        self.findings.extend(removed);
        Ok(())
    }

    /// What the up itself destroyed: tables and columns dropped with their values, rows
    /// deleted, types changed so that values do not survive. A rename keeps every value and is
    /// not a drop.
    pub async fn destructive_changes(
        &mut self,
        m: &Migration,
        before: State<'_>,
        after: State<'_>,
    ) -> Result<()> {
        let changes = data::compare(before.1, after.1);
        let moved = renamed_tables(&changes, before.1, after.1);
        let mut removals = Vec::new();
        for (name, change) in &changes {
            let Some(old) = before.0.tables.get(name) else {
                continue;
            };
            let up = Destroyed {
                m,
                old,
                words: self.words(),
            };
            match change {
                TableChange::Disappeared { rows } if *rows > 0 && !moved.contains(name) => {
                    let gone = self.engine.captured_rows(old).await?;
                    let finding = up.table(name, *rows);
                    self.findings.push(match gone.is_empty() {
                        true => finding,
                        false => finding.detail("sample", missing_rows(&gone, self.real_data)),
                    });
                }
                TableChange::Changed {
                    rows_before,
                    rows_after,
                    changed_columns,
                    gone_columns,
                    ..
                } => {
                    if rows_after < rows_before {
                        removals.push(Removal {
                            table: name.clone(),
                            before: *rows_before,
                            removed: rows_before - rows_after,
                            finding: up.rows(name, *rows_before, *rows_after),
                        });
                    }
                    let Some(now) = after.0.tables.get(name) else {
                        continue;
                    };
                    let (fp_before, fp_after) = (&before.1.tables[name], &after.1.tables[name]);
                    // Findings about one column each, which get a few of its values shown.
                    let mut per_column = Vec::new();
                    for (column, values) in gone_columns {
                        let renamed = fp_after.columns.iter().any(|(c, fp)| {
                            old.column(c).is_none() && fp.same_as(&fp_before.columns[column])
                        });
                        if !renamed {
                            per_column.push((column, up.column(name, column, *values)));
                        }
                    }
                    for column in changed_columns {
                        // Renamed away, and a new column took the old name: not a type change.
                        let moved = fp_after.columns.iter().any(|(c, fp)| {
                            c != column
                                && old.column(c).is_none()
                                && fp_before.columns.get(column).is_some_and(|b| fp.same_as(b))
                        });
                        if moved {
                            continue;
                        }
                        if let Some(f) = self.type_change(&up, name, now, column).await? {
                            per_column.push((column, f));
                        }
                    }
                    if per_column.is_empty() {
                        continue;
                    }
                    let rows = timed(self.drill_down, self.engine.row_diff(old, now)).await?;
                    for (column, mut f) in per_column {
                        let diff = rows.as_ref().and_then(|r| r.columns.get(column));
                        if let Some(diff) = diff.filter(|d| !d.examples.is_empty()) {
                            f = f.detail(
                                "examples",
                                examples(column, &diff.examples, self.real_data),
                            );
                        }
                        self.findings.push(f);
                    }
                }
                _ => {}
            }
        }
        let words = self.words();
        let describe =
            |r: &Removal| format!("{} ({} of {} {})", r.table, r.removed, r.before, words.rows);
        let removed = causes::grouped(removals, &[&m.up], before.0, &describe);
        self.findings.extend(removed);
        Ok(())
    }

    /// A column whose type the up changed so that its values do not convert back.
    async fn type_change(
        &mut self,
        up: &Destroyed<'_>,
        name: &str,
        now: &Table,
        column: &str,
    ) -> Result<Option<Finding>> {
        let (Some(old), Some(new)) = (up.old.column(column), now.column(column)) else {
            return Ok(None);
        };
        if old.data_type == new.data_type {
            return Ok(None);
        }
        let (from, to) = (&old.data_type, &new.data_type);
        let message = match self.engine.survival(up.old, now, column).await? {
            Survival::Lost(n) => format!(
                "up changes {name}.{column} from {from} to {to}: {} not survive the conversion",
                plural(n, "value") + if n == 1 { " does" } else { " do" }
            ),
            Survival::NotConvertible(reason) => format!(
                "up changes {name}.{column} from {from} to {to}: the values cannot be converted back ({reason})"
            ),
            Survival::Kept | Survival::Unknown => return Ok(None),
        };
        Ok(Some(
            up.finding(
                format!("{name}.{column}"),
                Some(column),
                &["type", "modify", "change"],
                message,
            )
            .detail("type_before", json!(from))
            .detail("type_after", json!(to)),
        ))
    }
}

/// Tables that disappeared while one with the same data appeared: renamed, every value kept.
fn renamed_tables(
    changes: &BTreeMap<String, TableChange>,
    before: &DataFingerprint,
    after: &DataFingerprint,
) -> Vec<String> {
    let appeared: Vec<&String> = changes
        .iter()
        .filter(|(_, c)| matches!(c, TableChange::Appeared { .. }))
        .map(|(n, _)| n)
        .collect();
    changes
        .iter()
        .filter(|(name, c)| {
            matches!(c, TableChange::Disappeared { .. })
                && appeared.iter().any(|n| {
                    data::same_columns(
                        &after.tables[*n].columns,
                        &before.tables[name.as_str()].columns,
                    )
                })
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The column-order warning of a table whose columns came back in another order.
fn column_order(
    m: &Migration,
    order: &schema::ColumnOrderChange,
    phase: &str,
    direction: Direction,
    at: &Script,
) -> Finding {
    let qualified = format!("{}.{}", order.schema, order.table);
    finding(
        FindingKind::SchemaDrift,
        m,
        format!(
            "{phase} brought back {qualified} with its columns in another order: ({}), was ({})",
            order.after.join(", "),
            order.before.join(", ")
        ),
    )
    .severity(Severity::Warning)
    .direction(direction)
    .object(qualified, Some(&order.table), None)
    .at(&at.path, at.line_mentioning(&[&order.table]))
    .detail("column_order", true)
    .detail("columns_before", order.before.clone())
    .detail("columns_after", order.after.clone())
}

/// `data_loss` findings about one table after a down.
struct Lost<'a> {
    m: &'a Migration,
    down: &'a Script,
    old: &'a Table,
    words: Words,
    /// Values shown come from real data (masked).
    real: bool,
}

impl Lost<'_> {
    fn base(&self, object: String, column: Option<&str>, message: String) -> Finding {
        let table = self.old.name.as_str();
        let line = match column {
            Some(c) => self
                .down
                .line_writing(&[table, c])
                .or_else(|| self.down.line_writing(&[c])),
            None => self.down.line_mentioning(&[table]),
        };
        // Values the down never touches were changed by the up: its statement is the one.
        let up = &self.m.up;
        let (path, line) = match (line, column) {
            (None, Some(c)) => match up.line_writing(&[table, c]) {
                Some(line) => (&up.path, Some(line)),
                None => (&self.down.path, None),
            },
            _ => (&self.down.path, line),
        };
        finding(FindingKind::DataLoss, self.m, message)
            .direction(Direction::Down)
            .object(object, Some(table), column)
            .at(path, line)
    }

    fn table(&self, rows: i64) -> Finding {
        let name = self.old.qualified();
        let w = self.words;
        self.base(
            name.clone(),
            None,
            format!("up→down lost {} {name} and its {rows} {}", w.table, w.rows),
        )
        .detail("rows_before", rows)
        .detail("rows_after", 0)
    }

    /// The table is there again, without any of its rows (dropped and created anew).
    fn emptied(&self, rows: i64) -> Finding {
        let name = self.old.qualified();
        let w = self.words;
        let message = format!(
            "up→down left {} {name} empty: its {rows} {} are lost",
            w.table, w.rows
        );
        self.base(name, None, message)
            .detail("rows_before", rows)
            .detail("rows_after", 0)
            .detail("recreated_empty", true)
    }

    fn column(&self, column: &str, values: Option<i64>, (before, after): (i64, i64)) -> Finding {
        let name = self.old.qualified();
        let message = format!(
            "up→down lost {} {name}.{column} and its {}",
            self.words.column,
            counted_values(values)
        );
        // The line is where the table is touched: a dropped column has no line of its own.
        let mut f = self.base(format!("{name}.{column}"), None, message);
        f.column = Some(column.to_string());
        f.detail("rows_before", before)
            .detail("rows_after", after)
            .detail("values_lost", values)
    }

    /// Changed columns, without a row-level comparison to say more.
    fn columns(&self, changed: &[String], (before, after): (i64, i64)) -> Finding {
        let name = self.old.qualified();
        let w = self.words;
        let message = format!(
            "up→down changed data in {name}: {before} {} before, {after} after; changed {}s: {}",
            w.rows,
            w.column,
            changed.join(", ")
        );
        self.base(name, None, message)
            .detail("rows_before", before)
            .detail("rows_after", after)
            .detail("changed_columns", changed.to_vec())
    }

    /// From a row-level comparison: rows lost or added (one finding for the table), else
    /// values changed per column.
    fn rows(&self, rows: &RowDiff, gone: &[(String, Option<i64>)]) -> Vec<Finding> {
        let name = self.old.qualified();
        if rows.rows_missing > 0 || rows.rows_added > 0 {
            let how = if rows.keyed {
                ""
            } else {
                " (no primary key: compared as whole rows)"
            };
            let mut message = format!(
                "up→down lost {} of {} {} in {name}{how}",
                rows.rows_missing, rows.rows_before, self.words.rows
            );
            if rows.rows_added > 0 {
                message.push_str(&format!(" and added {}", rows.rows_added));
            }
            let per_column: BTreeMap<&String, i64> =
                rows.columns.iter().map(|(c, d)| (c, d.changed)).collect();
            let changed: i64 = rows.columns.values().map(|c| c.changed).sum();
            let mut f = self
                .base(name, None, message)
                .detail("rows_before", rows.rows_before)
                .detail("rows_after", rows.rows_after)
                .detail("rows_missing", rows.rows_missing)
                .detail("rows_added", rows.rows_added)
                .detail("values_changed", changed)
                .detail("changed_columns", json!(per_column))
                .detail("sample_keys", masked(&rows.missing_sample));
            if !rows.missing_rows.is_empty() {
                f = f.detail("sample", missing_rows(&rows.missing_rows, self.real));
            }
            return vec![f];
        }
        rows.columns
            .iter()
            .filter(|(column, _)| !gone.iter().any(|(c, _)| c == *column))
            .map(|(column, diff)| {
                // The server stamps it with the time of every UPDATE of its row: a down that
                // restores every value it can write still moves it. Worth a word, not an error.
                let stamped = self.old.column(column).is_some_and(|c| c.auto_updated);
                let mut message = format!(
                    "up→down changed {} of {} in {name}.{column}",
                    diff.changed,
                    plural(rows.rows_before, "value")
                );
                if stamped {
                    message.push_str(
                        " (ON UPDATE CURRENT_TIMESTAMP: it now holds when the up and down \
                         touched those rows)",
                    );
                }
                let mut f = self
                    .base(format!("{name}.{column}"), Some(column), message)
                    .detail("rows_before", rows.rows_before)
                    .detail("rows_after", rows.rows_after)
                    .detail("values_changed", diff.changed)
                    .detail("sample_keys", masked(&diff.sample));
                if stamped {
                    f = f.severity(Severity::Warning).detail("auto_updated", true);
                }
                match diff.examples.is_empty() {
                    true => f,
                    false => f.detail("examples", examples(column, &diff.examples, self.real)),
                }
            })
            .collect()
    }
}

/// `destructive_change` findings about one table after an up.
struct Destroyed<'a> {
    m: &'a Migration,
    old: &'a Table,
    words: Words,
}

impl Destroyed<'_> {
    /// A finding at the statement that does `verbs` to the table (or its column).
    fn finding(
        &self,
        object: String,
        column: Option<&str>,
        verbs: &[&str],
        message: String,
    ) -> Finding {
        let table = self.old.name.as_str();
        let words: Vec<&str> = std::iter::once(table).chain(column).collect();
        finding(FindingKind::DestructiveChange, self.m, message)
            .direction(Direction::Up)
            .object(object, Some(table), column)
            .at(&self.m.up.path, self.m.up.line_doing(&words, verbs))
    }

    fn table(&self, name: &str, rows: i64) -> Finding {
        let w = self.words;
        self.finding(
            name.to_string(),
            None,
            &["drop"],
            format!("up drops {} {name} holding {rows} {}", w.table, w.rows),
        )
        .detail("rows_before", json!(rows))
    }

    fn rows(&self, name: &str, before: i64, after: i64) -> Finding {
        let message = format!(
            "up deletes {} of {before} {} from {name}",
            before - after,
            self.words.rows
        );
        self.finding(name.to_string(), None, &["delete", "truncate"], message)
            .detail("rows_before", json!(before))
            .detail("rows_after", json!(after))
    }

    fn column(&self, name: &str, column: &str, values: Option<i64>) -> Finding {
        let message = format!(
            "up drops {} {name}.{column} holding {}",
            self.words.column,
            counted_values(values)
        );
        self.finding(format!("{name}.{column}"), Some(column), &["drop"], message)
            .detail("values_lost", Value::from(values))
    }
}
