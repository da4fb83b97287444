//! check-wheel's verdict on the defect classes it once got wrong, each built at test time
//! (`cc`, patchelf, Python's zipfile, or an ELF header written by hand for machines this one
//! cannot compile for), compared with `auditwheel show --json` where auditwheel judges the
//! same thing: the tag it earns must be auditwheel's, and a wheel that loads is no error.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{check_json, pack_wheel, text, tools, write_dist_info, xtask, TempDir};

/// Compiles `source` (C) into a shared object at `out` with extra flags.
fn cc(dir: &Path, source: &str, out: &Path, flags: &[&str]) {
    let c = dir.join(format!("{}.c", out.file_name().unwrap().to_string_lossy()));
    std::fs::write(&c, source).unwrap();
    // --no-as-needed: this machine's gcc links --as-needed, which drops libc.so.6 from a
    // library that calls nothing in it; auditwheel tells the libc from that entry.
    let o = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wl,--no-as-needed"])
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(&c)
        .output()
        .unwrap();
    assert!(o.status.success(), "cc: {}", text(&o));
}

fn patchelf(args: &[&str], file: &Path) {
    let o = Command::new(&tools().patchelf).args(args).arg(file).output().unwrap();
    assert!(o.status.success(), "patchelf {args:?}: {}", text(&o));
}

/// Packs `tree` (files already in it) as dist `dist` 1.0 with the WHEEL tags given.
fn pack(tree: &Path, dist: &str, tags: &[&str], out: &Path) -> PathBuf {
    write_dist_info(tree, dist, "1.0", tags);
    pack_wheel(tree, out)
}

/// The report on one wheel and check-wheel's exit code.
fn report(whl: &Path) -> (Option<i32>, Value) {
    let (code, doc) = check_json(&[whl]);
    (code, doc["wheels"][0].clone())
}

/// `auditwheel show --json`'s overall tag (None when auditwheel refuses the wheel).
fn auditwheel_tag(whl: &Path) -> Option<String> {
    let path = format!("{}:{}", tools().venv.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let o = Command::new(&tools().auditwheel).args(["show", "--json"]).arg(whl).env("PATH", path).output().unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).ok()?;
    v["overall_tag"].as_str().map(str::to_string)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// A weak, unversioned undefined `__cxa_thread_atexit_impl` (a Rust extension's fallback when
/// glibc lacks it): bound to NULL when absent, so it asks nothing of the policy. auditwheel
/// skips STB_WEAK; so does check-wheel (it was "blacklisted by manylinux_2_17" and a lower tag).
#[test]
fn weak_undefined_symbols_ask_nothing_of_the_policy() {
    let dir = TempDir::new("trust-weak");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("weakmod")).unwrap();
    let so = tree.join("weakmod/_weak.cpython-311-x86_64-linux-gnu.so");
    cc(
        dir.path(),
        "extern void __cxa_thread_atexit_impl(void) __attribute__((weak));\n\
         void *PyInit__weak(void) { return (void *)__cxa_thread_atexit_impl; }\n",
        &so,
        &["-nostdlib"],
    );
    patchelf(&["--add-needed", "libc.so.6"], &so);
    let whl = pack(&tree, "weakmod", &["cp311-cp311-manylinux_2_5_x86_64"], &dir.path().join("out"));
    let (code, r) = report(&whl);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["overall_tag"], "manylinux_2_5_x86_64", "{r:#}");
    assert_eq!(auditwheel_tag(&whl).as_deref(), Some("manylinux_2_5_x86_64"), "auditwheel agrees");
}

