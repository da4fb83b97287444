#ifndef HDR_tl_zlib
#define HDR_tl_zlib

#include "tl_common.h"
#include <string>

namespace tl
{

//  These use zlib (on the manylinux whitelist: auditwheel leaves it alone)
TL_PUBLIC unsigned long crc32 (const std::string &data);
TL_PUBLIC std::string zlib_version_string ();

}

#endif
