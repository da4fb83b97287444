"""
tinyc: one small C extension module, for the targets where the miniature would take too long
(an aarch64 image under qemu-user emulation compiles about 20x slower than natively).

  tinyc/_tiny.*.so   NEEDED libc only; exports add() and machine()
"""

from setuptools import setup, Extension

setup(
    name="tinyc",
    version="0.1.0",
    description="A one-file C extension (test data for the wheel tool)",
    license="MIT",
    packages=["tinyc"],
    # The package lives below python/, so the test script beside this file cannot import the
    # source tree instead of the installed wheel.
    package_dir={"": "python"},
    ext_modules=[Extension("tinyc._tiny", ["src/tiny.c"])],
    zip_safe=False,
)
