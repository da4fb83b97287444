#include "rdb_database.h"
#include "tl_bz2.h"
#include "tl_string.h"

#include <cstdio>

namespace rdb
{

static const char *magic = "MINIRDB1\n";

std::string Database::to_text () const
{
  std::string text;
  for (items_map::const_iterator i = m_items.begin (); i != m_items.end (); ++i) {
    for (std::vector<db::Box>::const_iterator b = i->second.begin (); b != i->second.end (); ++b) {
      text += i->first + "\t" + b->to_string () + "\n";
    }
  }
  return text;
}

Database Database::from_text (const std::string &text)
{
  Database db;
  std::vector<std::string> lines = tl::split (text, '\n');
  for (std::vector<std::string>::const_iterator l = lines.begin (); l != lines.end (); ++l) {
    if (l->empty ()) {
      continue;
    }
    std::vector<std::string> f = tl::split (*l, '\t');
    if (f.size () != 2) {
      throw tl::Exception ("invalid report database line: '" + *l + "'");
    }
    db.add_item (f [0], db::Box::from_string (f [1]));
  }
  return db;
}

void Database::save (const std::string &path) const
{
  std::string data = std::string (magic) + tl::bz2_compress (to_text ());
  FILE *fp = fopen (path.c_str (), "wb");
  if (! fp) {
    throw tl::Exception ("cannot open file for writing: " + path);
  }
  bool ok = fwrite (data.data (), 1, data.size (), fp) == data.size ();
  ok = (fclose (fp) == 0) && ok;
  if (! ok) {
    throw tl::Exception ("write error: " + path);
  }
}

Database Database::load (const std::string &path)
{
  FILE *fp = fopen (path.c_str (), "rb");
  if (! fp) {
    throw tl::Exception ("cannot open file for reading: " + path);
  }
  std::string data;
  char buf [8192];
  size_t n;
  while ((n = fread (buf, 1, sizeof (buf), fp)) > 0) {
    data.append (buf, n);
  }
  fclose (fp);

  std::string m (magic);
  if (data.compare (0, m.size (), m) != 0) {
    throw tl::Exception ("not a minilayout report database: " + path);
  }
  return from_text (tl::bz2_decompress (data.substr (m.size ())));
}

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(rdb_io_report, long, int)
