#ifndef HDR_tl_string
#define HDR_tl_string

#include "tl_common.h"
#include <string>
#include <vector>

namespace tl
{

TL_PUBLIC std::string join (const std::vector<std::string> &parts, const std::string &sep);
TL_PUBLIC std::vector<std::string> split (const std::string &s, char sep);
TL_PUBLIC std::string to_string (long long v);
TL_PUBLIC long long to_long (const std::string &s);
TL_PUBLIC bool ends_with (const std::string &s, const std::string &suffix);

}

#endif
