//! The generated GitHub workflows as a security reviewer reads them: zizmor (offline, no
//! config, the pedantic persona) finds nothing, check-jsonschema's GitHub workflow schema
//! accepts them, and their job graph is the one the README promises: per image a seed job
//! before its fan-out, the fan-out restoring the seed's exact key, no cache in release runs,
//! `id-token: write` only in the publish job. Every action is pinned to the commit its tag
//! names in the action's repository snapshot (`ci/action-refs.txt`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use xtask::library::workflows::{PINS, RELEASE_FILE, WHEELS_FILE};

use crate::support::{repo_root, text, tools};

/// A YAML file as JSON, through the tools venv's ruamel.yaml (check-jsonschema's own parser).
fn yaml(path: &Path) -> Value {
    let script =
        "import json, sys; from ruamel.yaml import YAML; print(json.dumps(YAML(typ='safe').load(open(sys.argv[1]))))";
    let o = Command::new(&tools().python).args(["-c", script]).arg(path).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn files() -> [std::path::PathBuf; 2] {
    [repo_root().join(WHEELS_FILE), repo_root().join(RELEASE_FILE)]
}

#[test]
fn zizmor_and_the_workflow_schema_find_nothing() {
    let bin = tools().venv.join("bin");
    for f in files() {
        let body = std::fs::read_to_string(&f).unwrap();
        assert!(!body.contains("zizmor:"), "no zizmor ignore comments in {}", f.display());
        for persona in ["regular", "pedantic"] {
            let o = Command::new(bin.join("zizmor"))
                .args(["--offline", "--no-config", "--format=json", &format!("--persona={persona}")])
                .arg(&f)
                .output()
                .unwrap();
            let findings: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
            assert_eq!(findings, Value::Array(vec![]), "zizmor ({persona}) on {}: {}", f.display(), text(&o));
            assert!(o.status.success(), "{}", text(&o));
        }
        let o = Command::new(bin.join("check-jsonschema"))
            .args(["--builtin-schema", "vendor.github-workflows"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(o.status.success(), "check-jsonschema on {}: {}", f.display(), text(&o));
    }
}

/// The `uses:` of every step of every job.
fn uses(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for job in doc["jobs"].as_object().unwrap().values() {
        for step in job["steps"].as_array().unwrap() {
            if let Some(u) = step["uses"].as_str() {
                out.push(u.to_string());
            }
        }
    }
    out
}

#[test]
fn the_job_graph_seeds_each_image_and_publishes_with_provenance() {
    let [wheels_path, release_path] = files();
    let wheels = yaml(&wheels_path);
    let release = yaml(&release_path);
    for doc in [&wheels, &release] {
        assert_eq!(doc["permissions"], serde_json::json!({}), "no permission at the top");
        assert!(doc["concurrency"]["group"].is_string());
        for (id, job) in doc["jobs"].as_object().unwrap() {
            for step in job["steps"].as_array().unwrap() {
                if step["uses"].as_str().is_some_and(|u| u.starts_with("actions/checkout@")) {
                    assert_eq!(step["with"]["persist-credentials"], false, "{id}");
                }
            }
            let perms = job["permissions"].as_object().unwrap_or_else(|| panic!("{id} sets its permissions"));
            if id == "publish" {
                assert_eq!(perms.get("id-token").and_then(Value::as_str), Some("write"));
                assert_eq!(perms.len(), 1, "publish holds id-token only");
            } else {
                assert!(!perms.contains_key("id-token"), "{id} has no id-token");
                assert_eq!(perms.get("contents").and_then(Value::as_str), Some("read"), "{id}");
            }
            if let Some(image) = job["env"]["DOCKER_IMAGE"].as_str() {
                let arm = image.ends_with("aarch64");
                assert_eq!(job["runs-on"] == "ubuntu-24.04-arm", arm, "{id}: aarch64 on the native arm runner");
            }
        }
    }
    // wheels.yml: each fan-out needs its seed and restores the seed's exact key.
    let jobs = wheels["jobs"].as_object().unwrap();
    let seeds: Vec<&String> = jobs.keys().filter(|k| k.starts_with("seed-")).collect();
    assert_eq!(seeds.len(), 4, "one seed per image");
    for seed in seeds {
        let slug = seed.strip_prefix("seed-").unwrap();
        let key = format!("ccache-{slug}-${{{{ github.sha }}}}");
        let steps = jobs[seed]["steps"].as_array().unwrap();
        let save = steps.iter().find(|s| s["uses"].as_str().unwrap_or("").starts_with("actions/cache/save@")).unwrap();
        assert_eq!(save["with"]["key"], key.as_str());
        let fan = &jobs[&format!("wheels-{slug}")];
        assert_eq!(fan["needs"], seed.as_str());
        let restore = fan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["uses"].as_str().unwrap_or("").starts_with("actions/cache/restore@"))
            .unwrap();
        assert_eq!(restore["with"]["key"], key.as_str(), "the fan-out restores the seed's exact key");
        assert_eq!(restore["with"]["fail-on-cache-miss"], true, "never cold");
        assert!(restore["with"].get("restore-keys").is_none());
        assert!(fan["strategy"]["matrix"]["python"].as_array().unwrap().len() >= 7, "{fan}");
    }
    assert!(!wheels.to_string().contains("id-token"), "wheels.yml publishes nothing");
    // release.yml: tags only, no actions/cache at all, the seed's cache as this run's artifact.
    assert!(release["on"]["push"]["tags"].is_array() && release["on"]["push"].get("branches").is_none());
    assert!(!uses(&release).iter().any(|u| u.starts_with("actions/cache")), "no cache crosses release runs");
    let rjobs = release["jobs"].as_object().unwrap();
    let deploy_needs: Vec<&str> =
        rjobs["deploy"]["needs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(deploy_needs.len(), 8, "every seed and fan-out: {deploy_needs:?}");
    let deploy_runs: Vec<&str> =
        rjobs["deploy"]["steps"].as_array().unwrap().iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(deploy_runs.iter().any(|r| r.contains("sha256sum -c SHA256SUMS")), "{deploy_runs:?}");
    assert_eq!(rjobs["publish"]["needs"], "deploy");
    let publish_uses = uses(&serde_json::json!({"jobs": {"p": rjobs["publish"]}}));
    assert!(publish_uses.iter().any(|u| u.starts_with("pypa/gh-action-pypi-publish@")), "{publish_uses:?}");
    assert!(!release.to_string().contains("secrets."), "no stored token");
}

#[test]
fn every_action_is_pinned_to_the_commit_its_tag_names() {
    let refs = std::fs::read_to_string(repo_root().join("xtask/tests/it/ci/action-refs.txt")).unwrap();
    let rows: Vec<Vec<&str>> = refs
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.splitn(4, ' ').collect())
        .collect();
    assert_eq!(rows.len(), PINS.len());
    for p in PINS {
        let row = rows.iter().find(|r| r[0] == p.action).unwrap_or_else(|| panic!("no evidence for {}", p.action));
        assert_eq!((row[1], row[2]), (p.version, p.sha), "{}", p.action);
    }
    // Every `uses:` of both files is one of the pins, with its version in a comment.
    for f in files() {
        for line in std::fs::read_to_string(&f).unwrap().lines().filter(|l| l.contains("uses: ")) {
            let spec = line.split("uses: ").nth(1).unwrap();
            assert!(
                PINS.iter().any(|p| spec == format!("{}@{} # {}", p.action, p.sha, p.version)),
                "{}: {line}",
                f.display()
            );
        }
    }
    // Where the snapshots are on this machine, the tags are asked again.
    for row in rows.iter().filter(|r| r[3].starts_with("snapshot:")) {
        let repo: String = row[0].splitn(3, '/').take(2).collect::<Vec<_>>().join("+");
        let mirror = Path::new("/work/.mirror").join(repo).join("repo");
        if mirror.exists() {
            let o = Command::new("git")
                .arg("-C")
                .arg(&mirror)
                .args(["rev-parse", &format!("{}^{{commit}}", row[1])])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), row[2], "{}", row[0]);
        }
    }
}

