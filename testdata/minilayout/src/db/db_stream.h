#ifndef HDR_db_stream
#define HDR_db_stream

#include "db_common.h"
#include <string>
#include <vector>

namespace db
{

//  A stream format, contributed by a plugin from db_plugins/ (like KLayout's
//  db::StreamFormatDeclaration registered by lib_gds2_dbpi and friends).
struct DB_PUBLIC StreamFormat
{
  const char *name;
  //  true if the first bytes of a file look like this format
  bool (*detect) (const std::string &head);
  //  both throw tl::Exception on error
  void (*write) (const std::string &path, const std::string &text);
  std::string (*read) (const std::string &path);
};

//  Called by a plugin's static initializer when it is dlopen()ed
DB_PUBLIC void register_stream_format (const StreamFormat &format);

DB_PUBLIC std::vector<std::string> stream_format_names ();
DB_PUBLIC void write_stream (const std::string &path, const std::string &text, const std::string &format);
DB_PUBLIC std::string read_stream (const std::string &path);

}

#endif
