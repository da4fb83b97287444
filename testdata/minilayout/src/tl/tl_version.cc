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
