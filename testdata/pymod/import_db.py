"""minilayout pymod test: lib_db through dbcore, and the db_plugins mechanism
(like KLayout's testdata/pymod/import_db.py, which reads a GDS file: that
only works when lib_db found and loaded its stream plugins).

Run with the interpreter the wheel is installed into, from any folder:
    venv/bin/python testdata/pymod/import_db.py
Exits non-zero on failure, in particular when db_plugins/ is not beside lib_db.
"""

import glob
import os
import shutil
import sys
import tempfile
import unittest

import minilayout
import minilayout.db as db


def check_installed(testcase, module):
    """The package under test must be the INSTALLED minilayout, not the source tree."""
    source_pkg = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               "..", "minilayout", "minilayout"))
    here = os.path.realpath(os.path.dirname(os.path.abspath(module.__file__)))
    sys.stderr.write("minilayout imported from %s\n" % here)
    testcase.assertNotEqual(here, source_pkg,
                            "minilayout was imported from the source tree, not from an installed wheel")


class DbTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="minilayout-db-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_1_installed(self):
        check_installed(self, minilayout)

    def test_2_box(self):
        self.assertEqual(db.box_area(0, 0, 100, 200), 20000)
        self.assertEqual(db.box_area(100, 200, 0, 0), 20000)

    def test_3_plugins_loaded(self):
        pkg = os.path.dirname(os.path.abspath(minilayout.__file__))
        libs = glob.glob(os.path.join(pkg, "lib_db*.so"))
        self.assertEqual(len(libs), 1, "lib_db not found in %s" % pkg)
        self.assertEqual(os.path.realpath(db.plugin_dir()),
                         os.path.realpath(os.path.join(pkg, "db_plugins")),
                         "lib_db looks for plugins elsewhere: %s" % db.plugin_dir())
        self.assertEqual(db.formats(), ["GDS2"],
                         "stream plugins not loaded: %s" % "; ".join(db.plugin_errors()))
        self.assertEqual([os.path.basename(p).split(".")[0] for p in db.plugins()], ["lib_gds2_dbpi"])
        self.assertEqual(db.plugin_errors(), [])

    def test_4_gds2_roundtrip(self):
        path = os.path.join(self.tmp, "t.gds")
        for text in ("", "x", "TOP cell\nbox (0,0;100,200)\n", u"\u00e4\u00f6\u00fc" * 50000):
            db.write(path, text)
            with open(path, "rb") as f:
                head = f.read(4)
            self.assertEqual(head, b"\x00\x06\x00\x02", "not a GDS2 HEADER record")
            self.assertEqual(db.read(path), text)
        db.write(path, "explicit", format="GDS2")
        self.assertEqual(db.read(path), "explicit")

    def test_5_errors(self):
        with self.assertRaises(RuntimeError):
            db.write(os.path.join(self.tmp, "t.oas"), "x", format="OASIS")
        junk = os.path.join(self.tmp, "junk.bin")
        with open(junk, "wb") as f:
            f.write(b"not a layout file")
        with self.assertRaises(RuntimeError):
            db.read(junk)


if __name__ == "__main__":
    unittest.main()
