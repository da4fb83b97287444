#include "tl_string.h"

#include <cstdlib>
#include <cerrno>
#include <sstream>

namespace tl
{

std::string join (const std::vector<std::string> &parts, const std::string &sep)
{
  std::string r;
  for (std::vector<std::string>::const_iterator p = parts.begin (); p != parts.end (); ++p) {
    if (p != parts.begin ()) {
      r += sep;
    }
    r += *p;
  }
  return r;
}

std::vector<std::string> split (const std::string &s, char sep)
{
  std::vector<std::string> r;
  std::string::size_type from = 0;
  while (true) {
    std::string::size_type to = s.find (sep, from);
    if (to == std::string::npos) {
      r.push_back (s.substr (from));
      break;
    }
    r.push_back (s.substr (from, to - from));
    from = to + 1;
  }
  return r;
}

std::string to_string (long long v)
{
  std::ostringstream os;
  os << v;
  return os.str ();
}

long long to_long (const std::string &s)
{
  errno = 0;
  char *end = 0;
  long long v = strtoll (s.c_str (), &end, 10);
  if (s.empty () || errno != 0 || *end != 0) {
    throw tl::Exception ("not an integer: '" + s + "'");
  }
  return v;
}

bool ends_with (const std::string &s, const std::string &suffix)
{
  return s.size () >= suffix.size () && s.compare (s.size () - suffix.size (), suffix.size (), suffix) == 0;
}

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(tl_string_report, std::string, int)
