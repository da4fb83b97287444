#ifndef HDR_tl_version
#define HDR_tl_version

#include "tl_common.h"
#include <string>

namespace tl
{

TL_PUBLIC std::string version ();

}

#endif
