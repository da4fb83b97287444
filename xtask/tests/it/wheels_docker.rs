//! `cargo xtask wheels` in containers, for real: the local stand-in image (built from Debian
//! packages and this machine's interpreters, since no registry is reachable) run by the real
//! Docker engine.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use crate::support::{broken_for_312, list_wheels, report, target, target_dir, text, walk, TempDir, Wheels};

/// The stand-in image, built once (cached by its inputs); None (by the one skip rule) when no
/// engine answers.
fn image() -> Option<&'static str> {
    static IMAGE: OnceLock<Option<String>> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            crate::support::docker_engine("the docker tests")?;
            let sh = xshell::Shell::new().unwrap();
            Some(
                xtask_dev::standin::ensure_image(&sh, &target_dir(), &xtask_dev::standin::Options::default())
                    .expect("cannot build the stand-in image"),
            )
        })
        .as_deref()
}

fn wheels(work: &Path, args: &[&str]) -> Output {
    Wheels::docker(work).args(args).output()
}

/// The containers a run with work folder `work` started, running or not.
fn containers_of(work: &Path) -> Vec<String> {
    let filter = format!("label={}={}", xtask::processes::docker::CONTAINER_LABEL, work.display());
    let o = Command::new("docker").args(["ps", "-a", "-q", "--filter", &filter]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).lines().map(String::from).collect()
}

fn hits(t: &Value) -> u64 {
    t["cache"]["direct_hits"].as_u64().unwrap() + t["cache"]["preprocessed_hits"].as_u64().unwrap()
}

/// Two interpreters in the container: both wheels land, pass their tests inside the
/// container, pass check-wheel, belong to the invoking user; no container is left; a second
/// run hits the compile cache.
#[test]
fn two_interpreters_in_the_standin_image() {
    let Some(image) = image() else { return };
    let work = TempDir::new("docker-two");
    let w = work.path().join("w");
    let out = work.path().join("wheelhouse");
    let json = work.path().join("report.json");
    let args = [
        "--image",
        image,
        "--pull",
        "never",
        "--python",
        "cp311",
        "--python",
        "cp312",
        "-o",
        out.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ];
    let o = wheels(&w, &args);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("docker exec"), "the steps ran in the container:\n{t}");
    let landed = list_wheels(&out);
    assert_eq!(landed.len(), 2, "{landed:?}");
    let uid = std::fs::metadata(work.path()).unwrap().uid();
    for whl in &landed {
        assert_eq!(std::fs::metadata(whl).unwrap().uid(), uid, "{} is owned by the invoking user", whl.display());
        let c = crate::support::xtask(&["check-wheel", whl.to_str().unwrap()]);
        assert!(c.status.success(), "{}", text(&c));
    }
    // Files the container wrote into the mounts are the invoking user's too.
    let built = w.join("runs");
    for entry in walk(&built).into_iter().take(200) {
        assert_eq!(std::fs::symlink_metadata(&entry).unwrap().uid(), uid, "{} is owned by root", entry.display());
    }
    let targets = report(&json);
    for tag in ["cp311-cp311", "cp312-cp312"] {
        assert_eq!(target(&targets, tag)["result"], "ok");
        assert_eq!(
            target(&targets, tag)["wheel_reads"],
            2,
            "one read of the built wheel (the native repair), one of the repaired (fix-wheel and check)"
        );
        let log = std::fs::read_to_string(target(&targets, tag)["log"].as_str().unwrap()).unwrap();
        assert!(log.contains("docker exec") && log.contains("import_db.py"), "{log}");
    }
    // The native repair ran in the container's world: what auditwheel repairs there from the
    // same built wheel is the same.
    let built =
        list_wheels(&w.join("runs").join(format!("{}-cp311-cp311", xtask::library::image::slug(image))).join("dist"));
    let oracle = crate::support::auditwheel_in_container(image, &w, &built[0]);
    let native = landed.iter().find(|p| p.to_string_lossy().contains("-cp311-")).unwrap();
    crate::support::assert_same_repair(native, &oracle);
    // Canonical flags: cp312 (after cp311) hits every Python-free unit.
    assert!(hits(target(&targets, "cp312-cp312")) >= 10, "{}", target(&targets, "cp312-cp312"));
    assert!(containers_of(&w).is_empty(), "no container is left");

    // A second run of the same source: the kept build folders are up to date, nothing compiles.
    let o = wheels(&w, &args);
    assert!(o.status.success(), "{}", text(&o));
    let targets = report(&json);
    for tag in ["cp311-cp311", "cp312-cp312"] {
        let t = target(&targets, tag);
        assert_eq!(hits(t) + t["cache"]["misses"].as_u64().unwrap(), 0, "a warm rerun compiles nothing: {t}");
    }
    assert!(containers_of(&w).is_empty());
}

