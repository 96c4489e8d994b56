//! driftless stands on its own: the repository needs nothing beside it, the binary carries its
//! schema, completions and man pages, the release archive works from anywhere, and the CI
//! snippets we publish install driftless and gate on findings exactly as written.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use saphyr::{LoadableYamlNode, Yaml};
use serde_json::Value;
use util::{assert_no_leftovers, driftless, repo, sandbox_dir};

/// The PATH of a plain CI runner: no cargo bin dir, so nothing finds a driftless we did not
/// install in the test.
const RUNNER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Builds the release archive from the test binary into `out`; returns its path.
fn dist(out: &Path) -> PathBuf {
    let output = Command::new("bash")
        .arg(repo().join("scripts/dist.sh"))
        .arg(env!("CARGO_BIN_EXE_driftless"))
        .arg(out)
        .output()
        .expect("scripts/dist.sh runs");
    assert!(
        output.status.success(),
        "dist.sh failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// The archive's file name for this machine.
fn archive_name() -> String {
    let target = String::from_utf8(
        Command::new("rustc")
            .arg("-vV")
            .output()
            .expect("rustc -vV")
            .stdout,
    )
    .unwrap()
    .lines()
    .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
    .expect("rustc host");
    format!("driftless-{}-{target}", version())
}

#[test]
fn schema_prints_the_repository_copy_and_validates_a_report() {
    let run = driftless(&["schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let on_disk = std::fs::read_to_string(repo().join("schema/report.schema.json")).unwrap();
    assert_eq!(
        run.stdout, on_disk,
        "the binary carries schema/report.schema.json"
    );
    let schema: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(schema["properties"]["version"]["const"], 1);
    // A real report satisfies it (util validates every JSON report the tests read).
    let report = util::check_json(&["--migrations", &util::demo("data_loss")]).json();
    assert_eq!(report["status"], "fail");
}

#[test]
fn completions_and_man_pages_come_from_the_binary() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef driftless"),
        ("fish", "complete -c driftless"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = driftless(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(
            run.stdout.contains(marker),
            "{shell} script: {}",
            &run.stdout[..200.min(run.stdout.len())]
        );
        assert!(
            run.stdout.contains("dry-run"),
            "{shell} completes subcommands"
        );
    }
    let man = driftless(&["man"]);
    assert_eq!(man.code, 0);
    assert!(man.stdout.contains(".TH driftless 1"));
    let dir = tempfile::tempdir().unwrap();
    let run = driftless(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let check = std::fs::read_to_string(dir.path().join("driftless-check.1")).unwrap();
    assert!(
        check.contains("\\-\\-migrations"),
        "the check page lists its flags"
    );
    let bad = driftless(&["completions", "tcsh"]);
    assert_eq!(bad.code, 2, "an unknown shell is a usage error");
}

#[test]
fn the_release_archive_runs_the_demo_from_a_temp_dir() {
    let out = tempfile::tempdir().unwrap();
    let archive = dist(out.path());
    assert_eq!(
        archive.file_name().unwrap().to_string_lossy(),
        format!("{}.tar.gz", archive_name())
    );
    let sums = Command::new("sha256sum")
        .arg("-c")
        .arg(format!("{}.tar.gz.sha256", archive_name()))
        .current_dir(out.path())
        .output()
        .unwrap();
    assert!(
        sums.status.success(),
        "the .sha256 beside the archive matches"
    );

    let unpacked = tempfile::tempdir().unwrap();
    let tar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(tar.success());
    let root = unpacked.path().join(archive_name());
    for file in [
        "driftless",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "README.md",
        "schema/report.schema.json",
        "docs/report.md",
        "completions/driftless.bash",
        "completions/_driftless",
        "completions/driftless.fish",
        "completions/_driftless.ps1",
        "man/driftless.1",
        "man/driftless-check.1",
        "examples/postgres/data_loss",
    ] {
        assert!(root.join(file).exists(), "the archive holds {file}");
    }
    let printed = Command::new(root.join("driftless"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&printed.stdout).trim(),
        format!("driftless {}", version())
    );
    // The demo, run from the unpacked folder with a runner's PATH.
    let tmp = sandbox_dir();
    let demo = Command::new(root.join("driftless"))
        .args([
            "check",
            "--no-lint",
            "--migrations",
            "examples/postgres/data_loss",
            "--format",
            "json",
        ])
        .current_dir(&root)
        .env("PATH", RUNNER_PATH)
        .env("DRIFTLESS_TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_no_leftovers(tmp.path());
    assert_eq!(
        demo.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let report: Value = serde_json::from_slice(&demo.stdout).unwrap();
    util::assert_valid_report(&report);
    assert!(util::kinds(&report).contains(&"data_loss".to_string()));
}

/// Every file git tracks (or, outside a checkout, every file under the repository).
fn tracked_files() -> Vec<PathBuf> {
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo())
        .output()
        .ok()
        .filter(|o| o.status.success() && !o.stdout.is_empty());
    match listed {
        Some(out) => out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| repo().join(String::from_utf8_lossy(p).as_ref()))
            .collect(),
        None => walk(&repo()),
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn nothing_in_the_repository_reads_a_file_outside_it() {
    // The team's notes sit beside the repository on some machines; nothing may depend on them.
    // Built from parts, so that this file does not name them itself.
    let outside = [
        ["..", "shared"].join("/"),
        ["REPORT", "CONTRACT.md"].join("-"),
    ];
    let mut offenders = Vec::new();
    for path in tracked_files() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for needle in &outside {
            if text.contains(needle.as_str()) {
                offenders.push(format!("{} mentions {needle}", path.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
    // Every document the README and ARCHITECTURE.md link to is in the repository.
    for doc in [
        "README.md",
        "ARCHITECTURE.md",
        "docs/ci.md",
        "docs/report.md",
    ] {
        let text = std::fs::read_to_string(repo().join(doc)).unwrap();
        let base = repo().join(doc);
        let base = base.parent().unwrap();
        for link in text
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
        {
            if link.starts_with("http") || link.starts_with('#') || link.is_empty() {
                continue;
            }
            let target = link.split('#').next().unwrap();
            assert!(
                base.join(target).exists(),
                "{doc} links to {link}, which is not in the repository"
            );
        }
    }
}

#[test]
fn a_clone_with_nothing_beside_it_runs_the_demo_and_validates_against_its_own_schema() {
    let clone_parent = tempfile::tempdir().unwrap();
    let clone = clone_parent.path().join("driftless");
    let status = Command::new("git")
        .args(["clone", "-q", "--no-hardlinks"])
        .arg(repo())
        .arg(&clone)
        .status();
    let Some(status) = status.ok().filter(|s| s.success()) else {
        eprintln!("SKIPPED: the repository is not a git checkout, so there is nothing to clone");
        return;
    };
    assert!(status.success());
    // The clone holds only committed files: all a user gets. The binary and the tests must
    // find everything there.
    let schema_path = clone.join("schema/report.schema.json");
    assert!(schema_path.is_file(), "the schema is committed");
    let tmp = sandbox_dir();
    let run = Command::new(env!("CARGO_BIN_EXE_driftless"))
        .args([
            "check",
            "--no-lint",
            "--format",
            "json",
            "--migrations",
            "migrations-under-test/postgres/data_loss",
        ])
        .current_dir(&clone)
        .env("DRIFTLESS_TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert_no_leftovers(tmp.path());
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(
        validator.is_valid(&report),
        "the clone's schema accepts the report"
    );
}

// ---- CI snippets: run the commands they contain, as the CI system would ----

/// A CI workspace: the bundled example as `db/migrations`, a dist archive published under
/// `<downloads>/v<version>/`, and the files a runner provides.
struct Workspace {
    _dir: tempfile::TempDir,
    root: PathBuf,
    downloads: PathBuf,
    sandbox: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("work");
        let migrations = root.join("db/migrations");
        std::fs::create_dir_all(&migrations).unwrap();
        for entry in std::fs::read_dir(repo().join(util::demo("data_loss")))
            .unwrap()
            .flatten()
        {
            std::fs::copy(entry.path(), migrations.join(entry.file_name())).unwrap();
        }
        let downloads = dir.path().join("downloads");
        dist(&downloads.join(format!("v{}", version())));
        Workspace {
            _dir: dir,
            root,
            downloads,
            sandbox: sandbox_dir(),
        }
    }

    fn download_url(&self) -> String {
        format!("file://{}", self.downloads.display())
    }

    /// Runs `script` with bash as a CI step does (`-e -o pipefail`), in the workspace.
    fn run(&self, script: &str, env: &[(String, String)], path: &str) -> (i32, String, String) {
        let output = Command::new("bash")
            .args([
                "--noprofile",
                "--norc",
                "-e",
                "-o",
                "pipefail",
                "-c",
                script,
            ])
            .current_dir(&self.root)
            .env_clear()
            .env("PATH", path)
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("DRIFTLESS_TMPDIR", self.sandbox.path())
            .env("CI", "true")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

fn load_yaml(path: &str) -> Yaml<'static> {
    let text: &'static str = Box::leak(
        std::fs::read_to_string(repo().join(path))
            .unwrap()
            .into_boxed_str(),
    );
    Yaml::load_from_str(text).unwrap().remove(0)
}

fn text(node: &Yaml) -> String {
    if let Some(s) = node.as_str() {
        return s.to_string();
    }
    if let Some(i) = node.as_integer() {
        return i.to_string();
    }
    if let Some(b) = node.as_bool() {
        return b.to_string();
    }
    String::new()
}

/// Replaces `${{ inputs.x }}` and `${{ github.x }}` as the Actions runner would.
fn expand(value: &str, inputs: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expr = rest[start + 3..end].trim();
        let replaced = match expr.strip_prefix("inputs.") {
            Some(name) => inputs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("action.yml uses an undeclared input {name}")),
            None if expr.starts_with("github.") => String::new(),
            None => panic!("an expression the test does not know: {expr}"),
        };
        out.push_str(&replaced);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_github_action_installs_driftless_and_fails_the_job_on_findings() {
    let ws = Workspace::new();
    let action = load_yaml("action.yml");
    assert_eq!(text(&action["runs"]["using"]), "composite");
    // Inputs at their defaults, then what a workflow on the example would set.
    let mut inputs: Vec<(String, String)> = action["inputs"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (text(k), text(&v["default"])))
        .collect();
    let set = |inputs: &mut Vec<(String, String)>, key: &str, value: String| {
        inputs.iter_mut().find(|(k, _)| k == key).expect(key).1 = value;
    };
    set(&mut inputs, "migrations", "db/migrations".into());
    set(&mut inputs, "download-url", ws.download_url());
    set(&mut inputs, "version", version().into());

    let runner_temp = ws.root.parent().unwrap().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let files = |name: &str| runner_temp.join(name);
    for f in ["path", "summary", "output"] {
        std::fs::write(files(f), "").unwrap();
    }
    let runner_env = vec![
        ("RUNNER_OS".to_string(), "Linux".to_string()),
        ("RUNNER_ARCH".into(), "X64".into()),
        ("RUNNER_TEMP".into(), runner_temp.display().to_string()),
        ("GITHUB_PATH".into(), files("path").display().to_string()),
        (
            "GITHUB_STEP_SUMMARY".into(),
            files("summary").display().to_string(),
        ),
        (
            "GITHUB_OUTPUT".into(),
            files("output").display().to_string(),
        ),
    ];
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let mut last = (0, String::new(), String::new());
    for step in steps {
        assert_eq!(text(&step["shell"]), "bash", "every step runs in bash");
        let mut env = runner_env.clone();
        if let Some(map) = step["env"].as_mapping() {
            env.extend(
                map.iter()
                    .map(|(k, v)| (text(k), expand(&text(v), &inputs))),
            );
        }
        // Later steps see what earlier ones added to GITHUB_PATH, first added first.
        let mut path: Vec<String> = std::fs::read_to_string(files("path"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        path.reverse();
        path.push(RUNNER_PATH.to_string());
        last = ws.run(&text(&step["run"]), &env, &path.join(":"));
        let name = text(&step["name"]);
        if name != "driftless check" {
            assert_eq!(last.0, 0, "step `{name}` failed:\n{}\n{}", last.1, last.2);
        }
    }
    assert_no_leftovers(ws.sandbox.path());
    let (code, stdout, stderr) = last;
    assert_eq!(
        code, 1,
        "the check step fails the job on a data loss:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("::error file=db/migrations/"),
        "annotations on stdout:\n{stdout}"
    );
    let summary = std::fs::read_to_string(files("summary")).unwrap();
    assert!(
        summary.contains("data_loss"),
        "the job summary lists the finding:\n{summary}"
    );
    let outputs = std::fs::read_to_string(files("output")).unwrap();
    assert!(outputs.contains("exit-code=1"), "{outputs}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.root.join("driftless.json")).unwrap())
            .unwrap();
    util::assert_valid_report(&report);
    for artifact in ["driftless.sarif", "driftless-junit.xml", "driftless.html"] {
        assert!(ws.root.join(artifact).is_file(), "{artifact} is written");
    }
}

#[test]
fn the_gitlab_template_installs_driftless_and_writes_junit_and_code_quality() {
    let ws = Workspace::new();
    let doc = load_yaml("docs/ci/gitlab-ci.yml");
    let job = &doc["driftless"];
    let mut env: Vec<(String, String)> = job["variables"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (text(k), text(v)))
        .collect();
    for (k, v) in env.iter_mut() {
        if k == "DRIFTLESS_DOWNLOAD_URL" {
            *v = ws.download_url();
        }
        if k == "DRIFTLESS_VERSION" {
            assert_eq!(v, version(), "the template installs the current version");
        }
    }
    // GitLab runs before_script and script as one shell session, stopping at the first failure.
    let lines: Vec<String> = ["before_script", "script"]
        .iter()
        .flat_map(|key| job[*key].as_sequence().unwrap().iter().map(text))
        .collect();
    let (code, stdout, stderr) = ws.run(&lines.join("\n"), &env, RUNNER_PATH);
    assert_no_leftovers(ws.sandbox.path());
    assert_eq!(
        code, 1,
        "the job fails on the data loss:\n{stdout}\n{stderr}"
    );
    let reports = &job["artifacts"]["reports"];
    let junit = ws.root.join(text(&reports["junit"]));
    let xml = std::fs::read_to_string(&junit).expect("the JUnit report exists");
    assert!(xml.contains("<testsuite"), "{xml}");
    let quality = ws.root.join(text(&reports["codequality"]));
    let issues: Value = serde_json::from_str(&std::fs::read_to_string(quality).unwrap()).unwrap();
    let issues = issues.as_array().expect("Code Climate issues are an array");
    assert!(issues.iter().any(|i| i["check_name"] == "data_loss"));
    for issue in issues {
        assert!(issue["location"]["path"].is_string() && issue["fingerprint"].is_string());
    }
}

#[test]
fn the_jenkinsfile_installs_driftless_and_fails_the_stage_on_findings() {
    let ws = Workspace::new();
    let text = std::fs::read_to_string(repo().join("docs/ci/Jenkinsfile")).unwrap();
    let mut env: Vec<(String, String)> = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("environment {"))
        .skip(1)
        .take_while(|l| l.trim() != "}")
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((
                k.trim().to_string(),
                v.trim().trim_matches('\'').to_string(),
            ))
        })
        .collect();
    assert!(
        env.iter()
            .any(|(k, v)| k == "DRIFTLESS_VERSION" && v == version())
    );
    for (k, v) in env.iter_mut() {
        if k == "DRIFTLESS_DOWNLOAD_URL" {
            *v = ws.download_url();
        }
    }
    env.push(("WORKSPACE".into(), ws.root.display().to_string()));
    let blocks: Vec<&str> = text
        .split("sh '''")
        .skip(1)
        .filter_map(|b| b.split("'''").next())
        .collect();
    assert_eq!(blocks.len(), 2, "an install step and a check step");
    // Each `sh` step is its own shell; the first failing one fails the stage.
    let install = ws.run(blocks[0], &env, RUNNER_PATH);
    assert_eq!(install.0, 0, "install:\n{}\n{}", install.1, install.2);
    let check = ws.run(blocks[1], &env, RUNNER_PATH);
    assert_no_leftovers(ws.sandbox.path());
    assert_eq!(check.0, 1, "check:\n{}\n{}", check.1, check.2);
    assert!(text.contains("junit allowEmptyResults: true, testResults: 'driftless-junit.xml'"));
    assert!(ws.root.join("driftless-junit.xml").is_file());
}

#[test]
fn the_plain_shell_step_of_docs_ci_installs_driftless_and_exits_1_on_findings() {
    let ws = Workspace::new();
    let doc = std::fs::read_to_string(repo().join("docs/ci.md")).unwrap();
    let section = doc
        .split("## Any other CI (a shell step)")
        .nth(1)
        .expect("docs/ci.md has the shell step");
    let script = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    let releases = "https://github.com/driftless-dev/driftless/releases/download";
    assert!(
        script.contains(releases),
        "the snippet downloads a release archive"
    );
    let script = script
        .replace(releases, &ws.download_url())
        .replace("version=0.1.0", &format!("version={}", version()));
    let (code, stdout, stderr) = ws.run(&script, &[], RUNNER_PATH);
    assert_no_leftovers(ws.sandbox.path());
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("driftless found problems"), "{stdout}");
    assert!(ws.root.join("driftless.xml").is_file());
}
