//! `cargo xtask deploy` (with a real local package index), `cargo xtask ci`, and the 2018
//! entry points in ci-scripts/docker/.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::{list_wheels, repo_root, target_dir, text, tools, TempDir, Wheels};
use sha2::{Digest, Sha256};

/// Two miniature wheels (cp311, cp312) built once by the pipeline, in a work folder kept under
/// target/ so later runs hit the compile cache.
fn built_wheels() -> &'static Vec<PathBuf> {
    static WHEELS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    WHEELS.get_or_init(|| {
        let out = target_dir().join("test-cache/deploy-wheelhouse");
        let _ = std::fs::remove_dir_all(&out);
        let o = Wheels::host(&target_dir().join("test-cache/deploy-work"))
            .args(&["--python", "cp311", "--python", "cp312", "-o", out.to_str().unwrap()])
            .output();
        assert!(o.status.success(), "{}", text(&o));
        list_wheels(&out)
    })
}

/// A folder holding copies of the built wheels.
fn wheelhouse(dir: &Path) -> PathBuf {
    let w = dir.join("wheelhouse");
    std::fs::create_dir_all(&w).unwrap();
    for whl in built_wheels() {
        std::fs::copy(whl, w.join(whl.file_name().unwrap())).unwrap();
    }
    w
}

