//! The floors of `xtask/src/lib.rs`, checked on the sources themselves (parsed with syn, so
//! every spelling of a path counts: a `use`, a grouped `use crate::{a, b}`, a fully qualified
//! `crate::other::f()`, a `super::` path, a re-export):
//!
//! - no command names another command (`wheels`, `fix_wheel`, `repair`, `check_wheel`, `deploy`, `ci`);
//! - the processes name no command and not the command line (`flags`);
//! - the library names nothing above it (no command, no `flags`, no `processes`), prints
//!   nothing and never exits the process.

use std::path::{Path, PathBuf};

use syn::visit::{self, Visit};

/// The commands, one floor.
const COMMANDS: &[&str] = &["wheels", "fix_wheel", "repair", "check_wheel", "deploy", "ci"];
/// Macros a library module must not use: it returns values and errors, commands print them.
const PRINTING: &[&str] = &["print", "println", "eprint", "eprintln", "dbg"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Floor {
    /// `lib.rs` itself, which declares the modules.
    Root,
    /// `flags`: the command line, above the commands.
    Flags,
    Command(&'static str),
    Processes,
    Library,
    /// A path outside the crate (std, a dependency).
    Outside,
}

fn floor(module: &[String]) -> Floor {
    match module.first().map(String::as_str) {
        None => Floor::Root,
        Some("flags") => Floor::Flags,
        Some("processes") => Floor::Processes,
        Some("library") => Floor::Library,
        Some(m) => COMMANDS.iter().find(|c| **c == m).map_or(Floor::Outside, |c| Floor::Command(c)),
    }
}

/// Why `from` may not name `to`, or None when it may.
fn forbidden(from: Floor, to: Floor) -> Option<&'static str> {
    match (from, to) {
        (Floor::Command(a), Floor::Command(b)) if a != b => {
            Some("a command names another command: move what they share into the library")
        }
        (Floor::Processes, Floor::Command(_) | Floor::Flags) => Some("the processes name a command"),
        (Floor::Library, Floor::Command(_) | Floor::Flags | Floor::Processes) => {
            Some("the library names a floor above it")
        }
        (Floor::Library | Floor::Processes | Floor::Command(_), Floor::Root) => {
            Some("a glob import of the crate root names every command")
        }
        _ => None,
    }
}

/// Walks one file, resolving every path it writes against the module it is in.
struct Checker<'a> {
    file: &'a str,
    /// The module the file is (`["wheels", "steps"]`), plus the inline modules entered.
    module: Vec<String>,
    /// How many inline modules deep the walk is (their names are pushed onto `module`).
    inline: usize,
    /// Inside a `#[cfg(test)]` module: tests may print.
    in_tests: usize,
    found: Vec<String>,
}

impl Checker<'_> {
    /// The crate-absolute module a path's leading segments name, or None for paths that do not
    /// start at `crate`, `super` or `self`.
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let mut at = self.module.clone();
        let mut rest = segments;
        match segments.first().map(String::as_str) {
            Some("crate") => {
                at.clear();
                rest = &segments[1..];
            }
            Some("self") => rest = &segments[1..],
            Some("super") => {
                while rest.first().is_some_and(|s| s == "super") {
                    at.pop()?;
                    rest = &rest[1..];
                }
            }
            _ => return None,
        }
        at.extend(rest.iter().take(1).cloned());
        Some(at)
    }

    fn check_path(&mut self, segments: &[String]) {
        let Some(target) = self.resolve(segments) else { return };
        let (from, to) = (floor(&self.module), floor(&target));
        if let Some(why) = forbidden(from, to) {
            self.found.push(format!("{}: `{}`: {why}", self.file, segments.join("::")));
        }
    }

    fn check_use(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.check_use(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.check_path(prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.check_path(prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.check_path(prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.check_use(prefix, t);
                }
            }
        }
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test"))
}

impl<'ast> Visit<'ast> for Checker<'_> {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.check_use(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.check_path(&segments);
        if floor(&self.module) == Floor::Library && self.in_tests == 0 {
            let names_exit = segments.len() >= 2
                && segments[segments.len() - 2] == "process"
                && ["exit", "abort"].contains(&segments[segments.len() - 1].as_str());
            if names_exit {
                self.found.push(format!(
                    "{}: `{}`: a library module exits the process",
                    self.file,
                    segments.join("::")
                ));
            }
        }
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let name = m.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        if floor(&self.module) == Floor::Library && self.in_tests == 0 && PRINTING.contains(&name.as_str()) {
            self.found.push(format!("{}: `{name}!`: a library module prints to the terminal", self.file));
        }
        visit::visit_macro(self, m);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let test = is_cfg_test(&m.attrs);
        self.module.push(m.ident.to_string());
        self.inline += 1;
        self.in_tests += usize::from(test);
        visit::visit_item_mod(self, m);
        self.in_tests -= usize::from(test);
        self.inline -= 1;
        self.module.pop();
    }
}

