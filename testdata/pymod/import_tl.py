"""minilayout pymod test: lib_tl through tlcore (like KLayout's testdata/pymod/import_tl.py).

Run with the interpreter the wheel is installed into, from any folder:
    venv/bin/python testdata/pymod/import_tl.py
Exits non-zero on failure.
"""

import os
import sys
import unittest
import zlib

import minilayout
import minilayout.tl as tl


def check_installed(testcase, module):
    """The package under test must be the INSTALLED minilayout, not the source tree."""
    source_pkg = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               "..", "minilayout", "minilayout"))
    here = os.path.realpath(os.path.dirname(os.path.abspath(module.__file__)))
    sys.stderr.write("minilayout imported from %s\n" % here)
    testcase.assertNotEqual(here, source_pkg,
                            "minilayout was imported from the source tree, not from an installed wheel")


class TlTest(unittest.TestCase):

    def test_1_installed(self):
        check_installed(self, minilayout)
        self.assertEqual(minilayout.__version__, "0.1.0")
        self.assertEqual(tl.version(), "0.1.0")

    def test_2_crc32_zlib(self):
        # zlib: on the manylinux whitelist, comes from the system
        for data in (b"", b"minilayout", bytes(range(256)) * 100):
            self.assertEqual(tl.crc32(data), zlib.crc32(data) & 0xffffffff)
        self.assertTrue(tl.zlib_version())

    def test_3_bz2(self):
        # libbz2: not on the whitelist, auditwheel grafts it
        data = b"KLayout " * 1000 + bytes(range(256))
        packed = tl.bz2_compress(data)
        self.assertTrue(packed.startswith(b"BZh9"))
        self.assertLess(len(packed), len(data))
        self.assertEqual(tl.bz2_decompress(packed), data)
        self.assertEqual(tl.bz2_roundtrip(data), data)
        self.assertEqual(tl.bz2_roundtrip(b""), b"")
        try:
            import bz2
        except ImportError:
            bz2 = None
        if bz2 is not None:
            self.assertEqual(bz2.decompress(packed), data)
            self.assertEqual(tl.bz2_decompress(bz2.compress(data)), data)
        with self.assertRaises(RuntimeError):
            tl.bz2_decompress(packed[:-10])
        self.assertTrue(tl.bz2_version())

    def test_4_strings(self):
        self.assertEqual(tl.join(["a", "b", "c"], ", "), "a, b, c")
        self.assertEqual(tl.join([], "-"), "")


if __name__ == "__main__":
    unittest.main()
