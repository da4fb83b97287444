//  minilayout: a miniature of KLayout's library structure (lib_db).
//  Python-free: nothing under src/db uses the Python headers.
#ifndef HDR_db_common
#define HDR_db_common

#include "tl_common.h"

#define DB_PUBLIC __attribute__((visibility("default")))

#endif
