//! The developers' command line: `cargo xtask-dev`.

use std::process::Command;

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn standin_image_help_carries_its_whole_description() {
    let o = Command::new(env!("CARGO_BIN_EXE_xtask-dev")).args(["standin-image", "--help"]).output().unwrap();
    assert!(o.status.success() && text(&o).contains("debootstrap"), "standin-image --help:\n{}", text(&o));
    let o = Command::new(env!("CARGO_BIN_EXE_xtask-dev")).args(["standin-image", "--python", "3.x"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("invalid Python version \"3.x\""), "{}", text(&o));
}