/// One target fails to build: the other's wheel still lands, the summary names the step,
/// exit 1, no container left; with --keep-container the container stays and the line to
/// enter it is printed.
#[test]
fn a_failing_target_in_a_container() {
    let Some(image) = image() else { return };
    let work = TempDir::new("docker-fail");
    let project = broken_for_312(work.path());
    let out = work.path().join("wheelhouse");
    let json = work.path().join("report.json");
    let w = work.path().join("w");
    let o = wheels(
        &w,
        &[
            "--image",
            image,
            "--pull",
            "never",
            "--project",
            project.to_str().unwrap(),
            "--python",
            "cp312",
            "--python",
            "cp311",
            "-o",
            out.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let landed = list_wheels(&out);
    assert_eq!(landed.len(), 1, "{t}");
    assert!(landed[0].to_string_lossy().contains("cp311"));
    let targets = report(&json);
    assert_eq!(target(&targets, "cp312-cp312")["result"], "build");
    assert!(t.contains("deliberately broken for 3.12"), "{t}");
    assert!(containers_of(&w).is_empty(), "no container is left");

    let o = wheels(
        &w,
        &[
            "--image",
            image,
            "--pull",
            "never",
            "--project",
            project.to_str().unwrap(),
            "--python",
            "cp312",
            "--keep-container",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let line = t
        .lines()
        .find(|l| l.contains("docker exec -it"))
        .unwrap_or_else(|| panic!("no line to enter the container:\n{t}"));
    let kept = containers_of(&w);
    assert_eq!(kept.len(), 1, "{line}");
    Command::new("docker").args(["rm", "-f", &kept[0]]).output().unwrap();
}

/// SIGINT mid-build: the run stops, the container is removed, no wheel lands.
#[test]
fn ctrl_c_removes_the_container() {
    use std::io::{BufRead, BufReader};
    let Some(image) = image() else { return };
    let work = TempDir::new("docker-sigint");
    let out = work.path().join("wheelhouse");
    // The 2018 CI variables stand in for --image and --python.
    let w = work.path().join("w");
    let mut child = Wheels::docker(&w)
        .args(&["--pull", "never", "-o", out.to_str().unwrap()])
        .env("DOCKER_IMAGE", image)
        .env("PY_VERSION", "cp311")
        .spawn();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("pip wheel") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    let t = seen.join("\n");
    assert!(!status.success(), "{t}");
    assert!(t.contains("interrupted"), "{t}");
    assert!(list_wheels(&out).is_empty());
    assert!(containers_of(&w).is_empty(), "the container was removed:\n{t}");
}

#[test]
fn unreachable_engine_and_bad_names_are_clear_errors() {
    let work = TempDir::new("docker-bad");
    let o = Wheels::docker(work.path())
        .args(&["--image", "quay.io/pypa/manylinux2014_x86_64", "--all"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("Docker engine is not reachable") && text(&o).contains("--host"), "{}", text(&o));
    if image().is_none() {
        return;
    }
    let o = wheels(work.path(), &["--image", "Bad Image;rm", "--all"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not a docker image reference"), "{}", text(&o));
    let o = wheels(work.path(), &["--image", "xtask-no-such-image:1", "--pull", "never", "--all"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("--pull never"), "{}", text(&o));
    // A registry that does not answer: the pull is tried 4 times, with back-off, then the
    // image's row fails and the run goes on to the end.
    let o = wheels(work.path(), &["--image", "127.0.0.1:9/xtask/nothing:1", "--pull", "always", "--all"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert_eq!(t.matches("docker pull 127.0.0.1:9/xtask/nothing:1 (attempt").count(), 4, "{t}");
    assert!(t.contains("cannot pull 127.0.0.1:9/xtask/nothing:1 after 4 attempts"), "{t}");
}

/// A work folder with `:`, `,` and a space in its name, which docker's `-v` cannot take: the
/// mounts use `--mount` with a quoted source, and the target lands.
#[test]
fn a_work_folder_with_colons_and_commas_is_mounted() {
    let Some(image) = image() else { return };
    let work = TempDir::new("docker-odd");
    let w = work.path().join("w:a,b c");
    let project = crate::support::tiny_project(work.path());
    let toml = work.path().join("tiny.toml");
    std::fs::write(&toml, "[tests]\nscripts = []\n").unwrap();
    let out = work.path().join("out");
    let o = Wheels::docker(&w)
        .config(&toml)
        .args(&["--image", image, "--pull", "never", "--python", "cp311"])
        .args(&["--project", project.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .output();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(list_wheels(&out).len(), 1);
    assert!(containers_of(&w).is_empty());
}