/// UCS2 against the ABI tag: a narrow `cp27m` extension rightly imports PyUnicodeUCS2_* (no
/// error), a `cp27mu` one is the 2018 failure; and a UCS4 import typed NOTYPE (as such imports
/// often are) in a `cp27m` wheel is caught too.
#[test]
fn ucs2_is_judged_against_the_abi_tag() {
    let dir = TempDir::new("trust-ucs");
    let build = |name: &str, source: &str, abi: &str| -> PathBuf {
        let tree = dir.path().join(format!("tree-{name}-{abi}"));
        std::fs::create_dir_all(tree.join("u")).unwrap();
        cc(dir.path(), source, &tree.join(format!("u/{name}.so")), &[]);
        pack(&tree, "u", &[&format!("cp27-{abi}-linux_x86_64")], &dir.path().join(format!("out-{name}-{abi}")))
    };
    let ucs2 = "void *PyUnicodeUCS2_AsUTF8String(void *u);\n\
                __asm__(\".type PyUnicodeUCS2_AsUTF8String, @function\");\n\
                void *f(void *u) { return PyUnicodeUCS2_AsUTF8String(u); }\nvoid initucs2mod(void) {}\n";
    let ucs4_notype = "__asm__(\".globl PyUnicodeUCS4_AsUTF8String\");\n\
                       void f(void) { __asm__ volatile(\"call PyUnicodeUCS4_AsUTF8String@PLT\"); }\n\
                       void initucs4mod(void) {}\n";
    let narrow = build("ucs2mod", ucs2, "cp27m");
    let (_, r) = report(&narrow);
    assert!(strings(&r["problems"]).is_empty(), "a narrow wheel may import the UCS2 API: {r:#}");
    assert_eq!(r["ucs2"], true, "{r:#}");
    assert_eq!(r["overall_tag"].as_str(), auditwheel_tag(&narrow).as_deref(), "{r:#}");
    let wide = build("ucs2mod", ucs2, "cp27mu");
    let (code, r) = report(&wide);
    assert_eq!(code, Some(1), "{r:#}");
    assert!(strings(&r["problems"]).iter().any(|p| p.contains("the 2018 cp27mu failure")), "{r:#}");
    let notype = build("ucs4mod", ucs4_notype, "cp27m");
    let (code, r) = report(&notype);
    assert_eq!(code, Some(1), "{r:#}");
    assert!(strings(&r["problems"]).iter().any(|p| p.contains("PyUnicodeUCS4_AsUTF8String")), "{r:#}");
}

/// A minimal ELF header (no sections) of any machine, class, byte order and flags: enough for
/// what check-wheel reads of a machine this one cannot compile for.
fn elf_header(machine: u16, is_64: bool, little: bool, flags: u32) -> Vec<u8> {
    let mut h = vec![0x7f, b'E', b'L', b'F', if is_64 { 2 } else { 1 }, if little { 1 } else { 2 }, 1, 0];
    h.resize(16, 0);
    let u16b = |v: u16| if little { v.to_le_bytes() } else { v.to_be_bytes() };
    let u32b = |v: u32| if little { v.to_le_bytes() } else { v.to_be_bytes() };
    h.extend(u16b(3)); // ET_DYN
    h.extend(u16b(machine));
    h.extend(u32b(1));
    if is_64 {
        h.extend([0u8; 24]); // entry, phoff, shoff
    } else {
        h.extend([0u8; 12]);
    }
    h.extend(u32b(flags));
    let ehsize: u16 = if is_64 { 64 } else { 52 };
    h.extend(u16b(ehsize));
    h.extend([0u8; 10]); // phentsize, phnum, shentsize, shnum, shstrndx
    assert_eq!(h.len(), usize::from(ehsize));
    h
}

/// 32-bit ARM: soft-float code cannot be loaded by an armhf interpreter and earns no
/// manylinux armv7l tag; an unknown machine gets a plain message, never an invented tag.
#[test]
fn arm_float_abi_and_unknown_machines() {
    let dir = TempDir::new("trust-arm");
    let case = |name: &str, header: Vec<u8>, tag: &str| -> Value {
        let tree = dir.path().join(format!("tree-{name}"));
        std::fs::create_dir_all(tree.join("m")).unwrap();
        std::fs::write(tree.join("m/libx.so"), header).unwrap();
        let whl = pack(&tree, "m", &[&format!("py3-none-{tag}")], &dir.path().join(format!("out-{name}")));
        report(&whl).1
    };
    let hard = case("hard", elf_header(40, false, true, 0x0500_0400), "manylinux_2_17_armv7l");
    assert!(strings(&hard["problems"]).is_empty(), "hard-float EABI5 is armv7l: {hard:#}");
    assert_eq!(hard["overall_tag"], "manylinux_2_17_armv7l", "{hard:#}");
    let soft = case("soft", elf_header(40, false, true, 0x0500_0000), "manylinux_2_17_armv7l");
    let problems = strings(&soft["problems"]);
    assert!(problems.iter().any(|p| p.contains("soft-float")), "{soft:#}");
    assert!(problems.iter().any(|p| p.contains("claims manylinux_2_17_armv7l but earns only")), "{soft:#}");
    let mips = case("mips", elf_header(8, false, true, 0), "linux_x86_64");
    let all = format!("{mips:#}");
    assert!(all.contains("for machine 8 (32-bit, little endian), which no wheel platform tag names"), "{all}");
    assert!(!all.contains("machine-8"), "no invented tag: {all}");
    let ppc = case("ppc64", elf_header(21, true, false, 0), "manylinux_2_17_ppc64");
    assert!(strings(&ppc["problems"]).is_empty(), "big-endian PPC64 is ppc64, not ppc64le: {ppc:#}");
}

