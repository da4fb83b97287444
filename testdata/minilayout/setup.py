"""
minilayout: a miniature of KLayout's standalone Python module build.

Like KLayout's setup.py, the implementation libraries (lib_tl, lib_db,
lib_rdb) and the stream plugin (db_plugins/lib_gds2_dbpi) are built as
setuptools Extensions by a custom build_ext, so they get the interpreter's
extension suffix (lib_tl.cpython-311-x86_64-linux-gnu.so), while only the
three *core modules are real Python extension modules:

  minilayout/lib_tl.*.so        NEEDED libbz2, libz           RPATH $ORIGIN
  minilayout/lib_db.*.so        NEEDED lib_tl (dlopens plugins) RPATH $ORIGIN
  minilayout/lib_rdb.*.so       NEEDED lib_db, lib_tl         RPATH $ORIGIN
  minilayout/tlcore.*.so        NEEDED lib_tl                 RPATH $ORIGIN
  minilayout/dbcore.*.so        NEEDED lib_db                 RPATH $ORIGIN
  minilayout/rdbcore.*.so       NEEDED lib_rdb                RPATH $ORIGIN
  minilayout/db_plugins/lib_gds2_dbpi.*.so  NEEDED lib_db     RPATH $ORIGIN/..

Every library has SONAME = its file name. Compilers and flags come from
setuptools as usual (CC, CXX, CFLAGS, LDSHARED ... are honoured); include
folders are relative ("src/tl") so object files do not depend on where the
source tree is.
"""

import os
import sysconfig

from setuptools import setup, Extension
from setuptools.command.build_ext import build_ext


# The abi3 variant: MINILAYOUT_ABI3=cp310 builds one wheel for CPython 3.10 and newer (the
# stable ABI, tagged cp310-abi3): the core modules are compiled with Py_LIMITED_API and every
# file gets the ".abi3.so" suffix. A free-threaded interpreter has no stable ABI of this kind
# (abi3 wheels do not install there): it builds the ordinary wheel.
ABI3 = os.environ.get("MINILAYOUT_ABI3", "")
if ABI3 and sysconfig.get_config_var("Py_GIL_DISABLED"):
    ABI3 = ""
if ABI3 and not (ABI3.startswith("cp3") and ABI3[3:].isdigit()):
    raise SystemExit("MINILAYOUT_ABI3=%r: give the oldest CPython as cp3XX, e.g. cp310" % ABI3)


class MiniExtension(Extension):
    """
    An Extension that links other Extensions of this package.

    links:      names of the libraries (Extensions of this setup) to link
    rpath:      the RPATH, relative to the library's own folder ("$ORIGIN")
    is_library: True for implementation libraries and plugins (no PyInit_*,
                SONAME = file name); False for Python extension modules
    """

    def __init__(self, name, sources, links=(), rpath="$ORIGIN", is_library=False, **kwargs):
        kwargs.setdefault("language", "c++")
        if ABI3:
            kwargs["py_limited_api"] = True
            if not is_library:
                minor = int(ABI3[3:])
                kwargs["define_macros"] = [("Py_LIMITED_API", "0x03%02X0000" % minor)]
        Extension.__init__(self, name, sources, **kwargs)
        self.links = list(links)
        self.rpath = rpath
        self.is_library = is_library


# MINILAYOUT_BUILD_JOBS=N compiles on N threads (as KLayout's setup.py does with
# KLAYOUT_SETUP_MULTICORE): the compiler runs as a separate process, so threads are enough.
# Every library's sources are compiled first, all on one pool (a library of one file does not
# leave the other cores idle), then the libraries are linked in order. The object files are
# the same as a serial build's.
BUILD_JOBS = os.environ.get("MINILAYOUT_BUILD_JOBS", "1")
if not BUILD_JOBS.isdigit() or int(BUILD_JOBS) < 1:
    raise SystemExit("MINILAYOUT_BUILD_JOBS=%r: give a number of jobs, 1 or more" % BUILD_JOBS)
BUILD_JOBS = int(BUILD_JOBS)

try:
    from setuptools.modified import newer_group
except ImportError:  # setuptools < 69
    from distutils.dep_util import newer_group


def run_compiles(compiles):
    """compiles: (compiler, obj, src, ext, cc_args, extra_postargs, pp_opts) tuples."""
    from concurrent.futures import ThreadPoolExecutor

    def one(job):
        compiler, obj, src, ext, cc_args, extra_postargs, pp_opts = job
        compiler._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)

    with ThreadPoolExecutor(max_workers=BUILD_JOBS) as pool:
        # list() re-raises the first compile error
        list(pool.map(one, compiles))


def setup_compiles(compiler, sources, output_dir, macros, include_dirs, debug, extra_preargs,
                   extra_postargs, depends):
    macros, objects, extra_postargs, pp_opts, build = compiler._setup_compile(
        output_dir, macros, include_dirs, sources, depends, extra_postargs)
    cc_args = compiler._get_cc_args(pp_opts, debug, extra_preargs)
    jobs = [(compiler, obj, build[obj][0], build[obj][1], cc_args, extra_postargs, pp_opts)
            for obj in objects if obj in build]
    return objects, jobs


