//! Ctrl-C (SIGINT) and SIGTERM: the handler sets a flag; the runner stops the running
//! command's whole process group when it sees it, and no further step or target starts.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set by the handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How long a stopped process group gets between TERM and KILL.
const GRACE: Duration = Duration::from_secs(2);

/// Installs the handler once per process.
pub fn install_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            eprintln!("xtask: interrupted: stopping the running command and cleaning up");
            INTERRUPTED.store(true, Ordering::SeqCst);
        });
    });
}

/// True once Ctrl-C was pressed (or SIGTERM received).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Stops a process group: TERM, then KILL after a grace period.
pub fn stop_group(pgid: u32) {
    let group = format!("-{pgid}");
    let _ = Command::new("kill").args(["-TERM", "--", &group]).stderr(Stdio::null()).status();
    std::thread::sleep(GRACE);
    let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
}
