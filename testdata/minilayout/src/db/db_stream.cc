#include "db_stream.h"
#include "tl_string.h"

#include <cstdio>

namespace db
{

static std::vector<StreamFormat> &formats ()
{
  static std::vector<StreamFormat> s_formats;
  return s_formats;
}

void register_stream_format (const StreamFormat &format)
{
  for (std::vector<StreamFormat>::const_iterator f = formats ().begin (); f != formats ().end (); ++f) {
    if (std::string (f->name) == format.name) {
      return;
    }
  }
  formats ().push_back (format);
}

std::vector<std::string> stream_format_names ()
{
  std::vector<std::string> names;
  for (std::vector<StreamFormat>::const_iterator f = formats ().begin (); f != formats ().end (); ++f) {
    names.push_back (f->name);
  }
  return names;
}

void write_stream (const std::string &path, const std::string &text, const std::string &format)
{
  for (std::vector<StreamFormat>::const_iterator f = formats ().begin (); f != formats ().end (); ++f) {
    if (format == f->name) {
      f->write (path, text);
      return;
    }
  }
  throw tl::Exception ("no stream writer for format '" + format + "' (known formats: " + tl::join (stream_format_names (), ",") + "; are the db_plugins loaded?)");
}

std::string read_stream (const std::string &path)
{
  std::string head;
  FILE *fp = fopen (path.c_str (), "rb");
  if (! fp) {
    throw tl::Exception ("cannot open file for reading: " + path);
  }
  char buf [16];
  size_t n = fread (buf, 1, sizeof (buf), fp);
  fclose (fp);
  head.assign (buf, n);

  for (std::vector<StreamFormat>::const_iterator f = formats ().begin (); f != formats ().end (); ++f) {
    if (f->detect (head)) {
      return f->read (path);
    }
  }
  throw tl::Exception ("file format not recognized by any stream reader (known formats: " + tl::join (stream_format_names (), ",") + "; are the db_plugins loaded?): " + path);
}

}

//  Instantiates the template-heavy report helpers, as KLayout's units instantiate its
//  containers and stream formatting: a compile cost per unit closer to KLayout's.
#include "tl_report.h"
TL_UNIT_REPORT(db_stream_report, std::string, unsigned)
