"""minilayout.tl: utilities (lib_tl through tlcore): crc32 (zlib), bz2 (libbz2)."""

from minilayout.tlcore import (bz2_compress, bz2_decompress, bz2_roundtrip, bz2_version,  # noqa: F401
                               crc32, join, version, zlib_version)
