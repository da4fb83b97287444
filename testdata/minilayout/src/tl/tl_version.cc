#include "tl_version.h"
#include "tl_string.h"

#include <vector>

namespace tl
{

std::string version ()
{
  std::vector<std::string> parts;
  parts.push_back (to_string (0));
  parts.push_back (to_string (1));
  parts.push_back (to_string (0));
  return join (parts, ".");
}

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(tl_version_report, int, long)
