//  minilayout: a miniature of KLayout's library structure (lib_rdb).
//  Python-free: nothing under src/rdb uses the Python headers.
#ifndef HDR_rdb_common
#define HDR_rdb_common

#include "db_common.h"

#define RDB_PUBLIC __attribute__((visibility("default")))

#endif
