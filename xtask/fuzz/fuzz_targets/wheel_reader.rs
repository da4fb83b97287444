//! Any bytes as a wheel, through everything `check-wheel` does with one: open, scan (hash and
//! ELF-read every entry), RECORD check, loader graph, policy verdict, JSON report. An error
//! is fine (check-wheel says "unusable", exit 2); a panic is a bug.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xtask::library::analysis::Analysis;
use xtask::library::config::Config;
use xtask::library::report;
use xtask::library::wheel::{Wheel, WheelName};

/// Tag sets chosen to reach every branch of the report: CPython 2 narrow and wide ABIs (the
/// UCS2/UCS4 checks), a CPython 3 ABI (the extension suffix check), and a glibc and a musl
/// platform tag (claimed tags of both families). seed.sh renames the seed wheels' dist-info
/// folders to `fuzz-1.0.dist-info` to match.
const NAME: &str = "fuzz-1.0-cp27.cp311-cp27m.cp27mu.cp311-manylinux_2_17_x86_64.musllinux_1_2_x86_64.whl";

fn name() -> &'static WheelName {
    static N: OnceLock<WheelName> = OnceLock::new();
    N.get_or_init(|| WheelName::parse(NAME).expect("the fixed name is valid"))
}

fn config() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    // The default config: KLayout's runtime folder rule (db_plugins beside lib_db).
    C.get_or_init(Config::default)
}

fuzz_target!(|data: &[u8]| {
    let path = Path::new(NAME);
    let Ok(wheel) = Wheel::from_bytes(path, name().clone(), data.to_vec()) else {
        return;
    };
    let _ = wheel.declared_tags();
    // Scan (hash and ELF-read every entry) and RECORD check, then the report.
    let Ok(analysis) = Analysis::from_wheel(wheel) else {
        return;
    };
    let graph = analysis.graph(&config().runtime_folders);
    let report = report::report(config(), &analysis, &graph);
    let _ = serde_json::to_string(&report);
});