/// One WHEEL `Tag:` line holding a `.`-joined platform set (maturin until 1.8) is PEP 425: its
/// platforms are expanded, none is an "unknown policy", and the line matches the file name.
#[test]
fn compressed_tag_sets_in_wheel_are_expanded() {
    let dir = TempDir::new("trust-tags");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("c")).unwrap();
    cc(dir.path(), "int c_value(void) { return 1; }\n", &tree.join("c/libc_value.so"), &[]);
    let whl = pack(&tree, "c", &["py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64"], &dir.path().join("out"));
    assert!(whl.to_string_lossy().ends_with("manylinux_2_17_x86_64.manylinux2014_x86_64.whl"), "{}", whl.display());
    let (_, r) = report(&whl);
    let all = format!("{r:#}");
    assert!(!all.contains("names no known policy") && !all.contains("Tag lines"), "{all}");
    assert_eq!(r["overall_tag"].as_str(), auditwheel_tag(&whl).as_deref(), "auditwheel agrees: {all}");
}

/// musl: nothing in a wheel tells musl 1.1 from 1.2, so a musllinux_1_1 claim is earned by a
/// wheel that passes 1_1's library checks; plain `libc.so` is musl's own loader. A wheel whose
/// ELF files show no libc at all gets a warning, not a silent glibc.
#[test]
fn musl_claims_and_unknown_libc() {
    let dir = TempDir::new("trust-musl");
    let build = |name: &str, needed: &[&str], tag: &str| -> Value {
        let tree = dir.path().join(format!("tree-{name}"));
        std::fs::create_dir_all(tree.join("mu")).unwrap();
        let so = tree.join("mu/libmu.so");
        cc(dir.path(), "int mu(void) { return 1; }\n", &so, &["-nostdlib"]);
        for n in needed {
            patchelf(&["--add-needed", n], &so);
        }
        let whl = pack(&tree, "mu", &[&format!("py3-none-{tag}")], &dir.path().join(format!("out-{name}")));
        let r = report(&whl).1;
        // auditwheel reads plain `libc.so` from this glibc host (a linker script) and stops:
        // the corpus's documented orjson difference; the libc.musl-* case is compared.
        if needed.iter().any(|n| n.starts_with("libc.musl")) {
            assert_eq!(r["overall_tag"].as_str(), auditwheel_tag(&whl).as_deref(), "auditwheel agrees: {r:#}");
        }
        r
    };
    let r = build("musl11", &["libc.musl-x86_64.so.1"], "musllinux_1_1_x86_64");
    assert!(strings(&r["problems"]).is_empty(), "musllinux_1_1 is earned: {r:#}");
    // Plain libc.so is musl's loader (upstream musl's soname, which Rust's musl targets link):
    // the wheel is musl's, and its libc is allowed.
    let r = build("plain", &["libc.so"], "linux_x86_64");
    assert!(strings(&r["warnings"]).is_empty(), "libc.so tells the libc: {r:#}");
    assert_eq!(r["overall_tag"], "musllinux_1_2_x86_64", "{r:#}");
    let r = build("nolibc", &[], "linux_x86_64");
    assert!(strings(&r["warnings"]).iter().any(|w| w.contains("no ELF file shows its C library")), "{r:#}");
}

