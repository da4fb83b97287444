#ifndef HDR_rdb_database
#define HDR_rdb_database

#include "rdb_common.h"
#include "db_box.h"

#include <map>
#include <string>
#include <vector>

namespace rdb
{

//  A report database: markers (boxes) sorted into categories,
//  like KLayout's rdb::Database (the marker browser's model).
class RDB_PUBLIC Database
{
public:
  typedef std::map<std::string, std::vector<db::Box> > items_map;

  void add_item (const std::string &category, const db::Box &box);
  const items_map &items () const { return m_items; }
  size_t count (const std::string &category) const;
  long long total_area (const std::string &category) const;

  //  text form: one "category<TAB>box" line per item
  std::string to_text () const;
  static Database from_text (const std::string &text);

  //  bz2-compressed text form (through lib_tl)
  void save (const std::string &path) const;
  static Database load (const std::string &path);

private:
  items_map m_items;
};

}

#endif