/// Every (image, interpreter) of the GitHub workflows and of .travis.yml is one the config's
/// list for that image holds and the skip list keeps: no job for an interpreter its image lacks.
#[test]
fn no_job_names_an_interpreter_its_image_lacks() {
    let config =
        xtask::library::config::Config::load(&repo_root().join("xtask/wheels.toml"), true).expect("the config loads");
    let travis = std::fs::read_to_string(repo_root().join(".travis.yml")).unwrap();
    let mut travis_jobs: Vec<(String, String)> = travis
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- DOCKER_IMAGE="))
        .map(|l| {
            let (image, py) = l.split_once(" PY_VERSION=").unwrap();
            (image.to_string(), py.to_string())
        })
        .collect();
    for f in files() {
        let doc = yaml(&f);
        let mut pairs = Vec::new();
        for job in doc["jobs"].as_object().unwrap().values() {
            let Some(image) = job["env"]["DOCKER_IMAGE"].as_str() else { continue };
            match job["strategy"]["matrix"]["python"].as_array() {
                Some(list) => pairs.extend(list.iter().map(|p| (image.to_string(), p.as_str().unwrap().to_string()))),
                None => pairs.push((image.to_string(), job["env"]["PY_VERSION"].as_str().unwrap().to_string())),
            }
        }
        pairs.sort();
        travis_jobs.sort();
        assert_eq!(pairs, travis_jobs, "{} and .travis.yml carry one matrix", f.display());
    }
    let expected: usize = config
        .docker
        .images
        .iter()
        .map(|i| config.docker.pythons_of(i).unwrap().iter().filter(|t| !config.interpreters.skips(t)).count())
        .sum();
    assert_eq!(travis_jobs.len(), expected);
    for (image, py) in &travis_jobs {
        let ships = config.docker.pythons_of(image).unwrap_or_else(|| panic!("no list for {image}"));
        assert!(ships.contains(py), "{image} does not ship {py}");
        assert!(!config.interpreters.skips(py), "{py} is skipped");
    }
    assert!(travis_jobs.iter().any(|(i, p)| i.ends_with("aarch64") && p == "cp314-cp314t"), "{travis_jobs:?}");
    assert!(!travis_jobs.iter().any(|(_, p)| p.starts_with("cp38") || p.starts_with("cp39")), "{travis_jobs:?}");
}