/// A wheel for another platform is not judged (exit 0, a note), whatever ELF-like file it
/// holds; a free-threaded extension only in a `t` wheel, and the reverse.
#[test]
fn other_platforms_and_free_threaded_abis() {
    let dir = TempDir::new("trust-ft");
    let tree = dir.path().join("tree-mac");
    std::fs::create_dir_all(tree.join("m")).unwrap();
    std::fs::write(tree.join("m/libx.so"), elf_header(62, true, true, 0)).unwrap();
    let mac = pack(&tree, "m", &["cp312-cp312-macosx_11_0_arm64"], &dir.path().join("out-mac"));
    let o = xtask(&["check-wheel", mac.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("not a Linux wheel (macosx_11_0_arm64): not checked"), "{}", text(&o));
    // auditwheel judges the ELF file whatever the tag says (here manylinux_2_5_x86_64 for an
    // x86-64 header in a macOS wheel); the tag decides the platform, so there is no comparison.

    let ext = |name: &str, abi: &str| -> Value {
        let tree = dir.path().join(format!("tree-{name}-{abi}"));
        std::fs::create_dir_all(tree.join("ft")).unwrap();
        let init = name.split('.').next().unwrap();
        cc(dir.path(), &format!("void *PyInit_{init}(void) {{ return 0; }}\n"), &tree.join(format!("ft/{name}")), &[]);
        let whl =
            pack(&tree, "ft", &[&format!("cp314-{abi}-linux_x86_64")], &dir.path().join(format!("out-{init}-{abi}")));
        report(&whl).1
    };
    let r = ext("m.cpython-314t-x86_64-linux-gnu.so", "cp314t");
    assert!(strings(&r["problems"]).is_empty(), "{r:#}");
    let r = ext("n.cpython-314t-x86_64-linux-gnu.so", "cp314");
    assert!(strings(&r["problems"]).iter().any(|p| p.contains("free-threaded extension")), "{r:#}");
    let r = ext("o.cpython-314-x86_64-linux-gnu.so", "cp314t");
    assert!(strings(&r["problems"]).iter().any(|p| p.contains("GIL build")), "{r:#}");
}

/// A search path outside the wheel in a file that still resolves is a warning (exit 0), an
/// error only with --strict; PyPI's refusals are their own section, exit 1 with --pypi.
#[test]
fn levels_decide_the_exit_code() {
    let dir = TempDir::new("trust-levels");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("lv")).unwrap();
    let so = tree.join("lv/liblv.so");
    cc(dir.path(), "int lv(void) { return 1; }\n", &so, &[]);
    patchelf(&["--set-rpath", "/opt/build/lib"], &so);
    // Two names that are one on macOS and Windows: a warning.
    std::fs::write(tree.join("lv/NOTES.txt"), "a").unwrap();
    std::fs::write(tree.join("lv/notes.txt"), "b").unwrap();
    // A local version and a License-File that is not where PEP 639 puts it: the wheel loads,
    // PyPI refuses it.
    write_dist_info(&tree, "lv", "1.0+local", &["py3-none-manylinux_2_17_x86_64"]);
    let meta = tree.join("lv-1.0+local.dist-info/METADATA");
    std::fs::write(&meta, "Metadata-Version: 2.4\nName: lv\nVersion: 1.0+local\nLicense-File: LICENSE\n").unwrap();
    let whl = pack_wheel(&tree, &dir.path().join("out"));
    let w = whl.to_str().unwrap();
    let (code, r) = report(&whl);
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["verdict"], "pypi", "{r:#}");
    assert!(strings(&r["warnings"]).iter().any(|m| m.contains("/opt/build/lib")), "{r:#}");
    assert!(strings(&r["warnings"]).iter().any(|m| m.contains("lv/NOTES.txt and lv/notes.txt are one name")), "{r:#}");
    assert!(strings(&r["pypi"]).iter().any(|m| m.contains("License-File") && m.contains("licenses/LICENSE")), "{r:#}");
    assert!(strings(&r["pypi"]).iter().any(|m| m.contains("local version")), "{r:#}");
    let o = xtask(&["check-wheel", "--pypi", w]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("PyPI would refuse:"), "{}", text(&o));
    let o = xtask(&["check-wheel", "--strict", w]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("warning: lv/liblv.so has search path entry"), "{}", text(&o));
}

