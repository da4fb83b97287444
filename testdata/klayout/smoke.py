"""Smoke test of a KLayout wheel (the PyPI sdist carries no testdata/pymod).

Imports klayout.db, klayout.tl and klayout.rdb, writes a GDS file and reads it back: the GDS
reader and writer are plugins in klayout/db_plugins/, loaded by lib_db from the folder beside
its own file, so this fails when that folder is misplaced. Exits non-zero on failure.
"""

import os
import sys
import sysconfig
import tempfile
import unittest


class KLayoutSmoke(unittest.TestCase):
    def test_installed_not_source(self):
        import klayout
        self.assertIn("site-packages", klayout.__file__)

    def test_tl(self):
        import klayout.tl as tl
        self.assertTrue(tl.Timer is not None)

    def test_rdb(self):
        import klayout.rdb as rdb
        db = rdb.ReportDatabase("smoke")
        cat = db.create_category("cat")
        self.assertEqual(cat.name(), "cat")

    def test_gds_round_trip(self):
        import klayout.db as db
        ly = db.Layout()
        top = ly.create_cell("TOP")
        layer = ly.layer(1, 0)
        top.shapes(layer).insert(db.Box(0, 0, 100, 200))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "smoke.gds")
            ly.write(path)
            back = db.Layout()
            back.read(path)
            self.assertEqual(back.top_cell().name, "TOP")
            shapes = list(back.top_cell().shapes(back.layer(1, 0)).each())
            self.assertEqual(len(shapes), 1)
            self.assertEqual(shapes[0].box, db.Box(0, 0, 100, 200))

    def test_gil_state(self):
        # Records what importing KLayout does to a free-threaded interpreter: a module that
        # does not declare Py_mod_gil makes CPython turn the GIL back on (with a warning).
        import klayout.db  # noqa: F401
        free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
        enabled = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
        print("KLAYOUT-GIL free-threaded=%s gil-enabled-after-import=%s" % (free_threaded, enabled), file=sys.stderr)


if __name__ == "__main__":
    result = unittest.main(exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