fn deploy(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.arg("deploy").args(args).env_remove("TWINE_USERNAME").env_remove("TWINE_PASSWORD").current_dir(repo_root());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn sha256(p: &Path) -> String {
    Sha256::digest(std::fs::read(p).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn deploy_folder_with_sums_and_dry_run() {
    let dir = TempDir::new("deploy-folder");
    let from = wheelhouse(dir.path());
    let to = dir.path().join("deploy");
    let o = deploy(&["--from", from.to_str().unwrap(), "--to", to.to_str().unwrap(), "--dry-run"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("dist-pymod/0.1.0"), "{}", text(&o));
    assert!(!to.exists(), "--dry-run touches nothing");

    let o = deploy(&["--from", from.to_str().unwrap(), "--to", to.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let dest = to.join("dist-pymod/0.1.0");
    assert_eq!(list_wheels(&dest).len(), 2);
    let check = Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(&dest).output().unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert_eq!(String::from_utf8_lossy(&check.stdout).matches(": OK").count(), 2);
    let leftovers: Vec<_> = std::fs::read_dir(to.join("dist-pymod")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary folder is left: {leftovers:?}");
}

#[test]
fn deploy_refuses_bad_input_and_leaves_the_folder_untouched() {
    let dir = TempDir::new("deploy-bad");
    let to = dir.path().join("deploy");
    // No wheels.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = deploy(&["--from", empty.to_str().unwrap(), "--to", to.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no wheel in"), "{}", text(&o));

    // A wheel that claims a tag it does not earn (the miniature needs GLIBC_2.34).
    let from = wheelhouse(dir.path());
    let good = list_wheels(&from)[0].clone();
    let liar =
        from.join(good.file_name().unwrap().to_string_lossy().replace("manylinux_2_34_x86_64", "manylinux2014_x86_64"));
    std::fs::rename(&good, &liar).unwrap();
    let o = deploy(&["--from", from.to_str().unwrap(), "--to", to.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    let name = liar.file_name().unwrap().to_string_lossy().into_owned();
    assert!(text(&o).contains(&name) && text(&o).contains("GLIBC_2.34"), "{}", text(&o));
    assert!(!to.exists(), "nothing was deployed");

    // Two versions in one deploy.
    std::fs::rename(&liar, &good).unwrap();
    let other = repack_with_version(&good, "0.2.0", dir.path());
    std::fs::copy(&other, from.join(other.file_name().unwrap())).unwrap();
    let o = deploy(&["--from", from.to_str().unwrap(), "--to", to.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("0.1.0") && text(&o).contains("0.2.0"), "{}", text(&o));
    assert!(!to.exists());
}

/// The wheel with its METADATA version changed, repacked by the `wheel` tool.
fn repack_with_version(whl: &Path, version: &str, dir: &Path) -> PathBuf {
    let sh = xshell::Shell::new().unwrap();
    let python = &tools().python;
    let unpacked = dir.join("unpacked");
    xshell::cmd!(sh, "{python} -m wheel unpack {whl} -d {unpacked}").quiet().ignore_stdout().run().unwrap();
    let tree = std::fs::read_dir(&unpacked).unwrap().next().unwrap().unwrap().path();
    let old_di = std::fs::read_dir(&tree)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".dist-info"))
        .unwrap();
    let meta = old_di.join("METADATA");
    let text = std::fs::read_to_string(&meta).unwrap().replace("Version: 0.1.0", &format!("Version: {version}"));
    std::fs::write(&meta, text).unwrap();
    std::fs::remove_file(old_di.join("RECORD")).unwrap();
    std::fs::rename(&old_di, tree.join(format!("minilayout-{version}.dist-info"))).unwrap();
    let out = dir.join("repacked");
    crate::support::pack_wheel(&tree, &out)
}

/// A real package index: pypiserver with authentication, on a free loopback port, stopped
/// when dropped.
struct Index {
    child: Child,
    url: String,
    port: u16,
    _dir: TempDir,
}

impl Index {
    fn start() -> Index {
        let dir = TempDir::new("pypiserver");
        let packages = dir.path().join("packages");
        std::fs::create_dir_all(&packages).unwrap();
        let htpasswd = dir.path().join("htpasswd");
        let sh = xshell::Shell::new().unwrap();
        let python = &tools().python;
        let script = "import sys; from passlib.apache import HtpasswdFile; h = HtpasswdFile(sys.argv[1], new=True); h.set_password('uploader', 's3cret-p@ss'); h.save()";
        xshell::cmd!(sh, "{python} -c {script} {htpasswd}").quiet().run().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = tools().venv.join("bin/pypi-server");
        let child = Command::new(server)
            .args(["run", "-i", "127.0.0.1", "-p", &port.to_string(), "-P"])
            .arg(&htpasswd)
            .args(["-a", "update,download,list"])
            .arg(&packages)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "pypiserver did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        Index { child, url: format!("http://127.0.0.1:{port}/"), port, _dir: dir }
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn upload_to_a_real_index_with_credentials() {
    let index = Index::start();
    let dir = TempDir::new("deploy-upload");
    let from = wheelhouse(dir.path());
    let to = dir.path().join("deploy");
    let creds = [("TWINE_USERNAME", "uploader"), ("TWINE_PASSWORD", "s3cret-p@ss")];
    let args =
        ["--from", from.to_str().unwrap(), "--to", to.to_str().unwrap(), "--upload", "--repository-url", &index.url];

    let o = deploy(&args, &creds);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("s3cret"), "the password is never printed:\n{}", text(&o));

    // pip downloads them back by name; the bytes are the deployed ones.
    let got = dir.path().join("got");
    let simple = format!("http://uploader:s3cret-p%40ss@127.0.0.1:{}/simple/", index.port);
    let sh = xshell::Shell::new().unwrap();
    for py in ["3.11", "3.12"] {
        let python = crate::support::pyenv_python(py).unwrap();
        xshell::cmd!(
            sh,
            "{python} -m pip download --quiet --no-deps --only-binary=:all: --index-url {simple} minilayout -d {got}"
        )
        .quiet()
        .run()
        .unwrap();
    }
    let downloaded = list_wheels(&got);
    assert_eq!(downloaded.len(), 2);
    for d in &downloaded {
        let deployed = to.join("dist-pymod/0.1.0").join(d.file_name().unwrap());
        assert_eq!(sha256(d), sha256(&deployed), "{}", d.display());
    }

    // A second upload is a no-op: the index has both files with the same sha256.
    let o = deploy(&args, &creds);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text(&o).matches("has it with the same sha256").count(), 2, "{}", text(&o));
    assert!(text(&o).contains("nothing to upload"), "{}", text(&o));

    // A file of the same name with other bytes: refused, naming both hashes; nothing uploaded.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let first = list_wheels(&from)[0].clone();
    let repacked = repack_with_version(&first, "0.1.0", &dir.path().join("repack"));
    std::fs::copy(&repacked, other.join(first.file_name().unwrap())).unwrap();
    let other_to = dir.path().join("deploy-other");
    let o = deploy(
        &[
            "--from",
            other.to_str().unwrap(),
            "--to",
            other_to.to_str().unwrap(),
            "--upload",
            "--repository-url",
            &index.url,
        ],
        &creds,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let (old, new) = (sha256(&first), sha256(&other.join(first.file_name().unwrap())));
    assert_ne!(old, new);
    assert!(text(&o).contains(&old) && text(&o).contains(&new), "both hashes named: {}", text(&o));

    // A wrong password: a clear error, and still never printed.
    let o = deploy(&args, &[("TWINE_USERNAME", "uploader"), ("TWINE_PASSWORD", "wrong-pw-123")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("refused the credentials"), "{}", text(&o));
    assert!(!text(&o).contains("wrong-pw-123"), "{}", text(&o));

    // A short wrong password: refused as well, by the index's listing before twine runs.
    let o = deploy(&args, &[("TWINE_USERNAME", "uploader"), ("TWINE_PASSWORD", "pw")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("refused the credentials"), "{}", text(&o));

    // No credentials at all, an unreachable index.
    let o = deploy(&args, &[]);
    assert!(text(&o).contains("TWINE_USERNAME and TWINE_PASSWORD"), "{}", text(&o));
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead_url = format!("http://127.0.0.1:{dead}/");
    let mut dead_args = args.to_vec();
    let last = dead_args.len() - 1;
    dead_args[last] = &dead_url;
    let o = deploy(&dead_args, &creds);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot reach"), "{}", text(&o));
}

#[test]
fn ci_files_match_the_config() {
    for system in ["travis", "github"] {
        let o = crate::support::xtask(&["ci", system, "--check"]);
        assert!(o.status.success(), "the committed {system} file drifted from the config: {}", text(&o));
    }
    // A config with other images: --check sees the drift.
    let dir = TempDir::new("ci-drift");
    let config = dir.path().join("wheels.toml");
    let mut text_cfg = std::fs::read_to_string(repo_root().join("xtask/wheels.toml")).unwrap();
    text_cfg = text_cfg.replace("\"quay.io/pypa/musllinux_1_2_x86_64\",", "");
    std::fs::write(&config, text_cfg).unwrap();
    let o = crate::support::xtask(&["--config", config.to_str().unwrap(), "ci", "travis", "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

#[test]
fn the_2018_entry_points_call_the_xtask() {
    let dir = TempDir::new("entry-points");
    // fix_wheel.sh: a healthy wheel is left as it was.
    let whl = dir.path().join(built_wheels()[0].file_name().unwrap());
    std::fs::copy(&built_wheels()[0], &whl).unwrap();
    let before = crate::support::bytes(&whl);
    let o = Command::new(repo_root().join("ci-scripts/docker/fix_wheel.sh"))
        .arg(&whl)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("nothing to fix"), "{}", text(&o));
    assert_eq!(crate::support::bytes(&whl), before);
    let o = Command::new(repo_root().join("ci-scripts/docker/fix_wheel.sh"))
        .arg("not-a-wheel.txt")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));

    // docker_build.sh with the 2018 variable PY_VERSION, on the host.
    let out = dir.path().join("wheelhouse");
    let o = Command::new(repo_root().join("ci-scripts/docker/docker_build.sh"))
        .args(["--host", "-o", out.to_str().unwrap()])
        .env("PY_VERSION", "cp312")
        .env("XTASK_WHEELS_DIR", target_dir().join("test-cache/deploy-work"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let landed = list_wheels(&out);
    assert_eq!(landed.len(), 1);
    assert!(landed[0].to_string_lossy().contains("cp312"));
}

/// A pure wheel whose METADATA says `Version: <version>` (its file name says 0.1.0).
fn hostile_version_wheel(dir: &Path, version: &str) -> PathBuf {
    let tree = dir.join(format!("tree-{}", version.len()));
    std::fs::create_dir_all(tree.join("hostile")).unwrap();
    std::fs::write(tree.join("hostile/__init__.py"), "").unwrap();
    crate::support::write_dist_info(&tree, "hostile", "0.1.0", &["py3-none-any"]);
    let meta = tree.join("hostile-0.1.0.dist-info/METADATA");
    std::fs::write(&meta, format!("Metadata-Version: 2.1\nName: hostile\nVersion: {version}\n")).unwrap();
    crate::support::pack_wheel(&tree, &dir.join(format!("from-{}", version.len())))
}

/// A version taken from METADATA never becomes a path: `../../X` and an absolute folder are
/// refused (exit 2, naming PEP 440), and nothing outside the deploy folder changes (the
/// folders they aim at are hashed before and after).
#[test]
fn deploy_writes_nowhere_metadata_points() {
    let dir = TempDir::new("deploy-hostile");
    let victim = dir.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("precious.txt"), "keep").unwrap();
    let to = dir.path().join("a/deploy");
    for version in ["../../../victim", victim.to_str().unwrap(), "1.0/../../x"] {
        let whl = hostile_version_wheel(dir.path(), version);
        let before = crate::support::snapshot(dir.path());
        let o = deploy(&["--from", whl.parent().unwrap().to_str().unwrap(), "--to", to.to_str().unwrap()], &[]);
        assert_eq!(o.status.code(), Some(2), "{version}: {}", text(&o));
        assert!(text(&o).contains("not a PEP 440 version"), "{version}: {}", text(&o));
        assert_eq!(crate::support::snapshot(dir.path()), before, "{version}: something changed");
    }
}

/// A deploy killed between the two renames of its swap (the old folder set aside, the new one
/// not yet in place): the next deploy finishes it, and the earlier wheels are all there.
#[test]
fn a_deploy_killed_mid_swap_is_finished_by_the_next() {
    let dir = TempDir::new("deploy-kill");
    let to = dir.path().join("deploy");
    let built = built_wheels();
    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::copy(&built[0], first.join(built[0].file_name().unwrap())).unwrap();
    let o = deploy(&["--from", first.to_str().unwrap(), "--to", to.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let all = wheelhouse(dir.path());
    let o = deploy(
        &["--from", all.to_str().unwrap(), "--to", to.to_str().unwrap()],
        &[("XTASK_FAULT", "deploy-between-renames")],
    );
    assert!(!o.status.success(), "the fault hook aborts: {}", text(&o));
    let dist = to.join("dist-pymod");
    assert!(!dist.join("0.1.0").exists(), "killed between the renames: the version folder is aside");
    assert!(dist.join(".xtask-deploy-journal").exists());
    // The next deploy, of the first wheel only, finds the journal and finishes the swap first.
    let o = deploy(&["--from", first.to_str().unwrap(), "--to", to.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("interrupted deploy of 0.1.0 was finished"), "{}", text(&o));
    let dest = dist.join("0.1.0");
    assert_eq!(list_wheels(&dest).len(), 2, "both wheels, the earlier deploy's included");
    let check = Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(&dest).output().unwrap();
    assert!(check.status.success(), "{}", text(&check));
    let names: Vec<_> = std::fs::read_dir(&dist).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["0.1.0"], "no journal or temporary folder is left");
}

/// Credentials in the URL are refused (even with --dry-run) and never printed; missing
/// credentials are an error before anything is written.
#[test]
fn credentials_stay_out_of_urls_and_output() {
    let dir = TempDir::new("deploy-creds");
    let from = wheelhouse(dir.path());
    let to = dir.path().join("deploy");
    for extra in [&["--dry-run"][..], &[][..]] {
        let mut args = vec![
            "--from",
            from.to_str().unwrap(),
            "--to",
            to.to_str().unwrap(),
            "--upload",
            "--repository-url",
            "https://uploader:s3cret-p%40ss@127.0.0.1:9/",
        ];
        args.extend(extra);
        let o = deploy(&args, &[("TWINE_USERNAME", "u"), ("TWINE_PASSWORD", "p-long-enough")]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("TWINE_USERNAME and TWINE_PASSWORD"), "{}", text(&o));
        assert!(!text(&o).contains("s3cret"), "{}", text(&o));
    }
    let o = deploy(&["--from", from.to_str().unwrap(), "--to", to.to_str().unwrap(), "--upload"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nothing was written"), "{}", text(&o));
    assert!(!to.exists(), "nothing was written");
}
