"""minilayout: a miniature of KLayout's Python package (test data).

minilayout.tl, minilayout.db and minilayout.rdb wrap the extension modules
tlcore, dbcore and rdbcore, like klayout.tl, klayout.db and klayout.rdb.
"""

__version__ = "0.1.0"
