"""minilayout pymod test: lib_rdb through rdbcore (like KLayout's testdata/pymod/import_rdb.py).

Run with the interpreter the wheel is installed into, from any folder:
    venv/bin/python testdata/pymod/import_rdb.py
Exits non-zero on failure.
"""

import bz2
import os
import shutil
import sys
import tempfile
import unittest

import minilayout
import minilayout.rdb as rdb


def check_installed(testcase, module):
    """The package under test must be the INSTALLED minilayout, not the source tree."""
    source_pkg = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               "..", "minilayout", "minilayout"))
    here = os.path.realpath(os.path.dirname(os.path.abspath(module.__file__)))
    sys.stderr.write("minilayout imported from %s\n" % here)
    testcase.assertNotEqual(here, source_pkg,
                            "minilayout was imported from the source tree, not from an installed wheel")

ITEMS = [
    ("width", (0, 0, 10, 100)),
    ("space", (10, 0, 15, 100)),
    ("width", (20, 0, 25, 50)),
]


class RdbTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="minilayout-rdb-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_1_installed(self):
        check_installed(self, minilayout)

    def test_2_summarize(self):
        self.assertEqual(rdb.summarize(ITEMS), {"width": (2, 1250), "space": (1, 500)})
        self.assertEqual(rdb.summarize([]), {})
        with self.assertRaises(ValueError):
            rdb.summarize([("bad\tname", (0, 0, 1, 1))])

    def test_3_save_load(self):
        path = os.path.join(self.tmp, "r.lyrdb")
        rdb.save(path, ITEMS)
        with open(path, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"MINIRDB1\nBZh9"))
        self.assertIn(b"width\t(0,0,10,100)", bz2.decompress(data[len(b"MINIRDB1\n"):]))
        self.assertEqual(rdb.load(path), sorted(ITEMS))


if __name__ == "__main__":
    unittest.main()