class minilayout_build_ext(build_ext):

    def build_extensions(self):
        if BUILD_JOBS == 1:
            build_ext.build_extensions(self)
            return
        import types
        compiler = self.compiler
        real_compile, real_link = compiler.compile, compiler.link_shared_object
        # Pass 1: what each library that is out of date would compile, without linking.
        pending, precompiled = [], set()

        def collect(self_, sources, output_dir=None, macros=None, include_dirs=None, debug=0,
                    extra_preargs=None, extra_postargs=None, depends=None):
            objects, jobs = setup_compiles(self_, sources, output_dir, macros, include_dirs, debug,
                                           extra_preargs, extra_postargs, depends)
            pending.extend(jobs)
            precompiled.add(tuple(objects))
            return objects

        compiler.compile = types.MethodType(collect, compiler)
        compiler.link_shared_object = lambda *args, **kwargs: None
        force = self.force
        try:
            self.force = True
            for ext in self.extensions:
                own = list(ext.sources) + [d for d in ext.depends if d.endswith(".h")]
                if force or newer_group(own, self.get_ext_fullpath(ext.name), "newer"):
                    self.build_extension(ext)
        finally:
            self.force = force
            compiler.compile, compiler.link_shared_object = real_compile, real_link
        run_compiles(pending)

        # Pass 2: the ordinary build, linking in order; what pass 1 compiled is not compiled
        # again, anything else (a library relinked because one it links changed) compiles here.
        def compile_rest(self_, sources, output_dir=None, macros=None, include_dirs=None, debug=0,
                         extra_preargs=None, extra_postargs=None, depends=None):
            objects, jobs = setup_compiles(self_, sources, output_dir, macros, include_dirs, debug,
                                           extra_preargs, extra_postargs, depends)
            if tuple(objects) not in precompiled:
                run_compiles(jobs)
            return objects

        compiler.compile = types.MethodType(compile_rest, compiler)
        try:
            build_ext.build_extensions(self)
        finally:
            compiler.compile = real_compile

    # Like KLayout's, this build links with the interpreter's LDSHARED as it is: with a
    # pyenv interpreter that carries "-Wl,-rpath,<prefix>/lib", which the xtask's build
    # step drops (xtask/src/wheels/link.rs), not this file.

    def get_export_symbols(self, ext):
        if getattr(ext, "is_library", False):
            return []
        return build_ext.get_export_symbols(self, ext)

    def build_extension(self, ext):
        if isinstance(ext, MiniExtension):
            # link the package's own libraries by file (their SONAME is the
            # file name, so DT_NEEDED gets the bare name, found via $ORIGIN)
            objs = [self.get_ext_fullpath(n) for n in ext.links]
            ext.extra_objects = list(ext.extra_objects or []) + [o for o in objs if o not in (ext.extra_objects or [])]
            ext.depends = list(ext.depends or []) + [o for o in objs if o not in (ext.depends or [])]
            args = list(ext.extra_link_args or [])
            if ext.is_library:
                soname = "-Wl,-soname," + os.path.basename(self.get_ext_filename(ext.name))
                if soname not in args:
                    args.append(soname)
            rpath = "-Wl,-rpath," + ext.rpath
            if rpath not in args:
                args.append(rpath)
            ext.extra_link_args = args
        build_ext.build_extension(self, ext)


def sources(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".cc"))


def headers(*folders):
    return sorted(os.path.join(d, f) for d in folders for f in os.listdir(d) if f.endswith(".h"))


# relative paths only: the build runs in this folder
TL, DB, RDB, PYMOD = "src/tl", "src/db", "src/rdb", "src/pymod"

lib_tl = MiniExtension(
    "minilayout.lib_tl",
    sources(TL),
    include_dirs=[TL],
    depends=headers(TL),
    libraries=["bz2", "z"],
    is_library=True,
)

lib_db = MiniExtension(
    "minilayout.lib_db",
    sources(DB),
    include_dirs=[TL, DB],
    depends=headers(TL, DB),
    links=["minilayout.lib_tl"],
    libraries=["dl"],
    is_library=True,
)

lib_rdb = MiniExtension(
    "minilayout.lib_rdb",
    sources(RDB),
    include_dirs=[TL, DB, RDB],
    depends=headers(TL, DB, RDB),
    links=["minilayout.lib_db", "minilayout.lib_tl"],
    is_library=True,
)

# not linked by anything: lib_db dlopens it from db_plugins/ beside itself
lib_gds2_dbpi = MiniExtension(
    "minilayout.db_plugins.lib_gds2_dbpi",
    sources("src/plugins/gds2"),
    include_dirs=[TL, DB],
    depends=headers(TL, DB),
    links=["minilayout.lib_db"],
    rpath="$ORIGIN/..",
    is_library=True,
)

tlcore = MiniExtension(
    "minilayout.tlcore",
    [PYMOD + "/tlcore.cc"],
    include_dirs=[TL, PYMOD],
    depends=headers(TL, PYMOD),
    links=["minilayout.lib_tl"],
)

dbcore = MiniExtension(
    "minilayout.dbcore",
    [PYMOD + "/dbcore.cc"],
    include_dirs=[TL, DB, PYMOD],
    depends=headers(TL, DB, PYMOD),
    links=["minilayout.lib_db"],
)

rdbcore = MiniExtension(
    "minilayout.rdbcore",
    [PYMOD + "/rdbcore.cc"],
    include_dirs=[TL, DB, RDB, PYMOD],
    depends=headers(TL, DB, RDB, PYMOD),
    links=["minilayout.lib_rdb"],
)

setup(
    name="minilayout",
    version="0.1.0",
    description="A miniature of KLayout's Python module build (test data for the wheel tool)",
    license="MIT",
    packages=["minilayout"],
    # As KLayout's setup.py does with its py.typed: a data file whose target folder has the
    # package's name. A real install puts it in <prefix>/minilayout/, beside site-packages.
    data_files=[("minilayout", ["minilayout/py.typed"])],
    # build order matters: a library is linked by the ones after it
    ext_modules=[lib_tl, lib_db, lib_rdb, lib_gds2_dbpi, tlcore, dbcore, rdbcore],
    cmdclass={"build_ext": minilayout_build_ext},
    options={"bdist_wheel": {"py_limited_api": ABI3}} if ABI3 else {},
    zip_safe=False,
)
