//! The CI files, written from the config: GitHub Actions' `wheels.yml` (branches and pull
//! requests) and `release.yml` (tags: build, then publish with provenance), and the legacy
//! `.travis.yml` of the 2018 project.
//!
//! GitHub's layout keeps "compile once, wheel many" across a matrix: per image, a seed job
//! builds the first interpreter and saves the compile cache under a key of that commit; the
//! other interpreters run as jobs that `need` it and restore that exact key, so none starts
//! cold. Release runs take no cache from any other run (a poisoned cache must never reach a
//! published wheel): the seed's own fresh cache reaches its fan-out as an artifact of the same
//! run. Publishing is one job with `id-token: write` only there, PyPI's Trusted Publishing and
//! PEP 740 attestations (pypa's publish action makes both), fed with the wheels whose
//! SHA256SUMS a job before it verified. Every action is pinned to a full commit (`PINS`).

use anyhow::{bail, Result};

use crate::library::config::Config;
use crate::library::image;

/// The folder of the compile caches, as CI carries it (relative to the repository root).
pub const CACHE_DIR: &str = "target/xtask-wheels/cache";

/// The files a CI system reads, relative to the repository root.
pub const TRAVIS_FILE: &str = ".travis.yml";
pub const WHEELS_FILE: &str = ".github/workflows/wheels.yml";
pub const RELEASE_FILE: &str = ".github/workflows/release.yml";

/// One pinned action: what `uses:` names, the commit, the version it is, and where the commit
/// was read. Refresh: fetch the action's repository, `git rev-parse <tag>^{commit}`, and update
/// the row and `xtask/tests/it/ci/action-refs.txt` (the test compares them).
pub struct Pin {
    pub action: &'static str,
    pub sha: &'static str,
    pub version: &'static str,
    pub source: &'static str,
}

pub const PINS: &[Pin] = &[
    Pin {
        action: "actions/checkout",
        sha: "3d3c42e5aac5ba805825da76410c181273ba90b1",
        version: "v7.0.1",
        source: "github:actions/checkout snapshot f548e57 (2026-07-20), tag v7.0.1",
    },
    Pin {
        action: "actions/cache/restore",
        sha: "27d5ce7f107fe9357f9df03efb73ab90386fccae",
        version: "v5.0.5",
        source: "github:actions/cache snapshot 27d5ce7 (2026-04-13), tag v5.0.5",
    },
    Pin {
        action: "actions/cache/save",
        sha: "27d5ce7f107fe9357f9df03efb73ab90386fccae",
        version: "v5.0.5",
        source: "github:actions/cache snapshot 27d5ce7 (2026-04-13), tag v5.0.5",
    },
    Pin {
        action: "actions/upload-artifact",
        sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        version: "v7.0.0",
        source: "github:actions/upload-artifact snapshot bbbca2d (2026-02-25), tag v7.0.0",
    },
    Pin {
        action: "actions/download-artifact",
        sha: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        version: "v8.0.1",
        source: "github:actions/download-artifact snapshot 484a0b5 (2026-03-12), tag v8.0.1",
    },
    Pin {
        action: "pypa/gh-action-pypi-publish",
        sha: "dc37677b2e1c63e2034f94d8a5b11f265b73ba33",
        version: "v1.14.2",
        source: "not in the stored snapshot of pypa/gh-action-pypi-publish (it ends at v1.8.14, 2024-03-08, \
                 before attestations); the commit public workflows pin as v1.14.2",
    },
];

/// `uses: <action>@<sha> # <version>`.
fn uses(action: &str) -> String {
    let pin = PINS.iter().find(|p| p.action == action).unwrap_or_else(|| panic!("no pin for {action}"));
    format!("uses: {}@{} # {}", pin.action, pin.sha, pin.version)
}

/// The (image, interpreter) jobs: every configured image x the interpreters the config says
/// it ships, minus the skip list (the same rule as `--all`). An image the config gives no
/// list for is an error: a job for an interpreter the image lacks fails on day one.
pub fn jobs(config: &Config) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for image in &config.docker.images {
        let Some(tags) = config.docker.pythons_of(image) else {
            bail!(
                "the config says nothing of what {image} ships: add a [[docker.pythons]] entry whose `images` \
                 glob names it, with its tags (`docker run --rm {image} ls /opt/python`)"
            );
        };
        out.extend(tags.iter().filter(|t| !config.interpreters.skips(t)).map(|t| (image.clone(), t.clone())));
    }
    Ok(out)
}

/// One image's part of the GitHub matrix: the seed interpreter and the fan-out jobs' `--python`
/// selectors (one interpreter each, or a `{a,b}` group of `interpreters_per_job`).
struct Group {
    image: String,
    slug: String,
    runner: String,
    seed: String,
    fan_out: Vec<String>,
}

