"""minilayout.db: the database (lib_db through dbcore).

Importing dbcore makes lib_db dlopen every *.so in the db_plugins/ folder
beside it; the GDS2 stream format comes from such a plugin.
"""

from minilayout import tl  # noqa: F401  (like klayout.db, loads tl first)
from minilayout.dbcore import box_area, formats, plugin_dir, plugin_errors, plugins, read, write  # noqa: F401
