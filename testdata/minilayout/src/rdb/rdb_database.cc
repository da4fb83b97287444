#include "rdb_database.h"

namespace rdb
{

void Database::add_item (const std::string &category, const db::Box &box)
{
  if (category.empty () || category.find_first_of ("\t\n") != std::string::npos) {
    throw tl::Exception ("invalid category name: '" + category + "'");
  }
  m_items [category].push_back (box);
}

size_t Database::count (const std::string &category) const
{
  items_map::const_iterator i = m_items.find (category);
  return i == m_items.end () ? 0 : i->second.size ();
}

long long Database::total_area (const std::string &category) const
{
  long long a = 0;
  items_map::const_iterator i = m_items.find (category);
  if (i != m_items.end ()) {
    for (std::vector<db::Box>::const_iterator b = i->second.begin (); b != i->second.end (); ++b) {
      a += b->area ();
    }
  }
  return a;
}

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(rdb_database_report, unsigned, double)
