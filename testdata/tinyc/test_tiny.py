"""The tinyc wheel's test: it imports from an installed wheel, adds, and was compiled for
the machine it runs on."""
import os
import platform
import sys
import unittest

import tinyc


class TinyTest(unittest.TestCase):
    def test_installed(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.assertNotIn(here, os.path.dirname(os.path.abspath(tinyc.__file__)), "imported from the source tree")

    def test_add(self):
        self.assertEqual(tinyc.add(40, 2), 42)

    def test_machine(self):
        self.assertEqual(tinyc.machine(), platform.machine())


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
