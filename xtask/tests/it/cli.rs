//! The command line as a user meets it: help text and bad input.

use crate::support::{text, xtask, TempDir};

#[test]
fn help_lists_every_subcommand() {
    let o = xtask(&["--help"]);
    assert!(o.status.success());
    let t = text(&o);
    for sub in ["wheels", "deploy", "ci", "fix-wheel", "check-wheel"] {
        assert!(t.contains(sub), "--help lacks {sub}:\n{t}");
    }
    // The stand-in image builder is dev-only: `cargo xtask-dev standin-image` (xtask/dev).
    assert!(!t.contains("standin-image"), "the product's --help names a dev-only command:\n{t}");
    // Each subcommand's --help carries its whole description, not just the first line.
    for (sub, words) in [
        ("wheels", "XTASK_HEARTBEAT_SECS"),
        ("fix-wheel", "Exit codes: 0 done or nothing to fix"),
        ("check-wheel", "Exit codes: 0 no error"),
        ("deploy", "TWINE_PASSWORD"),
        ("ci", "DOCKER_IMAGE and PY_VERSION"),
    ] {
        let o = xtask(&[sub, "--help"]);
        assert!(o.status.success() && text(&o).contains(words), "{sub} --help lacks {words:?}:\n{}", text(&o));
    }
}

#[test]
fn not_a_zip_is_unusable_and_untouched() {
    let dir = TempDir::new("cli-notzip");
    let whl = dir.path().join("pkg-1.0-cp311-cp311-linux_x86_64.whl");
    std::fs::write(&whl, b"this is not a zip").unwrap();
    for cmd in ["fix-wheel", "check-wheel"] {
        let o = xtask(&[cmd, whl.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", text(&o));
        assert!(text(&o).contains("pkg-1.0-cp311-cp311-linux_x86_64.whl"), "{cmd} must name the file: {}", text(&o));
        assert_eq!(std::fs::read(&whl).unwrap(), b"this is not a zip");
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind: {names:?}");
}

#[test]
fn a_non_wheel_name_is_refused() {
    let o = xtask(&["check-wheel", "/nonexistent/pkg-1.0.tar.gz"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("does not end in .whl"), "{}", text(&o));
    let o = xtask(&["fix-wheel", "/nonexistent/pkg-1.0-py3-none-any.whl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot read /nonexistent/pkg-1.0-py3-none-any.whl"), "{}", text(&o));
}