/// The violations in `files`: (module path of the file, its source).
fn violations(files: &[(String, Vec<String>, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, module, source) in files {
        let parsed = syn::parse_file(source).unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
        let mut c = Checker { file: name, module: module.clone(), inline: 0, in_tests: 0, found: Vec::new() };
        c.visit_file(&parsed);
        found.extend(c.found);
    }
    found
}

/// Every file of the library crate with its module path (`main.rs`, the binary, dispatches to
/// every command and is left out).
fn sources(src: &Path) -> Vec<(String, Vec<String>, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        if rel == Path::new("main.rs") {
            continue;
        }
        let mut module: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
        let last = module.pop().unwrap();
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            module.push(stem.to_string());
        }
        out.push((rel.display().to_string(), module, std::fs::read_to_string(&f).unwrap()));
    }
    out
}

#[test]
fn the_sources_obey_the_floors() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = sources(&src);
    assert!(files.len() > 20, "found only {} source files", files.len());
    for c in COMMANDS {
        assert!(files.iter().any(|(_, m, _)| m.first().is_some_and(|f| f == c)), "no command module {c}");
    }
    let found = violations(&files);
    assert!(found.is_empty(), "the floors are broken:\n{}", found.join("\n"));
}

/// The checker itself sees every spelling of a forbidden path.
#[test]
fn the_checker_sees_every_spelling() {
    let file = |module: &[&str], source: &str| {
        (format!("{}.rs", module.join("/")), module.iter().map(|s| s.to_string()).collect::<Vec<_>>(), source.into())
    };
    let bad = [
        file(&["check_wheel"], "use crate::fix_wheel;"),
        file(&["check_wheel"], "use crate::{library, fix_wheel::plan};"),
        file(&["check_wheel"], "fn f() { crate::fix_wheel::run(); }"),
        file(&["check_wheel"], "use super::deploy as d;"),
        file(&["wheels", "steps"], "use super::super::ci::jobs;"),
        file(&["wheels", "steps"], "fn f() { let x = crate::check_wheel::run; }"),
        file(&["library", "report"], "pub use crate::deploy::run as deploy;"),
        file(&["library", "report"], "use crate::processes::tools;"),
        file(&["library", "report"], "use crate::flags::Wheels;"),
        file(&["processes", "docker"], "use crate::wheels::steps;"),
        file(&["library", "report"], "fn f() { println!(\"x\"); }"),
        file(&["library", "report"], "fn f() { eprintln!(\"x\"); }"),
        file(&["library", "report"], "fn f() { std::process::exit(2); }"),
        file(&["library"], "use super::*;"),
    ];
    for f in &bad {
        assert_eq!(violations(std::slice::from_ref(f)).len(), 1, "not flagged: {} in {}", f.2, f.0);
    }
    let good = [
        file(&["check_wheel"], "use crate::library::report; use crate::processes::tools; use crate::flags;"),
        file(&["wheels", "steps"], "use super::link; use super::summary::Step; fn f(c: &Config) { c.fix_wheel.x(); }"),
        file(&["library", "report"], "use crate::library::plan; use super::policy; use std::process::Command;"),
        file(&["library", "report"], "#[cfg(test)] mod tests { use super::*; fn f() { eprintln!(\"x\"); } }"),
        file(&["processes", "runner"], "use crate::library::image; fn f() { eprintln!(\"alive\"); }"),
    ];
    for f in &good {
        assert_eq!(violations(std::slice::from_ref(f)), Vec::<String>::new(), "flagged: {} in {}", f.2, f.0);
    }
}
