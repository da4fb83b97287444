//! The interpreter's link lines, without the RPATH to its own lib folder.
//!
//! An interpreter built with `--enable-shared` and a private prefix (pyenv, a self-built
//! Python, the stand-in image's copies of them) writes `-Wl,-rpath,<prefix>/lib` into its
//! `LDSHARED` and `LDCXXSHARED`, and setuptools links every extension with them: every
//! library of the built wheel then searches `/root/.pyenv/versions/3.11.7/lib` on the user's
//! machine. auditwheel 6.8 drops such entries only from the files that reach a library it
//! grafts (directly or through the wheel's own libraries: all of KLayout's reach libcurl
//! through lib_tl); a file that reaches none, or a package that grafts nothing, keeps them,
//! and check-wheel rightly refuses the wheel. KLayout's setup.py, like most, does not strip
//! them: the build step gives setuptools the same link lines without them, through `LDSHARED`
//! and `LDCXXSHARED` (which setuptools takes as they are), unless the project's config sets
//! those itself, so no wheel depends on auditwheel's clean-up. The manylinux images'
//! interpreters carry no such entry, so nothing changes there.

/// `LDSHARED` / `LDCXXSHARED` for the build, or nothing when the interpreter's own lines
/// carry no RPATH outside the package (then setuptools' defaults are right as they are).
/// `cc` is the interpreter's `CC` and `cc_wrapper` the compiler the build is given as `CC`:
/// setuptools puts that in front of `LDSHARED` in place of `cc`, and so do we.
pub fn build_env(ldshared: &str, ldcxxshared: &str, cc: &str, cc_wrapper: &str) -> Vec<(String, String)> {
    let (shared, dropped_c) = without_foreign_rpaths(ldshared);
    let (cxxshared, dropped_cxx) = without_foreign_rpaths(ldcxxshared);
    if !dropped_c && !dropped_cxx {
        return Vec::new();
    }
    let cc = cc.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut env = Vec::new();
    if !shared.is_empty() {
        let shared = match shared.strip_prefix(&cc) {
            Some(rest) if !cc.is_empty() && (rest.is_empty() || rest.starts_with(' ')) => format!("{cc_wrapper}{rest}"),
            _ => shared,
        };
        env.push(("LDSHARED".to_string(), shared));
    }
    if !cxxshared.is_empty() {
        env.push(("LDCXXSHARED".to_string(), cxxshared));
    }
    env
}

/// The words of a link line without the options that put a search path outside the package
/// into the RPATH (`-Wl,-rpath,/abs`, `-Wl,-rpath=/abs`, `-Wl,-R/abs`, `-Wl,-R,/abs`, and the
/// split `-Wl,-rpath -Wl,/abs`); `$ORIGIN` entries stay. Also says whether one was dropped.
pub fn without_foreign_rpaths(line: &str) -> (String, bool) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut dropped = false;
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if w == "-Wl,-rpath" || w == "-Wl,-R" {
            if let Some(value) = words.get(i + 1).and_then(|n| n.strip_prefix("-Wl,")) {
                if is_foreign(value) {
                    dropped = true;
                    i += 2;
                    continue;
                }
            }
        } else if let Some(value) = rpath_value(w) {
            if is_foreign(value) {
                dropped = true;
                i += 1;
                continue;
            }
        }
        kept.push(w);
        i += 1;
    }
    (kept.join(" "), dropped)
}

/// The value of a one-word RPATH option.
fn rpath_value(word: &str) -> Option<&str> {
    ["-Wl,-rpath,", "-Wl,-rpath=", "-Wl,--rpath=", "-Wl,-R,", "-Wl,-R"].iter().find_map(|p| word.strip_prefix(p))
}

/// True when every entry of a `:`-separated search path is an absolute folder (none relative
/// to `$ORIGIN`): such an option only ever names the build machine's folders.
fn is_foreign(value: &str) -> bool {
    !value.is_empty() && value.split(':').all(|e| e.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYENV: &str = "gcc -shared -L/root/.pyenv/versions/3.11.7/lib -Wl,-rpath,/root/.pyenv/versions/3.11.7/lib \
                         -L/root/.pyenv/versions/3.11.7/lib -Wl,-rpath,/root/.pyenv/versions/3.11.7/lib";

    #[test]
    fn pyenv_link_lines_lose_their_rpaths_and_keep_the_rest() {
        let (line, dropped) = without_foreign_rpaths(PYENV);
        assert!(dropped);
        assert_eq!(line, "gcc -shared -L/root/.pyenv/versions/3.11.7/lib -L/root/.pyenv/versions/3.11.7/lib");
    }

    #[test]
    fn every_spelling_of_an_absolute_rpath_goes_and_origin_stays() {
        for w in ["-Wl,-rpath=/a", "-Wl,--rpath=/a", "-Wl,-R/a", "-Wl,-R,/a", "-Wl,-rpath,/a:/b"] {
            assert_eq!(
                without_foreign_rpaths(&format!("cc -shared {w} -lm")),
                ("cc -shared -lm".to_string(), true),
                "{w}"
            );
        }
        assert_eq!(without_foreign_rpaths("cc -Wl,-rpath -Wl,/a -lm"), ("cc -lm".to_string(), true));
        for keep in
            ["cc -Wl,-rpath,$ORIGIN", "cc -Wl,-rpath,/a:$ORIGIN/..", "cc -Wl,-rpath -Wl,$ORIGIN", "cc -Wl,-Bsymbolic"]
        {
            assert_eq!(without_foreign_rpaths(keep), (keep.to_string(), false), "{keep}");
        }
    }

    #[test]
    fn the_build_gets_ldshared_with_the_wrapper_in_front_only_when_something_was_dropped() {
        let env = build_env(PYENV, &PYENV.replace("gcc", "g++"), "gcc", "/c/bin/xtask-cc");
        assert_eq!(
            env,
            vec![
                (
                    "LDSHARED".to_string(),
                    "/c/bin/xtask-cc -shared -L/root/.pyenv/versions/3.11.7/lib -L/root/.pyenv/versions/3.11.7/lib"
                        .to_string()
                ),
                (
                    "LDCXXSHARED".to_string(),
                    "g++ -shared -L/root/.pyenv/versions/3.11.7/lib -L/root/.pyenv/versions/3.11.7/lib".to_string()
                ),
            ]
        );
        // The manylinux images' interpreters: nothing to drop, setuptools' defaults stay.
        assert!(build_env("gcc -pthread -shared", "g++ -pthread -shared", "gcc -pthread", "/w").is_empty());
        // A CC that is not the front of LDSHARED is left alone.
        let env = build_env("clang -shared -Wl,-rpath,/p", "", "gcc", "/w");
        assert_eq!(env, vec![("LDSHARED".to_string(), "clang -shared".to_string())]);
    }
}
