#ifndef HDR_tl_bz2
#define HDR_tl_bz2

#include "tl_common.h"
#include <string>

namespace tl
{

//  These use libbz2 (not on the manylinux whitelist: auditwheel must graft it)
TL_PUBLIC std::string bz2_compress (const std::string &data);
TL_PUBLIC std::string bz2_decompress (const std::string &data);
TL_PUBLIC std::string bz2_version ();

}

#endif