fn groups(config: &Config) -> Result<Vec<Group>> {
    let jobs = jobs(config)?;
    let per_job = config.ci.interpreters_per_job.max(1);
    let mut out = Vec::new();
    for image in &config.docker.images {
        let tags: Vec<&String> = jobs.iter().filter(|(i, _)| i == image).map(|(_, t)| t).collect();
        let Some((seed, rest)) = tags.split_first() else { continue };
        let fan_out = rest
            .chunks(per_job)
            .map(|c| match c {
                [one] => one.to_string(),
                many => format!("{{{}}}", many.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")),
            })
            .collect();
        let arm = matches!(image::arch(image).as_deref(), Some("aarch64"));
        let runner = if arm { config.ci.arm_runner.clone() } else { config.ci.runner.clone() };
        out.push(Group { slug: image::slug(image), image: image.clone(), runner, seed: seed.to_string(), fan_out });
    }
    Ok(out)
}

const HEADER: &str =
    "# Generated by `cargo xtask ci github` from xtask/wheels.toml: edit the config, then regenerate.\n";

/// The steps every building job shares: the checkout without stored credentials.
fn checkout() -> String {
    format!("      - {}\n        with:\n          persist-credentials: false\n", uses("actions/checkout"))
}

/// The build itself and the 2018 check, then the job's wheels as an artifact.
fn build_and_upload(artifact: &str) -> String {
    format!(
        "      - run: cargo xtask wheels\n      - run: cargo xtask fix-wheel --check wheelhouse/*.whl\n\
         \x20     - {}\n        with:\n          name: {artifact}\n          path: wheelhouse/*.whl\n          if-no-files-found: error\n",
        uses("actions/upload-artifact")
    )
}

/// A job's head: name, runner, least permissions, the 2018 variables.
fn job_head(id: &str, name: &str, runner: &str, needs: Option<&str>, image: &str, python: &str) -> String {
    let mut s = format!("  {id}:\n    name: {name}\n");
    if let Some(n) = needs {
        s.push_str(&format!("    needs: {n}\n"));
    }
    s.push_str(&format!("    runs-on: {runner}\n    permissions:\n      contents: read\n"));
    s.push_str(&format!("    env:\n      DOCKER_IMAGE: {image}\n      PY_VERSION: \"{python}\"\n"));
    s
}

fn fan_out_matrix(g: &Group) -> String {
    let list = g.fan_out.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ");
    format!("    strategy:\n      fail-fast: false\n      matrix:\n        python: [{list}]\n")
}

/// `wheels.yml`: branches and pull requests. The seed restores the newest cache of its image
/// (any earlier run on a branch) and saves its own under the commit's key; the fan-out
/// restores exactly that key.
pub fn github_wheels(config: &Config) -> Result<String> {
    let mut s = String::from(HEADER);
    s.push_str("name: wheels\non:\n  push:\n    branches: [main, master]\n  pull_request:\n");
    s.push_str("permissions: {}\nconcurrency:\n  group: wheels-${{ github.ref }}\n  cancel-in-progress: true\n");
    s.push_str("jobs:\n");
    for g in groups(config)? {
        let key = format!("ccache-{}-${{{{ github.sha }}}}", g.slug);
        let cache = CacheSteps {
            seed_restore: format!(
                "      - {}\n        with:\n          path: {CACHE_DIR}\n          key: {key}\n          restore-keys: ccache-{}-\n",
                uses("actions/cache/restore"),
                g.slug
            ),
            seed_save: format!(
                "      - {}\n        with:\n          path: {CACHE_DIR}\n          key: {key}\n",
                uses("actions/cache/save")
            ),
            fan_out_restore: format!(
                "      - {}\n        with:\n          path: {CACHE_DIR}\n          key: {key}\n          fail-on-cache-miss: true\n",
                uses("actions/cache/restore")
            ),
        };
        seeded_jobs(&mut s, &g, &cache);
    }
    Ok(s)
}

/// How one workflow carries an image's compile cache: into the seed (before its build), out
/// of the seed (after it), into each fan-out job (before its build). Each is a step's YAML or
/// empty.
struct CacheSteps {
    seed_restore: String,
    seed_save: String,
    fan_out_restore: String,
}

/// An image's seed job and, when it has more interpreters, its fan-out jobs (which `need` the
/// seed); returns the ids of the jobs that build wheels.
fn seeded_jobs(s: &mut String, g: &Group, cache: &CacheSteps) -> Vec<String> {
    let seed_id = format!("seed-{}", g.slug);
    s.push_str(&job_head(&seed_id, &format!("{} in {} (seed)", g.seed, g.slug), &g.runner, None, &g.image, &g.seed));
    s.push_str("    steps:\n");
    s.push_str(&checkout());
    s.push_str(&cache.seed_restore);
    s.push_str(&build_and_upload(&format!("wheels-{}-seed", g.slug)));
    s.push_str(&cache.seed_save);
    let mut ids = vec![seed_id.clone()];
    if g.fan_out.is_empty() {
        return ids;
    }
    let id = format!("wheels-{}", g.slug);
    let name = format!("${{{{ matrix.python }}}} in {}", g.slug);
    s.push_str(&job_head(&id, &name, &g.runner, Some(&seed_id), &g.image, "${{ matrix.python }}"));
    s.push_str(&fan_out_matrix(g));
    s.push_str("    steps:\n");
    s.push_str(&checkout());
    s.push_str(&cache.fan_out_restore);
    s.push_str(&build_and_upload(&format!("wheels-{}-${{{{ strategy.job-index }}}}", g.slug)));
    ids.push(id);
    ids
}

/// `release.yml`: tags. No cache crosses runs: the seed compiles cold and hands its cache to
/// its fan-out as an artifact of this run; then deploy (check-wheel again, SHA256SUMS
/// verified) and publish (Trusted Publishing, attestations; `id-token: write` only there).
pub fn github_release(config: &Config) -> Result<String> {
    let mut s = String::from(HEADER);
    s.push_str("name: release\non:\n  push:\n    tags: ['*']\n");
    s.push_str("permissions: {}\nconcurrency:\n  group: release-${{ github.ref }}\n  cancel-in-progress: false\n");
    s.push_str("jobs:\n");
    let mut built = Vec::new();
    for g in groups(config)? {
        let cache_artifact = format!("ccache-{}", g.slug);
        let cache = CacheSteps {
            seed_restore: String::new(),
            seed_save: format!(
                "      - {}\n        with:\n          name: {cache_artifact}\n          path: {CACHE_DIR}\n          include-hidden-files: true\n          retention-days: 1\n",
                uses("actions/upload-artifact")
            ),
            fan_out_restore: format!(
                "      - {}\n        with:\n          name: {cache_artifact}\n          path: {CACHE_DIR}\n",
                uses("actions/download-artifact")
            ),
        };
        built.extend(seeded_jobs(&mut s, &g, &cache));
    }
    s.push_str(&format!(
        "  deploy:\n    name: deploy folder, SHA256SUMS verified\n    needs: [{}]\n    runs-on: {}\n    permissions:\n      contents: read\n    steps:\n",
        built.join(", "),
        config.ci.runner
    ));
    s.push_str(&checkout());
    s.push_str(&format!(
        "      - {}\n        with:\n          pattern: wheels-*\n          path: wheelhouse\n          merge-multiple: true\n",
        uses("actions/download-artifact")
    ));
    s.push_str("      - run: cargo xtask deploy\n");
    s.push_str("      - name: verify SHA256SUMS\n        run: cd deploy/dist-pymod/* && sha256sum -c SHA256SUMS\n");
    s.push_str(&format!(
        "      - {}\n        with:\n          name: dist\n          path: deploy/dist-pymod/*/*.whl\n          if-no-files-found: error\n",
        uses("actions/upload-artifact")
    ));
    s.push_str(&format!(
        "  publish:\n    name: publish to PyPI (Trusted Publishing, attestations)\n    needs: deploy\n    runs-on: {}\n    environment: pypi\n    permissions:\n      id-token: write # the OIDC token of Trusted Publishing and of the attestations\n    steps:\n",
        config.ci.runner
    ));
    s.push_str(&format!(
        "      - {}\n        with:\n          name: dist\n          path: dist\n",
        uses("actions/download-artifact")
    ));
    s.push_str(&format!(
        "      - {}\n        with:\n          packages-dir: dist/\n",
        uses("pypa/gh-action-pypi-publish")
    ));
    Ok(s)
}

/// `.travis.yml`, the 2018 shape (one job per image and interpreter, deploy on tags with a
/// stored token): kept for projects still on Travis; the file says it is the legacy path.
pub fn travis(config: &Config) -> Result<String> {
    let mut s = String::from(
        "# Generated by `cargo xtask ci travis` from xtask/wheels.toml: edit the config, then regenerate.\n\
         # The legacy path (Travis CI, the 2018 layout): every job compiles from its own cache, and deploy\n\
         # uploads with a stored token. GitHub Actions (`cargo xtask ci github`) seeds one compile cache per\n\
         # image and publishes with Trusted Publishing and attestations.\n",
    );
    s.push_str("language: rust\nrust: stable\nos: linux\ndist: jammy\nservices:\n  - docker\n");
    s.push_str(&format!("cache:\n  cargo: true\n  directories:\n    - {CACHE_DIR}\n"));
    s.push_str("env:\n  jobs:\n");
    for (image, py) in jobs(config)? {
        s.push_str(&format!("    - DOCKER_IMAGE={image} PY_VERSION={py}\n"));
    }
    s.push_str("script:\n  - cargo xtask wheels\n  - cargo xtask fix-wheel --check wheelhouse/*.whl\n");
    s.push_str("deploy:\n  provider: script\n  script: cargo xtask deploy --upload\n  skip_cleanup: true\n  on:\n    tags: true\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pin_is_a_full_commit() {
        for p in PINS {
            assert!(p.sha.len() == 40 && p.sha.bytes().all(|b| b.is_ascii_hexdigit()), "{}", p.action);
            assert!(p.version.starts_with('v') && !p.source.is_empty());
        }
    }
}
