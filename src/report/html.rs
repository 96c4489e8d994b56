//! One self-contained HTML page (no network, no external assets): a summary, a timeline of
//! the migrations with their phase timings, and the findings with highlighted diffs and masked
//! samples, filterable by kind and severity. The filter state lives in the URL fragment
//! (`#kind=data_loss&severity=error,warning`), so a filtered view can be linked.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;

use super::phases::findings_of;
use super::{Finding, MigrationResult, MigrationStatus, Report, Severity, plural};

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = r#"
:root { --error: #c62828; --warning: #b26a00; --info: #1565c0; --ok: #2e7d32; --muted: #666; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; }
.verdict { font-size: .8em; padding: .1em .5em; border-radius: .3em; color: #fff; }
.verdict.pass { background: var(--ok); } .verdict.fail { background: var(--error); }
.meta { color: var(--muted); margin-top: 0; }
.summary { display: flex; gap: 1rem; list-style: none; padding: 0; }
.summary li { padding: .3rem .7rem; border-radius: .3rem; background: #f4f4f4; }
table.timeline { border-collapse: collapse; width: 100%; }
.timeline td { padding: .25rem .5rem; border-bottom: 1px solid #eee; vertical-align: middle; }
.timeline .mark { width: 1.5rem; text-align: center; }
table.statements { border-collapse: collapse; width: 100%; }
.statements td, .statements th { padding: .25rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; text-align: left; }
.statements pre { margin: 0; white-space: pre-wrap; }
.statements p { margin: .2rem 0 0; color: #555; }
.bars { width: 320px; white-space: nowrap; }
.bar { display: inline-block; height: .8rem; margin-right: 1px; border-radius: 2px; min-width: 2px; }
.bar.up { background: #42a5f5; } .bar.down { background: #ab47bc; } .bar.reup { background: #26a69a; }
.legend .bar { vertical-align: middle; width: 12px; }
.times { color: var(--muted); font-variant-numeric: tabular-nums; }
.status-error .mark, .sev-error { color: var(--error); } .status-warning .mark, .sev-warning { color: var(--warning); }
.status-ok .mark { color: var(--ok); } .status-skipped { color: var(--muted); }
#filters { display: flex; gap: 1.5rem; align-items: center; background: #f7f7f7; padding: .6rem .8rem; border-radius: .3rem; }
.finding { border: 1px solid #ddd; border-left: 4px solid var(--info); border-radius: .3rem; padding: .5rem .9rem; margin: .8rem 0; }
.finding[data-severity="error"] { border-left-color: var(--error); } .finding[data-severity="warning"] { border-left-color: var(--warning); }
.finding h3 { margin: .2rem 0; font-size: 1rem; } .finding .where { color: var(--muted); font-family: ui-monospace, monospace; }
pre.diff { background: #fafafa; padding: .5rem; overflow-x: auto; font-size: 12px; }
.diff .add { color: #1b5e20; background: #e8f5e9; display: block; } .diff .del { color: #b71c1c; background: #ffebee; display: block; }
.diff .hunk { color: #1565c0; display: block; } .diff .ctx { display: block; }
table.sample { border-collapse: collapse; font-size: 12px; } .sample td, .sample th { border: 1px solid #ddd; padding: .15rem .4rem; }
.allowed { color: var(--muted); font-style: italic; }
pre.statement { background: #f3f6fa; border-left: 3px solid #90a4ae; padding: .4rem .6rem; font-size: 12px; overflow-x: auto; }
pre.allow { background: #fafafa; padding: .3rem .6rem; font-size: 12px; display: inline-block; margin: 0; }
.help b { color: var(--ok); } .accept, .explain { color: var(--muted); margin: .3rem 0; }
details.group { margin: .6rem 0; } details.group > summary { cursor: pointer; padding: .3rem 0; font-size: 1rem; }
table.deploy { border-collapse: collapse; width: 100%; font-size: 13px; }
.deploy td { padding: .2rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; }
.deploy .migration td { background: #f4f6f8; font-weight: 600; }
.deploy code { white-space: pre-wrap; } .deploy .notes { color: var(--muted); }
.bar.lock-rw { background: var(--error); } .bar.lock-w { background: var(--warning); } .bar.lock-none { background: #90a4ae; }
"#;

const SCRIPT: &str = r#"
(function () {
  var kind = document.getElementById('kind');
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#filters input[name=severity]'));
  var findings = Array.prototype.slice.call(document.querySelectorAll('.finding'));
  var counter = document.getElementById('shown');
  function apply(updateHash) {
    var severities = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var shown = 0;
    findings.forEach(function (f) {
      var visible = severities.indexOf(f.dataset.severity) >= 0 && (kind.value === 'all' || kind.value === f.dataset.kind);
      f.hidden = !visible;
      if (visible) { shown += 1; }
    });
    counter.textContent = shown + ' of ' + findings.length + ' findings shown';
    document.body.dataset.shown = String(shown);
    if (updateHash) {
      history.replaceState(null, '', '#kind=' + kind.value + '&severity=' + severities.join(','));
    }
  }
  function fromHash() {
    var params = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (pair) {
      var kv = pair.split('=');
      if (kv[0]) { params[kv[0]] = decodeURIComponent(kv[1] || ''); }
    });
    if (params.kind !== undefined) {
      var known = Array.prototype.some.call(kind.options, function (o) { return o.value === params.kind; });
      kind.value = known ? params.kind : 'all';
    }
    if (params.severity !== undefined) {
      var wanted = params.severity.split(',');
      boxes.forEach(function (b) { b.checked = wanted.indexOf(b.value) >= 0; });
    }
    apply(false);
  }
  kind.addEventListener('change', function () { apply(true); });
  boxes.forEach(function (b) { b.addEventListener('change', function () { apply(true); }); });
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
"#;

fn diff_html(diff: &str) -> String {
    let mut out = String::from("<pre class=\"diff\">");
    for line in diff.lines() {
        let class = if line.starts_with("+++") || line.starts_with("---") {
            "ctx"
        } else if line.starts_with('+') {
            "add"
        } else if line.starts_with('-') {
            "del"
        } else if line.starts_with("@@") {
            "hunk"
        } else {
            "ctx"
        };
        let _ = write!(out, "<span class=\"{class}\">{}</span>", esc(line));
    }
    out.push_str("</pre>");
    out
}

fn sample_table(rows: &[serde_json::Value]) -> String {
    let mut columns: Vec<String> = Vec::new();
    for row in rows {
        if let Some(map) = row.as_object() {
            for key in map.keys() {
                if !columns.contains(key) {
                    columns.push(key.clone());
                }
            }
        }
    }
    let mut out = String::from("<table class=\"sample\"><tr>");
    for c in &columns {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr>");
    for row in rows {
        out.push_str("<tr>");
        for c in &columns {
            let cell = match row.get(c) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => "NULL".into(),
                Some(v) => v.to_string(),
            };
            let _ = write!(out, "<td>{}</td>", esc(&cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

/// The statement quoted, the help line, the line that accepts it, a link to the kind's page.
fn lesson_html(f: &Finding) -> String {
    let mut out = String::new();
    if let Some(sql) = &f.statement {
        let _ = writeln!(out, "<pre class=\"statement\">{}</pre>", esc(sql));
    }
    if let Some(help) = &f.help {
        let _ = writeln!(out, "<p class=\"help\"><b>help:</b> {}</p>", esc(help));
    }
    if let Some(allow) = &f.allow {
        let _ = writeln!(
            out,
            "<p class=\"accept\">to accept it:</p><pre class=\"allow\">{}</pre>",
            esc(allow)
        );
    }
    let _ = writeln!(
        out,
        "<p class=\"explain\"><a href=\"{}\">{}</a></p>",
        esc(&f.help_url),
        esc(&f.explain)
    );
    out
}

fn finding_html(f: &Finding) -> String {
    let mut out = format!(
        "<article class=\"finding\" data-kind=\"{}\" data-severity=\"{}\">\n<h3><span class=\"sev-{}\">{}</span> <code>{}</code>{}</h3>\n",
        f.kind.id(),
        f.severity.as_str(),
        f.severity.as_str(),
        f.severity.as_str(),
        f.kind.id(),
        f.migration
            .as_deref()
            .map(|v| format!(
                " · {} {}",
                esc(v),
                esc(f.migration_name.as_deref().unwrap_or(""))
            ))
            .unwrap_or_default()
    );
    if let Some(file) = &f.file {
        let place = f
            .line
            .map(|l| format!("{file}:{l}"))
            .unwrap_or_else(|| file.clone());
        let _ = writeln!(out, "<p class=\"where\">{}</p>", esc(&place));
    }
    let _ = writeln!(out, "<p class=\"message\">{}</p>", esc(&f.message));
    let detail = |key: &str| f.get_detail(key);
    if let Some(reason) = detail("allowed").and_then(|v| v.as_str()) {
        let _ = writeln!(out, "<p class=\"allowed\">allowed: {}</p>", esc(reason));
    }
    if let Some(keys) = detail("sample_keys")
        .and_then(|v| v.as_array())
        .filter(|k| !k.is_empty())
    {
        let keys: Vec<String> = keys.iter().filter_map(|k| k.as_str()).map(esc).collect();
        let _ = writeln!(
            out,
            "<p>sample keys: <code>{}</code></p>",
            keys.join("</code>, <code>")
        );
    }
    let examples = super::examples::example_rows(f);
    if !examples.is_empty() {
        out.push_str("<table class=\"sample\"><tr><th>row</th><th>before</th><th>after</th></tr>");
        for (key, before, after) in examples {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&key),
                esc(&before),
                esc(&after)
            );
        }
        out.push_str("</table>");
    }
    if let Some(rows) = detail("sample")
        .and_then(|v| v.as_array())
        .filter(|r| !r.is_empty())
    {
        out.push_str(&sample_table(rows));
    }
    if let Some(left) = detail("left_behind").and_then(|v| v.as_str()) {
        out.push_str("<p>left behind by the statements that ran:</p>");
        out.push_str(&diff_html(left));
    }
    if let Some(diff) = detail("diff").and_then(|v| v.as_str()) {
        out.push_str(&diff_html(diff));
    }
    out.push_str(&lesson_html(f));
    out.push_str("</article>\n");
    out
}

pub fn render_html(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let mut page = header(report);
    page.push_str(&timeline(report));
    page.push_str(&deploy(report));
    page.push_str(&findings(report));
    let _ = write!(page, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out.write_all(page.as_bytes())
}

/// The page's head, title and verdict, what ran where, and the counts.
fn header(report: &Report) -> String {
    let verdict = report.status.as_str();
    let s = &report.summary;
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>driftless {} — {verdict}</title>\n<style>{STYLE}</style>\n</head>\n<body data-shown=\"{}\">\n",
        esc(&report.command),
        report.findings.len()
    );
    let _ = writeln!(
        page,
        "<header><h1>driftless {} <span class=\"verdict {verdict}\">{verdict}</span></h1>\n<p class=\"meta\">{} {} · {} · seed {} · started {} · {:.1} s</p>",
        esc(&report.command),
        esc(&report.engine),
        esc(report.server_version.as_deref().unwrap_or("")),
        esc(report.migration_format.as_deref().unwrap_or("")),
        report
            .seed
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into()),
        esc(&report.started_at),
        report.duration_ms as f64 / 1000.0
    );
    let _ = writeln!(
        page,
        "<ul class=\"summary\"><li class=\"sev-error\">{}</li><li class=\"sev-warning\">{}</li><li>{}</li><li>{}</li><li>{}</li></ul></header>",
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        plural(s.infos, "info"),
        plural(s.migrations, "migration"),
        plural(s.checks_run, "check")
    );
    page
}

/// The migrations section: a row per migration with bars scaled to the slowest one.
fn timeline(report: &Report) -> String {
    let slowest = report
        .migrations
        .iter()
        .map(|m| {
            [m.up_ms, m.down_ms, m.reup_ms]
                .iter()
                .flatten()
                .sum::<u64>()
        })
        .max()
        .unwrap_or(1)
        .max(1);
    let mut page = String::from(
        "<section id=\"timeline\"><h2>Migrations</h2>\n<p class=\"legend\"><span class=\"bar up\"></span> up <span class=\"bar down\"></span> down <span class=\"bar reup\"></span> re-up</p>\n<table class=\"timeline\">\n",
    );
    for m in &report.migrations {
        page.push_str(&timeline_row(report, m, slowest));
    }
    page.push_str("</table></section>\n");
    page
}

fn timeline_row(report: &Report, m: &MigrationResult, slowest: u64) -> String {
    let worst = findings_of(&report.findings, m)
        .iter()
        .map(|f| f.severity)
        .max();
    let (class, mark) = match (m.status, worst) {
        (MigrationStatus::Skipped, _) => ("skipped", "–"),
        (MigrationStatus::Interrupted, _) => ("interrupted", "■"),
        (MigrationStatus::Error, _) | (_, Some(Severity::Error)) => ("error", "✗"),
        (_, Some(Severity::Warning)) => ("warning", "!"),
        _ => ("ok", "✓"),
    };
    let bar = |name: &str, ms: Option<u64>| {
        ms.map(|ms| {
            format!(
                "<span class=\"bar {name}\" style=\"width:{}px\" title=\"{name} {ms} ms\"></span>",
                (ms * 300 / slowest).max(2)
            )
        })
        .unwrap_or_default()
    };
    let times: Vec<String> = [("up", m.up_ms), ("down", m.down_ms), ("re-up", m.reup_ms)]
        .iter()
        .filter_map(|(n, ms)| ms.map(|ms| format!("{n} {ms} ms")))
        .collect();
    format!(
        "<tr class=\"status-{class}\" data-status=\"{}\"><td class=\"mark\">{mark}</td><td><code>{}</code> {}</td><td class=\"bars\">{}{}{}</td><td class=\"times\">{}</td></tr>\n",
        serde_json::to_value(m.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        esc(&m.version),
        esc(&m.name),
        bar("up", m.up_ms),
        bar("down", m.down_ms),
        bar("reup", m.reup_ms),
        if m.status == MigrationStatus::Skipped {
            "skipped".to_string()
        } else if m.status == MigrationStatus::Interrupted {
            "interrupted".to_string()
        } else {
            times.join(" · ")
        }
    )
}

/// `dry-run`: the deploy as a chart, a row per statement with a bar scaled to the slowest and
/// coloured by what its lock blocked, then the data each table changed.
fn deploy(report: &Report) -> String {
    if report.timeline.is_empty() {
        return String::new();
    }
    let slowest = report
        .timeline
        .iter()
        .flat_map(|e| e.statements.iter().map(|s| s.ms))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut page = String::from(
        "<section id=\"deploy\"><h2>Deploy</h2>\n<p class=\"legend\"><span class=\"bar lock-rw\"></span> blocks reads and writes <span class=\"bar lock-w\"></span> blocks writes <span class=\"bar lock-none\"></span> blocks nothing</p>\n<table class=\"deploy\">\n",
    );
    for entry in &report.timeline {
        let _ = writeln!(
            page,
            "<tr class=\"migration\"><td colspan=\"3\"><code>{}</code> {}</td><td class=\"times\">{} ms</td></tr>",
            esc(&entry.migration),
            esc(&entry.migration_name),
            entry.ms
        );
        for s in &entry.statements {
            let lock = match s.blocks.as_deref() {
                Some("reads and writes") => "lock-rw",
                Some(b) if !b.is_empty() => "lock-w",
                _ => "lock-none",
            };
            let _ = writeln!(
                page,
                "<tr class=\"statement\"><td class=\"times\">line {}</td><td><code>{}</code><div class=\"notes\">{}</div></td><td class=\"bars\"><span class=\"bar {lock}\" style=\"width:{}px\"></span></td><td class=\"times\">{} ms</td></tr>",
                s.line,
                esc(&s.sql),
                esc(&super::deploy::notes(s).join(" · ")),
                (s.ms * 300 / slowest).max(2),
                s.ms
            );
        }
    }
    page.push_str("</table>\n<h3>Data</h3>\n");
    if report.data_changes.is_empty() {
        page.push_str("<p>No rows or values changed.</p>\n");
    }
    for change in &report.data_changes {
        let _ = writeln!(
            page,
            "<p><code>{}</code> {}</p>",
            esc(&change.table),
            esc(&super::deploy::describe(change).join(" · "))
        );
    }
    page.push_str("</section>\n");
    page
}

/// The findings section: the filter form, then every finding.
fn findings(report: &Report) -> String {
    let kinds: BTreeSet<&str> = report.findings.iter().map(|f| f.kind.id()).collect();
    let mut page = String::from(
        "<section id=\"findings\"><h2>Findings</h2>\n<form id=\"filters\" onsubmit=\"return false\">\n<span>severity:",
    );
    for severity in ["error", "warning", "info"] {
        let _ = write!(
            page,
            " <label><input type=\"checkbox\" name=\"severity\" value=\"{severity}\" checked> {severity}</label>"
        );
    }
    page.push_str("</span>\n<label>kind: <select id=\"kind\"><option value=\"all\">all</option>");
    for kind in &kinds {
        let _ = write!(page, "<option value=\"{kind}\">{kind}</option>");
    }
    let _ = writeln!(
        page,
        "</select></label>\n</form>\n<p id=\"shown\">{n} of {n} findings shown</p>",
        n = report.findings.len()
    );
    if report.findings.is_empty() {
        page.push_str("<p>No findings.</p>\n");
    }
    for (title, group) in groups(report) {
        page.push_str(&group_html(&title, &group));
    }
    page.push_str("</section>\n");
    page
}

/// The findings by migration (the run's own findings last), in the report's order within
/// each: a migration's block comes where its first finding is, so errors lead.
fn groups(report: &Report) -> Vec<(String, Vec<&Finding>)> {
    let mut groups: Vec<(Option<&str>, String, Vec<&Finding>)> = Vec::new();
    for f in &report.findings {
        let key = f.migration.as_deref();
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, found)) => found.push(f),
            None => {
                let title = match key {
                    Some(version) => format!(
                        "{version} {}",
                        f.migration_name.as_deref().unwrap_or_default()
                    ),
                    None => "the whole run".to_string(),
                };
                groups.push((key, title, vec![f]));
            }
        }
    }
    let (mut by_migration, rest): (Vec<_>, Vec<_>) =
        groups.into_iter().partition(|(k, _, _)| k.is_some());
    by_migration.extend(rest);
    by_migration.into_iter().map(|(_, t, f)| (t, f)).collect()
}

/// A migration's findings in one block: open when it holds an error, folded otherwise.
fn group_html(title: &str, findings: &[&Finding]) -> String {
    let count = |severity: Severity| findings.iter().filter(|f| f.severity == severity).count();
    let counts: Vec<String> = [
        (Severity::Error, "error"),
        (Severity::Warning, "warning"),
        (Severity::Info, "info"),
    ]
    .into_iter()
    .filter(|(s, _)| count(*s) > 0)
    .map(|(s, word)| {
        format!(
            "<span class=\"sev-{word}\">{}</span>",
            plural(count(s), word)
        )
    })
    .collect();
    let open = if count(Severity::Error) > 0 {
        " open"
    } else {
        ""
    };
    let mut out = format!(
        "<details class=\"group\"{open}><summary><b>{}</b> · {}</summary>\n",
        esc(title.trim()),
        counts.join(" · ")
    );
    for f in findings {
        out.push_str(&finding_html(f));
    }
    out.push_str("</details>\n");
    out
}

#[cfg(test)]
mod deploy_tests {
    #[test]
    fn dry_run_shows_each_statement_whole_with_every_lock() {
        let mut out = Vec::new();
        super::render_html(&crate::report::fixtures::dry_run(), &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(
            page.contains(
                "<code>ALTER TABLE orders\n    ADD CONSTRAINT orders_user_fk\n    FOREIGN KEY (user_id) REFERENCES users (id)</code>"
            ),
            "{page}"
        );
        assert!(
            page.contains("AccessExclusiveLock on index public.users_pkey of public.users, blocks reads and writes"),
            "{page}"
        );
    }
}