/// The workflow's cache semantics, played on this machine: the seed job and a fan-out job are
/// two clones of the repository at different paths; the seed builds cp311 and its cache folder
/// travels to the fan-out's clone as the workflow carries it (the same relative path); the
/// fan-out builds cp312 and hits every translation unit without Python.h.
#[test]
fn a_fan_out_job_in_another_clone_hits_the_seeds_cache() {
    let dir = crate::support::TempDir::new("two-clones");
    let sh = xshell::Shell::new().unwrap();
    let clone = |name: &str| {
        let to = dir.path().join(name);
        let from = repo_root();
        xshell::cmd!(sh, "git clone --quiet --no-hardlinks {from} {to}").run().unwrap();
        to
    };
    let (seed, fan) = (clone("seed job"), clone("fan-out"));
    let run = |checkout: &Path, python: &str| {
        let json = checkout.join("report.json");
        let o = crate::support::Wheels::host(&checkout.join("target/xtask-wheels"))
            .args(&["--project", checkout.join("testdata/minilayout").to_str().unwrap()])
            .args(&["--python", python, "-o", checkout.join("wheelhouse").to_str().unwrap()])
            .args(&["--json", json.to_str().unwrap()])
            .output();
        assert!(o.status.success(), "{}", text(&o));
        crate::support::target(&crate::support::report(&json), python)["cache"].clone()
    };
    let cold = run(&seed, "cp311-cp311");
    assert_eq!(cold["direct_hits"].as_u64().unwrap() + cold["preprocessed_hits"].as_u64().unwrap(), 0, "{cold}");
    // actions/cache (or the release run's artifact) restores the folder at the same relative path.
    crate::support::copy_dir(
        &seed.join(xtask::library::workflows::CACHE_DIR),
        &fan.join(xtask::library::workflows::CACHE_DIR),
    );
    let warm = run(&fan, "cp312-cp312");
    let hits = warm["direct_hits"].as_u64().unwrap() + warm["preprocessed_hits"].as_u64().unwrap();
    assert!(hits >= 10, "the fan-out hits the 10 Python-free units of the seed's cache: {warm}");
}