/// PyPI's zip rules that every reader reads past: a comment, bytes before or after the
/// archive, a tar header in front, two end records, streamed entries, duplicate extra fields.
#[test]
fn pypi_zip_rules() {
    let dir = TempDir::new("trust-zip");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("z")).unwrap();
    std::fs::write(tree.join("z/__init__.py"), "").unwrap();
    let whl = pack(&tree, "z", &["py3-none-any"], &dir.path().join("out"));
    let commented = dir.path().join("c/z-1.0-py3-none-any.whl");
    std::fs::create_dir_all(commented.parent().unwrap()).unwrap();
    let o = crate::support::python(
        "import shutil, sys, zipfile\nshutil.copy(sys.argv[1], sys.argv[2])\nz = zipfile.ZipFile(sys.argv[2], 'a')\nz.comment = b'hello'\nz.close()",
        &[whl.to_str().unwrap(), commented.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (code, r) = report(&commented);
    assert_eq!(code, Some(0), "{r:#}");
    assert!(strings(&r["pypi"]).iter().any(|m| m.contains("has a comment")), "{r:#}");
    let prefixed = dir.path().join("p/z-1.0-py3-none-any.whl");
    std::fs::create_dir_all(prefixed.parent().unwrap()).unwrap();
    let mut bytes = b"#!/bin/sh\nexit 0\n".to_vec();
    bytes.extend(std::fs::read(&whl).unwrap());
    std::fs::write(&prefixed, bytes).unwrap();
    let (_, r) = report(&prefixed);
    assert!(format!("{r:#}").contains("stand before the archive"), "{r:#}");

    // The rest, each made by Python's zipfile from the same wheel: every one still installs.
    let remade = |how: &str| -> Value {
        let out = dir.path().join(format!("{how}/z-1.0-py3-none-any.whl"));
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let o = crate::support::python(REMAKE, &[how, whl.to_str().unwrap(), out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let (code, r) = report(&out);
        assert_eq!(code, Some(0), "{how}: {r:#}");
        r
    };
    let pypi = |r: &Value| strings(&r["pypi"]).join("\n");
    assert!(pypi(&remade("tar")).contains("a tar archive too"));
    assert!(pypi(&remade("trailing")).contains("8 bytes follow the end of the archive"));
    assert!(pypi(&remade("two-ends")).contains("2 end-of-central-directory records"));
    assert!(pypi(&remade("streamed")).contains("streamed entries (data descriptors): \"z/__init__.py\""));
    assert!(pypi(&remade("extras")).contains("duplicate extra fields in \"z/__init__.py\""));
}

/// Remakes a wheel (argv[2]) into argv[3] in one of the forms PyPI refuses (argv[1]).
const REMAKE: &str = r#"
import io, shutil, struct, sys, zipfile
how, src, dst = sys.argv[1:4]
class Unseekable(io.RawIOBase):
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)
with zipfile.ZipFile(src) as z:
    items = [(i, z.read(i)) for i in z.infolist()]
if how == 'streamed':
    with open(dst, 'wb') as f, zipfile.ZipFile(Unseekable(f), 'w') as out:
        for i, data in items:
            out.writestr(i.filename, data)
elif how == 'extras':
    with zipfile.ZipFile(dst, 'w') as out:
        for i, data in items:
            if i.filename == 'z/__init__.py':
                field = struct.pack('<HHB', 0x7075, 5, 1) + struct.pack('<I', 0)
                i.extra = field + field
            out.writestr(i, data)
else:
    data = open(src, 'rb').read()
    if how == 'tar':
        header = bytearray(512); header[257:262] = b'ustar'
        data = bytes(header) + data
    elif how == 'trailing':
        data += b'trailing'
    elif how == 'two-ends':
        end = data.rindex(b'PK\x05\x06')
        data = data[:end] + data[end:] + data[end:]
    open(dst, 'wb').write(data)
"#;

/// abi3 wheels: an extension that imports only what the stable ABI of the wheel's baseline
/// holds is clean; one outside the stable ABI, or in it only from a later version, is an
/// error. abi3audit (which the pypa images run after repair) is the oracle.
#[test]
fn abi3_extensions_stay_in_the_stable_abi() {
    let dir = TempDir::new("trust-abi3");
    let build = |name: &str, call: &str| -> PathBuf {
        let tree = dir.path().join(format!("tree-{name}"));
        std::fs::create_dir_all(tree.join("s")).unwrap();
        let source = format!(
            "void *{call}(void *, ...);\n__asm__(\".type {call}, @function\");\n\
             void *PyInit_{name}(void) {{ return {call}(0); }}\n"
        );
        cc(dir.path(), &source, &tree.join(format!("s/{name}.abi3.so")), &[]);
        pack(&tree, "s", &["cp39-abi3-manylinux_2_17_x86_64"], &dir.path().join(format!("out-{name}")))
    };
    let abi3audit = tools().venv.join("bin/abi3audit");
    for (name, call, ours) in [
        ("good", "PyArg_ParseTuple", None),
        ("later", "PyUnicode_AsUTF8AndSize", Some("uses the stable ABI of CPython 3.10")),
        ("outside", "PyUnicode_AsUTF8", Some("outside the stable ABI")),
    ] {
        let whl = build(name, call);
        let (_, r) = report(&whl);
        let problems = strings(&r["problems"]);
        let theirs = Command::new(&abi3audit).arg(&whl).output().unwrap();
        match ours {
            None => {
                assert!(problems.is_empty(), "{name}: {r:#}");
                assert!(theirs.status.success(), "abi3audit disagrees on {name}: {}", text(&theirs));
            }
            Some(why) => {
                assert!(problems.iter().any(|p| p.contains(why) && p.contains(call)), "{name}: {r:#}");
                assert!(!theirs.status.success(), "abi3audit disagrees on {name}: {}", text(&theirs));
            }
        }
    }
}
