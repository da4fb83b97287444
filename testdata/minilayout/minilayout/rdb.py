"""minilayout.rdb: report database (lib_rdb through rdbcore), bz2-compressed files."""

from minilayout import db  # noqa: F401  (like klayout.rdb, loads db first)
from minilayout.rdbcore import load, save, summarize  # noqa: F401
