//! The stand-in image for the pypa manylinux images (`xtask_dev::standin`), built for real with
//! debootstrap, this machine's pyenv interpreters and `docker import`. The first run builds it
//! (a few minutes); later runs find it by its tag.

use xshell::{cmd, Shell};
use xtask_dev::standin::{self, Options, IMAGE_REPO};

/// The image ID of a reference, through the engine.
fn image_id(sh: &Shell, reference: &str) -> String {
    let fmt = "{{.Id}}";
    cmd!(sh, "docker image inspect --format {fmt} {reference}").quiet().read().unwrap().trim().to_string()
}

/// Runs `args` in a throwaway container of `reference` and returns its stdout.
fn in_container(sh: &Shell, reference: &str, args: &[&str]) -> String {
    cmd!(sh, "docker run --rm {reference} {args...}")
        .read()
        .unwrap_or_else(|e| panic!("{args:?} failed in {reference}: {e}"))
}

#[test]
fn standin_image_has_the_pypa_layout() {
    let Some(()) = crate::support::docker_engine("standin_image_has_the_pypa_layout") else { return };
    let sh = Shell::new().unwrap();
    let opts = Options::default();
    let reference = standin::ensure_image(&sh, &crate::support::target_dir(), &opts)
        .unwrap_or_else(|e| panic!("cannot build the stand-in image: {e:?}"));
    let tag = reference.strip_prefix(&format!("{IMAGE_REPO}:")).expect("the reference names the stand-in repository");
    assert_eq!(tag.len(), 12, "{reference}");
    let id = image_id(&sh, &reference);

    let listing = in_container(&sh, &reference, &["ls", "/opt/python"]);
    let mut found: Vec<&str> = listing.split_whitespace().collect();
    found.sort();
    assert_eq!(found, ["cp311-cp311", "cp312-cp312", "cp313-cp313"], "/opt/python");
    for t in &found {
        let python = format!("/opt/python/{t}/bin/python");
        let v = in_container(&sh, &reference, &[&python, "-c", "import sys; print(sys.version_info[:2])"]);
        let want = format!("(3, {})", &t[3..5]);
        assert_eq!(v.trim(), want, "{python}");
    }

    let which = in_container(&sh, &reference, &["which", "auditwheel", "patchelf"]);
    assert_eq!(which.lines().collect::<Vec<_>>(), ["/usr/local/bin/auditwheel", "/usr/local/bin/patchelf"]);
    let plat = in_container(&sh, &reference, &["printenv", "AUDITWHEEL_PLAT"]);
    assert_eq!(plat.trim(), "manylinux_2_36_x86_64");
    let policies = in_container(&sh, &reference, &["auditwheel", "--version"]);
    assert!(policies.contains("auditwheel"), "{policies}");

    // The second call finds the image by its tag: same reference, same image.
    let again = standin::ensure_image(&sh, &crate::support::target_dir(), &opts).unwrap();
    assert_eq!(again, reference);
    assert_eq!(image_id(&sh, &again), id, "the second call must not rebuild the image");
}
