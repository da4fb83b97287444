#include "db_box.h"
#include "tl_string.h"

#include <vector>

namespace db
{

Box::Box ()
  : m_l (1), m_b (1), m_r (-1), m_t (-1)
{ }

Box::Box (long long l, long long b, long long r, long long t)
  : m_l (l < r ? l : r), m_b (b < t ? b : t), m_r (l < r ? r : l), m_t (b < t ? t : b)
{ }

bool Box::empty () const
{
  return m_l > m_r || m_b > m_t;
}

long long Box::area () const
{
  return empty () ? 0 : (m_r - m_l) * (m_t - m_b);
}

std::string Box::to_string () const
{
  if (empty ()) {
    return "()";
  }
  std::vector<std::string> parts;
  parts.push_back (tl::to_string (m_l));
  parts.push_back (tl::to_string (m_b));
  parts.push_back (tl::to_string (m_r));
  parts.push_back (tl::to_string (m_t));
  return "(" + tl::join (parts, ",") + ")";
}

Box Box::from_string (const std::string &s)
{
  if (s == "()") {
    return Box ();
  }
  if (s.size () < 2 || s [0] != '(' || s [s.size () - 1] != ')') {
    throw tl::Exception ("not a box: '" + s + "'");
  }
  std::vector<std::string> parts = tl::split (s.substr (1, s.size () - 2), ',');
  if (parts.size () != 4) {
    throw tl::Exception ("not a box: '" + s + "'");
  }
  return Box (tl::to_long (parts [0]), tl::to_long (parts [1]), tl::to_long (parts [2]), tl::to_long (parts [3]));
}

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(db_box_report, int, double)
